package remote

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/nats-io/nats.go"
	"github.com/pactor-go/actor"
)

var (
	// ErrNoResponders is returned by [Endpoint.Call] when no server serves the endpoint's
	// subject, within a round trip to NATS. The request ran nowhere. It wraps
	// nats.ErrNoResponders, so errors.Is matches either.
	ErrNoResponders = fmt.Errorf("remote: %w", nats.ErrNoResponders)

	// ErrBadRequest is returned by [Endpoint.Call] when the request could not be encoded
	// (by the caller's codec) or decoded (by the server's), or carried a malformed deadline.
	// The handler did not run.
	ErrBadRequest = errors.New("remote: bad request")

	// ErrBadResponse is returned by [Endpoint.Call] when the handler's result could not be
	// encoded by the server or decoded by the caller. The handler ran.
	ErrBadResponse = errors.New("remote: bad response")

	// ErrHandler is matched by every error that a handler returned and that reached the
	// caller (see [WithErrors] for keeping its identity as well). The handler ran.
	ErrHandler = errors.New("remote: handler failed")

	// ErrServerStopped is returned by [Handle] on a [Server] that has been stopped.
	ErrServerStopped = errors.New("remote: server stopped")
)

// callError is every error that Call returns apart from a nil Client or Endpoint misuse: it
// names the subject, prints what happened, and lets errors.Is and errors.As see the causes,
// which are sentinels of this package or of actor, a context error, a registered domain
// error, or an *actor.PanicError.
type callError struct {
	subject string
	msg     string
	causes  []error
}

func (e *callError) Error() string   { return "remote: " + e.subject + ": " + e.msg }
func (e *callError) Unwrap() []error { return e.causes }

func callErr(subject string, cause error) error {
	return &callError{subject: subject, msg: cause.Error(), causes: []error{cause}}
}

// The kinds of error a server sends back, in the Pactor-Error header. They are part of the
// wire format: change none, add new ones only.
const (
	kindStopped     = "stopped"      // actor.ErrStopped: refused or dropped, did not run
	kindFull        = "mailbox-full" // actor.ErrMailboxFull: did not run
	kindDeadline    = "deadline"     // context.DeadlineExceeded on the server
	kindCanceled    = "canceled"     // context.Canceled on the server (by a request hook's ctx)
	kindPanic       = "panic"        // *actor.PanicError: ran and panicked
	kindGoexit      = "goexit"       // actor.ErrGoexit: ran and called runtime.Goexit
	kindHandler     = "handler"      // the handler returned an error: ran
	kindBadRequest  = "bad-request"  // could not decode: did not run
	kindBadResponse = "bad-response" // could not encode the result: ran
)

// wireError is the body of an error reply. It is always JSON, whatever the endpoint's codec,
// so that any client (or a person with the nats CLI) can read it.
type wireError struct {
	Message string `json:"message"`
	Code    string `json:"code,omitempty"`  // the registered sentinel the handler's error matched
	Stack   string `json:"stack,omitempty"` // a panic's stack, with WithPanicStacks only
}

// encodeError returns the kind and body of the error reply for err, which the server got
// from actor.Request (or made itself), or from the handler when handler is true.
func (ep *endpoint) encodeError(err error, handler, stacks bool) (kind string, body []byte) {
	// The server's own errors start with the package name, which the caller's message
	// already carries.
	w := wireError{Message: strings.TrimPrefix(err.Error(), "remote: ")}
	var pe *actor.PanicError
	switch {
	case handler:
		// Checked first: a handler may return actor.ErrStopped from a call of its own,
		// and that must not read as "did not run".
		kind = kindHandler
		for _, s := range ep.errs {
			if errors.Is(err, s) {
				w.Code = s.Error()
				break
			}
		}
	case errors.As(err, &pe):
		kind = kindPanic
		// Value rather than Error(), which carries the stack and the server's actor name.
		w.Message = fmt.Sprint(pe.Value)
		if stacks {
			w.Stack = string(pe.Stack)
		}
	case errors.Is(err, actor.ErrGoexit):
		kind = kindGoexit
	case errors.Is(err, actor.ErrStopped):
		kind = kindStopped
	case errors.Is(err, actor.ErrMailboxFull):
		kind = kindFull
	case errors.Is(err, context.DeadlineExceeded):
		kind = kindDeadline
	case errors.Is(err, context.Canceled):
		kind = kindCanceled
	case errors.Is(err, ErrBadRequest):
		kind = kindBadRequest
	case errors.Is(err, ErrBadResponse):
		kind = kindBadResponse
	default:
		kind = kindHandler // not reached: every error Request gives is listed above
	}
	body, _ = json.Marshal(w) // a struct of strings always encodes
	return kind, body
}

// decodeError rebuilds on the caller's side the error a server sent.
func (ep *endpoint) decodeError(kind string, body []byte) error {
	var w wireError
	if err := json.Unmarshal(body, &w); err != nil {
		w.Message = "unreadable error reply: " + string(body)
	}
	e := &callError{subject: ep.subject, msg: w.Message}
	switch kind {
	case kindStopped:
		e.causes = []error{actor.ErrStopped}
	case kindFull:
		e.causes = []error{actor.ErrMailboxFull}
	case kindDeadline:
		e.causes = []error{context.DeadlineExceeded}
	case kindCanceled:
		e.causes = []error{context.Canceled}
	case kindPanic:
		e.msg = "panic: " + w.Message
		e.causes = []error{&actor.PanicError{Value: w.Message, Stack: []byte(w.Stack)}}
	case kindGoexit:
		e.causes = []error{actor.ErrGoexit}
	case kindBadRequest:
		e.causes = []error{ErrBadRequest}
	case kindBadResponse:
		e.causes = []error{ErrBadResponse}
	case kindHandler:
		e.causes = []error{ErrHandler}
		if s, ok := ep.byText[w.Code]; ok && w.Code != "" {
			e.causes = append(e.causes, s)
		}
	default:
		// A kind from a newer server: say what it said, and claim nothing about it.
		e.msg = kind + ": " + w.Message
	}
	return e
}
