package actor

// The torture test: many actors under a few supervisors, driven by goroutines that do random
// operations from a seeded generator, with a ledger of every message checked at the end of
// each round against the guarantees in doc.go.
//
// A round is one world: supervisors, actors, workers. Its seed fixes the plan (which
// operations, on which actors, with which messages); the scheduler still decides the
// interleaving, so a replay runs the same plan, not the same schedule. Round 0 of a run uses
// the seed given with -seed, so the replay command printed on failure starts with the
// round that failed.
//
// What the ledger can assert, and why. Every send gets a record with the logical clock read
// just before the call and just after it returned, so that "A returned before B was called"
// is known for any two calls on any goroutines. Each message counts its own runs and notes
// its place in its actor's order of started messages (a panicking message counts as run: it
// started). Then, per actor:
//   - a send that returned an error never ran; an Ask whose context ended may have run once
//     (fn may have started before the context ended), and is otherwise left out;
//   - if the actor stopped cleanly (Wait nil), every accepted message ran exactly once;
//   - if it failed, the failure is the last message it started, Wait's error names it, and
//     the accepted messages that did not run were all accepted no earlier than every one that
//     ran: the dropped ones are exactly those queued behind the failure (FIFO cut);
//   - once a send has returned ErrStopped, no later send is accepted;
//   - the messages of each sender (a worker, or an actor sending from inside) ran in the
//     order it sent them;
//   - WithRestart(k) with a window of an hour fails the actor at exactly the (k+1)th panic,
//     and OnStart ran once plus once per restart; OnStop ran once;
//   - a Spawn called after its supervisor's Stop returned gives a stopped Ref, and one that
//     returned before anything could stop the supervisor gives a live one;
//   - every Ask and SendContext with a deadline returned within the deadline plus ttGrace;
//   - Supervisor.Wait returned nil exactly when none of its actors failed, and otherwise the
//     very error one of them failed with, and not one that provably came second.
// Goroutine leaks are checked with goleak at the end of the test; -race is assumed.

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

var (
	ttSeedFlag     = flag.Uint64("seed", 0, "seed of TestTorture's generator (0: pick one at random); the seed of a failed round replays it first")
	ttDurationFlag = flag.Duration("torture.duration", 10*time.Second, "how long TestTorture runs (1s with -short); raise -timeout for long soaks")
)

const (
	// ttGrace is how late an Ask or SendContext may return after its deadline. The check is
	// for liveness, not speed: the machines are shared and -race is slow, so it is generous.
	ttGrace = 2 * time.Second
	// ttHang is how long one round may take before the test calls it hung, dumps the
	// goroutines and fails. A round normally takes well under a second.
	ttHang = time.Minute
	// ttGates is how many gates blocking messages can wait on.
	ttGates = 4
	// ttMaxFailures caps the failures reported per round.
	ttMaxFailures = 30
	// ttMain is the sender number of the round's own goroutine.
	ttMain = 1000
)

func TestTorture(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	seed := *ttSeedFlag
	if seed == 0 {
		seed = rand.Uint64()
	}
	duration := *ttDurationFlag
	if testing.Short() && !ttFlagSet("torture.duration") {
		duration = time.Second
	}
	t.Logf("seed %d, duration %v; replay with: %s", seed, duration, ttReplay(seed))

	seeds := rand.New(rand.NewPCG(seed, 0x70727475726521))
	var total ttStats
	start := time.Now()
	rounds := 0
	for roundSeed := seed; rounds == 0 || time.Since(start) < duration; roundSeed = seeds.Uint64() {
		rd := ttNewRound(roundSeed)
		done := make(chan struct{})
		go func() {
			defer close(done)
			rd.run()
		}()
		select {
		case <-done:
		case <-time.After(ttHang):
			var dump strings.Builder
			pprof.Lookup("goroutine").WriteTo(&dump, 2)
			t.Fatalf("round %d hung for %v (a call never returned or an actor never ended)\n%s\n%s\nround seed %d (run seed %d); replay with: %s",
				rounds, ttHang, rd.describe(), dump.String(), roundSeed, seed, ttReplay(roundSeed))
		}
		rounds++
		total.add(&rd.stats)
		if fails := rd.failures(); len(fails) > 0 {
			for _, f := range fails {
				t.Error(f)
			}
			t.Fatalf("round %d failed: %s\nround seed %d (run seed %d); replay with: %s",
				rounds-1, rd.describe(), roundSeed, seed, ttReplay(roundSeed))
		}
	}
	t.Logf("%d rounds in %v: %s", rounds, time.Since(start).Round(time.Millisecond), &total)
	if err := goleak.Find(ignore); err != nil {
		t.Fatalf("goroutines leaked (seed %d; replay with: %s): %v", seed, ttReplay(seed), err)
	}
}

// ttReplay is the command that replays a round with the given seed first.
func ttReplay(seed uint64) string {
	return fmt.Sprintf("go test -race -run '^TestTorture$' -seed %d -torture.duration %v .", seed, time.Second)
}

func ttFlagSet(name string) bool {
	set := false
	flag.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// ttStats counts what a round did, for -v output. Only the checker writes it.
type ttStats struct {
	actors, stillborn, failed, msgs, ran, refused, dropped, panics, timedOut int
}

func (s *ttStats) add(o *ttStats) {
	s.actors += o.actors
	s.stillborn += o.stillborn
	s.failed += o.failed
	s.msgs += o.msgs
	s.ran += o.ran
	s.refused += o.refused
	s.dropped += o.dropped
	s.panics += o.panics
	s.timedOut += o.timedOut
}

func (s *ttStats) String() string {
	return fmt.Sprintf("%d actors (%d spawned stopped, %d failed), %d messages: %d ran, %d refused, %d dropped by failures, %d panics, %d calls ended by their context",
		s.actors, s.stillborn, s.failed, s.msgs, s.ran, s.refused, s.dropped, s.panics, s.timedOut)
}

// ttKind is what a message does when it runs.
type ttKind uint8

const (
	ttPlain    ttKind = iota
	ttSleep           // sleeps arg microseconds (at most 200)
	ttGate            // waits for gate arg to open, for at most 5 ms
	ttPanic           // panics with ttPanicValue(id), after waiting for gate arg-1 if arg > 0
	ttGoexit          // calls runtime.Goexit, after waiting for gate arg-1 if arg > 0
	ttEnqueue         // Enqueues a plain follow-up to its own actor, and another ttEnqueue while arg > 1
	ttForward         // sends a plain message to fwdTo with fwdOp (possibly itself)
	ttStopSelf        // stops its own actor
	ttStopSup         // stops its actor's supervisor
	ttSpawnIn         // spawns an actor under spawnSup
)

var ttKindNames = [...]string{"plain", "sleep", "gate", "panic", "goexit", "enqueue", "forward", "stop-self", "stop-sup", "spawn"}

func (k ttKind) String() string { return ttKindNames[k] }

// ttOp is how a message was sent.
type ttOp uint8

const (
	ttSend ttOp = iota
	ttSendContext
	ttEnqueueOp
	ttAsk
)

var ttOpNames = [...]string{"Send", "SendContext", "Enqueue", "Ask"}

func (o ttOp) String() string { return ttOpNames[o] }

// ttCtxKind is the context a SendContext or Ask got.
type ttCtxKind uint8

const (
	ttNoCtx      ttCtxKind = iota // Send and Enqueue
	ttBackground                  // never ends
	ttCancelled                   // already cancelled
	ttDeadline                    // ends at deadline
)

// ttPanicValue is what a ttPanic message panics with, so that a PanicError names it.
type ttPanicValue int

// ttMsg is one message in the ledger.
type ttMsg struct {
	id     int
	to     *ttActor
	sender int // worker number, or -1-idx for actor idx sending from inside a message
	kind   ttKind
	op     ttOp
	arg    int

	fwdTo    *ttActor // ttForward
	fwdOp    ttOp     // ttForward
	spawnSup *ttSup   // ttSpawnIn

	ctxKind  ttCtxKind
	deadline time.Time

	// Written by the sender around the call.
	before, after int64 // the round's clock just before the call and just after it returned
	err           error
	val           int           // Ask's result
	late          time.Duration // how long after its deadline the call returned

	// Written by the actor while it runs the message, read after the actor's Wait.
	ran       int
	seq       int   // the actor's count of started messages when this one started
	failClock int64 // the round's clock just before a ttPanic or ttGoexit fails
}

func (m *ttMsg) String() string {
	who := fmt.Sprintf("worker %d", m.sender)
	if m.sender < 0 {
		who = fmt.Sprintf("actor %d", -1-m.sender)
	}
	return fmt.Sprintf("message %d (%s %s to actor %d by %s, clock %d..%d, returned %v, ran %d)",
		m.id, m.op, m.kind, m.to.idx, who, m.before, m.after, m.err, m.ran)
}

// accepted reports whether the call certainly queued the message, and uncertain whether it
// may have: an Ask that returned its context's error may have been queued, and may even have
// run (its fn started just before the context ended).
func (m *ttMsg) accepted() (accepted, uncertain bool) {
	switch {
	case m.err == nil:
		return true, false
	case m.op != ttAsk:
		return false, false
	case m.err == context.Canceled || m.err == context.DeadlineExceeded:
		return m.ran > 0, m.ran == 0
	case errors.Is(m.err, ErrStopped), errors.Is(m.err, ErrMailboxFull), errors.Is(m.err, ErrNilMessage):
		return false, false
	}
	return true, false // fn's PanicError or ErrGoexit: it ran
}

// ttCore is the part of an actor's state that the ledger reads; it is owned by the actor.
type ttCore struct {
	a         *ttActor
	seq       int    // messages started
	last      *ttMsg // the last message started
	panics    int    // ttPanic messages started
	starts    int    // OnStart calls (hooked actors)
	stops     int    // OnStop calls (hooked actors)
	stopClock int64  // the round's clock in OnStop, which runs after the failure is reported
}

type ttPlainActor struct{ c ttCore }

type ttHookedActor struct{ c ttCore }

func (h *ttHookedActor) OnStart() error { h.c.starts++; return nil }

func (h *ttHookedActor) OnStop() {
	h.c.stops++
	h.c.stopClock = h.c.a.rd.tick()
}

// ttTarget hides the actor's state type from the harness.
type ttTarget interface {
	send(ctx context.Context, op ttOp, m *ttMsg) error
	ask(ctx context.Context, m *ttMsg) (int, error)
	stop()
	wait() error
	done() <-chan struct{}
	core() *ttCore // only after the actor has ended
	name() string
}

type ttRef[T any] struct {
	ref    *Ref[T]
	state  *T
	coreOf func(*T) *ttCore
}

func (r ttRef[T]) msg(m *ttMsg) func(*T) { return func(s *T) { r.coreOf(s).run(m) } }

func (r ttRef[T]) send(ctx context.Context, op ttOp, m *ttMsg) error {
	switch op {
	case ttSend:
		return r.ref.Send(r.msg(m))
	case ttSendContext:
		return r.ref.SendContext(ctx, r.msg(m))
	default:
		return r.ref.Enqueue(r.msg(m))
	}
}

func (r ttRef[T]) ask(ctx context.Context, m *ttMsg) (int, error) {
	return Ask(ctx, r.ref, func(s *T) (int, error) {
		r.coreOf(s).run(m)
		return m.id, nil
	})
}

func (r ttRef[T]) stop()                 { r.ref.Stop() }
func (r ttRef[T]) wait() error           { return r.ref.Wait() }
func (r ttRef[T]) done() <-chan struct{} { return r.ref.Done() }
func (r ttRef[T]) core() *ttCore         { return r.coreOf(r.state) }
func (r ttRef[T]) name() string          { return r.ref.String() }

// ttActor is the harness's record of one actor.
type ttActor struct {
	rd      *ttRound
	idx     int
	sup     *ttSup
	target  ttTarget
	bound   int
	restart int // -1: no WithRestart; else max, within an hour
	hooked  bool

	spawnBefore, spawnAfter int64
	stopDone                atomic.Int64 // smallest clock after a Stop of this actor returned
}

func (a *ttActor) String() string {
	return fmt.Sprintf("actor %d (%s, sup %d, bound %d, restart %d, hooked %v)",
		a.idx, a.target.name(), a.sup.idx, a.bound, a.restart, a.hooked)
}

// ttSup is the harness's record of one supervisor.
type ttSup struct {
	idx    int
	s      *Supervisor
	cancel context.CancelFunc
	// Smallest clock before a Stop or cancel was called, and after one returned.
	stopCalled, stopDone atomic.Int64
	waited               chan struct{} // closed when the waiter's Wait returned
	waitErr              error         // the waiter's result
}

// ttRound is one world and its ledger.
type ttRound struct {
	seed  uint64
	rng   *rand.Rand // the round's own choices; used only by run's goroutine
	clock atomic.Int64
	stats ttStats

	// Rates per 10,000 messages of the fault kinds, and per 10,000 operations of stops.
	panicRate, goexitRate, stopActorRate, stopSupRate int

	mu     sync.Mutex
	msgs   []*ttMsg
	actors []*ttActor
	sups   []*ttSup
	fails  []string
	gates  [ttGates]chan struct{}
}

func ttNewRound(seed uint64) *ttRound {
	rd := &ttRound{seed: seed, rng: rand.New(rand.NewPCG(seed, 0))}
	for i := range rd.gates {
		rd.gates[i] = make(chan struct{})
	}
	// Some rounds have no faults, so that long runs of clean traffic happen too; others
	// fail supervisors early and often.
	switch p := rd.rng.IntN(20); {
	case p < 6:
	case p < 12:
		rd.panicRate, rd.goexitRate = 3, 1
	case p < 17:
		rd.panicRate, rd.goexitRate = 15, 3
	default:
		rd.panicRate, rd.goexitRate = 80, 10
	}
	rd.stopActorRate = rd.rng.IntN(12)
	rd.stopSupRate = rd.rng.IntN(4)
	return rd
}

func (rd *ttRound) describe() string {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	return fmt.Sprintf("seed %d: panics %d, goexits %d per 10k messages; actor stops %d, supervisor stops %d per 10k ops; %d supervisors, %d actors, %d messages",
		rd.seed, rd.panicRate, rd.goexitRate, rd.stopActorRate, rd.stopSupRate, len(rd.sups), len(rd.actors), len(rd.msgs))
}

func (rd *ttRound) tick() int64 { return rd.clock.Add(1) }

func (rd *ttRound) failf(format string, args ...any) {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	if len(rd.fails) < ttMaxFailures {
		rd.fails = append(rd.fails, fmt.Sprintf(format, args...))
	}
}

func (rd *ttRound) failures() []string {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	return rd.fails
}

func ttMin(a *atomic.Int64, v int64) {
	for {
		old := a.Load()
		if old <= v || a.CompareAndSwap(old, v) {
			return
		}
	}
}

// run runs the round: it builds the world, lets the workers loose, stops everything, and
// checks the ledger.
func (rd *ttRound) run() {
	nSups := 2 + rd.rng.IntN(3)
	for i := range nSups {
		ctx, cancel := context.WithCancel(context.Background())
		sp := &ttSup{idx: i, s: NewSupervisor(ctx), cancel: cancel, waited: make(chan struct{})}
		sp.stopCalled.Store(math.MaxInt64)
		sp.stopDone.Store(math.MaxInt64)
		rd.sups = append(rd.sups, sp)
		// Every Spawn from now on happens during a Wait.
		go func() {
			defer close(sp.waited)
			sp.waitErr = sp.s.Wait()
		}()
	}
	for _, sp := range rd.sups {
		for range 2 + rd.rng.IntN(5) {
			rd.spawn(sp, rd.rng)
		}
	}

	workers := 3 + rd.rng.IntN(4)
	ops := 200 + rd.rng.IntN(600)
	var wg sync.WaitGroup
	for w := range workers {
		rng := rand.New(rand.NewPCG(rd.seed, uint64(w)+1))
		wg.Go(func() { rd.work(w, rng, ops) })
	}
	wg.Wait()

	// Stop every supervisor one way or the other; then Spawn after Stop.
	for i := range ttGates {
		rd.openGate(i)
	}
	for _, sp := range rd.sups {
		rd.stopSup(sp, rd.rng.IntN(2) == 0)
		a := rd.spawn(sp, rd.rng)
		m := rd.newMsg(a, ttMain, ttPlain, ttSend)
		rd.call(m, ttNoCtx, 0)
	}
	for _, sp := range rd.sups {
		<-sp.waited
		sp.cancel()
		if err := sp.s.Wait(); err != sp.waitErr {
			rd.failf("sup %d: second Supervisor.Wait = %v, first returned %v", sp.idx, err, sp.waitErr)
		}
	}
	rd.check()
}

// work is one worker: ops random operations.
func (rd *ttRound) work(w int, rng *rand.Rand, ops int) {
	for range ops {
		p := rng.IntN(10000)
		switch {
		case p < 3500:
			rd.sendFrom(w, rd.pick(rng), ttSend, rng)
		case p < 5000:
			rd.sendFrom(w, rd.pick(rng), ttSendContext, rng)
		case p < 5500:
			rd.sendFrom(w, rd.pick(rng), ttEnqueueOp, rng)
		case p < 8000:
			rd.sendFrom(w, rd.pick(rng), ttAsk, rng)
		case p < 8200:
			rd.spawn(rd.sups[rng.IntN(len(rd.sups))], rng)
		case p < 8250:
			rd.openGate(rng.IntN(ttGates))
		case p < 8250+rd.stopActorRate:
			rd.stopActor(rd.pick(rng))
		case p < 8250+rd.stopActorRate+rd.stopSupRate:
			rd.stopSup(rd.sups[rng.IntN(len(rd.sups))], rng.IntN(2) == 0)
		default:
			rd.sendFrom(w, rd.pick(rng), ttSend, rng)
		}
	}
}

func (rd *ttRound) pick(rng *rand.Rand) *ttActor {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	return rd.actors[rng.IntN(len(rd.actors))]
}

// sendFrom sends a random message to a with op, from worker w.
func (rd *ttRound) sendFrom(w int, a *ttActor, op ttOp, rng *rand.Rand) {
	m := rd.newMsg(a, w, rd.kind(rng), op)
	switch m.kind {
	case ttSleep:
		m.arg = rng.IntN(200)
	case ttGate:
		m.arg = rng.IntN(ttGates)
	case ttPanic, ttGoexit:
		if rng.IntN(2) == 0 {
			m.arg = 1 + rng.IntN(ttGates) // wait for gate arg-1 first
		}
	case ttEnqueue:
		m.arg = 1 + rng.IntN(4)
	case ttForward:
		m.fwdTo = rd.pick(rng)
		m.fwdOp = ttOp(rng.IntN(4))
	case ttSpawnIn:
		m.spawnSup = rd.sups[rng.IntN(len(rd.sups))]
	}
	ctxKind, d := ttNoCtx, time.Duration(0)
	if op == ttSendContext || op == ttAsk {
		switch p := rng.IntN(10); {
		case p < 1:
			ctxKind = ttCancelled
		case p < 3:
			ctxKind = ttBackground
		case p < 4:
			ctxKind, d = ttDeadline, time.Duration(rng.IntN(20))*time.Microsecond
		default:
			ctxKind, d = ttDeadline, time.Duration(rng.IntN(4000))*time.Microsecond
		}
	}
	rd.call(m, ctxKind, d)
}

// kind picks what a message does.
func (rd *ttRound) kind(rng *rand.Rand) ttKind {
	p := rng.IntN(10000)
	for _, c := range []struct {
		n int
		k ttKind
	}{
		{rd.panicRate, ttPanic},
		{rd.goexitRate, ttGoexit},
		{300, ttSleep},
		{200, ttGate},
		{300, ttEnqueue},
		{300, ttForward},
		{rd.stopActorRate, ttStopSelf},
		{rd.stopSupRate, ttStopSup},
		{50, ttSpawnIn},
	} {
		if p < c.n {
			return c.k
		}
		p -= c.n
	}
	return ttPlain
}

// newMsg records a message in the ledger before it is sent, since it may run before the
// call returns.
func (rd *ttRound) newMsg(to *ttActor, sender int, kind ttKind, op ttOp) *ttMsg {
	m := &ttMsg{to: to, sender: sender, kind: kind, op: op}
	rd.mu.Lock()
	m.id = len(rd.msgs)
	rd.msgs = append(rd.msgs, m)
	rd.mu.Unlock()
	return m
}

// call sends m with its op and a context of the given kind, and records the outcome.
func (rd *ttRound) call(m *ttMsg, ctxKind ttCtxKind, d time.Duration) {
	ctx := context.Background()
	m.ctxKind = ctxKind
	switch ctxKind {
	case ttCancelled:
		c, cancel := context.WithCancel(ctx)
		cancel()
		ctx = c
	case ttDeadline:
		m.deadline = time.Now().Add(d)
		c, cancel := context.WithDeadline(ctx, m.deadline)
		defer cancel()
		ctx = c
	}
	m.before = rd.tick()
	if m.op == ttAsk {
		m.val, m.err = m.to.target.ask(ctx, m)
	} else {
		m.err = m.to.target.send(ctx, m.op, m)
	}
	m.after = rd.tick()
	if ctxKind == ttDeadline {
		m.late = time.Since(m.deadline)
	}
}

// spawn spawns a randomly configured actor under sp.
func (rd *ttRound) spawn(sp *ttSup, rng *rand.Rand) *ttActor {
	a := &ttActor{rd: rd, sup: sp, bound: []int{0, 0, 0, 1, 2, 8}[rng.IntN(6)],
		restart: []int{-1, -1, -1, 0, 1, 3, 1000, 1000}[rng.IntN(8)], hooked: rng.IntN(2) == 0}
	var opts []Option
	if a.bound > 0 {
		opts = append(opts, WithMailboxSize(a.bound))
	}
	if a.restart >= 0 {
		opts = append(opts, WithRestart(a.restart, time.Hour))
	}
	if rng.IntN(5) == 0 {
		opts = append(opts, WithName(fmt.Sprintf("tt-%d", rng.IntN(1000))))
	}
	a.spawnBefore = rd.tick()
	if a.hooked {
		st := &ttHookedActor{c: ttCore{a: a}}
		a.target = ttRef[ttHookedActor]{Spawn(sp.s, st, opts...), st, func(s *ttHookedActor) *ttCore { return &s.c }}
	} else {
		st := &ttPlainActor{c: ttCore{a: a}}
		a.target = ttRef[ttPlainActor]{Spawn(sp.s, st, opts...), st, func(s *ttPlainActor) *ttCore { return &s.c }}
	}
	a.spawnAfter = rd.tick()
	a.stopDone.Store(math.MaxInt64)
	rd.mu.Lock()
	a.idx = len(rd.actors)
	rd.actors = append(rd.actors, a)
	rd.mu.Unlock()
	return a
}

func (rd *ttRound) stopActor(a *ttActor) {
	a.target.stop()
	ttMin(&a.stopDone, rd.tick())
}

func (rd *ttRound) stopSup(sp *ttSup, cancel bool) {
	ttMin(&sp.stopCalled, rd.tick())
	if cancel {
		sp.cancel()
	} else {
		sp.s.Stop()
	}
	ttMin(&sp.stopDone, rd.tick())
}

func (rd *ttRound) gate(i int) <-chan struct{} {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	return rd.gates[i]
}

func (rd *ttRound) openGate(i int) {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	close(rd.gates[i])
	rd.gates[i] = make(chan struct{})
}

// ttWaitGate waits for gate i to open, for at most 5 ms.
func ttWaitGate(rd *ttRound, i int) {
	t := time.NewTimer(5 * time.Millisecond)
	defer t.Stop()
	select {
	case <-rd.gate(i):
	case <-t.C:
	}
}

// run is a message running on its actor.
func (c *ttCore) run(m *ttMsg) {
	c.seq++
	m.ran++
	m.seq = c.seq
	c.last = m
	a, rd := c.a, c.a.rd
	switch m.kind {
	case ttSleep:
		time.Sleep(time.Duration(m.arg) * time.Microsecond)
	case ttGate:
		ttWaitGate(rd, m.arg)
	case ttPanic, ttGoexit:
		if m.arg > 0 {
			ttWaitGate(rd, m.arg-1) // let a queue build up behind the failure
		}
		m.failClock = rd.tick()
		if m.kind == ttGoexit {
			runtime.Goexit()
		}
		c.panics++
		panic(ttPanicValue(m.id))
	case ttEnqueue:
		rd.call(rd.newMsg(a, -1-a.idx, ttPlain, ttEnqueueOp), ttNoCtx, 0)
		if m.arg > 1 {
			next := rd.newMsg(a, -1-a.idx, ttEnqueue, ttEnqueueOp)
			next.arg = m.arg - 1
			rd.call(next, ttNoCtx, 0)
		}
	case ttForward:
		f := rd.newMsg(m.fwdTo, -1-a.idx, ttPlain, m.fwdOp)
		switch m.fwdOp {
		case ttSendContext:
			// Never Background from inside: on its own full mailbox it would wait for ever.
			rd.call(f, ttDeadline, time.Duration(m.id%2000)*time.Microsecond)
		case ttAsk:
			// An Ask of its own actor waits for its deadline: the actor is busy with us.
			rd.call(f, ttDeadline, time.Duration(m.id%2000)*time.Microsecond)
		default:
			rd.call(f, ttNoCtx, 0)
		}
	case ttStopSelf:
		rd.stopActor(a)
	case ttStopSup:
		rd.stopSup(a.sup, false)
	case ttSpawnIn:
		rd.spawn(m.spawnSup, rand.New(rand.NewPCG(rd.seed, uint64(m.id))))
	}
}

// check runs once every supervisor's Wait has returned, so every actor has ended and every
// call has returned: the ledger is complete and owned by this goroutine.
func (rd *ttRound) check() {
	byActor := make([][]*ttMsg, len(rd.actors))
	for _, m := range rd.msgs {
		byActor[m.to.idx] = append(byActor[m.to.idx], m)
	}
	errs := make([]error, len(rd.actors))
	for _, a := range rd.actors {
		select {
		case <-a.target.done():
		default:
			rd.failf("%v had not ended when Wait of its supervisor returned", a)
			continue
		}
		errs[a.idx] = a.target.wait()
		rd.checkActor(a, errs[a.idx], byActor[a.idx])
	}
	for _, sp := range rd.sups {
		rd.checkSup(sp, errs)
	}
	rd.stats.actors += len(rd.actors)
	rd.stats.msgs += len(rd.msgs)
}

// checkActor checks one ended actor and the messages sent to it, in ledger order.
func (rd *ttRound) checkActor(a *ttActor, err error, msgs []*ttMsg) {
	c := a.target.core()
	stillborn := err == ErrStopped
	failed := err != nil && !stillborn
	switch {
	case stillborn:
		rd.stats.stillborn++
		if c.starts != 0 || c.stops != 0 || c.seq != 0 {
			rd.failf("%v: Wait = ErrStopped (spawned stopped), yet OnStart ran %d times, OnStop %d, messages %d",
				a, c.starts, c.stops, c.seq)
		}
	case a.hooked:
		survived := c.panics
		if failed && c.last != nil && c.last.kind == ttPanic {
			survived--
		}
		if c.starts != 1+survived || c.stops != 1 {
			rd.failf("%v: OnStart ran %d times and OnStop %d, want %d (1 + %d restarts) and 1",
				a, c.starts, c.stops, 1+survived, survived)
		}
	}
	if a.spawnBefore > a.sup.stopDone.Load() && !stillborn {
		rd.failf("%v: spawned after Stop of its supervisor returned (clock %d > %d), Wait = %v, want ErrStopped",
			a, a.spawnBefore, a.sup.stopDone.Load(), err)
	}
	rd.stats.panics += c.panics

	maxPanics := max(a.restart, 0) // panics an actor survives
	if failed {
		rd.stats.failed++
		switch f := c.last; {
		case f == nil:
			rd.failf("%v: Wait = %v, but it never started a message", a, err)
		case f.kind == ttPanic:
			var pe *PanicError
			if !errors.As(err, &pe) || pe.Value != ttPanicValue(f.id) {
				rd.failf("%v: Wait = %v, want the *PanicError of its last message, %v", a, err, f)
			}
			if c.panics != maxPanics+1 {
				rd.failf("%v: failed at panic %d, want at panic %d (WithRestart(%d, time.Hour))",
					a, c.panics, maxPanics+1, a.restart)
			}
		case f.kind == ttGoexit:
			if !errors.Is(err, ErrGoexit) {
				rd.failf("%v: Wait = %v, want ErrGoexit from its last message, %v", a, err, f)
			}
			if c.panics > maxPanics {
				rd.failf("%v: survived %d panics, want at most %d", a, c.panics, maxPanics)
			}
		default:
			rd.failf("%v: Wait = %v, but its last message, %v, neither panics nor calls Goexit", a, err, f)
		}
	} else if c.panics > maxPanics {
		rd.failf("%v: Wait = %v after %d panics, want a *PanicError after %d", a, err, c.panics, maxPanics+1)
	}

	lastSeq := map[int]int{} // per sender, the place of its last message that ran
	maxRanBefore := int64(-1)
	minDroppedAfter := int64(math.MaxInt64)
	maxAcceptedBefore := int64(-1)
	minStoppedAfter := int64(math.MaxInt64)
	stopDone := a.stopDone.Load()
	for _, m := range msgs {
		rd.checkCall(a, m)
		acc, unc := m.accepted()
		switch {
		case m.ran > 1:
			rd.failf("%v ran %d times", m, m.ran)
		case m.ran == 1 && !acc:
			rd.failf("%v: the call returned an error, yet the message ran", m)
		}
		if m.ran > 0 {
			rd.stats.ran++
			if m.seq <= lastSeq[m.sender] {
				rd.failf("%v started as message %d of its actor, after a later message of the same sender (started %d)",
					m, m.seq, lastSeq[m.sender])
			}
			lastSeq[m.sender] = m.seq
			if m.kind == ttGoexit && !failed {
				rd.failf("%v called Goexit, yet Wait = %v", m, err)
			}
		}
		if !acc && !unc {
			rd.stats.refused++
		}
		if unc && m.ran == 0 {
			rd.stats.timedOut++
		}
		if acc {
			maxAcceptedBefore = max(maxAcceptedBefore, m.before)
			switch {
			case stillborn:
				rd.failf("%v: accepted by an actor spawned stopped", m)
			case m.ran == 1:
				maxRanBefore = max(maxRanBefore, m.before)
			case !failed:
				rd.failf("%v: accepted but never ran, yet the actor stopped cleanly (Wait = %v)", m, err)
			default:
				rd.stats.dropped++
				minDroppedAfter = min(minDroppedAfter, m.after)
			}
			if m.before > stopDone {
				rd.failf("%v: accepted though Stop of its actor had returned (clock %d)", m, stopDone)
			}
		}
		if errors.Is(m.err, ErrStopped) {
			minStoppedAfter = min(minStoppedAfter, m.after)
		}
	}
	// A mailbox is FIFO and only a failure drops from it, dropping everything behind: so a
	// message that returned from its send before another was sent must have run if the
	// other did.
	if minDroppedAfter < maxRanBefore {
		rd.failf("%v: a dropped message was accepted (by clock %d) before one that ran was sent (clock %d)",
			a, minDroppedAfter, maxRanBefore)
	}
	// Stopping is for ever.
	if minStoppedAfter < maxAcceptedBefore {
		rd.failf("%v: a send returned ErrStopped (by clock %d) before one that was accepted was made (clock %d)",
			a, minStoppedAfter, maxAcceptedBefore)
	}
}

// checkCall checks what one call returned, against its op, context and message.
func (rd *ttRound) checkCall(a *ttActor, m *ttMsg) {
	if m.ctxKind == ttDeadline && m.late > ttGrace {
		rd.failf("%v returned %v after its deadline", m, m.late)
	}
	isCtxErr := m.err == context.Canceled || m.err == context.DeadlineExceeded
	switch {
	case m.ctxKind == ttCancelled:
		if m.err != context.Canceled {
			rd.failf("%v: called with a cancelled context, want context.Canceled", m)
		}
		return
	case m.err == nil, errors.Is(m.err, ErrStopped):
	case m.err == context.DeadlineExceeded && m.ctxKind == ttDeadline:
	case errors.Is(m.err, ErrMailboxFull) && m.op == ttSend && a.bound > 0:
	case m.op == ttAsk && m.kind == ttPanic:
		var pe *PanicError
		if !errors.As(m.err, &pe) || pe.Value != ttPanicValue(m.id) || m.ran != 1 {
			rd.failf("%v: want nil, ErrStopped, its context's error or its own *PanicError", m)
		}
	case m.op == ttAsk && m.kind == ttGoexit && errors.Is(m.err, ErrGoexit) && m.ran == 1:
	default:
		rd.failf("%v: unexpected error for %s", m, m.op)
	}
	if m.op == ttAsk && m.err == nil && (m.val != m.id || m.kind == ttPanic || m.kind == ttGoexit) {
		rd.failf("%v: Ask returned %d, nil; want %d and, for panic or goexit, an error", m, m.val, m.id)
	}
	if m.op == ttAsk && m.sender == -1-a.idx && (m.ran != 0 || !(isCtxErr || errors.Is(m.err, ErrStopped))) {
		rd.failf("%v: an Ask of an actor from its own message, want its deadline or ErrStopped and never run", m)
	}
}

// checkSup checks a supervisor's Wait against the failures of its actors, and Spawn against
// its stops.
func (rd *ttRound) checkSup(sp *ttSup, errs []error) {
	var failed []*ttActor
	earliest := sp.stopCalled.Load() // nothing could stop sp before this clock
	for _, a := range rd.actors {
		if a.sup != sp {
			continue
		}
		if err := errs[a.idx]; err != nil && err != ErrStopped {
			failed = append(failed, a)
			if f := a.target.core().last; f != nil {
				earliest = min(earliest, f.failClock)
			}
		}
	}
	for _, a := range rd.actors {
		if a.sup == sp && a.spawnAfter < earliest && errs[a.idx] == ErrStopped {
			rd.failf("%v: Spawn returned (clock %d) before anything could stop its supervisor (clock %d), yet Wait = ErrStopped",
				a, a.spawnAfter, earliest)
		}
	}
	if len(failed) == 0 {
		if sp.waitErr != nil {
			rd.failf("sup %d: Supervisor.Wait = %v, but none of its actors failed", sp.idx, sp.waitErr)
		}
		return
	}
	var first *ttActor
	for _, a := range failed {
		if sp.waitErr != nil && errors.Is(sp.waitErr, errs[a.idx]) {
			first = a
		}
	}
	if first == nil {
		rd.failf("sup %d: Supervisor.Wait = %v, want the error of one of its %d failed actors", sp.idx, sp.waitErr, len(failed))
		return
	}
	// A failure is reported before OnStop runs, and after the failing message took its
	// clock: an actor whose OnStop ran before first's failing message did reported first.
	firstClock := first.target.core().last.failClock
	for _, a := range failed {
		if c := a.target.core(); a != first && a.hooked && c.stopClock < firstClock {
			rd.failf("sup %d: Supervisor.Wait = the failure of %v, but %v failed and ran OnStop (clock %d) before that failure (clock %d)",
				sp.idx, first, a, c.stopClock, firstClock)
		}
	}
}
