package remote_test

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/pactor-go/actor"
	"github.com/pactor-go/actor/remote"
)

// ErrNegative is a domain sentinel registered on kitEP, so callers can match it.
var ErrNegative = errors.New("kit: negative")

// Op says what the kit's handler should do.
type Op struct {
	Do string
	N  int
}

var kitEP = remote.NewEndpoint[Op, float64]("test.kit", remote.WithErrors(ErrNegative))

// Kit is an actor whose handler fails in every way a handler can.
type Kit struct{ ran int }

func (k *Kit) do(op Op) (float64, error) {
	k.ran++
	switch op.Do {
	case "ok":
		return float64(op.N), nil
	case "negative":
		return 0, fmt.Errorf("checking %d: %w", op.N, ErrNegative)
	case "plain":
		return 0, errors.New("kit: something else")
	case "stopped":
		// An error of the handler's own that happens to be actor.ErrStopped (say, from an
		// Ask of its own): it must not read as "the handler did not run".
		return 0, actor.ErrStopped
	case "panic":
		panic("boom")
	case "goexit":
		runtime.Goexit()
	case "inf":
		return math.Inf(1), nil // encoding/json refuses it: the result cannot be sent
	}
	return 0, errors.New("unknown op")
}

func kitRan(t *testing.T, ref *actor.Ref[Kit]) int {
	t.Helper()
	n, err := actor.Ask(ctxFor(t, long), ref, func(k *Kit) (int, error) { return k.ran, nil })
	if err != nil {
		t.Fatalf("Ask: %v", err)
	}
	return n
}

// TestErrorsKeepTheirIdentity checks each error a handler can cause, through the wire,
// with errors.Is and errors.As, and whether the handler ran, as Call documents.
func TestErrorsKeepTheirIdentity(t *testing.T) {
	ns := startNATS(t)
	n := newNode(t, ns)
	ref := actor.Spawn(n.sup, &Kit{}, actor.WithRestart(100, time.Hour))
	if err := remote.Handle(n.srv, kitEP, ref, (*Kit).do); err != nil {
		t.Fatalf("Handle: %v", err)
	}
	c := remote.NewClient(connect(t, ns))
	for _, tc := range []struct {
		do      string
		is, not []error
		text    string // the error's text contains it
		ran     bool
	}{
		{do: "negative", is: []error{remote.ErrHandler, ErrNegative}, text: "checking 7: kit: negative", ran: true},
		{do: "plain", is: []error{remote.ErrHandler}, not: []error{ErrNegative}, text: "kit: something else", ran: true},
		{do: "stopped", is: []error{remote.ErrHandler}, not: []error{actor.ErrStopped}, ran: true},
		{do: "inf", is: []error{remote.ErrBadResponse}, not: []error{remote.ErrHandler}, ran: true},
		{do: "panic", text: "panic: boom", ran: true},
	} {
		before := kitRan(t, ref)
		_, err := kitEP.Call(ctxFor(t, long), c, Op{Do: tc.do, N: 7})
		if err == nil {
			t.Errorf("%s: Call returned nil error", tc.do)
			continue
		}
		for _, target := range tc.is {
			if !errors.Is(err, target) {
				t.Errorf("%s: errors.Is(%v, %v) = false, want true", tc.do, err, target)
			}
		}
		for _, target := range tc.not {
			if errors.Is(err, target) {
				t.Errorf("%s: errors.Is(%v, %v) = true, want false", tc.do, err, target)
			}
		}
		if !strings.Contains(err.Error(), tc.text) || !strings.Contains(err.Error(), kitEP.Subject()) {
			t.Errorf("%s: error %q should name the subject and contain %q", tc.do, err, tc.text)
		}
		if ran := kitRan(t, ref) - before; ran != 1 {
			t.Errorf("%s: the handler ran %d times, want 1", tc.do, ran)
		}
	}

	// A panic arrives as an *actor.PanicError with the value's text, and no stack.
	_, err := kitEP.Call(ctxFor(t, long), c, Op{Do: "panic"})
	var pe *actor.PanicError
	if !errors.As(err, &pe) || pe.Value != "boom" || len(pe.Stack) != 0 {
		t.Fatalf("panic: Call = %v; want an *actor.PanicError with Value boom and no stack", err)
	}
}

// TestPanicStacks: WithPanicStacks sends the stack along.
func TestPanicStacks(t *testing.T) {
	ns := startNATS(t)
	n := newNode(t, ns, remote.WithPanicStacks())
	ref := actor.Spawn(n.sup, &Kit{}, actor.WithRestart(1, time.Hour))
	if err := remote.Handle(n.srv, kitEP, ref, (*Kit).do); err != nil {
		t.Fatalf("Handle: %v", err)
	}
	_, err := kitEP.Call(ctxFor(t, long), remote.NewClient(connect(t, ns)), Op{Do: "panic"})
	var pe *actor.PanicError
	if !errors.As(err, &pe) || !strings.Contains(string(pe.Stack), "(*Kit).do") {
		t.Fatalf("Call = %v; want an *actor.PanicError whose stack names (*Kit).do", err)
	}
}

// TestPanicFailsTheActor: without WithRestart, the caller still gets the panic, and the
// actor's supervisor fails with it.
func TestPanicFailsTheActor(t *testing.T) {
	ns := startNATS(t)
	n := newNode(t, ns)
	ref := actor.Spawn(n.sup, &Kit{})
	if err := remote.Handle(n.srv, kitEP, ref, (*Kit).do); err != nil {
		t.Fatalf("Handle: %v", err)
	}
	_, err := kitEP.Call(ctxFor(t, long), remote.NewClient(connect(t, ns)), Op{Do: "panic"})
	var pe *actor.PanicError
	if !errors.As(err, &pe) {
		t.Fatalf("Call = %v, want an *actor.PanicError", err)
	}
	if err := n.sup.Wait(); !errors.As(err, &pe) {
		t.Fatalf("Supervisor.Wait = %v, want the *actor.PanicError", err)
	}
}

// TestGoexit: a handler that calls runtime.Goexit fails its actor, even with WithRestart,
// and its caller gets actor.ErrGoexit.
func TestGoexit(t *testing.T) {
	ns := startNATS(t)
	n := newNode(t, ns)
	ref := actor.Spawn(n.sup, &Kit{}, actor.WithRestart(1, time.Hour))
	if err := remote.Handle(n.srv, kitEP, ref, (*Kit).do); err != nil {
		t.Fatalf("Handle: %v", err)
	}
	_, err := kitEP.Call(ctxFor(t, long), remote.NewClient(connect(t, ns)), Op{Do: "goexit"})
	if !errors.Is(err, actor.ErrGoexit) {
		t.Fatalf("Call = %v, want actor.ErrGoexit", err)
	}
	if err := n.sup.Wait(); !errors.Is(err, actor.ErrGoexit) {
		t.Fatalf("Supervisor.Wait = %v, want actor.ErrGoexit", err)
	}
}

// TestBadRequestAndResponse: a request the server cannot decode never runs; a response the
// caller cannot decode comes from a handler that ran; a request the caller cannot encode
// is never sent.
func TestBadRequestAndResponse(t *testing.T) {
	ns := startNATS(t)
	n := newNode(t, ns)
	ref := actor.Spawn(n.sup, &Kit{})
	if err := remote.Handle(n.srv, kitEP, ref, (*Kit).do); err != nil {
		t.Fatalf("Handle: %v", err)
	}
	c := remote.NewClient(connect(t, ns))

	// Both sides should share one Endpoint; these two disagree with the server's on purpose.
	wrongReq := remote.NewEndpoint[string, float64](kitEP.Subject())
	if _, err := wrongReq.Call(ctxFor(t, long), c, "ok"); !errors.Is(err, remote.ErrBadRequest) {
		t.Errorf("undecodable request: Call = %v, want ErrBadRequest", err)
	}
	wrongResp := remote.NewEndpoint[Op, string](kitEP.Subject())
	if _, err := wrongResp.Call(ctxFor(t, long), c, Op{Do: "ok"}); !errors.Is(err, remote.ErrBadResponse) {
		t.Errorf("undecodable response: Call = %v, want ErrBadResponse", err)
	}
	unencodable := remote.NewEndpoint[chan int, float64](kitEP.Subject())
	if _, err := unencodable.Call(ctxFor(t, long), c, make(chan int)); !errors.Is(err, remote.ErrBadRequest) {
		t.Errorf("unencodable request: Call = %v, want ErrBadRequest", err)
	}
	if got := kitRan(t, ref); got != 1 {
		t.Fatalf("the handler ran %d times, want 1 (for the undecodable response only)", got)
	}
}

// TestNoResponders: a subject nobody serves fails at once, long before the deadline.
func TestNoResponders(t *testing.T) {
	ns := startNATS(t)
	c := remote.NewClient(connect(t, ns))
	start := time.Now()
	_, err := addEP.Call(ctxFor(t, long), c, AddReq{N: 1})
	if !errors.Is(err, remote.ErrNoResponders) || !errors.Is(err, nats.ErrNoResponders) {
		t.Fatalf("Call = %v, want ErrNoResponders", err)
	}
	// The deadline is 30 s; a machine that takes a tenth of it for a round trip is broken.
	if d := time.Since(start); d > long/10 {
		t.Fatalf("no responders took %v", d)
	}
}

// TestDroppedRequestIsStopped: a request waiting in the mailbox of an actor stopped with
// StopNow is dropped, and its caller gets actor.ErrStopped at once; a request to an actor
// that is stopping is refused with it.
func TestDroppedRequestIsStopped(t *testing.T) {
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
	// Two race for the one slot: the one refused with ErrMailboxFull tells us that the
	// other is in the mailbox.
	a, b := goCall(ctx, addEP, c, AddReq{N: 1}), goCall(ctx, addEP, c, AddReq{N: 1})
	var queued <-chan result[AddResp]
	var r result[AddResp]
	select {
	case r = <-a:
		queued = b
	case r = <-b:
		queued = a
	}
	if !errors.Is(r.err, actor.ErrMailboxFull) {
		t.Fatalf("Call = %v, want ErrMailboxFull", r.err)
	}
	if dropped := ref.StopNow(); dropped != 1 {
		t.Fatalf("StopNow dropped %d, want 1", dropped)
	}
	if r := <-queued; !errors.Is(r.err, actor.ErrStopped) {
		t.Fatalf("queued Call = %v, want actor.ErrStopped", r.err)
	}
	// Stopping (the first request still runs): refused, or gone from NATS already.
	if _, err := addEP.Call(ctx, c, AddReq{N: 1}); !errors.Is(err, actor.ErrStopped) && !errors.Is(err, remote.ErrNoResponders) {
		t.Fatalf("Call to a stopping actor = %v, want actor.ErrStopped or ErrNoResponders", err)
	}
	close(gate)
	if r := <-running; r.err != nil {
		t.Fatalf("running Call = %v", r.err)
	}
	if err := ref.Wait(); err != nil {
		t.Fatalf("Wait = %v", err)
	}
}
