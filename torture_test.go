package actor

// The torture test: supervision trees of randomly configured actors, driven by goroutines
// that do random operations from a seeded generator, with a ledger of every message checked
// at the end of each round against the guarantees in doc.go and semantic 11 of the trees.
//
// A round is one world: a few roots, workers, and the messages between them. Some roots are
// flat, of the kind every program had before trees (no options: the first failure makes
// them give up), and hold only actors. The others are trees: a root with actors and child
// supervisors nested up to three levels, each supervisor with a random strategy, an
// intensity of 0 to 5 within a window from a millisecond to an hour, and sometimes a backoff
// of a few milliseconds. Actors come from Spawn or SpawnFunc (whose newState may fail), are
// bounded or not, with or without WithRestart, hooks and WithShutdownTimeout. The round's
// seed fixes the plan (which operations, on which actors, with which messages); the
// scheduler still decides the interleaving, so a replay runs the same plan, not the same
// schedule. Round 0 of a run uses the seed given with -seed, so the replay command printed
// on failure starts with the round that failed.
//
// What the ledger can assert, and why. Every send gets a record with the logical clock read
// just before the call and just after it returned, so that "A returned before B was called"
// is known for any two calls on any goroutines. Each message counts its own runs, notes its
// place in its actor's order of started messages (a panicking message counts as run: it
// started) and the incarnation it ran on. Each incarnation (a state from newState, or an
// OnStart of a Spawned actor) counts its hooks. Then, per actor:
//   - a send that returned an error never ran; an Ask whose context ended may have run once
//     (fn may have started before the context ended), and is otherwise left out;
//   - every accepted message ran at most once, and one that did not run was dropped: by
//     StopNow, a shutdown deadline, a final failure, or a stop while the actor was down for
//     a restart. With an Observer on the tree the drops are counted exactly, per reason,
//     and StopNow's own counts must add up to its reason's;
//   - the dropped messages were all accepted no earlier than every one that ran (a FIFO
//     cut): a restart drops only the message that failed and keeps the rest in order;
//   - once a send has returned ErrStopped, no later send is accepted;
//   - the messages of each sender (a worker, or an actor sending from inside) ran in the
//     order it sent them, across restarts;
//   - after a failure, the next message runs on a new incarnation; every incarnation had
//     one newState (SpawnFunc), one OnStart and at most one OnStop, and no message ran on
//     it before its OnStart or after its OnStop; there are no more incarnations than
//     failures that could have restarted the actor;
//   - Wait returns nil, ErrStopped (spawned on a stopped supervisor) or the actor's last
//     failure, and a final failure means that its supervisor gave up or was stopping, or
//     that the actor itself had been stopped;
//   - a message blocked on the actor's Context returns once StopNow, or the shutdown
//     deadline after a Stop, has passed;
//   - on flat roots, as before trees: WithRestart(k) with a window of an hour fails the
//     actor at exactly the (k+1)th panic, and OnStart ran once plus once per restart;
//   - a Spawn called after its supervisor's Stop returned gives a stopped Ref, and one that
//     returned before anything could stop the supervisor gives a live one;
//   - every Ask and SendContext with a deadline returned within the deadline plus ttGrace.
// Per supervisor: a flat root's Wait returned nil exactly when none of its actors failed,
// and otherwise the very error one of them failed with, and not one that provably came
// second. A tree supervisor's Wait is nil or wraps (errors.Is, errors.As) a failure of its
// own subtree; it is not nil when one of its actors ended with a failure it was not stopped
// into, or a child of it gave up for good; and Spawn and NewChild on it after it stopped
// give stopped children.
//
// Once the workers are done, the round waits for quiet (gates open, backoffs over) and
// then asks every actor that is not stopping to answer, which catches an actor left down
// for ever, and checks with goleak that no goroutine is left: an idle actor and an idle
// supervisor hold none. Goroutine leaks over the whole run are checked with goleak at the
// end of the test; -race is assumed.

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
	// ttCtxGrace is how late an actor's Context may end after StopNow or a shutdown deadline.
	ttCtxGrace = time.Second
	// ttBlockCap is how long a message blocked on its actor's Context waits when nothing
	// the ledger knows of is due to end that Context.
	ttBlockCap = 5 * time.Millisecond
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

// ttNilStops counts OnStop calls on a nil state, which no round may make.
var ttNilStops atomic.Int64

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
			t.Fatalf("round %d hung for %v (a call never returned or an actor never ended)\n%s\n%s\n%s\nround seed %d (run seed %d); replay with: %s",
				rounds, ttHang, dump.String(), rd.describe(), rd.describeDown(), roundSeed, seed, ttReplay(roundSeed))
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
	roots, childSups, actors, stillborn, failed, msgs, ran, refused, dropped, panics, timedOut int
	restarts, gaveUp, stopNowDropped, deadlineDropped, stateFails, ctxBlocks                   int
}

func (s *ttStats) add(o *ttStats) {
	s.roots += o.roots
	s.childSups += o.childSups
	s.actors += o.actors
	s.stillborn += o.stillborn
	s.failed += o.failed
	s.msgs += o.msgs
	s.ran += o.ran
	s.refused += o.refused
	s.dropped += o.dropped
	s.panics += o.panics
	s.timedOut += o.timedOut
	s.restarts += o.restarts
	s.gaveUp += o.gaveUp
	s.stopNowDropped += o.stopNowDropped
	s.deadlineDropped += o.deadlineDropped
	s.stateFails += o.stateFails
	s.ctxBlocks += o.ctxBlocks
}

func (s *ttStats) String() string {
	return fmt.Sprintf("%d roots and %d child supervisors (%d gave up), %d actors (%d spawned stopped, %d failed, %d new incarnations, %d failed newStates), "+
		"%d messages: %d ran, %d refused, %d dropped (%d by StopNow, %d by deadlines), %d panics, %d blocked on their Context, %d calls ended by their context",
		s.roots, s.childSups, s.gaveUp, s.actors, s.stillborn, s.failed, s.restarts, s.stateFails,
		s.msgs, s.ran, s.refused, s.dropped, s.stopNowDropped, s.deadlineDropped, s.panics, s.ctxBlocks, s.timedOut)
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
	ttCtxBlock        // waits for its actor's Context to end (see blockOnContext)
	ttStopNow         // StopNow on its own actor: "this is the last message"
)

var ttKindNames = [...]string{"plain", "sleep", "gate", "panic", "goexit", "enqueue", "forward", "stop-self", "stop-sup", "spawn", "ctx-block", "stop-now"}

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

// ttStateErr is what a failing newState returns: newState call n of actor a. Its text names
// the actor by its spawn clock, which is set before Spawn, since fmt.Errorf reads it on
// the actor's goroutine.
type ttStateErr struct {
	a *ttActor
	n int
}

func (e ttStateErr) Error() string {
	return fmt.Sprintf("newState %d of the actor spawned at clock %d failed", e.n, e.a.spawnBefore)
}

// ttHow is what ended a ttCtxBlock message's wait.
type ttHow uint8

const (
	ttByCtx     ttHow = iota + 1 // the actor's Context ended
	ttByRelease                  // the round went quiet
	ttByCap                      // nothing ended it in time
)

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
	seq       int    // the actor's count of started messages when this one started
	inc       *ttInc // the incarnation it ran on (nil for an actor whose incarnations are not seen)
	failClock int64  // the round's clock just before a ttPanic or ttGoexit fails
	how       ttHow  // ttCtxBlock: what ended the wait
	lateCtx   bool   // ttCtxBlock: the Context was still live ttCtxGrace after it was due to end
}

func (m *ttMsg) String() string {
	who := fmt.Sprintf("worker %d", m.sender)
	if m.sender < 0 {
		who = fmt.Sprintf("actor %d", -1-m.sender)
	}
	inc := 0
	if m.inc != nil {
		inc = m.inc.n
	}
	return fmt.Sprintf("message %d (%s %s to actor %d by %s, clock %d..%d, returned %v, ran %d on incarnation %d)",
		m.id, m.op, m.kind, m.to.idx, who, m.before, m.after, m.err, m.ran, inc)
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

// ttInc is one incarnation of an actor, as far as the ledger can see it: a state that
// newState made, or an OnStart of a Spawned actor with hooks.
type ttInc struct {
	n      int // 1 for the first
	starts int // OnStart calls on it
	stops  int // OnStop calls on it
}

// ttFail is one failure of an actor: a message that panicked or called Goexit, or a
// newState that failed.
type ttFail struct {
	msg      *ttMsg // nil for a newState
	state    int    // the newState call, for a newState
	clock    int64
	absorbed bool // a panic that WithRestart absorbed
}

type ttPlainActor struct{ inc *ttInc }

type ttHookedActor struct {
	a   *ttActor
	inc *ttInc
}

func (h *ttHookedActor) OnStart() error {
	if !h.a.spawnFunc {
		h.inc = h.a.newInc() // a Spawned actor's incarnation starts here
	}
	h.inc.starts++
	return nil
}

func (h *ttHookedActor) OnStop() {
	if h == nil {
		ttNilStops.Add(1)
		return
	}
	if h.inc != nil {
		h.inc.stops++
	}
	h.a.stopClock = h.a.rd.tick()
}

// ttTarget hides the actor's state type from the harness.
type ttTarget interface {
	send(ctx context.Context, op ttOp, m *ttMsg) error
	ask(ctx context.Context, m *ttMsg) (int, error)
	stop()
	stopNow() int
	wait() error
	done() <-chan struct{}
	context() context.Context
	actor() Actor
	name() string
	down() bool // down for a restart, and not ended: for the report of a hung round
	// lifecycle describes the actor's and its supervisors' lifecycle state, for the report
	// of an actor that does not answer.
	lifecycle() string
}

type ttRef[T any] struct {
	ref   *Ref[T]
	a     *ttActor
	incOf func(*T) *ttInc
}

func (r ttRef[T]) msg(m *ttMsg) func(*T) { return func(s *T) { r.a.run(m, r.incOf(s)) } }

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
		r.a.run(m, r.incOf(s))
		return m.id, nil
	})
}

func (r ttRef[T]) stop()                    { r.ref.Stop() }
func (r ttRef[T]) stopNow() int             { return r.ref.StopNow() }
func (r ttRef[T]) wait() error              { return r.ref.Wait() }
func (r ttRef[T]) done() <-chan struct{}    { return r.ref.Done() }
func (r ttRef[T]) context() context.Context { return r.ref.Context() }
func (r ttRef[T]) actor() Actor             { return r.ref }
func (r ttRef[T]) name() string             { return r.ref.String() }

func (r ttRef[T]) lifecycle() string {
	ref := r.ref
	ref.mu.Lock()
	d := fmt.Sprintf("running %v, stopping %v, ended %v, queued %d", ref.running, ref.stopping, ref.ended, ref.q.n)
	if l := ref.life; l != nil {
		d += fmt.Sprintf(", down %v, task %d, backoff %v, downCh %v, upCh %v, ctxDone %v",
			l.down, l.task, l.backoff != nil, l.downCh != nil, l.upCh != nil, l.ctxDone)
	}
	ref.mu.Unlock()
	m := &ref.member
	for s := ref.sup; s != nil; m, s = &s.member, s.parent {
		s.mu.Lock()
		d += fmt.Sprintf("; %s: down %v, inDown %d (this child %v), control %v, jobs %d, timer %v, drain %v, restarts %d",
			s.nameLocked(), s.down, len(s.inDown), s.inDown[m], s.ctl, len(s.jobs), s.timer != nil, s.drainReq, len(s.restarts))
		s.mu.Unlock()
	}
	return d
}

func (r ttRef[T]) down() bool {
	r.ref.mu.Lock()
	defer r.ref.mu.Unlock()
	return r.ref.life != nil && r.ref.life.down && !r.ref.ended
}

// ttActor is the harness's record of one actor.
type ttActor struct {
	rd        *ttRound
	idx       int
	sup       *ttSup
	target    ttTarget
	bound     int
	restart   int // -1: no WithRestart; else max, within an hour
	hooked    bool
	spawnFunc bool
	deadline  time.Duration // WithShutdownTimeout's; 0: none
	stateFail int           // per 1000 newState calls that fail

	spawnBefore, spawnAfter int64
	stopCalled              atomic.Int64 // smallest clock before a Stop or StopNow of it was called
	stopDone                atomic.Int64 // smallest clock after a Stop or StopNow of it returned
	ctxDue                  atomic.Int64 // earliest UnixNano by which its Context must end (StopNow, or Stop plus deadline); 0: none
	stopNows                atomic.Int64 // what its StopNow calls returned, summed

	// Owned by the actor's activations, one after the other; read after its end.
	seq       int      // messages started
	last      *ttMsg   // the last message started
	panics    int      // panics of messages
	fails     []ttFail // every failure, in order
	incs      []*ttInc // every incarnation seen, in order
	newStates int      // newState calls
	stopClock int64    // the round's clock in the last OnStop
}

func (a *ttActor) String() string {
	how := "Spawn"
	if a.spawnFunc {
		how = "SpawnFunc"
	}
	return fmt.Sprintf("actor %d (%s, %s under sup %d, bound %d, restart %d, hooked %v, deadline %v, newState fails %d/1000)",
		a.idx, a.target.name(), how, a.sup.idx, a.bound, a.restart, a.hooked, a.deadline, a.stateFail)
}

// newInc records a new incarnation. Only the actor's activation calls it.
func (a *ttActor) newInc() *ttInc {
	inc := &ttInc{n: len(a.incs) + 1}
	a.incs = append(a.incs, inc)
	return inc
}

// tracked reports whether the ledger sees the actor's incarnations.
func (a *ttActor) tracked() bool { return a.spawnFunc || a.hooked }

// ttSup is the harness's record of one supervisor.
type ttSup struct {
	idx      int
	s        *Supervisor
	parent   *ttSup // nil for a root
	root     *ttSup
	flat     bool // a root as before trees: no options, only actors
	strategy Strategy
	max      int
	within   time.Duration
	backoff  time.Duration // WithBackoff's max; 0: none
	cancel   context.CancelFunc

	spawnBefore, spawnAfter int64 // NewChild's, for a child
	// Smallest clock before a Stop or cancel was called, and after one returned; and for a
	// root, after a cancel of its context returned.
	stopCalled, stopDone, cancelDone atomic.Int64
	waited                           chan struct{} // closed when the waiter's Wait returned
	waitErr                          error         // the waiter's result
}

func (sp *ttSup) String() string {
	if sp.flat {
		return fmt.Sprintf("sup %d (flat root)", sp.idx)
	}
	kind := "root"
	if sp.parent != nil {
		kind = fmt.Sprintf("child of sup %d", sp.parent.idx)
	}
	return fmt.Sprintf("sup %d (%s, %v, intensity %d in %v, backoff %v)", sp.idx, kind, sp.strategy, sp.max, sp.within, sp.backoff)
}

// under reports whether sp is anc or below it.
func (sp *ttSup) under(anc *ttSup) bool {
	for s := sp; s != nil; s = s.parent {
		if s == anc {
			return true
		}
	}
	return false
}

// effectiveStopDone is the smallest clock after which Spawn and NewChild on sp must give
// stopped children: its own Stop, or its root's context.
func (sp *ttSup) effectiveStopDone() int64 {
	return min(sp.stopDone.Load(), sp.root.cancelDone.Load())
}

// ttObserver counts what the ledger needs of the events of a tree: drops by reason,
// refusals, and give-ups.
type ttObserver struct {
	mu     sync.Mutex
	actors map[Actor]*ttObserved
	gave   map[*Supervisor][]error
}

type ttObserved struct {
	dropped map[string]int
	refused int
}

func (o *ttObserver) Observe(e Event) {
	switch e.Kind {
	case EventDropped, EventRefused, EventGaveUp:
	default:
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if e.Kind == EventGaveUp {
		o.gave[e.Supervisor] = append(o.gave[e.Supervisor], e.Err)
		return
	}
	ob := o.actors[e.Actor]
	if ob == nil {
		ob = &ttObserved{dropped: map[string]int{}}
		o.actors[e.Actor] = ob
	}
	if e.Kind == EventRefused {
		ob.refused += e.Count
	} else {
		ob.dropped[e.Reason] += e.Count
	}
}

// ttRound is one world and its ledger.
type ttRound struct {
	seed  uint64
	rng   *rand.Rand // the round's own choices; used only by run's goroutine
	clock atomic.Int64
	stats ttStats
	obs   *ttObserver   // nil: no Observer this round
	quiet chan struct{} // closed once the workers are done: ttCtxBlock messages return

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
	rd := &ttRound{seed: seed, rng: rand.New(rand.NewPCG(seed, 0)), quiet: make(chan struct{})}
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
	if rd.rng.IntN(4) != 0 {
		rd.obs = &ttObserver{actors: map[Actor]*ttObserved{}, gave: map[*Supervisor][]error{}}
	}
	return rd
}

func (rd *ttRound) describe() string {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	return fmt.Sprintf("seed %d: panics %d, goexits %d per 10k messages; actor stops %d, supervisor stops %d per 10k ops; observer %v; %d supervisors, %d actors, %d messages",
		rd.seed, rd.panicRate, rd.goexitRate, rd.stopActorRate, rd.stopSupRate, rd.obs != nil, len(rd.sups), len(rd.actors), len(rd.msgs))
}

// describeDown names the actors that are down, waiting for a restart to bring them up, for
// the report of a hung round.
func (rd *ttRound) describeDown() string {
	rd.mu.Lock()
	actors := rd.actors[:len(rd.actors):len(rd.actors)]
	rd.mu.Unlock()
	var down []string
	for _, a := range actors {
		if a.target.down() {
			down = append(down, a.String()+": "+a.target.lifecycle())
		}
	}
	return fmt.Sprintf("%d actors down for a restart: %s", len(down), strings.Join(down, "; "))
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

// ttMinNonZero is ttMin for a value where 0 means none yet.
func ttMinNonZero(a *atomic.Int64, v int64) {
	for {
		old := a.Load()
		if (old != 0 && old <= v) || a.CompareAndSwap(old, v) {
			return
		}
	}
}

// run runs the round: it builds the world, lets the workers loose, waits for quiet and
// checks it, stops everything, and checks the ledger.
func (rd *ttRound) run() {
	ignore := goleak.IgnoreCurrent()
	nilStops := ttNilStops.Load()
	nRoots := 2 + rd.rng.IntN(3)
	for range nRoots {
		sp := rd.newRoot(rd.rng)
		if sp.flat {
			for range 2 + rd.rng.IntN(5) {
				rd.spawn(sp, rd.rng)
			}
		} else {
			rd.grow(sp, 0, rd.rng)
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
	rd.quiesce(ignore)

	// Stop every root one way or the other; then Spawn after Stop.
	for _, sp := range rd.roots() {
		rd.stopSup(sp, rd.rng.IntN(2) == 0)
		a := rd.spawn(sp, rd.rng)
		m := rd.newMsg(a, ttMain, ttPlain, ttSend)
		rd.call(m, ttNoCtx, 0)
	}
	for _, sp := range rd.roots() {
		<-sp.waited
		sp.cancel()
		if err := sp.s.Wait(); err != sp.waitErr {
			rd.failf("%v: second Supervisor.Wait = %v, first returned %v", sp, err, sp.waitErr)
		}
	}
	for _, sp := range rd.sups {
		select {
		case <-sp.s.Done():
		default:
			rd.failf("%v: Done not closed after the Wait of its root returned", sp)
		}
		<-sp.waited
		if err := sp.s.Wait(); err != sp.waitErr {
			rd.failf("%v: second Supervisor.Wait = %v, first returned %v", sp, err, sp.waitErr)
		}
	}
	if n := ttNilStops.Load() - nilStops; n > 0 {
		rd.failf("OnStop ran %d times on a nil state (a newState that failed made no state)", n)
	}
	rd.check()
}

func (rd *ttRound) roots() []*ttSup {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	var roots []*ttSup
	for _, sp := range rd.sups {
		if sp.parent == nil {
			roots = append(roots, sp)
		}
	}
	return roots
}

// newRoot makes a root: flat a third of the time, else the root of a tree.
func (rd *ttRound) newRoot(rng *rand.Rand) *ttSup {
	ctx, cancel := context.WithCancel(context.Background())
	sp := &ttSup{cancel: cancel, flat: rng.IntN(3) == 0, waited: make(chan struct{})}
	sp.root = sp
	var opts []SupervisorOption
	if !sp.flat {
		opts = rd.supOpts(sp, rng)
	}
	if rd.obs != nil && (!sp.flat || rng.IntN(2) == 0) {
		opts = append(opts, WithObserver(rd.obs))
	}
	sp.s = NewSupervisor(ctx, opts...)
	rd.addSup(sp)
	return sp
}

// newChild makes a child supervisor of parent, which is not flat.
func (rd *ttRound) newChild(parent *ttSup, rng *rand.Rand) *ttSup {
	sp := &ttSup{parent: parent, root: parent.root, waited: make(chan struct{})}
	opts := rd.supOpts(sp, rng)
	sp.spawnBefore = rd.tick()
	sp.s = parent.s.NewChild(opts...)
	sp.spawnAfter = rd.tick()
	rd.addSup(sp)
	return sp
}

// supOpts picks a supervisor's configuration. Callers own sp.
func (rd *ttRound) supOpts(sp *ttSup, rng *rand.Rand) []SupervisorOption {
	sp.strategy = Strategy(rng.IntN(3))
	sp.max = rng.IntN(6)
	sp.within = []time.Duration{time.Millisecond, 20 * time.Millisecond, time.Second, time.Hour}[rng.IntN(4)]
	opts := []SupervisorOption{WithStrategy(sp.strategy), WithIntensity(sp.max, sp.within)}
	if rng.IntN(3) == 0 {
		lo := []time.Duration{50 * time.Microsecond, 500 * time.Microsecond, time.Millisecond}[rng.IntN(3)]
		sp.backoff = lo * time.Duration(1+rng.IntN(4))
		opts = append(opts, WithBackoff(lo, sp.backoff))
	}
	return opts
}

// addSup records sp and starts its waiter: every Spawn from now on happens during a Wait.
func (rd *ttRound) addSup(sp *ttSup) {
	sp.stopCalled.Store(math.MaxInt64)
	sp.stopDone.Store(math.MaxInt64)
	sp.cancelDone.Store(math.MaxInt64)
	rd.mu.Lock()
	sp.idx = len(rd.sups)
	rd.sups = append(rd.sups, sp)
	rd.mu.Unlock()
	go rd.waitSup(sp)
}

// waitSup is a supervisor's waiter; the quiet check knows its goroutines by this name.
func (rd *ttRound) waitSup(sp *ttSup) {
	defer close(sp.waited)
	sp.waitErr = sp.s.Wait()
}

// grow fills a tree supervisor with two to four children: actors, and above depth 2 child
// supervisors of their own.
func (rd *ttRound) grow(sp *ttSup, depth int, rng *rand.Rand) {
	for range 2 + rng.IntN(3) {
		if depth < 2 && rng.IntN(10) < 3 {
			rd.grow(rd.newChild(sp, rng), depth+1, rng)
		} else {
			rd.spawn(sp, rng)
		}
	}
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
			rd.spawnSomewhere(rng)
		case p < 8250:
			rd.openGate(rng.IntN(ttGates))
		case p < 8250+rd.stopActorRate:
			if a := rd.pick(rng); rng.IntN(3) == 0 {
				rd.stopNowActor(a)
			} else {
				rd.stopActor(a)
			}
		case p < 8250+rd.stopActorRate+rd.stopSupRate:
			sp := rd.pickSup(rng)
			rd.stopSup(sp, sp.parent == nil && rng.IntN(2) == 0)
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

func (rd *ttRound) pickSup(rng *rand.Rand) *ttSup {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	return rd.sups[rng.IntN(len(rd.sups))]
}

// spawnSomewhere spawns an actor under a random supervisor, or, now and then, a child
// supervisor with an actor under a random tree supervisor.
func (rd *ttRound) spawnSomewhere(rng *rand.Rand) {
	sp := rd.pickSup(rng)
	if !sp.flat && rng.IntN(5) == 0 {
		sp = rd.newChild(sp, rng)
	}
	rd.spawn(sp, rng)
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
		m.spawnSup = rd.pickSup(rng)
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
		{40, ttCtxBlock},
		{rd.stopActorRate / 3, ttStopNow},
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
		restart: []int{-1, -1, -1, 0, 1, 3, 1000, 1000}[rng.IntN(8)], hooked: rng.IntN(2) == 0,
		spawnFunc: rng.IntN(2) == 0}
	if rng.IntN(4) == 0 {
		a.deadline = []time.Duration{500 * time.Microsecond, 2 * time.Millisecond, 5 * time.Millisecond}[rng.IntN(3)]
	}
	if a.spawnFunc && rng.IntN(6) == 0 {
		a.stateFail = []int{20, 100, 300}[rng.IntN(3)]
	}
	var opts []Option
	if a.bound > 0 {
		opts = append(opts, WithMailboxSize(a.bound))
	}
	if a.restart >= 0 {
		opts = append(opts, WithRestart(a.restart, time.Hour))
	}
	if a.deadline > 0 {
		opts = append(opts, WithShutdownTimeout(a.deadline))
	}
	if rng.IntN(5) == 0 {
		opts = append(opts, WithName(fmt.Sprintf("tt-%d", rng.IntN(1000))))
	}
	a.stopCalled.Store(math.MaxInt64)
	a.stopDone.Store(math.MaxInt64)
	a.spawnBefore = rd.tick()
	switch {
	case a.hooked && a.spawnFunc:
		a.target = ttRef[ttHookedActor]{SpawnFunc(sp.s, ttNewState(a, func(inc *ttInc) *ttHookedActor { return &ttHookedActor{a: a, inc: inc} }), opts...),
			a, func(s *ttHookedActor) *ttInc { return s.inc }}
	case a.hooked:
		a.target = ttRef[ttHookedActor]{Spawn(sp.s, &ttHookedActor{a: a}, opts...), a, func(s *ttHookedActor) *ttInc { return s.inc }}
	case a.spawnFunc:
		a.target = ttRef[ttPlainActor]{SpawnFunc(sp.s, ttNewState(a, func(inc *ttInc) *ttPlainActor { return &ttPlainActor{inc: inc} }), opts...),
			a, func(s *ttPlainActor) *ttInc { return s.inc }}
	default:
		a.target = ttRef[ttPlainActor]{Spawn(sp.s, &ttPlainActor{}, opts...), a, func(*ttPlainActor) *ttInc { return nil }}
	}
	a.spawnAfter = rd.tick()
	rd.mu.Lock()
	a.idx = len(rd.actors)
	rd.actors = append(rd.actors, a)
	rd.mu.Unlock()
	return a
}

// ttNewState is a SpawnFunc actor's newState: a fresh state on a new incarnation, or, as
// the round's seed decides, an error.
func ttNewState[T any](a *ttActor, make func(*ttInc) *T) func() (*T, error) {
	return func() (*T, error) {
		a.newStates++
		h := rand.New(rand.NewPCG(a.rd.seed^uint64(a.spawnBefore), uint64(a.newStates))).IntN(1000)
		if h < a.stateFail {
			a.fails = append(a.fails, ttFail{state: a.newStates, clock: a.rd.tick()})
			return nil, ttStateErr{a, a.newStates}
		}
		return make(a.newInc()), nil
	}
}

func (rd *ttRound) stopActor(a *ttActor) {
	ttMin(&a.stopCalled, rd.tick())
	if a.deadline > 0 {
		ttMinNonZero(&a.ctxDue, time.Now().Add(a.deadline).UnixNano())
	}
	a.target.stop()
	ttMin(&a.stopDone, rd.tick())
}

func (rd *ttRound) stopNowActor(a *ttActor) {
	ttMin(&a.stopCalled, rd.tick())
	ttMinNonZero(&a.ctxDue, time.Now().UnixNano())
	a.stopNows.Add(int64(a.target.stopNow()))
	ttMin(&a.stopDone, rd.tick())
}

func (rd *ttRound) stopSup(sp *ttSup, cancel bool) {
	ttMin(&sp.stopCalled, rd.tick())
	if cancel {
		sp.cancel()
	} else {
		sp.s.Stop()
	}
	after := rd.tick()
	ttMin(&sp.stopDone, after)
	if cancel {
		ttMin(&sp.cancelDone, after)
	}
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

// blockOnContext is a ttCtxBlock message: it waits for its actor's Context to end. If the
// harness has made that due (StopNow, or Stop with a shutdown deadline), it waits until
// then plus ttCtxGrace and notes a miss; otherwise it gives up after ttBlockCap, and when
// the round goes quiet.
func (rd *ttRound) blockOnContext(a *ttActor, m *ttMsg) {
	ctx := a.target.context()
	start := time.Now()
	tick := time.NewTicker(200 * time.Microsecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			m.how = ttByCtx
			return
		case <-rd.quiet:
			m.how = ttByRelease
			return
		case now := <-tick.C:
			if due := a.ctxDue.Load(); due != 0 {
				if now.UnixNano() > due+int64(ttCtxGrace) {
					m.how, m.lateCtx = ttByCap, true
					return
				}
			} else if now.Sub(start) > ttBlockCap {
				m.how = ttByCap
				return
			}
		}
	}
}

// run is a message running on its actor's incarnation inc.
func (a *ttActor) run(m *ttMsg, inc *ttInc) {
	rd := a.rd
	a.seq++
	m.ran++
	m.seq = a.seq
	m.inc = inc
	a.last = m
	switch {
	case a.tracked() && inc == nil:
		rd.failf("%v ran on %v before its first incarnation", m, a)
	case inc != nil && a.hooked && inc.starts == 0:
		rd.failf("%v ran on incarnation %d of %v before its OnStart", m, inc.n, a)
	case inc != nil && inc.stops > 0:
		rd.failf("%v ran on incarnation %d of %v after its OnStop", m, inc.n, a)
	}
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
		f := ttFail{msg: m, clock: m.failClock}
		if m.kind == ttPanic {
			a.panics++
			f.absorbed = a.restart >= 0 && a.panics <= a.restart
		}
		a.fails = append(a.fails, f)
		if m.kind == ttGoexit {
			runtime.Goexit()
		}
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
	case ttCtxBlock:
		rd.blockOnContext(a, m)
	case ttStopNow:
		rd.stopNowActor(a)
	}
}

// quiesce waits until nothing moves, with every worker done: it opens the gates, releases
// the messages blocked on their Context, and lets every backoff pass. Then every actor that
// is not stopping must answer an Ask, and no goroutine may be left but the waiters': an
// idle actor and an idle supervisor hold none.
func (rd *ttRound) quiesce(ignore goleak.Option) {
	for i := range ttGates {
		rd.openGate(i)
	}
	close(rd.quiet)
	var backoff time.Duration
	for _, sp := range rd.sups {
		backoff = max(backoff, sp.backoff)
	}
	time.Sleep(2*backoff + time.Millisecond) // the jitter at most doubles a backoff

	rd.mu.Lock()
	actors := rd.actors[:len(rd.actors):len(rd.actors)]
	rd.mu.Unlock()
	for _, a := range actors {
		m := rd.newMsg(a, ttMain, ttPlain, ttAsk)
		rd.call(m, ttDeadline, ttGrace)
		if m.err == context.DeadlineExceeded {
			rd.failf("%v: neither stopping nor ended, yet it did not answer an Ask in %v while the tree was quiet: down for ever? %s",
				a, ttGrace, a.target.lifecycle())
		}
	}
	// goleak.Find gives goroutines about half a second to end; a loaded machine may
	// need more to schedule an activation's last steps.
	var err error
	for range 4 {
		if err = goleak.Find(ignore, goleak.IgnoreAnyFunction("github.com/pactor-go/actor.(*ttRound).waitSup")); err == nil {
			return
		}
	}
	rd.failf("goroutines while every actor and supervisor was idle: %v", err)
}
