package main

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/pactor-go/actor"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// TestStopInTheMiddle stops a pipeline while items are flowing, once the sink has
// received 1,000 of them, and checks that every item the transform accepted reached the
// sink, in order. The source has more items than it could send in the test's lifetime, so
// only the stop ends the flow: it comes in the middle, with items in every stage.
func TestStopInTheMiddle(t *testing.T) {
	const stopAfter = 1_000
	c := config{items: math.MaxInt, mailbox: 8, stopAfter: stopAfter, grace: time.Minute}
	r := run(t.Context(), c)
	if r.err != nil || r.aborted {
		t.Fatalf("run: Wait returned %v, aborted %v; want nil, false", r.err, r.aborted)
	}
	if want := "the sink has received 1000 items"; r.why != want {
		t.Fatalf("run stopped because %q; want %q", r.why, want)
	}
	if r.received < stopAfter {
		t.Errorf("sink received %d items; want at least %d, when the stop began", r.received, stopAfter)
	}
	if r.lost() != 0 || r.transformed != r.sent || r.forwarded != r.sent || r.outOfOrder != 0 {
		t.Errorf("source sent %d, transform received %d and forwarded %d, sink received %d with %d out of order; want all equal and none out of order",
			r.sent, r.transformed, r.forwarded, r.received, r.outOfOrder)
	}
	t.Logf("%d items flowed after the sink had received %d", r.received-stopAfter, stopAfter)
}

// saturate spawns the pipeline in the given spawn order with the sink held up by a gate (a
// first message that blocks until release is closed), and sends 2*mailbox+1 items. That
// is exactly what the stages can hold while the sink runs none: mailbox items in the sink's
// mailbox, one in the transform's hand, waiting for room, and mailbox in the transform's
// mailbox. So when saturate returns (the source has ended, having sent them all), the
// transform has forwarded items 1..mailbox, is stuck on item mailbox+1, and holds the rest.
func saturate(t *testing.T, sup *actor.Supervisor, mailbox int, wrongOrder bool) (p *pipeline, release chan struct{}) {
	t.Helper()
	c := config{items: 2*mailbox + 1, mailbox: mailbox, wrongOrder: wrongOrder}
	// The stages wait for room with the test's context: nothing cancels it before the test
	// ends, as nothing cancels abort in the program before a stop outlasts -grace.
	p = spawnPipeline(sup, t.Context(), c)
	release = make(chan struct{})
	// Sent before start, so it is the sink's first message, ahead of every item.
	if err := p.sinkRef.Send(func(*Sink) { <-release }); err != nil {
		t.Fatalf("Send(gate) to the sink: %v", err)
	}
	p.start()
	if err := p.sourceRef.Wait(); err != nil {
		t.Fatalf("source: Wait = %v; want nil", err)
	}
	if p.source.sent != c.items { // safe: Wait has returned
		t.Fatalf("source sent %d items; want %d", p.source.sent, c.items)
	}
	return p, release
}

// TestWrongOrderLosesItems proves the rule rather than stating it: spawned source first,
// a clean stop loses the items the middle stage holds, and Supervisor.Wait still returns
// nil. With the pipeline saturated (see saturate), the supervisor stops the sink first, as it
// was spawned last. From that moment the sink refuses every send, so the transform's send
// of item mailbox+1, waiting for room, fails with ErrStopped, and so do its sends of the
// mailbox items queued behind it: exactly mailbox+1 items are lost. The sink still runs
// the mailbox items it had accepted.
func TestWrongOrderLosesItems(t *testing.T) {
	const mailbox = 4
	sup := actor.NewSupervisor(t.Context())
	p, release := saturate(t, sup, mailbox, true)
	sup.Stop()

	// This Ask queues behind every item in the transform's mailbox, so it returns once the
	// transform has tried all of them, which it can only do once the sink is stopping: the
	// sink runs nothing before the gate opens. So the sink has been told to stop (the loss
	// has happened) before the gate opens, in every interleaving.
	ctx := t.Context()
	lost, err := actor.Ask(ctx, p.transformRef, func(tr *Transform) (int, error) { return tr.lost, nil })
	if err != nil {
		t.Fatalf("Ask(transform) = %v; want nil: the transform must still be running", err)
	}
	close(release)
	if err := sup.Wait(); err != nil {
		t.Fatalf("Supervisor.Wait = %v; want nil: a clean stop, even in the wrong order", err)
	}

	if lost != mailbox+1 {
		t.Errorf("transform lost %d items; want %d", lost, mailbox+1)
	}
	if !errors.Is(p.transform.err, actor.ErrStopped) {
		t.Errorf("transform's sends failed with %v; want ErrStopped", p.transform.err)
	}
	if p.transform.received != 2*mailbox+1 || p.transform.forwarded != mailbox || p.sink.received != mailbox {
		t.Errorf("transform received %d and forwarded %d, sink received %d; want %d, %d, %d",
			p.transform.received, p.transform.forwarded, p.sink.received, 2*mailbox+1, mailbox, mailbox)
	}
}

// TestRightOrderKeepsItems is the same saturated pipeline spawned sink first: the same
// stop delivers every item. The supervisor stops the source (already ended), then the
// transform, whose accepted items still run, and tells the sink to stop only once the
// transform has ended, so the sink accepts all of them. (Whether the supervisor has
// reached the transform when the gate opens varies; nothing may be lost either way.)
func TestRightOrderKeepsItems(t *testing.T) {
	const mailbox = 4
	sup := actor.NewSupervisor(t.Context())
	p, release := saturate(t, sup, mailbox, false)
	sup.Stop()
	close(release)
	if err := sup.Wait(); err != nil {
		t.Fatalf("Supervisor.Wait = %v; want nil", err)
	}
	if p.transform.lost != 0 || p.sink.received != 2*mailbox+1 || p.sink.outOfOrder != 0 {
		t.Errorf("transform lost %d, sink received %d with %d out of order; want 0, %d, 0",
			p.transform.lost, p.sink.received, p.sink.outOfOrder, 2*mailbox+1)
	}
}

// TestCLI runs the command as a user would, and checks its exit codes.
func TestCLI(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		out  string // a line stdout must have
	}{
		{[]string{"-items", "5000", "-mailbox", "4"}, 0, "no item lost"},
		{[]string{"-items", "100000", "-stop-after", "500"}, 0, "stopped: the sink has received 500 items"},
		{[]string{"-items", "1000000000", "-duration", "20ms"}, 0, "stopped: -duration passed"},
		{[]string{"-items", "0"}, 2, ""},
		{[]string{"-nosuchflag"}, 2, ""},
	} {
		var stdout, stderr bytes.Buffer
		code := cli(tc.args, &stdout, &stderr)
		if code != tc.code || !strings.Contains(stdout.String(), tc.out) {
			t.Errorf("pipeline %s: exit %d, stdout:\n%s\nstderr:\n%s\nwant exit %d and a line %q",
				strings.Join(tc.args, " "), code, &stdout, &stderr, tc.code, tc.out)
		}
	}
}
