package actor

import (
	"context"
	"sync/atomic"
)

// Request is [Ask] without waiting: it queues fn for r and returns at once; when fn has run,
// the result is delivered to replyTo as a message that calls onReply with it. An actor can
// ask another actor from inside a message this way without stalling its own mailbox.
//
// Request never blocks. It is safe from any goroutine and from inside any actor's messages,
// r's and replyTo's included (r and replyTo may be the same actor: fn then runs after the
// current message, and the reply after fn). Its error says whether a reply will come:
//
//   - nil: fn was queued, and exactly one reply will come, unless replyTo stops first: a
//     reply that finds replyTo stopping or ended is dropped, and one already queued goes
//     the way of replyTo's other messages if it fails or calls [Ref.StopNow];
//   - an error: nothing was queued, fn will never run and no reply will come. It is
//     [ErrNilMessage] for a nil fn or onReply, ctx's error if ctx is already done,
//     [ErrStopped] if r is stopping or has ended, and [ErrMailboxFull] if r has a bounded
//     mailbox ([WithMailboxSize]) that is full: Request never waits for room. (If ctx
//     ends just as r refuses, ctx's error may already be on its way as the reply; then
//     Request returns nil, since that reply comes.)
//
// The reply carries fn's results once fn has returned; ctx's error if ctx ends first (if fn
// had not started it never will; if it is running, its results are dropped); [ErrStopped]
// if r drops fn before running it ([Ref.StopNow], or a failure); and a [*PanicError] if fn
// panics, or [ErrGoexit] if it calls runtime.Goexit. So the reply comes no later than ctx's
// end or r's, as Ask returns. It goes through replyTo's mailbox like [Ref.Enqueue], ignoring
// its bound, so it is never refused for fullness, and onReply runs on replyTo like any
// message. When the reply carries fn's result, fn's effects happen before onReply runs; a
// reply with ctx's error may come while fn is still running.
//
// Request starts no goroutine for contexts made by package context: ctx is watched with
// [context.AfterFunc], which is released as soon as the request completes. (For a Context
// of another kind, AfterFunc holds a goroutine until then.) Replies to different requests come in the order they
// complete. It panics if ctx, r or replyTo is nil.
func Request[T, R, U any](ctx context.Context, r *Ref[T], fn func(*T) (R, error),
	replyTo *Ref[U], onReply func(*U, R, error)) error {
	r.check("Request")
	replyTo.check("Request")
	if ctx == nil {
		panic("actor: Request: nil Context")
	}
	if fn == nil || onReply == nil {
		return ErrNilMessage
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	c := &reqCall[T, R, U]{fn: fn, ctx: ctx}
	c.reply.to, c.reply.onReply = replyTo, onReply
	if ctx.Done() != nil {
		// Registered before the request is queued, so that whoever completes it finds
		// stop set (accept orders the write before the actor's read). The callback does
		// not read stop: it may run before AfterFunc has returned.
		c.stop = context.AfterFunc(ctx, c.expire)
	}
	if err := r.accept(c, false); err != nil {
		// Take the request back. If ctx ended meanwhile, its callback has claimed the
		// reply and sent ctx's error: that is the one reply, so the request stands.
		if c.state.CompareAndSwap(reqPending, reqReplied) {
			if c.stop != nil {
				c.stop()
			}
			return err
		}
	}
	return nil
}

// RequestErr is [Request] for a function that has no result to return, only an error: it
// queues fn for r and returns at once, and the error fn returns (or why it did not run)
// is delivered to replyTo as a message that calls onReply with it. Its error says whether
// a reply will come, exactly as Request's does.
func RequestErr[T, U any](ctx context.Context, r *Ref[T], fn func(*T) error,
	replyTo *Ref[U], onReply func(*U, error)) error {
	r.check("RequestErr")
	replyTo.check("RequestErr")
	if ctx == nil {
		panic("actor: RequestErr: nil Context")
	}
	if fn == nil || onReply == nil {
		return ErrNilMessage
	}
	return Request(ctx, r, func(t *T) (struct{}, error) { return struct{}{}, fn(t) },
		replyTo, func(u *U, _ struct{}, err error) { onReply(u, err) })
}

// reqCall is one Request in flight, in r's mailbox. Whoever moves state to reqReplied sends
// the one reply: run when fn returns, expire when ctx ends, or abort when r drops the call
// or fn panics. run moves it from reqPending to reqStarted first, so that fn never starts
// once ctx's reply is out.
type reqCall[T, R, U any] struct {
	fn    func(*T) (R, error)
	ctx   context.Context
	stop  func() bool // context.AfterFunc's stop; nil when ctx cannot end
	state atomic.Int32
	reply reqReply[U, R]
}

const (
	reqPending int32 = iota
	reqStarted
	reqReplied
)

func (c *reqCall[T, R, U]) run(t *T) {
	if !c.state.CompareAndSwap(reqPending, reqStarted) {
		return // ctx's error was the reply; fn must not start
	}
	res, err := c.fn(t)
	if c.state.CompareAndSwap(reqStarted, reqReplied) {
		c.stopWatching()
		c.send(res, err)
	}
}

// abort is called by r for a call it dropped (ErrStopped) or whose fn panicked or called
// Goexit.
func (c *reqCall[T, R, U]) abort(err error) {
	if c.claim() {
		c.stopWatching()
		var zero R
		c.send(zero, err)
	}
}

// expire is ctx's AfterFunc callback, on a goroutine of its own. It must not block, and it
// does not: send ignores replyTo's bound.
func (c *reqCall[T, R, U]) expire() {
	if c.claim() {
		var zero R
		c.send(zero, c.ctx.Err())
	}
}

// claim moves state to reqReplied from pending or started, and reports whether it did.
func (c *reqCall[T, R, U]) claim() bool {
	for {
		s := c.state.Load()
		if s == reqReplied {
			return false
		}
		if c.state.CompareAndSwap(s, reqReplied) {
			return true
		}
	}
}

func (c *reqCall[T, R, U]) stopWatching() {
	if c.stop != nil {
		c.stop() // frees ctx's record of the callback at once, not when ctx ends
	}
}

// send queues the reply on replyTo. Only the one that claimed the reply calls it, once.
func (c *reqCall[T, R, U]) send(res R, err error) {
	c.reply.res, c.reply.err = res, err
	// Refused only when replyTo is stopping or has ended: the reply is dropped, as
	// Request documents.
	_ = c.reply.to.accept(&c.reply, true)
}

// reqReply is a Request's reply, in replyTo's mailbox. It lives inside the reqCall, so
// sending it allocates nothing more.
type reqReply[U, R any] struct {
	to      *Ref[U]
	onReply func(*U, R, error)
	res     R
	err     error
}

func (p *reqReply[U, R]) run(u *U) { p.onReply(u, p.res, p.err) }

// abort: replyTo dropped the reply (it failed or was stopped at once), or onReply panicked.
// Either way the reply has nobody left to tell.
func (p *reqReply[U, R]) abort(error) {}
