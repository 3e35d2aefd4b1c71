package remote

import (
	"context"
	"time"

	"github.com/nats-io/nats.go"
)

// DefaultTimeout is how long a call may take when its context has no deadline: the
// [Client]'s default unless [WithTimeout] changes it, and what a server gives a request that
// carries no deadline (one sent by another NATS client, say).
const DefaultTimeout = 5 * time.Second

// Client sends calls over one NATS connection. Make one per connection with [NewClient]
// and share it: it is safe for concurrent use and holds no resources of its own, so it
// needs no closing (close the connection instead). The zero Client is not usable.
type Client struct {
	nc      *nats.Conn
	timeout time.Duration
	hook    ClientHook
}

// ClientHook is called by [Endpoint.Call] just before it sends a request, with the call's
// context, the subject, and the request's headers, to which it may add (a W3C traceparent,
// say). Its result, if not nil, is called once when the call returns, with the error Call
// returns. It runs on the caller's goroutine and must not keep h.
type ClientHook func(ctx context.Context, subject string, h nats.Header) (end func(error))

// NewClient returns a Client that calls over nc. Options: [WithTimeout] and [WithCallHook].
// It panics if nc is nil.
func NewClient(nc *nats.Conn, opts ...ClientOption) *Client {
	if nc == nil {
		panic("remote: NewClient: nil *nats.Conn")
	}
	c := &Client{nc: nc, timeout: DefaultTimeout}
	for _, o := range opts {
		if o == nil {
			panic("remote: NewClient: nil ClientOption")
		}
		o.applyClient(c)
	}
	return c
}

func (c *Client) check(op string) {
	if c == nil || c.nc == nil {
		panic("remote: " + op + ": nil or zero *Client (Clients come from NewClient)")
	}
}
