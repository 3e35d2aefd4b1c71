package remote_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/nats-io/nats.go"
	"github.com/pactor-go/actor"
	"github.com/pactor-go/actor/remote"
)

// TestDispatchDoesNotWaitForTheActor shows that the subscription hands requests over
// without waiting: while the served actor is busy, every request that arrives on its
// subject is still taken off NATS and queued in the actor's mailbox, and all of them are
// answered once the actor goes on.
func TestDispatchDoesNotWaitForTheActor(t *testing.T) {
	ns := startNATS(t)
	var dispatched atomic.Int32
	arrived := make(chan struct{}, 100)
	n := newNode(t, ns, remote.WithRequestHook(func(ctx context.Context, _ string, _ nats.Header) (context.Context, func(error)) {
		dispatched.Add(1)
		arrived <- struct{}{}
		return ctx, nil
	}))
	gate, held := make(chan struct{}), make(chan struct{}, 1)
	ref := actor.Spawn(n.sup, &Counter{gate: gate, held: held})
	if err := remote.Handle(n.srv, addEP, ref, (*Counter).add); err != nil {
		t.Fatalf("Handle: %v", err)
	}
	c := remote.NewClient(connect(t, ns))
	ctx := ctxFor(t, long)

	first := goCall(ctx, addEP, c, AddReq{N: 1})
	<-held // the actor is now stuck in the first request
	const more = 50
	results := make([]<-chan result[AddResp], more)
	for i := range results {
		results[i] = goCall(ctx, addEP, c, AddReq{N: 1})
	}
	// The hook runs on the subscription's goroutine just before the request is handed
	// to the actor: all of them pass it while the actor is still stuck.
	for range more + 1 {
		<-arrived
	}
	if got := dispatched.Load(); got != more+1 {
		t.Fatalf("dispatched %d requests, want %d", got, more+1)
	}
	close(gate)
	if r := <-first; r.err != nil {
		t.Fatalf("first Call: %v", r.err)
	}
	for i, ch := range results {
		if r := <-ch; r.err != nil {
			t.Fatalf("Call %d: %v", i, r.err)
		}
	}
	if got := count(t, ref); got != more+1 {
		t.Fatalf("count = %d, want %d", got, more+1)
	}
}

// TestFullMailboxAnswersAtOnce shows back-pressure crossing the wire: a bounded mailbox
// that is full makes the server answer actor.ErrMailboxFull while the actor is still busy,
// and none of those requests ever runs.
func TestFullMailboxAnswersAtOnce(t *testing.T) {
	ns := startNATS(t)
	n := newNode(t, ns)
	gate, held := make(chan struct{}), make(chan struct{}, 1)
	ref := actor.Spawn(n.sup, &Counter{gate: gate, held: held}, actor.WithMailboxSize(1))
	if err := remote.Handle(n.srv, addEP, ref, (*Counter).add); err != nil {
		t.Fatalf("Handle: %v", err)
	}
	c := remote.NewClient(connect(t, ns))
	ctx := ctxFor(t, long)

	running := goCall(ctx, addEP, c, AddReq{N: 1})
	<-held
	// Two race for the one slot: one is queued, the other is refused at once.
	a, b := goCall(ctx, addEP, c, AddReq{N: 1}), goCall(ctx, addEP, c, AddReq{N: 1})
	var queued <-chan result[AddResp]
	select {
	case r := <-a:
		queued = b
		if !errors.Is(r.err, actor.ErrMailboxFull) {
			t.Fatalf("Call = %v, want ErrMailboxFull", r.err)
		}
	case r := <-b:
		queued = a
		if !errors.Is(r.err, actor.ErrMailboxFull) {
			t.Fatalf("Call = %v, want ErrMailboxFull", r.err)
		}
	}
	// The slot is taken now, so every further call is refused, each before the actor
	// moves: the gate is still closed.
	for i := range 10 {
		_, err := addEP.Call(ctx, c, AddReq{N: 100})
		if !errors.Is(err, actor.ErrMailboxFull) {
			t.Fatalf("Call %d = %v, want ErrMailboxFull", i, err)
		}
	}
	close(gate)
	for _, ch := range []<-chan result[AddResp]{running, queued} {
		if r := <-ch; r.err != nil {
			t.Fatalf("Call: %v", r.err)
		}
	}
	if got := count(t, ref); got != 2 {
		t.Fatalf("count = %d, want 2: refused requests must not run", got)
	}
}
