// Command pipeline runs a three-stage pipeline of actors, source -> transform -> sink, and
// stops it in the middle of the flow without losing an item.
//
// Each stage has a bounded mailbox ([actor.WithMailboxSize]) and forwards with
// [actor.Ref.SendContext], which waits for room in the next stage's mailbox: a fast source is
// held back to the pace of a slow sink (backpressure), and no more items are in flight than
// the mailboxes hold.
//
// The stages are spawned sink first, then transform, then source. That order is the point
// of the example: a Supervisor stops its actors in reverse spawn order (OTP's rule), each one
// after the one before has ended. So the source stops first, the transform then forwards
// every item it has accepted, and the sink stops last, after it has received them all.
// Spawned source first, the sink would stop first, the transform's sends of the items it
// still holds would fail with [actor.ErrStopped], and those items would be lost although
// Supervisor.Wait returns nil. The flag -wrong-order shows that.
//
// It stops when the source has sent every item, when the sink has received -stop-after
// items, when -duration passes, or on Ctrl-C (or SIGTERM); then it prints what each stage
// received and forwarded. Flags:
//
//	-items n         items the source sends (default 10000)
//	-mailbox n       mailbox size of every stage (default 16)
//	-stop-after n    stop once the sink has received n items; 0 means never (default 0)
//	-duration d      stop after d; 0 means no limit (default 0)
//	-grace d         give up on a stop that takes longer than d, losing what is in flight (default 10s)
//	-wrong-order     spawn the source first, to see the items that order loses
//
// It exits 0 when every item the pipeline accepted reached the sink, in order; 1 when items
// were lost or an actor failed; and 2 for bad flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/pactor-go/actor"
)

// Source sends the items 1..items to the transform, one message per item.
type Source struct {
	actor.Base[Source]
	out   *actor.Ref[Transform]
	abort context.Context // see spawnPipeline
	items int
	sent  int // items the transform accepted
}

// emit sends the next item and schedules the one after it. Each item is a message of its
// own, rather than one long loop, so that a stop gets in between two items: from then on
// Enqueue returns ErrStopped, and the loop ends.
func (s *Source) emit() {
	seq := s.sent + 1
	// Waits while the transform's mailbox is full. The source's own goroutine is held
	// meanwhile, which is what holds the source back.
	if err := s.out.SendContext(s.abort, func(t *Transform) { t.process(seq) }); err != nil {
		// The transform is stopping (after a failure, or a stop in the wrong order) or
		// abort ended the wait. Nothing was accepted, so nothing is lost, and there is no
		// point in trying the next item.
		s.Self().Stop()
		return
	}
	s.sent++
	if s.sent == s.items {
		s.Self().Stop() // all sent: the source has nothing more to do
		return
	}
	_ = s.Self().Enqueue((*Source).emit) // ErrStopped once the source is told to stop
}

// Transform computes each item's value and forwards it to the sink.
type Transform struct {
	out       *actor.Ref[Sink]
	abort     context.Context // see spawnPipeline
	received  int
	forwarded int // items the sink accepted
	lost      int // items received here that the sink refused
	err       error
}

// item is what reaches the sink.
type item struct{ seq, value int }

func (t *Transform) process(seq int) {
	t.received++
	it := item{seq: seq, value: seq * seq}
	if err := t.out.SendContext(t.abort, func(s *Sink) { s.take(it) }); err != nil {
		// This stage accepted the item and cannot pass it on: it is lost. In the right
		// spawn order that happens only if the sink failed or abort was cancelled; in the
		// wrong order it is what a clean stop does to every item held here.
		t.lost++
		if t.err == nil {
			t.err = err
		}
		return
	}
	t.forwarded++
}

// Sink receives the items and checks that they come in order, none missing.
type Sink struct {
	received   int
	outOfOrder int // items whose sequence number did not follow the previous one's
	last       int
	stopAfter  int           // 0: never
	reached    chan struct{} // closed when received reaches stopAfter
}

func (s *Sink) take(it item) {
	if it.seq != s.last+1 || it.value != it.seq*it.seq {
		s.outOfOrder++
	}
	s.last = it.seq
	s.received++
	if s.received == s.stopAfter {
		close(s.reached)
	}
}

// pipeline is the three stages: their state, which may be read only after the supervisor's
// Wait has returned, and their Refs.
type pipeline struct {
	source    *Source
	transform *Transform
	sink      *Sink

	sourceRef    *actor.Ref[Source]
	transformRef *actor.Ref[Transform]
	sinkRef      *actor.Ref[Sink]
}

// config is the command line.
type config struct {
	items, mailbox, stopAfter int
	duration, grace           time.Duration
	wrongOrder                bool
}

// spawnPipeline spawns the three stages under sup, in the right order unless c.wrongOrder,
// and returns them idle: start sends the first item.
//
// abort is the context the stages' SendContext calls wait with. It is not the context that
// triggers the stop (-duration, a signal): the stop is exactly when the stages must keep
// forwarding what they hold, and a send cancelled then would lose an item the pipeline has
// accepted. Nor is it context.Background, with which a stop would wait, item after item,
// for as long as a slow successor takes to make room, with no way to give up. (A failed
// successor needs no context: SendContext returns ErrStopped at once.) So abort is
// cancelled only to give up, when a stop has taken longer than -grace: the waiting sends
// then fail, and the items they drop are counted as lost. No context ends a message that
// never returns; keeping the sink's own work finite is up to the sink.
func spawnPipeline(sup *actor.Supervisor, abort context.Context, c config) *pipeline {
	p := &pipeline{
		source:    &Source{abort: abort, items: c.items},
		transform: &Transform{abort: abort},
		sink:      &Sink{stopAfter: c.stopAfter, reached: make(chan struct{})},
	}
	size := actor.WithMailboxSize(c.mailbox)
	spawnSink := func() { p.sinkRef = actor.Spawn(sup, p.sink, actor.WithName("sink"), size) }
	spawnTransform := func() {
		p.transformRef = actor.Spawn(sup, p.transform, actor.WithName("transform"), size)
	}
	spawnSource := func() { p.sourceRef = actor.Spawn(sup, p.source, actor.WithName("source"), size) }
	if c.wrongOrder {
		spawnSource()
		spawnTransform()
		spawnSink()
	} else {
		// Each stage is spawned before the one that sends to it, so that the supervisor
		// stops it after that one.
		spawnSink()
		spawnTransform()
		spawnSource()
	}
	// Linked after spawning, which only the wrong order needs (its source exists before the
	// transform does). Safe: no stage has run a message yet, and start's Send orders these
	// writes before the first one.
	p.source.out, p.transform.out = p.transformRef, p.sinkRef
	return p
}

// start sends the source its first emit.
func (p *pipeline) start() {
	// Refused only if the supervisor was already stopped, and then nothing flows.
	_ = p.sourceRef.Send((*Source).emit)
}

// result is what a run counted.
type result struct {
	config
	why          string // what started the stop
	aborted      bool   // the stop outlasted -grace and the stages gave up
	err          error  // the supervisor's Wait
	sent         int    // items the transform accepted from the source
	transformed  int    // items the transform received (ran)
	forwarded    int    // items the sink accepted from the transform
	received     int    // items the sink received (ran)
	outOfOrder   int
	transformErr error // why the transform's first lost item was refused
}

// lost is how many items the pipeline accepted and the sink never received.
func (r result) lost() int { return r.sent - r.received }

// run runs the pipeline until the source has sent every item, the sink has received
// c.stopAfter items, or ctx ends; then it stops the supervisor and waits for it.
func run(ctx context.Context, c config) result {
	abort, giveUp := context.WithCancel(context.Background())
	defer giveUp()
	sup := actor.NewSupervisor(context.Background())
	p := spawnPipeline(sup, abort, c)
	p.start()

	r := result{config: c}
	select {
	case <-p.sourceRef.Done():
		r.why = "the source has ended"
	case <-p.sink.reached:
		r.why = fmt.Sprintf("the sink has received %d items", c.stopAfter)
	case <-ctx.Done():
		r.why = "interrupted"
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			r.why = "-duration passed"
		}
	}
	// The stop drains the stages one by one, in reverse spawn order. If that takes longer
	// than grace, a stage is stuck waiting for room; giving up is then better than hanging.
	sup.Stop()
	timer := time.AfterFunc(c.grace, giveUp)
	r.err = sup.Wait()
	timer.Stop()
	r.aborted = abort.Err() != nil

	// Wait has joined every stage, so their state is safe to read without a message.
	r.sent, r.transformed, r.forwarded = p.source.sent, p.transform.received, p.transform.forwarded
	r.received, r.outOfOrder, r.transformErr = p.sink.received, p.sink.outOfOrder, p.transform.err
	return r
}

// report prints r and says whether the run lost nothing.
func (r result) report(w io.Writer) (ok bool) {
	order := "sink first, then transform, then source"
	if r.wrongOrder {
		order = "source first, then transform, then sink (-wrong-order)"
	}
	fmt.Fprintf(w, "pipeline: %d items, mailboxes of %d, spawned %s\n", r.items, r.mailbox, order)
	fmt.Fprintf(w, "stopped: %s\n", r.why)
	fmt.Fprintf(w, "source     sent %d of %d\n", r.sent, r.items)
	fmt.Fprintf(w, "transform  received %d, forwarded %d\n", r.transformed, r.forwarded)
	fmt.Fprintf(w, "sink       received %d, %d out of order\n", r.received, r.outOfOrder)
	ok = true
	if r.aborted {
		fmt.Fprintf(w, "the stop took longer than -grace %v: gave up\n", r.grace)
		ok = false
	}
	if r.err != nil {
		fmt.Fprintln(w, "failure:", r.err)
		ok = false
	}
	if n := r.lost(); n != 0 {
		fmt.Fprintf(w, "LOST %d items the pipeline had accepted", n)
		if r.transformErr != nil {
			fmt.Fprintf(w, " (the transform's sends failed with %q)", r.transformErr)
		}
		fmt.Fprintln(w)
		ok = false
	}
	if r.outOfOrder != 0 {
		ok = false
	}
	if ok {
		fmt.Fprintln(w, "no item lost")
	}
	return ok
}

func main() { os.Exit(cli(os.Args[1:], os.Stdout, os.Stderr)) }

// cli is main with its arguments, output and exit code, so that tests can call it.
func cli(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("pipeline", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c config
	fs.IntVar(&c.items, "items", 10000, "items the source sends")
	fs.IntVar(&c.mailbox, "mailbox", 16, "mailbox size of every stage")
	fs.IntVar(&c.stopAfter, "stop-after", 0, "stop once the sink has received this many items (0: never)")
	fs.DurationVar(&c.duration, "duration", 0, "stop after this long (0: no limit)")
	fs.DurationVar(&c.grace, "grace", 10*time.Second, "give up on a stop that takes longer than this")
	fs.BoolVar(&c.wrongOrder, "wrong-order", false, "spawn the source first, to see the items that order loses")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if c.items < 1 || c.mailbox < 1 || c.stopAfter < 0 || c.duration < 0 || c.grace <= 0 || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "pipeline: need -items >= 1, -mailbox >= 1, -stop-after >= 0, -duration >= 0, -grace > 0 and no arguments")
		return 2
	}

	ctx, stopSignals := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stopSignals()
	// Once a signal (or -duration) has started the stop, a second Ctrl-C kills the program
	// the default way, in case the stop hangs and the user will not wait for -grace.
	context.AfterFunc(ctx, stopSignals)
	if c.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.duration)
		defer cancel()
	}
	r := run(ctx, c)
	if !r.report(stdout) {
		return 1
	}
	return 0
}
