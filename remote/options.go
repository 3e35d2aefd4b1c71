package remote

import (
	"strconv"
	"strings"
	"time"
)

// EndpointOption configures an [Endpoint] at [NewEndpoint]. Options are made by [WithCodec]
// and [WithErrors]; each checks its arguments when it is made.
type EndpointOption interface{ applyEndpoint(*endpoint) }

// ClientOption configures a [Client] at [NewClient]. Options are made by [WithTimeout] and
// [WithCallHook].
type ClientOption interface{ applyClient(*Client) }

// ServerOption configures a [Server] at [NewServer]. Options are made by [WithRequestHook]
// and [WithPanicStacks].
type ServerOption interface{ applyServer(*Server) }

// HandleOption configures one endpoint at [Handle]. Options are made by [WithQueueGroup]
// and [WithBroadcast].
type HandleOption interface{ applyHandle(*handleConfig) }

type endpointOption func(*endpoint)

func (f endpointOption) applyEndpoint(e *endpoint) { f(e) }

type clientOption func(*Client)

func (f clientOption) applyClient(c *Client) { f(c) }

type serverOption func(*Server)

func (f serverOption) applyServer(s *Server) { f(s) }

type handleOption func(*handleConfig)

func (f handleOption) applyHandle(c *handleConfig) { f(c) }

// WithCodec makes the endpoint encode requests and responses with c instead of [JSON].
// It panics if c is nil.
func WithCodec(c Codec) EndpointOption {
	if c == nil {
		panic("remote: WithCodec: nil Codec")
	}
	return endpointOption(func(e *endpoint) { e.codec = c })
}

// WithErrors registers sentinel errors that the endpoint's handler may return, so that
// they keep their identity across the wire: when the handler's error matches one of them
// (by errors.Is, in the order given), the caller's error matches it too, as well as
// [ErrHandler]. An error travels by its text, so each must have a distinct, non-empty
// one-line text, and both sides must register it (they do when they share the Endpoint).
// Repeated WithErrors add to the list. It panics if an error is nil, has an empty or
// multi-line text, or shares its text with another.
func WithErrors(errs ...error) EndpointOption {
	seen := make(map[string]bool, len(errs))
	for _, err := range errs {
		if err == nil {
			panic("remote: WithErrors: nil error")
		}
		t := err.Error()
		if t == "" || strings.ContainsAny(t, "\r\n") {
			panic("remote: WithErrors: error text must be one non-empty line: " + strconv.Quote(t))
		}
		if seen[t] {
			panic("remote: WithErrors: two errors share the text " + strconv.Quote(t))
		}
		seen[t] = true
	}
	errs = append([]error(nil), errs...)
	return endpointOption(func(e *endpoint) {
		if e.byText == nil {
			e.byText = make(map[string]error)
		}
		for _, err := range errs {
			if _, dup := e.byText[err.Error()]; dup {
				panic("remote: WithErrors: two errors share the text " + strconv.Quote(err.Error()))
			}
			e.byText[err.Error()] = err
			e.errs = append(e.errs, err)
		}
	})
}

// WithTimeout sets how long a call whose context has no deadline may take, instead of
// [DefaultTimeout]. It panics if d <= 0.
func WithTimeout(d time.Duration) ClientOption {
	if d <= 0 {
		panic("remote: WithTimeout: non-positive timeout")
	}
	return clientOption(func(c *Client) { c.timeout = d })
}

// WithCallHook makes the client call hook before each request is sent (see [ClientHook]).
// It panics if hook is nil.
func WithCallHook(hook ClientHook) ClientOption {
	if hook == nil {
		panic("remote: WithCallHook: nil hook")
	}
	return clientOption(func(c *Client) { c.hook = hook })
}

// WithRequestHook makes the server call hook for each request it hands to an actor (see
// [RequestHook]). It panics if hook is nil.
func WithRequestHook(hook RequestHook) ServerOption {
	if hook == nil {
		panic("remote: WithRequestHook: nil hook")
	}
	return serverOption(func(s *Server) { s.hook = hook })
}

// WithPanicStacks makes the server send the stack of a handler's panic to the caller, in
// the Stack of the [*actor.PanicError] that the caller gets. Without it only the panic
// value's text crosses the wire: a stack tells a caller about the server's code, which it
// may have no business knowing.
func WithPanicStacks() ServerOption {
	return serverOption(func(s *Server) { s.stacks = true })
}

// DefaultQueueGroup is the NATS queue group that servers join for each endpoint unless
// [WithQueueGroup] or [WithBroadcast] says otherwise: every instance that serves a subject
// takes a share of its requests, and each request goes to one of them.
const DefaultQueueGroup = "pactor"

type handleConfig struct {
	queue     string
	broadcast bool
}

// WithQueueGroup puts the endpoint's subscription in queue group name instead of
// [DefaultQueueGroup]. Instances in different groups each get every request, and each
// runs it; the caller takes the first reply. It panics if name is empty or holds white
// space.
func WithQueueGroup(name string) HandleOption {
	if name == "" || strings.ContainsAny(name, " \t\r\n") {
		panic("remote: WithQueueGroup: invalid queue group " + strconv.Quote(name))
	}
	return handleOption(func(c *handleConfig) { c.queue, c.broadcast = name, false })
}

// WithBroadcast subscribes the endpoint outside any queue group: every instance that
// serves it this way gets every request and runs it, and the caller takes the first reply
// (the others are dropped). Use it for requests that every instance must see, such as
// "reload your configuration"; the caller learns only that one of them did.
func WithBroadcast() HandleOption {
	return handleOption(func(c *handleConfig) { c.broadcast = true })
}
