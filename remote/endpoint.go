package remote

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

// Header names on the wire. NATS keeps the case of header keys and matches them exactly.
const (
	// hdrTimeout carries the caller's remaining time in nanoseconds, as a decimal integer.
	// It is relative so that the two machines' clocks need not agree.
	hdrTimeout = "Pactor-Timeout"
	// hdrError marks an error reply and says its kind (see errors.go); the body is a
	// wireError in JSON.
	hdrError = "Pactor-Error"
)

// Endpoint is a typed remote call: requests of type Req sent on one NATS subject, answered
// with a Resp. Declare it once, in a package that both the caller and the server import,
// and the compiler checks both sides against it:
//
//	var Add = remote.NewEndpoint[AddReq, AddResp]("counter.add")
//
// An Endpoint is a small value, safe to copy and to use from any goroutine. It comes only
// from [NewEndpoint]; the zero Endpoint panics when used.
type Endpoint[Req, Resp any] struct {
	ep *endpoint
}

// endpoint is what an Endpoint shares between its copies, read-only after NewEndpoint.
type endpoint struct {
	subject string
	codec   Codec
	errs    []error          // registered sentinels, in registration order
	byText  map[string]error // the same, by their text, which is what travels
}

// NewEndpoint declares an endpoint on subject. Options: [WithCodec] (JSON by default) and
// [WithErrors]. It panics if subject is not a valid NATS subject to publish on (empty, with
// empty tokens, white space, or the wildcards * and >), since an endpoint is a declaration,
// usually a package-level variable, and a bad one is a bug on the line that wrote it.
func NewEndpoint[Req, Resp any](subject string, opts ...EndpointOption) Endpoint[Req, Resp] {
	if !validSubject(subject) {
		panic("remote: NewEndpoint: invalid subject " + strconv.Quote(subject))
	}
	ep := &endpoint{subject: subject, codec: jsonCodec{}}
	for _, o := range opts {
		if o == nil {
			panic("remote: NewEndpoint: nil EndpointOption")
		}
		o.applyEndpoint(ep)
	}
	return Endpoint[Req, Resp]{ep: ep}
}

// validSubject reports whether s is a subject one may publish on.
func validSubject(s string) bool {
	if s == "" {
		return false
	}
	for tok := range strings.SplitSeq(s, ".") {
		if tok == "" || tok == "*" || tok == ">" || strings.ContainsAny(tok, " \t\r\n") {
			return false
		}
	}
	return true
}

// Subject returns the NATS subject the endpoint's requests are sent on.
func (e Endpoint[Req, Resp]) Subject() string {
	e.check("Subject")
	return e.ep.subject
}

func (e Endpoint[Req, Resp]) check(op string) {
	if e.ep == nil {
		panic("remote: " + op + " on a zero Endpoint (Endpoints come from NewEndpoint)")
	}
}

// Call sends req to a server that serves e (one of them, if several share it; see
// [WithBroadcast]) and returns the handler's response, or why there is none.
//
// Call blocks until the reply comes or ctx ends. If ctx has no deadline, the Client's
// timeout applies ([WithTimeout], [DefaultTimeout] unless set): a request without a
// deadline would wait for ever for a server that died. The time left goes with the request,
// and the server gives the handler no more than that, counted from the request's arrival; a
// request whose time runs out before the actor starts it never runs.
//
// Delivery is at most once: a Call never runs the handler twice, and never reports a
// result for a handler that did not run, but a Call that fails may or may not have run it.
// What each error says about that (match them with errors.Is, or errors.As for a panic):
//
//   - [ErrNoResponders]: nobody serves the subject; fn did not run. It comes back within a
//     round trip, not after the deadline.
//   - [ErrBadRequest]: req could not be encoded, or the server could not decode it; fn did
//     not run.
//   - [actor.ErrStopped]: the served actor had stopped or ended, or dropped the request when
//     it failed or was stopped with StopNow; fn did not run.
//   - [actor.ErrMailboxFull]: the actor has a bounded mailbox and it was full; fn did not
//     run. The server does not wait for room: back-pressure reaches the caller at once.
//   - [ErrHandler]: fn ran and returned an error. Its text is the server's; if it matched a
//     sentinel registered with [WithErrors], errors.Is matches that sentinel too.
//   - [*actor.PanicError]: fn ran and panicked. Value is the panic value's text (the value
//     itself cannot cross); Stack is empty unless the server uses [WithPanicStacks].
//   - [actor.ErrGoexit]: fn ran and called runtime.Goexit.
//   - [ErrBadResponse]: fn ran, but its result could not be encoded or decoded.
//   - context.DeadlineExceeded or context.Canceled: the deadline passed, or ctx was
//     cancelled, before a reply came; fn may have run, may be running, or may never run.
//     A server that dies mid-call leaves the caller here too.
//   - any other error, from nats (a closed connection, say): fn may or may not have run.
//
// Every error names the subject. Call is safe from any goroutine. Calling it from inside
// an actor's message blocks that actor until the reply; a call to an endpoint that the
// same actor serves then waits out its deadline. It panics if c is nil or e is zero.
func (e Endpoint[Req, Resp]) Call(ctx context.Context, c *Client, req Req) (Resp, error) {
	e.check("Call")
	c.check("Call")
	if ctx == nil {
		panic("remote: Call: nil Context")
	}
	var zero Resp
	ep := e.ep
	if err := ctx.Err(); err != nil {
		return zero, callErr(ep.subject, err)
	}
	data, err := ep.codec.Marshal(req)
	if err != nil {
		return zero, &callError{subject: ep.subject, msg: "bad request: " + err.Error(), causes: []error{ErrBadRequest, err}}
	}
	deadline, ok := ctx.Deadline()
	if !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.timeout)
		defer cancel()
		deadline, _ = ctx.Deadline()
	}
	left := time.Until(deadline)
	if left <= 0 {
		return zero, callErr(ep.subject, context.DeadlineExceeded)
	}
	msg := &nats.Msg{
		Subject: ep.subject,
		Header:  nats.Header{hdrTimeout: []string{strconv.FormatInt(int64(left), 10)}},
		Data:    data,
	}
	var end func(error)
	if c.hook != nil {
		end = c.hook(ctx, ep.subject, msg.Header)
	}
	resp, err := e.roundTrip(ctx, c, msg)
	if end != nil {
		end(err)
	}
	return resp, err
}

func (e Endpoint[Req, Resp]) roundTrip(ctx context.Context, c *Client, msg *nats.Msg) (Resp, error) {
	var resp Resp
	ep := e.ep
	m, err := c.nc.RequestMsgWithContext(ctx, msg)
	if err != nil {
		if errors.Is(err, nats.ErrNoResponders) {
			return resp, &callError{subject: ep.subject, msg: "no responders", causes: []error{ErrNoResponders}}
		}
		return resp, callErr(ep.subject, err)
	}
	if kind := m.Header[hdrError]; len(kind) > 0 {
		return resp, ep.decodeError(kind[0], m.Data)
	}
	if err := ep.codec.Unmarshal(m.Data, &resp); err != nil {
		var zero Resp
		return zero, &callError{subject: ep.subject, msg: "bad response: " + err.Error(), causes: []error{ErrBadResponse, err}}
	}
	return resp, nil
}
