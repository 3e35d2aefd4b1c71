package remote

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/pactor-go/actor"
)

// Handle serves endpoint e on s with the actor ref: each request is decoded and run as
// fn(state, req) on ref, in turn with ref's other messages, and fn's result is the reply.
// fn runs on the actor's goroutine and may touch its state like any message; a panic in it
// is the actor's, as with any message (it fails the actor, or restarts it with
// [actor.WithRestart]), and its caller gets the [*actor.PanicError].
//
// Handle returns once the NATS server has the subscription, so a call made after it returns
// is served. By default every server that handles a subject shares its requests with the
// others in one queue group ([DefaultQueueGroup]); see [WithQueueGroup] and [WithBroadcast].
//
// Requests are dispatched without waiting: the subscription decodes a request and hands it
// to ref with [actor.Request], which never blocks, so a slow actor holds up no other
// endpoint, a request whose deadline passes while it waits in ref's mailbox never runs, and
// a full bounded mailbox ([actor.WithMailboxSize]) answers [actor.ErrMailboxFull] at once.
// Messages on the subject without a reply subject are ignored.
//
// When ref ends, or is found stopping, its endpoints stop taking requests: the subscriptions
// are drained, and requests that still arrive are answered [actor.ErrStopped]. Handle
// returns [ErrServerStopped] after [Server.Stop], actor.ErrStopped if ref has ended, and an
// error from nats if the subscription fails. It panics if s, ref or fn is nil or e is zero.
func Handle[T, Req, Resp any](s *Server, e Endpoint[Req, Resp], ref *actor.Ref[T],
	fn func(*T, Req) (Resp, error), opts ...HandleOption) error {
	if fn == nil {
		panic("remote: Handle: nil func")
	}
	return handle(s, e, ref, func(t *T, _ context.Context, req Req) (Resp, error) { return fn(t, req) }, opts)
}

// HandleContext is [Handle] for a fn that takes the request's context: it carries the
// caller's deadline (counted from the request's arrival) and whatever the server's
// [RequestHook] put in it, such as a trace span. fn can pass it on to calls of its own, so
// that their deadlines are no later than its caller's.
func HandleContext[T, Req, Resp any](s *Server, e Endpoint[Req, Resp], ref *actor.Ref[T],
	fn func(*T, context.Context, Req) (Resp, error), opts ...HandleOption) error {
	if fn == nil {
		panic("remote: HandleContext: nil func")
	}
	return handle(s, e, ref, fn, opts)
}

func handle[T, Req, Resp any](s *Server, e Endpoint[Req, Resp], ref *actor.Ref[T],
	fn func(*T, context.Context, Req) (Resp, error), opts []HandleOption) error {
	s.check("Handle")
	e.check("Handle")
	if ref == nil {
		panic("remote: Handle: nil Ref")
	}
	cfg := handleConfig{queue: DefaultQueueGroup}
	for _, o := range opts {
		if o == nil {
			panic("remote: Handle: nil HandleOption")
		}
		o.applyHandle(&cfg)
	}
	select {
	case <-ref.Done():
		return fmt.Errorf("remote: Handle: %s: %w", e.ep.subject, actor.ErrStopped)
	default:
	}
	sb := &sub{subject: e.ep.subject, closed: make(chan struct{})}
	h := &handler[T, Req, Resp]{s: s, ep: e.ep, ref: ref, fn: fn, sb: sb}
	// Watched before subscribing, so that an end that comes at any point retires sb.
	sb.unwatch = actor.Watch(s.replier, ref, func(*replier, error) { _ = s.retire(sb) })

	var ns *nats.Subscription
	var err error
	if cfg.broadcast {
		ns, err = s.nc.Subscribe(sb.subject, h.serve)
	} else {
		ns, err = s.nc.QueueSubscribe(sb.subject, cfg.queue, h.serve)
	}
	if err != nil {
		sb.unwatch()
		return fmt.Errorf("remote: Handle: %s: %w", sb.subject, err)
	}
	ns.SetClosedHandler(func(string) { close(sb.closed) })
	// Checked after setting the handler: a connection that closes from here on calls it,
	// one that closed before may not have, and then nobody may wait for it.
	if s.nc.IsClosed() {
		sb.unwatch()
		return fmt.Errorf("remote: Handle: %s: %w", sb.subject, nats.ErrConnectionClosed)
	}

	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		sb.unwatch()
		// Requests may have arrived already: drain rather than drop them.
		_ = drain(ns)
		<-sb.closed
		return fmt.Errorf("remote: Handle: %s: %w", sb.subject, ErrServerStopped)
	}
	sb.ns = ns
	s.subs = append(s.subs, sb)
	retired := sb.retired
	s.mu.Unlock()
	if retired {
		_ = drain(ns) // ref ended meanwhile
	}
	// SUB goes out asynchronously; the flush's round trip makes sure the NATS server has
	// it before Handle returns, so that a call right after is not told "no responders".
	if err := s.nc.Flush(); err != nil {
		_ = s.retire(sb)
		return fmt.Errorf("remote: Handle: %s: %w", sb.subject, err)
	}
	return nil
}

// handler serves one endpoint with one actor.
type handler[T, Req, Resp any] struct {
	s   *Server
	ep  *endpoint
	ref *actor.Ref[T]
	fn  func(*T, context.Context, Req) (Resp, error)
	sb  *sub
}

// serve is the subscription's callback. It runs on the subscription's goroutine, one request
// at a time, so it must never wait for an actor: it decodes and hands over, and the reply
// is published by whoever completes the call.
func (h *handler[T, Req, Resp]) serve(m *nats.Msg) {
	if m.Reply == "" {
		return // a publish, not a request: nobody to answer
	}
	c := &call[T, Req, Resp]{h: h, reply: m.Reply}
	timeout := DefaultTimeout
	if v := m.Header[hdrTimeout]; len(v) > 0 {
		n, err := strconv.ParseInt(v[0], 10, 64)
		if err != nil {
			c.send(fmt.Errorf("%w: malformed %s header %q", ErrBadRequest, hdrTimeout, v[0]), false)
			return
		}
		timeout = time.Duration(n)
	}
	if timeout <= 0 {
		c.send(context.DeadlineExceeded, false)
		return
	}
	if err := h.ep.codec.Unmarshal(m.Data, &c.req); err != nil {
		c.send(fmt.Errorf("%w: %v", ErrBadRequest, err), false)
		return
	}
	ctx := context.Background()
	if hook := h.s.hook; hook != nil {
		ctx, c.end = hook(ctx, h.ep.subject, m.Header)
		if ctx == nil {
			ctx = context.Background()
		}
	}
	// The deadline starts now, on arrival: the caller's clock is not ours.
	c.ctx, c.cancel = context.WithTimeout(ctx, timeout)
	if err := actor.Request(c.ctx, h.ref, c.run, h.s.replier, c.replied); err != nil {
		// Refused: nothing was queued and no reply will come, so this is the answer.
		c.cancel()
		c.send(err, false)
		if errors.Is(err, actor.ErrStopped) {
			_ = h.s.retire(h.sb) // the actor is going: let the others in the group serve
		}
	}
}

// call is one request in flight on the server. Exactly one answer is published, by
// whoever claims it: run when fn returns, or replied when actor.Request reports a failure.
type call[T, Req, Resp any] struct {
	h       *handler[T, Req, Resp]
	reply   string
	req     Req
	ctx     context.Context
	cancel  context.CancelFunc
	end     func(error) // from the RequestHook; nil without one
	claimed atomic.Bool
}

// run is the request's function, on the served actor. It publishes fn's result from here,
// rather than from the Request's reply on the replier, which saves the reply a hop through
// a second mailbox, and keeps successes independent of the replier's lifetime.
func (c *call[T, Req, Resp]) run(t *T) (struct{}, error) {
	resp, err := c.h.fn(t, c.ctx, c.req)
	if c.claimed.CompareAndSwap(false, true) {
		if err != nil {
			c.send(err, true)
		} else {
			c.respond(resp)
		}
	}
	// nil, always: so a reply with an error comes from actor.Request itself (a panic, a
	// drop, the deadline), never from fn, and replied can tell them apart.
	return struct{}{}, nil
}

// replied is the Request's reply, on the replier. err is nil after run has answered;
// otherwise fn did not finish: it panicked or called Goexit (*actor.PanicError,
// actor.ErrGoexit), was dropped (actor.ErrStopped), or the deadline passed (if fn had not
// started it never will; if it is running, its result loses the claim or wins it).
func (c *call[T, Req, Resp]) replied(_ *replier, _ struct{}, err error) {
	// Here rather than in run: cancelling in run would fire the Request's watch on ctx
	// while fn's reply is still being claimed, which costs a goroutine.
	c.cancel()
	if err != nil && c.claimed.CompareAndSwap(false, true) {
		c.send(err, false)
	}
}

func (c *call[T, Req, Resp]) respond(resp Resp) {
	data, err := c.h.ep.codec.Marshal(resp)
	if err != nil {
		c.send(fmt.Errorf("%w: %v", ErrBadResponse, err), false)
		return
	}
	// A failed publish (a closed connection) leaves the caller to its deadline.
	_ = c.h.s.nc.Publish(c.reply, data)
	if c.end != nil {
		c.end(nil)
	}
}

// send publishes err as the answer; handler says fn returned it.
func (c *call[T, Req, Resp]) send(err error, handler bool) {
	kind, body := c.h.ep.encodeError(err, handler, c.h.s.stacks)
	_ = c.h.s.nc.PublishMsg(&nats.Msg{Subject: c.reply, Header: nats.Header{hdrError: []string{kind}}, Data: body})
	if c.end != nil {
		c.end(err)
	}
}
