package actor

// FuzzOps decodes its input into a sequence of operations on a supervisor and a few actors,
// runs them one at a time inside a testing/synctest bubble, and compares every result with a
// model of the actors: what each call returns, which messages each actor runs and in what
// order, how many times its hooks ran, and what Wait returns.
//
// Determinism comes from the bubble, not from sleeps. After each operation synctest.Wait
// returns once every actor has run all it can and is idle, blocked on a message that waits
// for a "release" operation, or ended. A SendContext or Ask that would wait (a full mailbox,
// an actor busy with a blocked message) gets a context with a one-second deadline, which
// the bubble's clock reaches at once when nothing else can move. So the queue behind a
// blocked message is known exactly, and the model can say what every call returns.
//
// Input format: one byte per operation, op = b % fzOps and target actor = b / fzOps (modulo
// the number of actors); fzSpawn also takes the next byte as the new actor's configuration.

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
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
	fzAskStopSup              // Ask with a function that stops the supervisor
	fzRelease                 // release the actor's blocked message
	fzStop                    // Ref.Stop
	fzSpawn                   // Spawn, configured by the next byte
	fzStopSup                 // Supervisor.Stop
	fzCancelSup               // cancel the supervisor's context
	fzWaiter                  // start a goroutine in Supervisor.Wait: later Spawns happen during Wait
	fzReset                   // stop the supervisor, check everything, and start a new one
	fzOps
)

var fzOpNames = [fzOps]string{"Send", "SendContext", "SendContext(cancelled)", "Enqueue", "Ask",
	"Ask(cancelled)", "Send(panic)", "Ask(panic)", "Send(goexit)", "Ask(goexit)", "Send(block)",
	"Ask(block)", "Send(enqueue)", "Send(stop-self)", "Ask(stop-sup)", "release", "Stop", "Spawn",
	"Supervisor.Stop", "cancel", "waiter", "reset"}

const (
	fzMaxOps    = 300 // operations per input; the rest is ignored
	fzMaxActors = 8
	fzWithin    = 1000 * time.Hour // restart window: each deadline moves the bubble's clock 1 s
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
)

type fzPanicValue int

// fzItem is a message: in the model's queue, and captured by the real message.
type fzItem struct {
	id        int
	followUp  int // fzEnqueue: the id of the follow-up
	kind      fzKind
	rel       chan struct{} // fzBlock
	cancelled bool          // an Ask whose deadline ended while it waited in the queue
}

// fzState is what the real actor records; fzPlainActor and fzHookedActor wrap it, with and
// without hooks.
type fzState struct {
	log           []int // ids of the messages run; -id for a follow-up whose Enqueue failed
	starts, stops int
}

type fzPlainActor struct{ s fzState }

type fzHookedActor struct{ s fzState }

func (h *fzHookedActor) OnStart() error { h.s.starts++; return nil }
func (h *fzHookedActor) OnStop()        { h.s.stops++ }

// fzRef hides the state type of the real actor.
type fzRef interface {
	send(ctx context.Context, op int, fn func(*fzState)) error
	ask(ctx context.Context, fn func(*fzState) (int, error)) (int, error)
	stop()
	wait() error
	state() *fzState
}

type fzRefOf[T any] struct {
	ref *Ref[T]
	st  *T
	get func(*T) *fzState
}

func (r fzRefOf[T]) send(ctx context.Context, op int, fn func(*fzState)) error {
	msg := func(t *T) { fn(r.get(t)) }
	switch op {
	case fzSendContextPlain, fzSendContextDone:
		return r.ref.SendContext(ctx, msg)
	case fzEnqueuePlain:
		return r.ref.Enqueue(msg)
	default:
		return r.ref.Send(msg)
	}
}

func (r fzRefOf[T]) ask(ctx context.Context, fn func(*fzState) (int, error)) (int, error) {
	return Ask(ctx, r.ref, func(t *T) (int, error) { return fn(r.get(t)) })
}

func (r fzRefOf[T]) stop()           { r.ref.Stop() }
func (r fzRefOf[T]) wait() error     { return r.ref.Wait() }
func (r fzRefOf[T]) state() *fzState { return r.get(r.st) }

// fzActor is a real actor and its model.
type fzActor struct {
	idx     int
	ref     fzRef
	bound   int
	restart int // -1: no WithRestart
	hooked  bool

	// The model.
	live     bool // not ended (false for an actor spawned on a stopped supervisor)
	stopping bool
	blocked  *fzItem // the blocked message it is running
	queue    []fzItem
	log      []int
	panics   int
	starts   int
	stops    int
	err      fzWant // Wait's result once ended
}

func (x *fzActor) String() string {
	return fmt.Sprintf("actor %d (bound %d, restart %d, hooked %v)", x.idx, x.bound, x.restart, x.hooked)
}

// fzWant is an expected result.
type fzWant struct {
	what int // one of the fzWant constants
	id   int // the message of fzWantValue and fzWantPanic
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
)

func (w fzWant) String() string {
	return [...]string{"nil", fmt.Sprintf("%d, nil", w.id), "ErrStopped", "ErrMailboxFull",
		"context.Canceled", "context.DeadlineExceeded", fmt.Sprintf("*PanicError(%d)", w.id), "ErrGoexit"}[w.what]
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
	default:
		return errors.Is(err, ErrGoexit)
	}
}

// fzWorld is one supervisor with its actors.
type fzWorld struct {
	t      *testing.T
	sup    *Supervisor
	cancel context.CancelFunc
	actors []*fzActor
	nextID *int

	ended     bool     // the supervisor has stopped and every actor has ended
	stopping  bool     // the supervisor was told to stop, or failed
	firstFail *fzActor // the actor whose failure Supervisor.Wait must return
	waited    chan struct{}
	waitErr   error
	rels      map[chan struct{}]bool // every blocking message's channel: true once closed
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
	w := fzNewWorld(t, &nextID)
	ops := 0
	for i := 0; i < len(data) && ops < fzMaxOps; i++ {
		ops++
		b := data[i]
		op := int(b) % fzOps
		x := w.actors[int(b)/fzOps%len(w.actors)]
		switch op {
		case fzSpawn:
			cfg := byte(0)
			if i+1 < len(data) {
				i++
				cfg = data[i]
			}
			w.spawn(cfg)
		case fzReset:
			w.shutdown(true)
			w.check()
			w = fzNewWorld(t, &nextID)
		default:
			w.do(op, x)
		}
		synctest.Wait()
		if w.stopping && !w.ended {
			// A failure, or a Stop from inside a message: the supervisor is draining.
			w.shutdown(false)
		}
		if t.Failed() {
			w.abandon()
			t.Fatalf("after operation %d (%s on %v); input %q", ops, fzOpNames[op], x, data)
		}
	}
	w.shutdown(true)
	if t.Failed() {
		w.abandon()
		t.Fatalf("while stopping at the end; input %q", data)
	}
	w.check()
	if t.Failed() {
		t.Fatalf("at the end; input %q", data)
	}
}

func fzNewWorld(t *testing.T, nextID *int) *fzWorld {
	ctx, cancel := context.WithCancel(context.Background())
	w := &fzWorld{t: t, sup: NewSupervisor(ctx), cancel: cancel, nextID: nextID, rels: map[chan struct{}]bool{}}
	w.spawn(20) // bound 2, WithRestart(1), hooked
	w.spawn(0)  // unbounded, no restart, no hooks
	synctest.Wait()
	return w
}

func (w *fzWorld) id() int {
	*w.nextID++
	return *w.nextID
}

// spawn spawns an actor configured by cfg: bound cfg%3, restart (cfg/3)%4-1 (-1 for none),
// hooks if cfg/12 is odd.
func (w *fzWorld) spawn(cfg byte) {
	if len(w.actors) >= fzMaxActors {
		return
	}
	x := &fzActor{idx: len(w.actors), bound: int(cfg % 3), restart: int(cfg/3%4) - 1, hooked: cfg/12%2 == 1}
	var opts []Option
	if x.bound > 0 {
		opts = append(opts, WithMailboxSize(x.bound))
	}
	if x.restart >= 0 {
		opts = append(opts, WithRestart(x.restart, fzWithin))
	}
	if x.hooked {
		st := &fzHookedActor{}
		x.ref = fzRefOf[fzHookedActor]{Spawn(w.sup, st, opts...), st, func(h *fzHookedActor) *fzState { return &h.s }}
	} else {
		st := &fzPlainActor{}
		x.ref = fzRefOf[fzPlainActor]{Spawn(w.sup, st, opts...), st, func(p *fzPlainActor) *fzState { return &p.s }}
	}
	w.actors = append(w.actors, x)
	if w.stopping {
		x.err = fzWant{what: fzWantStopped}
		return
	}
	x.live = true
	if x.hooked {
		x.starts = 1 // Spawn starts it at once to run OnStart
	}
}

// do runs one operation on x, and checks its result against the model.
func (w *fzWorld) do(op int, x *fzActor) {
	switch op {
	case fzRelease:
		if x.blocked != nil {
			w.release(x)
		}
		return
	case fzStop:
		x.ref.stop()
		if x.live && !x.stopping {
			x.stopping = true
			if x.blocked == nil {
				w.end(x, fzWant{what: fzWantNil})
			}
		}
		return
	case fzStopSup, fzCancelSup:
		if op == fzStopSup {
			w.sup.Stop()
		} else {
			w.cancel()
		}
		w.stopping = true
		return
	case fzWaiter:
		if w.waited == nil {
			w.waited = make(chan struct{})
			go func() {
				defer close(w.waited)
				w.waitErr = w.sup.Wait()
			}()
		}
		return
	}

	it := fzItem{id: w.id()}
	ask := false
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
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
	case fzSendEnqueue:
		it.kind, it.followUp = fzEnqueue, w.id()
	case fzSendStopSelf:
		it.kind = fzStopSelf
	case fzAskStopSup:
		it.kind = fzStopSupK
	}
	switch op {
	case fzAskPlain, fzAskDone, fzAskPanic, fzAskGoexit, fzAskBlock, fzAskStopSup:
		ask = true
	}

	// The model's prediction, and its effect on the model.
	var want fzWant
	full := x.bound > 0 && len(x.queue) >= x.bound
	switch {
	case op == fzSendContextDone || op == fzAskDone:
		want.what = fzWantCanceled
	case !x.live || x.stopping:
		want.what = fzWantStopped
	case x.blocked != nil:
		switch {
		case ask && full:
			want.what = fzWantDeadline // waited for room
		case ask:
			want.what = fzWantDeadline // queued; never runs
			it.cancelled = true
			x.queue = append(x.queue, it)
		case full && op == fzSendContextPlain:
			want.what = fzWantDeadline
		case full && op != fzEnqueuePlain:
			want.what = fzWantFull
		default:
			x.queue = append(x.queue, it)
		}
	default: // idle: runs at once
		switch {
		case !ask:
		case it.kind == fzPanic:
			want = fzWant{what: fzWantPanic, id: it.id}
		case it.kind == fzGoexit:
			want.what = fzWantGoexit
		case it.kind == fzBlock:
			want.what = fzWantDeadline // the deadline ends the Ask while fn is blocked
		default:
			want = fzWant{what: fzWantValue, id: it.id}
		}
		x.queue = append(x.queue, it)
		w.process(x)
	}

	// The real call.
	var val int
	var err error
	sup := w.sup
	if ask {
		val, err = x.ref.ask(ctx, func(s *fzState) (int, error) {
			fzRunReal(x, sup, s, it)
			return it.id, nil
		})
	} else {
		err = x.ref.send(ctx, op, func(s *fzState) { fzRunReal(x, sup, s, it) })
	}
	if !want.match(val, err) {
		w.t.Errorf("%s(message %d) to %v = %d, %v; want %v", fzOpNames[op], it.id, x, val, err, want)
	}
}

// fzRunReal is a message running on the real actor x.
func fzRunReal(x *fzActor, sup *Supervisor, s *fzState, it fzItem) {
	s.log = append(s.log, it.id)
	switch it.kind {
	case fzPanic:
		panic(fzPanicValue(it.id))
	case fzGoexit:
		runtime.Goexit()
	case fzBlock:
		<-it.rel
	case fzEnqueue:
		next := fzItem{id: it.followUp}
		if err := x.ref.send(context.Background(), fzEnqueuePlain, func(s *fzState) { fzRunReal(x, sup, s, next) }); err != nil {
			s.log = append(s.log, -it.followUp)
		}
	case fzStopSelf:
		x.ref.stop()
	case fzStopSupK:
		sup.Stop()
	}
}

// process runs the model of x's queue until it is empty, x blocks, or x ends.
func (w *fzWorld) process(x *fzActor) {
	for x.live && x.blocked == nil && len(x.queue) > 0 {
		it := x.queue[0]
		x.queue = x.queue[1:]
		if it.cancelled {
			continue
		}
		x.log = append(x.log, it.id)
		switch it.kind {
		case fzPanic:
			x.panics++
			if x.restart >= 0 && x.panics <= x.restart {
				if x.hooked {
					x.starts++
				}
			} else {
				w.end(x, fzWant{what: fzWantPanic, id: it.id})
			}
		case fzGoexit:
			w.end(x, fzWant{what: fzWantGoexit})
		case fzBlock:
			x.blocked = &it
		case fzEnqueue:
			if x.stopping {
				x.log = append(x.log, -it.followUp)
			} else {
				x.queue = append(x.queue, fzItem{id: it.followUp})
			}
		case fzStopSelf:
			x.stopping = true
		case fzStopSupK:
			w.stopping = true
		}
	}
	if x.live && x.blocked == nil && x.stopping {
		w.end(x, fzWant{what: fzWantNil})
	}
}

// release lets x's blocked message return, and runs the model of what follows.
func (w *fzWorld) release(x *fzActor) {
	close(x.blocked.rel)
	w.rels[x.blocked.rel] = true
	x.blocked = nil
	w.process(x)
}

// abandon ends a world that has gone wrong: it releases every blocked message, real or
// modelled, and joins the supervisor, so that the bubble can end and the test report.
func (w *fzWorld) abandon() {
	for rel, closed := range w.rels {
		if !closed {
			close(rel)
			w.rels[rel] = true
		}
	}
	w.sup.Stop()
	_ = w.sup.Wait()
	if w.waited != nil {
		<-w.waited
	}
	w.cancel()
}

// end ends x in the model with Wait's result err.
func (w *fzWorld) end(x *fzActor, err fzWant) {
	x.live, x.stopping, x.blocked, x.queue, x.err = false, true, nil, nil, err
	if x.hooked {
		x.stops++
	}
	if err.what != fzWantNil {
		w.stopping = true
		if w.firstFail == nil {
			w.firstFail = x
		}
	}
}

// shutdown finishes the supervisor's drain: it stops the supervisor if stop is set, then,
// newest actor first as the drain goes, releases each blocked actor, lets it run its queue
// and end.
func (w *fzWorld) shutdown(stop bool) {
	if w.ended {
		return
	}
	if stop {
		w.sup.Stop()
	}
	w.stopping = true
	for i := len(w.actors) - 1; i >= 0; i-- {
		x := w.actors[i]
		for x.live && x.blocked != nil {
			// Every newer actor has ended, so the drain has stopped this one and waits
			// for it.
			synctest.Wait()
			x.stopping = true
			w.release(x)
		}
		if x.live {
			w.end(x, fzWant{what: fzWantNil}) // idle: the drain stops it
		}
	}
	synctest.Wait()
	w.ended = true
}

// check compares the ended world with the model.
func (w *fzWorld) check() {
	t := w.t
	errs := make([]error, len(w.actors))
	for i, x := range w.actors {
		errs[i] = x.ref.wait()
		if !x.err.match(0, errs[i]) {
			t.Errorf("%v: Wait = %v, want %v", x, errs[i], x.err)
		}
		s := x.ref.state()
		if !slices.Equal(s.log, x.log) {
			t.Errorf("%v ran %v, want %v", x, s.log, x.log)
		}
		if s.starts != x.starts || s.stops != x.stops {
			t.Errorf("%v: OnStart ran %d times and OnStop %d, want %d and %d", x, s.starts, s.stops, x.starts, x.stops)
		}
	}
	err := w.sup.Wait()
	switch {
	case w.firstFail == nil && err != nil:
		t.Errorf("Supervisor.Wait = %v, want nil", err)
	case w.firstFail != nil && !errors.Is(err, errs[w.firstFail.idx]):
		t.Errorf("Supervisor.Wait = %v, want the failure of %v: %v", err, w.firstFail, errs[w.firstFail.idx])
	}
	if w.waited != nil {
		<-w.waited
		if w.waitErr != err {
			t.Errorf("Supervisor.Wait in the waiter = %v, after = %v", w.waitErr, err)
		}
	}
	w.cancel()
}
