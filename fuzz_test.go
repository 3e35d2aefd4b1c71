package actor

// FuzzOps decodes its input into a sequence of operations on a supervision tree and its
// actors, runs them one at a time inside a testing/synctest bubble, and compares every
// result with an exact model of the tree: what each call returns, which messages each actor
// runs, in what order and on which incarnation, how many times newState, OnStart and OnStop
// ran, and what every Wait returns, across restarts and strategies.
//
// Determinism comes from the bubble, not from sleeps. After each operation synctest.Wait
// returns once every actor has run all it can and is idle, blocked on a message that waits
// for a "release" operation (or for its Context), down, or ended. A SendContext or Ask that
// would wait (a full mailbox, an actor busy with a blocked message) gets a context with a
// one-second deadline, which the bubble's clock reaches at once when nothing else can move.
// So the queue behind a blocked message is known exactly, and the model can say what every
// call returns.
//
// The model mirrors what the supervisors do: the strategy and intensity that decide on a
// failure, the give-up that goes to the parent, the control task that brings children down
// in reverse order and up in spawn order, the drain that stops them one after the other.
// That work waits when a child is blocked in a message. The model then settles it before
// the next operation: it releases, one at a time and in the order the control tasks wait
// for them, the actors they wait on, and lets the bubble's clock run to the next shutdown
// deadline when what they wait on is a message blocked on its Context. The model keeps its
// own clock and checks it against the bubble's after every operation, and counts the
// goroutines of activations and control tasks: between operations only a blocked actor
// holds one.
//
// What the model leaves to TestTorture: backoff (its jitter is random), so restarts come
// up at once; and operations while a restart or a drain is in flight, since the model
// settles each one before the next operation. A world starts with a root of intensity 0,
// as before trees, so that the older corpus keeps its meaning; fzNewRoot starts one that
// restarts, and NewChild adds supervisors of every kind below.
//
//
// Input format: one byte per operation, op = b % fzOps and target actor = b / fzOps (modulo
// the number of actors); fzSpawn also takes the next byte as the new actor's configuration.
// The five operations that take no actor (fzSpawn to fzReset) with b / fzOps > 0 are the
// extended operations of trees: (b/fzOps - 1)*5 + (b%fzOps - fzSpawn), modulo fzExtOps,
// each with the next byte as its argument (fzSpawnUnder also takes a configuration byte).
// The older corpus never has such bytes, so it means what it meant before trees.

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// The operations.
const (
	fzSendPlain        = iota // Send a plain message
	fzSendContextPlain        // SendContext with a one-second deadline
	fzSendContextDone         // SendContext with a cancelled context
	fzEnqueuePlain            // Enqueue
	fzAskPlain                // Ask with a one-second deadline
	fzAskDone                 // Ask with a cancelled context
	fzSendPanic               // Send a message that panics
	fzAskPanic                // Ask with a function that panics
	fzSendGoexit              // Send a message that calls runtime.Goexit
	fzAskGoexit               // Ask with a function that calls runtime.Goexit
	fzSendBlock               // Send a message that blocks until released
	fzAskBlock                // Ask with a function that blocks until released: its deadline ends the Ask
	fzSendEnqueue             // Send a message that Enqueues a plain follow-up to its own actor
	fzSendStopSelf            // Send a message that stops its own actor
	fzAskStopSup              // Ask with a function that stops the actor's supervisor
	fzRelease                 // release the actor's blocked message
	fzStop                    // Ref.Stop
	fzSpawn                   // Spawn under the root, configured by the next byte
	fzStopSup                 // Supervisor.Stop of the root
	fzCancelSup               // cancel the root's context
	fzWaiter                  // start a goroutine in the root's Wait: later Spawns happen during Wait
	fzReset                   // stop the root, check everything, and start a new one
	fzOps
)

var fzOpNames = [fzOps]string{"Send", "SendContext", "SendContext(cancelled)", "Enqueue", "Ask",
	"Ask(cancelled)", "Send(panic)", "Ask(panic)", "Send(goexit)", "Ask(goexit)", "Send(block)",
	"Ask(block)", "Send(enqueue)", "Send(stop-self)", "Ask(stop-sup)", "release", "Stop", "Spawn",
	"Supervisor.Stop", "cancel", "waiter", "reset"}

// The extended operations, of trees; each takes an argument byte.
const (
	fzNewChild       = iota // NewChild: parent arg/18, strategy arg%3, intensity arg/3%6
	fzSpawnUnder            // Spawn or SpawnFunc under supervisor arg/8 (bit 0: SpawnFunc, 1: WithShutdownTimeout, 2: its first newState fails), configured by the next byte
	fzStopSupervisor        // Supervisor.Stop of supervisor arg, root or child
	fzSendCtxBlock          // Send to actor arg a message that blocks on its actor's Context (or until released)
	fzAskCtxBlock           // Ask actor arg with such a function
	fzStopNow               // Ref.StopNow of actor arg
	fzFailState             // the next newState of actor arg fails
	fzSleep                 // let (arg%4+1) half-seconds pass
	fzNewRoot               // reset, to a root that restarts: strategy arg%3, intensity 1+arg/3%5
	fzExtOps
)

var fzExtNames = [fzExtOps]string{"NewChild", "Spawn under", "Stop supervisor", "Send(ctx-block)", "Ask(ctx-block)", "StopNow", "fail newState", "sleep", "new root"}

const (
	fzMaxOps    = 300 // operations per input; the rest is ignored
	fzMaxActors = 8
	fzMaxSups   = 6
	fzWithin    = 1000 * time.Hour        // restart windows: each deadline moves the bubble's clock 1 s
	fzWait      = time.Second             // the deadline of a call that would wait
	fzDeadline  = 1500 * time.Millisecond // WithShutdownTimeout's: no sum of waits and deadlines ties with another
)

// fzKind is what a message does when it runs.
type fzKind uint8

const (
	fzPlain fzKind = iota
	fzPanic
	fzGoexit
	fzBlock
	fzEnqueue
	fzStopSelf
	fzStopSupK
	fzCtxBlock
)

type fzPanicValue int

// fzStateErr is what a failing newState returns: call n of actor a's.
type fzStateErr struct{ a, n int }

func (e fzStateErr) Error() string { return fmt.Sprintf("newState %d of actor %d failed", e.n, e.a) }

// fzNilStops counts OnStop calls on a nil state.
var fzNilStops atomic.Int64

// fzItem is a message: in the model's queue, and captured by the real message.
type fzItem struct {
	id        int
	followUp  int // fzEnqueue: the id of the follow-up
	kind      fzKind
	rel       chan struct{} // fzBlock, fzCtxBlock
	cancelled bool          // an Ask whose deadline ended while it waited in the queue
}

// fails reports whether the item fails its actor when it runs.
func (it *fzItem) fails() bool {
	return (it.kind == fzPanic || it.kind == fzGoexit)
}

// fzRec is what the real actor records, across its incarnations.
type fzRec struct {
	log       []int // ids of the messages run; -id for a follow-up whose Enqueue failed
	incs      []int // the incarnation each entry of log ran on
	starts    int
	stops     int
	newStates int
	failNext  atomic.Int32 // newState calls that fail from the next one on
}

// The state types: with and without hooks. inc is the incarnation: newState's call number
// for SpawnFunc, OnStart's for a Spawned actor with hooks, 0 for one without.
type fzPlainActor struct {
	rec *fzRec
	inc int
}

type fzHookedActor struct {
	rec     *fzRec
	inc     int
	viaFunc bool
}

func (h *fzHookedActor) OnStart() error {
	h.rec.starts++
	if !h.viaFunc {
		h.inc = h.rec.starts
	}
	return nil
}

func (h *fzHookedActor) OnStop() {
	if h == nil {
		fzNilStops.Add(1)
		return
	}
	h.rec.stops++
}

// fzRef hides the state type of the real actor.
type fzRef interface {
	send(ctx context.Context, op int, fn func(*fzRec, int)) error
	ask(ctx context.Context, fn func(*fzRec, int) (int, error)) (int, error)
	stop()
	stopNow() int
	wait() error
	context() context.Context
}

type fzRefOf[T any] struct {
	ref  *Ref[T]
	view func(*T) (*fzRec, int)
}

func (r fzRefOf[T]) send(ctx context.Context, op int, fn func(*fzRec, int)) error {
	msg := func(t *T) { fn(r.view(t)) }
	switch op {
	case fzSendContextPlain, fzSendContextDone:
		return r.ref.SendContext(ctx, msg)
	case fzEnqueuePlain:
		return r.ref.Enqueue(msg)
	default:
		return r.ref.Send(msg)
	}
}

func (r fzRefOf[T]) ask(ctx context.Context, fn func(*fzRec, int) (int, error)) (int, error) {
	return Ask(ctx, r.ref, func(t *T) (int, error) { return fn(r.view(t)) })
}

func (r fzRefOf[T]) stop()                    { r.ref.Stop() }
func (r fzRefOf[T]) stopNow() int             { return r.ref.StopNow() }
func (r fzRefOf[T]) wait() error              { return r.ref.Wait() }
func (r fzRefOf[T]) context() context.Context { return r.ref.Context() }

// fzNode is a child of a supervisor: an actor or a supervisor.
type fzNode struct {
	a *fzActor
	s *fzSup
}

func (n fzNode) String() string {
	if n.a != nil {
		return n.a.String()
	}
	return n.s.String()
}

// fzActor is a real actor and its model.
type fzActor struct {
	idx       int
	ref       fzRef
	rec       *fzRec
	sup       *fzSup
	bound     int
	restart   int // -1: no WithRestart
	hooked    bool
	spawnFunc bool
	deadline  bool // WithShutdownTimeout(fzDeadline)

	// The model.
	live      bool // not ended (false for an actor spawned on a stopped supervisor)
	stopping  bool
	down      bool    // down for a restart
	goingDown bool    // a restart waits for its blocked message to return, to bring it down
	busy      bool    // the model runs its mailbox (process): a stop lets it finish
	blocked   *fzItem // the blocked message it is running
	queue     []*fzItem
	log       []int
	incs      []int
	inc       int
	panics    int
	starts    int
	stops     int
	newStates int
	failNext  int
	ctxDone   bool          // its incarnation's Context has ended
	due       time.Duration // when its shutdown deadline passes; -1: not started
	err       fzWant        // Wait's result once ended
}

func (x *fzActor) String() string {
	how := "Spawn"
	if x.spawnFunc {
		how = "SpawnFunc"
	}
	return fmt.Sprintf("actor %d (%s under sup %d, bound %d, restart %d, hooked %v, deadline %v)",
		x.idx, how, x.sup.idx, x.bound, x.restart, x.hooked, x.deadline)
}

// fzWant is an expected result.
type fzWant struct {
	what int // one of the fzWant constants
	id   int // the message of fzWantValue and fzWantPanic; the newState call of fzWantState
	a    int // the actor of fzWantState
}

const (
	fzWantNil = iota
	fzWantValue
	fzWantStopped
	fzWantFull
	fzWantCanceled
	fzWantDeadline
	fzWantPanic
	fzWantGoexit
	fzWantState
)

func (w fzWant) String() string {
	return [...]string{"nil", fmt.Sprintf("%d, nil", w.id), "ErrStopped", "ErrMailboxFull",
		"context.Canceled", "context.DeadlineExceeded", fmt.Sprintf("*PanicError(%d)", w.id), "ErrGoexit",
		fzStateErr{w.a, w.id}.Error()}[w.what]
}

func (w fzWant) match(val int, err error) bool {
	switch w.what {
	case fzWantNil:
		return err == nil
	case fzWantValue:
		return err == nil && val == w.id
	case fzWantStopped:
		return err == ErrStopped
	case fzWantFull:
		return err == ErrMailboxFull
	case fzWantCanceled:
		return err == context.Canceled
	case fzWantDeadline:
		return err == context.DeadlineExceeded
	case fzWantPanic:
		var pe *PanicError
		return errors.As(err, &pe) && pe.Value == fzPanicValue(w.id)
	case fzWantGoexit:
		return errors.Is(err, ErrGoexit)
	default:
		var se fzStateErr
		return errors.As(err, &se) && se == fzStateErr{w.a, w.id}
	}
}

// fzErr is a failure as it travels up the tree: the failure of an actor, wrapped depth
// times (by the actor's name, newState, and each supervisor's name).
type fzErr struct {
	leaf  fzWant
	depth int
}

func (e fzErr) String() string { return fmt.Sprintf("%v wrapped %d times", e.leaf, e.depth) }

// match reports whether err is e: its leaf (errors.Is, errors.As) at e's depth.
func (e fzErr) match(err error) bool {
	if !e.leaf.match(0, err) {
		return false
	}
	for d := 0; err != nil; d++ {
		_, panicked := err.(*PanicError)
		_, state := err.(fzStateErr)
		if panicked || state || err == ErrGoexit {
			return d == e.depth
		}
		err = errors.Unwrap(err)
	}
	return false
}

// fzActorErr is the error an actor fails with for leaf.
func fzActorErr(leaf fzWant) fzErr {
	switch leaf.what {
	case fzWantGoexit:
		return fzErr{leaf, 1} // "actor X: " ErrGoexit
	case fzWantState:
		return fzErr{leaf, 2} // "actor X: newState: " the error
	}
	return fzErr{leaf, 0} // a *PanicError names the actor itself
}

// fzSup is a real supervisor and its model.
type fzSup struct {
	idx      int
	real     *Supervisor
	parent   *fzSup
	strategy Strategy
	max      int

	// The model.
	kids      []fzNode // children in spawn order, linked (spawned live); ended ones stay
	restarts  int
	stillborn bool // made stopped: Wait returns ErrStopped
	draining  bool
	ended     bool
	down      bool // brought down whole, for its parent's restart
	cancelled bool // a root whose context is done: nothing in its tree takes children
	inDown    map[fzNode]bool
	jobs      []*fzJob // waiting for the control task
	job       *fzJob   // the one it runs
	drainWait fzNode   // the child the drain waits for
	err       *fzErr   // what Wait returns, if not nil
}

func (s *fzSup) String() string {
	if s.parent == nil {
		return fmt.Sprintf("sup %d (root, %v, intensity %d)", s.idx, s.strategy, s.max)
	}
	return fmt.Sprintf("sup %d (child of %d, %v, intensity %d)", s.idx, s.parent.idx, s.strategy, s.max)
}

func (s *fzSup) root() *fzSup {
	for s.parent != nil {
		s = s.parent
	}
	return s
}

// live returns the children that have not ended, in spawn order.
func (s *fzSup) live() []fzNode {
	var ns []fzNode
	for _, n := range s.kids {
		if n.a != nil && n.a.live || n.s != nil && !n.s.ended {
			ns = append(ns, n)
		}
	}
	return ns
}

// takes reports whether Spawn and NewChild on s make live children.
func (s *fzSup) takes() bool { return !s.stillborn && !s.draining && !s.ended && !s.root().cancelled }

// fzJob is the work of a control task, as in supervisor.go.
type fzJob struct {
	kind   jobKind
	set    map[fzNode]bool // nil: every child
	reset  bool
	failed fzNode // zero: none
	done   bool   // finished or abandoned: whoever waits for it goes on

	started bool
	ms      []fzNode
	step    int // 0: the failed child down; 1: the others down; 2: up
	i       int
	issued  bool   // the current child was told
	sub     *fzJob // the job of a child supervisor the current step waits for
	waitFor fzNode // the current child
}

// fzWorld is a tree with its actors.
type fzWorld struct {
	t       *testing.T
	root    *fzSup
	cancel  context.CancelFunc
	sups    []*fzSup
	actors  []*fzActor
	nextID  *int
	start   time.Time     // the bubble's clock when the world was made
	now     time.Duration // the model's clock
	bubble  string        // the bubble's tag in goroutine dumps
	rels    map[chan struct{}]bool
	buf     []byte        // for goroutine dumps
	waited  chan struct{} // the root's waiter
	waitErr error
}

func FuzzOps(f *testing.F) {
	// The committed corpus in testdata/fuzz/FuzzOps covers every operation; these add a
	// couple of classic sequences.
	f.Add([]byte{fzSendBlock, fzSendPlain, fzAskPlain, fzSendPanic, fzSendPlain, fzRelease})
	f.Add([]byte{fzSendBlock + fzOps, fzSendEnqueue + fzOps, fzSendStopSelf + fzOps, fzSendPlain + fzOps, fzRelease + fzOps, fzStopSup})
	f.Fuzz(func(t *testing.T, data []byte) {
		synctest.Test(t, func(t *testing.T) { fzRun(t, data) })
	})
}

func fzRun(t *testing.T, data []byte) {
	nextID := 0
	nilStops := fzNilStops.Load()
	w := fzNewWorld(t, &nextID, OneForOne, 0)
	ops := 0
	for i := 0; i < len(data) && ops < fzMaxOps; i++ {
		ops++
		b := data[i]
		op := int(b) % fzOps
		x := w.actors[int(b)/fzOps%len(w.actors)]
		name := fzOpNames[op]
		next := func() byte {
			if i+1 < len(data) {
				i++
				return data[i]
			}
			return 0
		}
		switch {
		case op >= fzSpawn && b/fzOps > 0:
			ext := ((int(b)/fzOps-1)*5 + op - fzSpawn) % fzExtOps
			name = fzExtNames[ext]
			if ext == fzNewRoot {
				arg := next()
				w.shutdown()
				w.check()
				w = fzNewWorld(t, &nextID, Strategy(arg%3), 1+int(arg/3%5))
				break
			}
			w.doExt(ext, next)
		case op == fzSpawn:
			w.spawn(w.root, next(), 0)
		case op == fzReset:
			w.shutdown()
			w.check()
			w = fzNewWorld(t, &nextID, OneForOne, 0)
		default:
			w.do(op, x)
		}
		synctest.Wait()
		w.settle()
		w.checkQuiet()
		if t.Failed() {
			w.abandon()
			t.Fatalf("after operation %d (%s, on %v if it takes an actor); input %q", ops, name, x, data)
		}
	}
	w.shutdown()
	if t.Failed() {
		w.abandon()
		t.Fatalf("while stopping at the end; input %q", data)
	}
	w.check()
	if n := fzNilStops.Load() - nilStops; n > 0 {
		t.Errorf("OnStop ran %d times on a nil state", n)
	}
	if t.Failed() {
		t.Fatalf("at the end; input %q", data)
	}
}

// fzNewWorld makes a world: a root with strategy st and intensity max (0, as before trees,
// unless fzNewRoot says otherwise), and two actors under it.
func fzNewWorld(t *testing.T, nextID *int, st Strategy, max int) *fzWorld {
	ctx, cancel := context.WithCancel(context.Background())
	w := &fzWorld{t: t, cancel: cancel, nextID: nextID, rels: map[chan struct{}]bool{}, start: time.Now()}
	var buf [64]byte
	head, _, _ := strings.Cut(string(buf[:runtime.Stack(buf[:], false)]), "\n")
	if i := strings.Index(head, "synctest bubble "); i >= 0 {
		w.bubble = strings.TrimSuffix(head[i:], "]:")
	}
	w.root = &fzSup{strategy: st, max: max}
	if max == 0 {
		w.root.real = NewSupervisor(ctx)
	} else {
		w.root.real = NewSupervisor(ctx, WithStrategy(st), WithIntensity(max, fzWithin))
	}
	w.sups = []*fzSup{w.root}
	w.spawn(w.root, 20, 0) // bound 2, WithRestart(1), hooked
	w.spawn(w.root, 0, 0)  // unbounded, no restart, no hooks
	synctest.Wait()
	return w
}

func (w *fzWorld) id() int {
	*w.nextID++
	return *w.nextID
}

// spawn spawns an actor under s configured by cfg: bound cfg%3, restart (cfg/3)%4-1 (-1
// for none), hooks if cfg/12 is odd; and by kind: bit 0 SpawnFunc, bit 1
// WithShutdownTimeout, bit 2 its first newState fails (SpawnFunc).
func (w *fzWorld) spawn(s *fzSup, cfg, kind byte) {
	if len(w.actors) >= fzMaxActors {
		return
	}
	x := &fzActor{idx: len(w.actors), sup: s, rec: &fzRec{}, bound: int(cfg % 3), restart: int(cfg/3%4) - 1,
		hooked: cfg/12%2 == 1, spawnFunc: kind&1 != 0, deadline: kind&2 != 0, due: -1}
	var opts []Option
	if x.bound > 0 {
		opts = append(opts, WithMailboxSize(x.bound))
	}
	if x.restart >= 0 {
		opts = append(opts, WithRestart(x.restart, fzWithin))
	}
	if x.deadline {
		opts = append(opts, WithShutdownTimeout(fzDeadline))
	}
	rec := x.rec
	if kind&4 != 0 && x.spawnFunc && true {
		x.failNext = 1
		rec.failNext.Store(1)
	}
	w.actors = append(w.actors, x)
	live := s.takes()
	if live {
		s.kids = append(s.kids, fzNode{a: x})
		x.live = true
		// Spawn starts the actor at once if it has a newState or an OnStart to run.
		if x.spawnFunc || x.hooked {
			w.comeUp(x)
		}
	} else {
		x.err = fzWant{what: fzWantStopped}
	}
	newState := func() (int, error) {
		rec.newStates++
		if rec.failNext.Load() > 0 {
			rec.failNext.Add(-1)
			return 0, fzStateErr{x.idx, rec.newStates}
		}
		return rec.newStates, nil
	}
	switch {
	case x.hooked && x.spawnFunc:
		x.ref = fzRefOf[fzHookedActor]{SpawnFunc(s.real, func() (*fzHookedActor, error) {
			n, err := newState()
			if err != nil {
				return nil, err
			}
			return &fzHookedActor{rec: rec, inc: n, viaFunc: true}, nil
		}, opts...), func(h *fzHookedActor) (*fzRec, int) { return h.rec, h.inc }}
	case x.hooked:
		x.ref = fzRefOf[fzHookedActor]{Spawn(s.real, &fzHookedActor{rec: rec}, opts...), func(h *fzHookedActor) (*fzRec, int) { return h.rec, h.inc }}
	case x.spawnFunc:
		x.ref = fzRefOf[fzPlainActor]{SpawnFunc(s.real, func() (*fzPlainActor, error) {
			n, err := newState()
			if err != nil {
				return nil, err
			}
			return &fzPlainActor{rec: rec, inc: n}, nil
		}, opts...), func(p *fzPlainActor) (*fzRec, int) { return p.rec, p.inc }}
	default:
		x.ref = fzRefOf[fzPlainActor]{Spawn(s.real, &fzPlainActor{rec: rec}, opts...), func(p *fzPlainActor) (*fzRec, int) { return p.rec, p.inc }}
	}
}

// newChild makes a child supervisor of p configured by arg.
func (w *fzWorld) newChild(p *fzSup, arg byte) {
	if len(w.sups) >= fzMaxSups {
		return
	}
	s := &fzSup{idx: len(w.sups), parent: p, strategy: Strategy(arg % 3), max: int(arg / 3 % 6)}
	s.real = p.real.NewChild(WithStrategy(s.strategy), WithIntensity(s.max, fzWithin),
		WithSupervisorName("fz"+strconv.Itoa(s.idx)))
	w.sups = append(w.sups, s)
	if p.takes() {
		p.kids = append(p.kids, fzNode{s: s})
	} else {
		s.stillborn, s.ended, s.draining = true, true, true
	}
}

// doExt runs an extended operation.
func (w *fzWorld) doExt(op int, next func() byte) {
	arg := next()
	pickSup := func(n int) *fzSup { return w.sups[n%len(w.sups)] }
	x := w.actors[int(arg)%len(w.actors)]
	switch op {
	case fzNewChild:
		w.newChild(pickSup(int(arg)/18), arg)
	case fzSpawnUnder:
		w.spawn(pickSup(int(arg)/8), next(), arg&7)
	case fzStopSupervisor:
		s := pickSup(int(arg))
		w.requestDrain(s)
		s.real.Stop()
	case fzSendCtxBlock:
		w.do(fzSendCtxBlock+100, x)
	case fzAskCtxBlock:
		w.do(fzAskCtxBlock+100, x)
	case fzStopNow:
		want := w.stopNow(x)
		if got := x.ref.stopNow(); got != want {
			w.t.Errorf("StopNow of %v = %d, want %d", x, got, want)
		}
	case fzFailState:
		if x.spawnFunc && x.live && true {
			x.failNext++
			x.rec.failNext.Add(1)
		}
	case fzSleep:
		d := time.Duration(arg%4+1) * fzWait / 2
		w.passTime(d)
		time.Sleep(d)
	}
}

// do runs one operation on x, and checks its result against the model. The extended
// operations that send pass their number plus 100.
func (w *fzWorld) do(op int, x *fzActor) {
	switch op {
	case fzRelease:
		if x.blocked != nil {
			w.release(x)
		}
		return
	case fzStop:
		w.stop(x)
		x.ref.stop()
		return
	case fzStopSup, fzCancelSup:
		w.requestDrain(w.root)
		if op == fzStopSup {
			w.root.real.Stop()
		} else {
			w.root.cancelled = true
			w.cancel()
		}
		return
	case fzWaiter:
		if w.waited == nil {
			w.waited = make(chan struct{})
			go func() {
				defer close(w.waited)
				w.waitErr = w.root.real.Wait()
			}()
		}
		return
	}

	it := &fzItem{id: w.id()}
	ask := false
	ctx, cancel := context.WithTimeout(context.Background(), fzWait)
	defer cancel()
	switch op {
	case fzSendContextDone, fzAskDone:
		cancel()
	case fzSendPanic, fzAskPanic:
		it.kind = fzPanic
	case fzSendGoexit, fzAskGoexit:
		it.kind = fzGoexit
	case fzSendBlock, fzAskBlock:
		it.kind, it.rel = fzBlock, make(chan struct{})
		w.rels[it.rel] = false
	case fzSendCtxBlock + 100, fzAskCtxBlock + 100:
		it.kind, it.rel = fzCtxBlock, make(chan struct{})
		w.rels[it.rel] = false
	case fzSendEnqueue:
		it.kind, it.followUp = fzEnqueue, w.id()
	case fzSendStopSelf:
		it.kind = fzStopSelf
	case fzAskStopSup:
		it.kind = fzStopSupK
	}
	switch op {
	case fzAskPlain, fzAskDone, fzAskPanic, fzAskGoexit, fzAskBlock, fzAskStopSup, fzAskCtxBlock + 100:
		ask = true
	}

	// The model's prediction, and its effect on the model.
	var want fzWant
	waits := false // the call waits for its deadline
	full := x.bound > 0 && len(x.queue) >= x.bound
	switch {
	case op == fzSendContextDone || op == fzAskDone:
		want.what = fzWantCanceled
	case !x.live || x.stopping:
		want.what = fzWantStopped
	case x.blocked != nil:
		switch {
		case ask && full:
			want.what, waits = fzWantDeadline, true // waited for room
		case ask:
			want.what, waits = fzWantDeadline, true // queued; never runs
			it.cancelled = true
			x.queue = append(x.queue, it)
		case full && op == fzSendContextPlain:
			want.what, waits = fzWantDeadline, true
		case full && op != fzEnqueuePlain:
			want.what = fzWantFull
		default:
			x.queue = append(x.queue, it)
		}
	default: // idle: runs at once
		x.queue = append(x.queue, it)
		w.process(x)
		switch {
		case !ask:
		case it.kind == fzPanic && it.fails():
			want = fzWant{what: fzWantPanic, id: it.id}
		case it.kind == fzGoexit && it.fails():
			want.what = fzWantGoexit
		case it.kind == fzBlock || it.kind == fzCtxBlock:
			want.what, waits = fzWantDeadline, true // the deadline ends the Ask while fn is blocked
		default:
			want = fzWant{what: fzWantValue, id: it.id}
		}
	}
	if waits {
		w.passTime(fzWait)
	}

	// The real call.
	var val int
	var err error
	run := func(rec *fzRec, inc int) { fzRunReal(x, rec, inc, it) }
	if ask {
		val, err = x.ref.ask(ctx, func(rec *fzRec, inc int) (int, error) {
			run(rec, inc)
			return it.id, nil
		})
	} else {
		err = x.ref.send(ctx, op, run)
	}
	if !want.match(val, err) {
		w.t.Errorf("%s(message %d) to %v = %d, %v; want %v", fzOpName(op), it.id, x, val, err, want)
	}
}

func fzOpName(op int) string {
	if op >= 100 {
		return fzExtNames[op-100]
	}
	return fzOpNames[op]
}

// fzRunReal is a message running on the real actor x's incarnation inc.
func fzRunReal(x *fzActor, rec *fzRec, inc int, it *fzItem) {
	rec.log = append(rec.log, it.id)
	rec.incs = append(rec.incs, inc)
	switch it.kind {
	case fzPanic:
		panic(fzPanicValue(it.id))
	case fzGoexit:
		runtime.Goexit()
	case fzBlock:
		<-it.rel
	case fzCtxBlock:
		select {
		case <-x.ref.context().Done():
		case <-it.rel:
		}
	case fzEnqueue:
		next := &fzItem{id: it.followUp}
		if err := x.ref.send(context.Background(), fzEnqueuePlain, func(rec *fzRec, inc int) { fzRunReal(x, rec, inc, next) }); err != nil {
			rec.log = append(rec.log, -it.followUp)
			rec.incs = append(rec.incs, inc)
		}
	case fzStopSelf:
		x.ref.stop()
	case fzStopSupK:
		x.sup.real.Stop()
	}
}

// shutdown stops the root and settles everything.
func (w *fzWorld) shutdown() {
	if !w.root.ended {
		w.requestDrain(w.root)
		w.root.real.Stop()
		synctest.Wait()
		w.settle()
	}
	if !w.root.ended {
		w.t.Errorf("model: the root has not ended after its drain")
	}
}

// checkQuiet checks what holds between operations: the model's clock is the bubble's, no
// control task has work, and only the actors blocked in a message hold a goroutine.
func (w *fzWorld) checkQuiet() {
	if got := time.Since(w.start); got != w.now {
		w.t.Errorf("model: the clock says %v, the bubble's %v", w.now, got)
	}
	blocked := 0
	for _, x := range w.actors {
		if x.live && x.blocked != nil {
			blocked++
		}
	}
	for _, s := range w.sups {
		if !s.ended && (s.job != nil || len(s.jobs) > 0 || s.draining) {
			w.t.Errorf("model: %v still has work between operations", s)
		}
	}
	if w.bubble == "" {
		return
	}
	if w.buf == nil {
		w.buf = make([]byte, 1<<16)
	}
	var buf []byte
	for {
		n := runtime.Stack(w.buf, true)
		if n < len(w.buf) {
			buf = w.buf[:n]
			break
		}
		w.buf = make([]byte, 2*len(w.buf))
	}
	activations, controls := 0, 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		head, _, _ := strings.Cut(g, "\n")
		if !strings.Contains(head, w.bubble+"]") {
			continue
		}
		switch {
		case strings.Contains(g, "actor.(*Supervisor).control("):
			controls++
		case strings.Contains(g, "actor.(*Ref[...]).run("):
			activations++
		}
	}
	if activations != blocked || controls != 0 {
		w.t.Errorf("%d goroutines of activations and %d of control tasks between operations, want %d (one per blocked actor) and 0:\n%s",
			activations, controls, blocked, buf)
	}
}

// abandon ends a world that has gone wrong: it releases every blocked message, real or
// modelled, and joins the root, so that the bubble can end and the test report.
func (w *fzWorld) abandon() {
	for rel, closed := range w.rels {
		if !closed {
			close(rel)
			w.rels[rel] = true
		}
	}
	w.root.real.Stop()
	_ = w.root.real.Wait()
	if w.waited != nil {
		<-w.waited
	}
	w.cancel()
}

// check compares the ended world with the model.
func (w *fzWorld) check() {
	t := w.t
	for _, x := range w.actors {
		err := x.ref.wait()
		if !x.err.match(0, err) {
			t.Errorf("%v: Wait = %v, want %v", x, err, x.err)
		}
		r := x.rec
		if !slices.Equal(r.log, x.log) || !slices.Equal(r.incs, x.incs) {
			t.Errorf("%v ran %v on incarnations %v, want %v on %v", x, r.log, r.incs, x.log, x.incs)
		}
		if r.starts != x.starts || r.stops != x.stops || r.newStates != x.newStates {
			t.Errorf("%v: newState ran %d times, OnStart %d and OnStop %d, want %d, %d and %d",
				x, r.newStates, r.starts, r.stops, x.newStates, x.starts, x.stops)
		}
	}
	for _, s := range w.sups {
		err := s.real.Wait()
		select {
		case <-s.real.Done():
		default:
			t.Errorf("%v: Done is open after Wait returned", s)
		}
		switch {
		case s.stillborn:
			if err != ErrStopped {
				t.Errorf("%v: Wait = %v, want ErrStopped (made on a stopped supervisor)", s, err)
			}
		case s.err == nil:
			if err != nil {
				t.Errorf("%v: Wait = %v, want nil", s, err)
			}
		case !s.err.match(err):
			t.Errorf("%v: Wait = %v, want %v", s, err, *s.err)
		}
	}
	if w.waited != nil {
		<-w.waited
		if err := w.root.real.Wait(); w.waitErr != err {
			t.Errorf("Supervisor.Wait in the waiter = %v, after = %v", w.waitErr, err)
		}
	}
	w.cancel()
}
