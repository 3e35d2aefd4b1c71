package remote_test

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/pactor-go/actor"
	"github.com/pactor-go/actor/remote"
	"github.com/pactor-go/actor/remote/embedded"
)

// long is the deadline of calls that are expected to succeed: far beyond anything a loaded
// two-core machine needs, so that it is never what a test measures.
const long = 30 * time.Second

// startNATS starts an in-process NATS server for t and shuts it down when t ends.
func startNATS(t testing.TB, opts ...embedded.Option) *embedded.Server {
	t.Helper()
	ns, err := embedded.Start(opts...)
	if err != nil {
		t.Fatalf("embedded.Start: %v", err)
	}
	t.Cleanup(ns.Shutdown)
	return ns
}

// connect opens a connection to ns that is closed when t ends, before ns shuts down (the
// cleanups run last in, first out).
func connect(t testing.TB, ns *embedded.Server) *nats.Conn {
	t.Helper()
	nc, err := ns.Connect()
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// node is one serving process in miniature: a connection, a supervisor and a Server.
type node struct {
	nc  *nats.Conn
	sup *actor.Supervisor
	srv *remote.Server
}

// newNode makes a node and shuts it down in the documented order when t ends: server
// stop, supervisor stop and wait, connection close. wantErr, if set, is what the
// supervisor's Wait must match (for tests that fail an actor on purpose).
func newNode(t testing.TB, ns *embedded.Server, opts ...remote.ServerOption) *node {
	t.Helper()
	n := &node{nc: connect(t, ns), sup: actor.NewSupervisor(context.Background())}
	srv, err := remote.NewServer(n.sup, n.nc, "test", "0.0.1", opts...)
	if err != nil {
		t.Fatalf("NewServer: %v", err)
	}
	n.srv = srv
	t.Cleanup(func() {
		if err := n.srv.Stop(); err != nil {
			t.Errorf("Server.Stop: %v", err)
		}
		n.sup.Stop()
		_ = n.sup.Wait() // tests that expect a failure check it themselves
	})
	return n
}

// ctxFor returns a context with deadline d, cancelled when t ends.
func ctxFor(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// Counter is the test actor: it counts the calls it ran, and can be held on a gate.
type Counter struct {
	name string // what add reports in By
	n    int
	gate chan struct{} // when set, add waits for it to close: a way to keep the actor busy
	held chan struct{} // when set, the first add signals on it before it waits on gate
}

type AddReq struct{ N int }
type AddResp struct {
	Total int
	By    string
}

func (c *Counter) add(req AddReq) (AddResp, error) {
	if c.gate != nil {
		if c.held != nil {
			c.held <- struct{}{}
			c.held = nil // once: the test waits for the first request only
		}
		<-c.gate
	}
	c.n += req.N
	return AddResp{Total: c.n, By: c.name}, nil
}

var addEP = remote.NewEndpoint[AddReq, AddResp]("test.add")

// count asks the actor for its count: its reply comes after every message queued before.
func count(t testing.TB, ref *actor.Ref[Counter]) int {
	t.Helper()
	n, err := actor.Ask(ctxFor(t, long), ref, func(c *Counter) (int, error) { return c.n, nil })
	if err != nil {
		t.Fatalf("Ask: %v", err)
	}
	return n
}

// result is what an asynchronous call returned.
type result[Resp any] struct {
	resp Resp
	err  error
}

// goCall calls e on a goroutine of its own and delivers the result on the channel it returns.
func goCall[Req, Resp any](ctx context.Context, e remote.Endpoint[Req, Resp], c *remote.Client, req Req) <-chan result[Resp] {
	ch := make(chan result[Resp], 1)
	go func() {
		resp, err := e.Call(ctx, c, req)
		ch <- result[Resp]{resp, err}
	}()
	return ch
}
