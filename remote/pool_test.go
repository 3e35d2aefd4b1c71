package remote_test

import (
	"context"
	"errors"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/pactor-go/actor"
	"github.com/pactor-go/actor/remote"
)

// TestQueueGroupSharesRequests: two servers of one endpoint share its requests, and each
// request runs on exactly one of them.
func TestQueueGroupSharesRequests(t *testing.T) {
	ns := startNATS(t)
	refs := map[string]*actor.Ref[Counter]{}
	for _, name := range []string{"a", "b"} {
		n := newNode(t, ns)
		refs[name] = actor.Spawn(n.sup, &Counter{name: name})
		if err := remote.Handle(n.srv, addEP, refs[name], (*Counter).add); err != nil {
			t.Fatalf("Handle: %v", err)
		}
	}
	c := remote.NewClient(connect(t, ns))
	const calls = 200
	by := map[string]int{}
	for range calls {
		resp, err := addEP.Call(ctxFor(t, long), c, AddReq{N: 1})
		if err != nil {
			t.Fatalf("Call: %v", err)
		}
		by[resp.By]++
	}
	// NATS picks a member at random for each request: all 200 on one side would happen
	// with probability 2^-199.
	if by["a"] == 0 || by["b"] == 0 || by["a"]+by["b"] != calls {
		t.Fatalf("served by a: %d, b: %d; want both, %d in all", by["a"], by["b"], calls)
	}
	if got := count(t, refs["a"]) + count(t, refs["b"]); got != calls {
		t.Fatalf("the actors ran %d requests, want %d", got, calls)
	}
}

// TestBroadcast: with WithBroadcast every server runs every request, and the caller gets
// one reply.
func TestBroadcast(t *testing.T) {
	ns := startNATS(t)
	ran := make(chan string, 2)
	ep := remote.NewEndpoint[string, string]("test.broadcast")
	for _, name := range []string{"a", "b"} {
		n := newNode(t, ns)
		ref := actor.Spawn(n.sup, &Counter{name: name})
		err := remote.Handle(n.srv, ep, ref, func(c *Counter, req string) (string, error) {
			ran <- c.name
			return c.name, nil
		}, remote.WithBroadcast())
		if err != nil {
			t.Fatalf("Handle: %v", err)
		}
	}
	by, err := ep.Call(ctxFor(t, long), remote.NewClient(connect(t, ns)), "reload")
	if err != nil || (by != "a" && by != "b") {
		t.Fatalf("Call = %q, %v", by, err)
	}
	if got := map[string]bool{<-ran: true, <-ran: true}; !got["a"] || !got["b"] {
		t.Fatalf("ran on %v, want a and b", got)
	}
}

// TestGracefulLeaveLosesNoCall: a server leaves a queue group with requests taken and not
// yet run. Server.Stop sends later requests to the other server at once, and stopping the
// supervisor afterwards runs and answers every request taken.
func TestGracefulLeaveLosesNoCall(t *testing.T) {
	ns := startNATS(t)
	arrived := make(chan struct{}, 100)
	a := newNode(t, ns, remote.WithRequestHook(func(ctx context.Context, _ string, _ nats.Header) (context.Context, func(error)) {
		arrived <- struct{}{}
		return ctx, nil
	}))
	gate, held := make(chan struct{}), make(chan struct{}, 1)
	if err := remote.Handle(a.srv, addEP, actor.Spawn(a.sup, &Counter{name: "a", gate: gate, held: held}), (*Counter).add); err != nil {
		t.Fatalf("Handle: %v", err)
	}
	c := remote.NewClient(connect(t, ns))
	ctx := ctxFor(t, long)
	const taken = 20
	results := make([]<-chan result[AddResp], taken)
	for i := range results {
		results[i] = goCall(ctx, addEP, c, AddReq{N: 1})
	}
	for range taken {
		<-arrived // a has taken each of them: they are in its actor's mailbox
	}
	<-held

	b := newNode(t, ns)
	if err := remote.Handle(b.srv, addEP, actor.Spawn(b.sup, &Counter{name: "b"}), (*Counter).add); err != nil {
		t.Fatalf("Handle: %v", err)
	}
	if err := a.srv.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	for range 20 {
		resp, err := addEP.Call(ctx, c, AddReq{N: 1})
		if err != nil || resp.By != "b" {
			t.Fatalf("Call after a left = %+v, %v; want one served by b", resp, err)
		}
	}
	close(gate)
	a.sup.Stop()
	if err := a.sup.Wait(); err != nil {
		t.Fatalf("Wait: %v", err)
	}
	totals := map[int]bool{}
	for i, ch := range results {
		r := <-ch
		if r.err != nil || r.resp.By != "a" {
			t.Fatalf("taken Call %d = %+v, %v; want one served by a", i, r.resp, r.err)
		}
		totals[r.resp.Total] = true
	}
	if len(totals) != taken {
		t.Fatalf("the taken calls saw %d distinct totals, want %d: each ran once", len(totals), taken)
	}
}

// TestServerStopThenNoResponders: once Stop returns, a lone server gets no request, and
// callers learn it at once.
func TestServerStopThenNoResponders(t *testing.T) {
	ns := startNATS(t)
	n := newNode(t, ns)
	ref := actor.Spawn(n.sup, &Counter{})
	if err := remote.Handle(n.srv, addEP, ref, (*Counter).add); err != nil {
		t.Fatalf("Handle: %v", err)
	}
	c := remote.NewClient(connect(t, ns))
	if _, err := addEP.Call(ctxFor(t, long), c, AddReq{N: 1}); err != nil {
		t.Fatalf("Call: %v", err)
	}
	if err := n.srv.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if _, err := addEP.Call(ctxFor(t, long), c, AddReq{N: 1}); !errors.Is(err, remote.ErrNoResponders) {
		t.Fatalf("Call after Stop = %v, want ErrNoResponders", err)
	}
	if got := count(t, ref); got != 1 {
		t.Fatalf("count = %d, want 1", got)
	}
}
