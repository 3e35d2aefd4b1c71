package remote_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/pactor-go/actor"
	"github.com/pactor-go/actor/remote"
)

var leftEP = remote.NewEndpoint[struct{}, time.Duration]("test.left")

// timeLeft is a handler that reports how much of its deadline is left when it runs.
func timeLeft(_ *Counter, ctx context.Context, _ struct{}) (time.Duration, error) {
	d, ok := ctx.Deadline()
	if !ok {
		return 0, errors.New("no deadline")
	}
	return time.Until(d), nil
}

// TestDeadlineTravels shows that the caller's remaining time reaches the handler, and that
// a caller without a deadline gets its client's timeout. The bounds allow seconds of delay
// in transit, so that a loaded machine does not fail them.
func TestDeadlineTravels(t *testing.T) {
	ns := startNATS(t)
	n := newNode(t, ns)
	ref := actor.Spawn(n.sup, &Counter{})
	if err := remote.HandleContext(n.srv, leftEP, ref, timeLeft); err != nil {
		t.Fatalf("HandleContext: %v", err)
	}
	nc := connect(t, ns)
	for _, tc := range []struct {
		name     string
		c        *remote.Client
		ctx      context.Context
		min, max time.Duration
	}{
		{"caller's deadline", remote.NewClient(nc), ctxFor(t, 20*time.Second), 10 * time.Second, 20 * time.Second},
		{"client's timeout", remote.NewClient(nc, remote.WithTimeout(40*time.Second)), context.Background(), 30 * time.Second, 40 * time.Second},
		{"default timeout", remote.NewClient(nc), context.Background(), remote.DefaultTimeout / 2, remote.DefaultTimeout},
	} {
		left, err := leftEP.Call(tc.ctx, tc.c, struct{}{})
		if err != nil || left <= tc.min || left > tc.max {
			t.Errorf("%s: handler had %v left (err %v), want within (%v, %v]", tc.name, left, err, tc.min, tc.max)
		}
	}
}

// TestExpiredRequestNeverRuns queues a request behind a busy actor and lets its deadline
// pass: the caller gets context.DeadlineExceeded, the server answers it too once its own
// copy of the deadline passes, and the request never runs, even after the actor is free.
func TestExpiredRequestNeverRuns(t *testing.T) {
	ns := startNATS(t)
	answered := make(chan error, 10)
	n := newNode(t, ns, remote.WithRequestHook(func(ctx context.Context, _ string, _ nats.Header) (context.Context, func(error)) {
		return ctx, func(err error) { answered <- err }
	}))
	gate, held := make(chan struct{}), make(chan struct{}, 1)
	ref := actor.Spawn(n.sup, &Counter{gate: gate, held: held})
	if err := remote.Handle(n.srv, addEP, ref, (*Counter).add); err != nil {
		t.Fatalf("Handle: %v", err)
	}
	c := remote.NewClient(connect(t, ns))

	first := goCall(ctxFor(t, long), addEP, c, AddReq{N: 1})
	<-held
	// Any short deadline will do: the actor is held until the request has expired.
	_, err := addEP.Call(ctxFor(t, 100*time.Millisecond), c, AddReq{N: 1000})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Call = %v, want context.DeadlineExceeded", err)
	}
	// The server's deadline started on arrival, a little after the caller's: wait until
	// it has answered the request with its own deadline error, and only then free the actor.
	if err := <-answered; !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("server answered %v, want context.DeadlineExceeded", err)
	}
	close(gate)
	if r := <-first; r.err != nil || r.resp.Total != 1 {
		t.Fatalf("first Call = %v, %v; want Total 1", r.resp, r.err)
	}
	if got := count(t, ref); got != 1 {
		t.Fatalf("count = %d, want 1: the expired request ran", got)
	}
}

// TestExpiredOnArrival sends raw requests with a deadline that has already passed, and a
// malformed one: the server answers at once, and nothing runs.
func TestExpiredOnArrival(t *testing.T) {
	ns := startNATS(t)
	n := newNode(t, ns)
	ref := actor.Spawn(n.sup, &Counter{})
	if err := remote.Handle(n.srv, addEP, ref, (*Counter).add); err != nil {
		t.Fatalf("Handle: %v", err)
	}
	nc := connect(t, ns)
	for _, tc := range []struct{ timeout, kind string }{
		{"0", "deadline"},
		{"-5", "deadline"},
		{"soon", "bad-request"},
	} {
		m := &nats.Msg{Subject: addEP.Subject(), Header: nats.Header{"Pactor-Timeout": {tc.timeout}}, Data: []byte(`{"N":1}`)}
		reply, err := nc.RequestMsgWithContext(ctxFor(t, long), m)
		if err != nil {
			t.Fatalf("Pactor-Timeout %s: %v", tc.timeout, err)
		}
		if got := reply.Header.Get("Pactor-Error"); got != tc.kind {
			t.Errorf("Pactor-Timeout %s: Pactor-Error = %q, want %q", tc.timeout, got, tc.kind)
		}
	}
	if got := count(t, ref); got != 0 {
		t.Fatalf("count = %d, want 0", got)
	}
}
