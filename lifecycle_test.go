package actor

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// Tests for lifecycle.go (issue 9, semantics 3, 8, 9 and 10): what a restart does to an
// actor, WithRestart beside the supervisor, shutdown deadlines and Ref.Context. The helpers
// (part, journal, bubble...) are in tree_test.go.

// 3. Restart keeps the Ref.

// TestRestartKeepsRef: a restarted actor is the same *Ref with the same mailbox: the
// message that failed is dropped and its Ask and Request get the failure, the queued
// messages run in order on the new state, its timers and watches carry on, and Wait, Done
// and Watch see only its final end. The restart runs OnStop (old), newState, binds Base,
// then OnStart.
func TestRestartKeepsRef(t *testing.T) {
	bubble(t, within(5), func(t *testing.T, s *Supervisor) {
		j := &journal{}
		w := Spawn(s, &watcher{})
		r, f := spawnPart(s, j, "a")
		Watch(w, r, record)
		done := r.Done()
		r.Every(time.Second, func(p *part) { j.add(p.name, p.gen, "tick") })
		release := block(t, r)
		failed := make(chan error)
		go func() {
			_, err := Ask(context.Background(), r, func(*part) (int, error) { panic("boom") })
			failed <- err
		}()
		synctest.Wait()
		replies := make(chan error, 1)
		if err := Request(context.Background(), r, func(*part) (int, error) { panic("boom2") },
			w, func(_ *watcher, _ int, err error) { replies <- err }); err != nil {
			t.Fatalf("Request = %v, want nil", err)
		}
		for i := range 3 {
			r.Send(func(p *part) { p.n++; j.add(p.name, p.gen, fmt.Sprintf("msg%d n=%d", i, p.n)) })
		}
		j.take()
		release()
		var pe *PanicError
		if err := <-failed; !errors.As(err, &pe) || pe.Value != "boom" {
			t.Fatalf("Ask of the failing message = %v, want its *PanicError", err)
		}
		if err := <-replies; !errors.As(err, &pe) || pe.Value != "boom2" {
			t.Fatalf("Request reply of the failing message = %v, want its *PanicError", err)
		}
		if got := genOf(t, r); got != 3 {
			t.Fatalf("after two failures the actor runs state #%d, want #3", got)
		}
		want := []string{
			"a#1 stop", "a#2 new", "a#2 start", // the Ask's failure
			"a#2 stop", "a#3 new", "a#3 start", // the Request's
			"a#3 msg0 n=1", "a#3 msg1 n=2", "a#3 msg2 n=3",
		}
		if got := j.take(); !slices.Equal(got, want) {
			t.Fatalf("events across the restarts = %v, want %v", got, want)
		}
		if self := get(t, r, func(p *part) *Ref[part] { return p.self }); self != r {
			t.Fatalf("Self() in the new state's OnStart = %p, want the same Ref %p", self, r)
		}
		if got := f.calls.Load(); got != 3 {
			t.Fatalf("newState ran %d times, want 3", got)
		}
		time.Sleep(3*time.Second + time.Second/2)
		if got, want := j.take(), []string{"a#3 tick", "a#3 tick", "a#3 tick"}; !slices.Equal(got, want) {
			t.Fatalf("Every after the restarts: %v, want %v", got, want)
		}
		if r.Done() != done || isClosed(done) {
			t.Fatal("Done closed, or changed, by a restart")
		}
		if got := noticesOf(t, w); len(got) != 0 {
			t.Fatalf("Watch notices after restarts = %v, want none", got)
		}
		r.Stop()
		if err := r.Wait(); err != nil {
			t.Fatalf("Wait after restarts and Stop = %v, want nil", err)
		}
		if got := noticesOf(t, w); !slices.Equal(got, []error{nil}) {
			t.Fatalf("Watch notices at the end = %v, want one nil", got)
		}
	})
}

// TestRestartSpawnKeepsState: an actor made by Spawn keeps its *T across a restart;
// OnStop runs, then OnStart again, where it rebuilds.
func TestRestartSpawnKeepsState(t *testing.T) {
	s := newTree(t, within(1)...)
	j := &journal{}
	p := &part{name: "a", gen: 1, j: j}
	r := Spawn(s, p)
	get(t, r, func(p *part) int { p.n = 7; return 0 })
	crash(t, r, "boom")
	got := get(t, r, func(q *part) *part { return q })
	if got != p || got.n != 7 {
		t.Fatalf("after a restart the state is %p with n=%d, want the same %p with n=7", got, got.n, p)
	}
	if ev, want := j.take(), []string{"a#1 start", "a#1 stop", "a#1 start"}; !slices.Equal(ev, want) {
		t.Fatalf("events = %v, want %v", ev, want)
	}
}

// TestStopWhileComingUp is the regression test for a Stop that comes while a restarted
// actor is coming up on its own goroutine (newState running, after its old incarnation
// went down): the actor still looks down, so Stop ends it at once on the caller's
// goroutine, while its activation goes on to bring up the new state, run OnStart and
// end it a second time.
func TestStopWhileComingUp(t *testing.T) {
	// Not in a bubble: with the bug, the second end deadlocks the activation on the
	// actor's own lock, which a bubble would wait for forever.
	s := newTree(t, within(5)...)
	j := &journal{}
	entered, rel := make(chan struct{}), make(chan struct{})
	f := &factory{name: "a", j: j, shape: func(p *part) error {
		if p.gen == 2 {
			close(entered)
			<-rel
		}
		return nil
	}}
	r := SpawnFunc(s, f.newState)
	genOf(t, r)
	r.Send(func(*part) { panic("boom") })
	<-entered // newState #2 runs on the actor's goroutine
	r.Stop()
	if isClosed(r.Done()) {
		t.Fatal("Stop during newState ended the actor while newState was still running")
	}
	close(rel)
	if err := r.Wait(); err != nil {
		t.Fatalf("Wait = %v, want nil", err)
	}
	ev := j.take()
	for _, e := range []string{"a#1 stop", "a#2 stop"} {
		if n := len(slices.DeleteFunc(slices.Clone(ev), func(x string) bool { return x != e })); n > 1 {
			t.Errorf("events %v: %q %d times, want at most once", ev, e, n)
		}
	}
}

// TestSupervisorRestartWhileActorComesUp is the regression test for the same window seen
// from the supervisor: a child supervisor's restart brings up an actor that is already
// coming up by itself after a OneForOne restart (its newState is running), which starts a
// second activation beside the first.
func TestSupervisorRestartWhileActorComesUp(t *testing.T) {
	bubble(t, within(5), func(t *testing.T, s *Supervisor) {
		j := &journal{}
		c := s.NewChild(WithIntensity(1, time.Hour))
		entered, rel := make(chan struct{}), make(chan struct{})
		var running, most atomic.Int32
		fa := &factory{name: "a", j: j, shape: func(p *part) error {
			n := running.Add(1)
			defer running.Add(-1)
			if n > most.Load() {
				most.Store(n)
			}
			if p.gen == 2 {
				close(entered)
				<-rel
			}
			return nil
		}}
		a := SpawnFunc(c, fa.newState)
		b, _ := spawnPart(c, j, "b")
		genOf(t, a)
		genOf(t, b)
		a.Send(func(*part) { panic("first") }) // c restarts a alone: newState #2 blocks
		<-entered
		crash(t, b, "second") // c gives up: s restarts c, bringing a down and up
		synctest.Wait()
		close(rel)
		genOf(t, a)
		genOf(t, b)
		if got := most.Load(); got != 1 {
			t.Fatalf("%d newState calls of one actor ran at once, want 1", got)
		}
	})
}

// TestRestartKeepsStoppingSiblingsMessages is the regression test for a sibling that was
// already stopping gracefully when another child's failure restarts it: it is not coming
// back, but the restart must not take away the messages it accepted before Stop.
func TestRestartKeepsStoppingSiblingsMessages(t *testing.T) {
	bubble(t, within(5, WithStrategy(OneForAll)), func(t *testing.T, s *Supervisor) {
		j := &journal{}
		a, _ := spawnPart(s, j, "a")
		b, _ := spawnPart(s, j, "b")
		genOf(t, b)
		release := block(t, a)
		ran := false
		a.Send(func(*part) { ran = true })
		a.Stop() // graceful: what a accepted still runs
		crash(t, b, "boom")
		synctest.Wait()
		release()
		if err := a.Wait(); err != nil || !ran {
			t.Fatalf("a stopping gracefully during a sibling's restart: Wait = %v, accepted message ran = %v; want nil, true", err, ran)
		}
	})
}

// 8. WithRestart per actor.

// TestWithRestartAbsorbsFirst: an actor's own WithRestart absorbs its panics before its
// supervisor sees anything (a supervisor that allows no restart does not give up); with
// SpawnFunc it restarts from fresh state; beyond its limit the failure goes to the
// supervisor.
func TestWithRestartAbsorbsFirst(t *testing.T) {
	s := NewSupervisor(context.Background()) // gives up at the first failure it sees
	j := &journal{}
	kept := &part{name: "kept", gen: 1, j: j}
	k := Spawn(s, kept, WithRestart(1, time.Hour))
	f, ff := spawnPart(s, j, "fresh", WithRestart(1, time.Hour))
	genOf(t, f)
	crash(t, k, "k")
	crash(t, f, "f")
	if got := get(t, k, func(p *part) *part { return p }); got != kept {
		t.Fatalf("Spawn's state after WithRestart's restart = %p, want the same %p", got, kept)
	}
	if got := genOf(t, f); got != 2 || ff.calls.Load() != 2 {
		t.Fatalf("SpawnFunc's actor after WithRestart's restart runs state #%d (newState ran %d times), want #2 (2)", got, ff.calls.Load())
	}
	if ev := j.take(); !slices.Contains(ev, "fresh#1 stop") || !slices.Contains(ev, "fresh#2 start") {
		t.Fatalf("events = %v, want fresh#1 stop and fresh#2 start", ev)
	}
	if isClosed(s.Done()) || restartsOf(s) != 0 {
		t.Fatal("the supervisor saw a panic that WithRestart absorbed")
	}
	crash(t, k, "beyond") // the second within the hour: WithRestart gives up
	err := s.Wait()
	var pe *PanicError
	if !errors.As(err, &pe) || pe.Value != "beyond" {
		t.Fatalf("Wait after WithRestart's limit = %v, want the *PanicError it did not absorb", err)
	}
}

// 9. Shutdown deadlines.

// TestShutdownTimeout: an actor stopped with WithShutdownTimeout(d) has d from Stop to run
// what it accepted; then what has not started is dropped (its Asks get ErrStopped) and its
// Context is cancelled, so a message blocked on it returns; Wait returns nil.
func TestShutdownTimeout(t *testing.T) {
	bubble(t, nil, func(t *testing.T, s *Supervisor) {
		r := Spawn(s, &part{name: "a", gen: 1, j: &journal{}}, WithShutdownTimeout(2*time.Second))
		t0 := time.Now()
		started := make(chan struct{})
		var cause error
		var returned time.Duration
		r.Send(func(*part) {
			ctx := r.Context()
			close(started)
			<-ctx.Done()
			cause, returned = context.Cause(ctx), time.Since(t0)
		})
		<-started
		ran := false
		r.Send(func(*part) { ran = true })
		asked := make(chan error)
		go func() {
			_, err := Ask(context.Background(), r, func(*part) (int, error) { return 0, nil })
			asked <- err
		}()
		synctest.Wait()
		time.Sleep(10 * time.Second) // counted from Stop, not from Spawn
		r.Stop()
		if err := r.Wait(); err != nil {
			t.Fatalf("Wait after the deadline = %v, want nil", err)
		}
		if returned != 12*time.Second || !errors.Is(cause, ErrStopped) {
			t.Fatalf("the blocked message returned at %v with cause %v, want 12s (Stop at 10s + 2s) and ErrStopped", returned, cause)
		}
		if err := <-asked; !errors.Is(err, ErrStopped) || ran {
			t.Fatalf("after the deadline: queued Ask = %v, queued message ran = %v; want ErrStopped, false", err, ran)
		}
	})
}

// TestShutdownTimeoutCountsFromTurn: in a supervisor's drain the deadline counts from the
// moment the actor's turn comes, not from the supervisor's Stop.
func TestShutdownTimeoutCountsFromTurn(t *testing.T) {
	bubble(t, nil, func(t *testing.T, s *Supervisor) {
		t0 := time.Now()
		a := Spawn(s, &part{name: "a", gen: 1, j: &journal{}}, WithShutdownTimeout(time.Second))
		b := Spawn(s, &counter{}) // spawned later: drained first
		started := make(chan struct{}, 2)
		var released time.Duration
		a.Send(func(*part) { started <- struct{}{}; <-a.Context().Done(); released = time.Since(t0) })
		b.Send(func(*counter) { started <- struct{}{}; time.Sleep(5 * time.Second) })
		<-started
		<-started
		s.Stop()
		if err := s.Wait(); err != nil {
			t.Fatalf("Wait = %v, want nil", err)
		}
		if released != 6*time.Second {
			t.Fatalf("a's blocked message was released at %v, want 6s (b drained for 5s, then a's 1s)", released)
		}
	})
}

// TestNoShutdownTimeoutByDefault: without WithShutdownTimeout a graceful stop waits for the
// running message however long it takes, and does not cancel the Context.
func TestNoShutdownTimeoutByDefault(t *testing.T) {
	bubble(t, nil, func(t *testing.T, s *Supervisor) {
		r := Spawn(s, &counter{})
		rel := make(chan struct{})
		r.Send(func(*counter) { <-rel })
		r.Stop()
		time.Sleep(24 * time.Hour)
		if isClosed(r.Done()) || r.Context().Err() != nil {
			t.Fatalf("a day after Stop: ended %v, Context %v; want still running with a live Context", isClosed(r.Done()), r.Context().Err())
		}
		close(rel)
		if err := r.Wait(); err != nil {
			t.Fatalf("Wait = %v, want nil", err)
		}
	})
}

// 10. The actor's context.

// TestRefContext: Context is done on StopNow, on a failure, at a restart and after the
// end, with a cause that says why; not during a graceful drain; after a restart it is the
// new incarnation's.
func TestRefContext(t *testing.T) {
	t.Run("StopNow", func(t *testing.T) {
		s := newTree(t)
		r := Spawn(s, &counter{})
		ctx := r.Context()
		release := block(t, r)
		r.StopNow()
		if ctx.Err() == nil || !errors.Is(context.Cause(ctx), ErrStopped) {
			t.Fatalf("Context after StopNow, its message still running: Err %v, Cause %v; want done, ErrStopped", ctx.Err(), context.Cause(ctx))
		}
		release()
	})
	t.Run("failure", func(t *testing.T) {
		s := NewSupervisor(context.Background())
		r := Spawn(s, &counter{})
		ctx := r.Context()
		boom := errors.New("boom")
		r.Send(func(*counter) { panic(boom) })
		s.Wait()
		if !errors.Is(context.Cause(ctx), boom) {
			t.Fatalf("Cause of the Context of a failed actor = %v, want its failure", context.Cause(ctx))
		}
	})
	t.Run("restart", func(t *testing.T) {
		s := newTree(t, within(1)...)
		r, _ := spawnPart(s, &journal{}, "a")
		genOf(t, r) // up: see TestContextBeforeFirstStart
		old := r.Context()
		crash(t, r, "boom")
		var inNew context.Context
		get(t, r, func(*part) int { inNew = r.Context(); return 0 })
		var pe *PanicError
		if !errors.As(context.Cause(old), &pe) || pe.Value != "boom" {
			t.Fatalf("Cause of the old incarnation's Context = %v, want the *PanicError", context.Cause(old))
		}
		if inNew == old || inNew.Err() != nil || r.Context() != inNew {
			t.Fatalf("Context after the restart: new %v, done %v, stable %v; want a new live one", inNew != old, inNew.Err(), r.Context() == inNew)
		}
	})
	t.Run("ended", func(t *testing.T) {
		s := newTree(t)
		r := Spawn(s, &counter{})
		r.Stop()
		r.Wait()
		ctx := r.Context()
		if ctx.Err() == nil || !errors.Is(context.Cause(ctx), ErrStopped) {
			t.Fatalf("Context asked for after the end: Err %v, Cause %v; want done, ErrStopped", ctx.Err(), context.Cause(ctx))
		}
	})
	t.Run("graceful drain", func(t *testing.T) {
		s := NewSupervisor(context.Background())
		c := s.NewChild()
		r := Spawn(c, &counter{})
		release := block(t, r)
		var during error
		r.Send(func(*counter) { during = r.Context().Err() })
		s.Stop()
		if err := r.Context().Err(); err != nil {
			t.Fatalf("Context while its supervisor drains it = %v, want live", err)
		}
		release()
		s.Wait()
		if during != nil {
			t.Fatalf("Context in the last message of a graceful drain = %v, want live", during)
		}
	})
}

// TestContextCauseOfAbsorbedPanic is the regression test for the cause of the Context of
// an incarnation that WithRestart replaces after a panic: context.Cause should say why,
// the *PanicError, as it does when the supervisor restarts the actor, not ErrStopped.
func TestContextCauseOfAbsorbedPanic(t *testing.T) {
	s := newTree(t)
	r := Spawn(s, &counter{}, WithRestart(1, time.Hour))
	get(t, r, func(*counter) int { return 0 })
	ctx := r.Context()
	crash(t, r, "boom")
	get(t, r, func(*counter) int { return 0 })
	var pe *PanicError
	if !errors.As(context.Cause(ctx), &pe) || pe.Value != "boom" {
		t.Fatalf("Cause of the Context of an incarnation WithRestart replaced = %v, want the *PanicError", context.Cause(ctx))
	}
}

// TestContextBeforeFirstStart is the regression test for the Context of an actor made by
// SpawnFunc, asked for before its first state came up: the first incarnation's coming up
// cancels it (with ErrStopped) as if it were a restart, although nothing stopped or
// failed, and Context then returns another one.
func TestContextBeforeFirstStart(t *testing.T) {
	s := newTree(t)
	r, _ := spawnPart(s, &journal{}, "a")
	ctx := r.Context()
	genOf(t, r)
	if ctx.Err() != nil || r.Context() != ctx {
		t.Fatalf("Context asked for right after SpawnFunc, once the actor is up: Err %v (cause %v), same %v; want live and the same",
			ctx.Err(), context.Cause(ctx), r.Context() == ctx)
	}
}

// TestRefSupervisor: Supervisor returns the owner, and a message can spawn siblings and a
// child supervisor through it; they are the owner's children like any other.
func TestRefSupervisor(t *testing.T) {
	s := NewSupervisor(context.Background())
	c := s.NewChild()
	j := &journal{}
	r := Spawn(c, &part{name: "r", gen: 1, j: j})
	if r.Supervisor() != c {
		t.Fatalf("Supervisor() = %v, want its owner %v", r.Supervisor(), c)
	}
	grand := get(t, r, func(p *part) *Supervisor {
		sup := p.Self().Supervisor()
		Spawn(sup, &part{name: "sibling", gen: 1, j: j})
		g := sup.NewChild()
		Spawn(g, &part{name: "nephew", gen: 1, j: j})
		return g
	})
	s.Stop()
	if err := s.Wait(); err != nil {
		t.Fatalf("Wait = %v", err)
	}
	if got, want := only(j.take(), "stop"), []string{"nephew#1 stop", "sibling#1 stop", "r#1 stop"}; !slices.Equal(got, want) {
		t.Fatalf("stops = %v, want %v (spawned from inside, in spawn order)", got, want)
	}
	if !isClosed(grand.Done()) {
		t.Fatal("the child supervisor made from inside a message outlived its parent")
	}
}

// probe is an actor whose OnStop tells whether it ran on a nil state: it counts the calls
// on each state, and on a nil one in nilStateStops.
type probe struct {
	Base[probe]
	stops int
}

var nilStateStops atomic.Int32

func (p *probe) OnStop() {
	if p == nil {
		nilStateStops.Add(1)
		return
	}
	p.stops++
}

// TestNewStateFailureRunsNoStaleOnStop is the regression test for OnStop after newState
// fails: when newState fails (error, panic or nil state) there is no new state to stop,
// and the old one was stopped already as it went down, yet the failure runs OnStop again
// on whatever state the Ref still holds: nil for the first incarnation, else the old one,
// a second time.
func TestNewStateFailureRunsNoStaleOnStop(t *testing.T) {
	boom := errors.New("boom")
	t.Run("first state", func(t *testing.T) {
		nilStateStops.Store(0)
		s := NewSupervisor(context.Background())
		SpawnFunc(s, func() (*probe, error) { return nil, boom })
		if err := s.Wait(); !errors.Is(err, boom) {
			t.Fatalf("Wait = %v, want boom", err)
		}
		if n := nilStateStops.Load(); n != 0 {
			t.Fatalf("OnStop ran %d times on a nil state", n)
		}
	})
	t.Run("restart's state", func(t *testing.T) {
		s := newTree(t, within(5)...)
		var states []*probe
		calls := 0
		r := SpawnFunc(s, func() (*probe, error) {
			calls++
			if calls == 2 {
				return nil, boom
			}
			p := &probe{}
			states = append(states, p)
			return p, nil
		})
		get(t, r, func(*probe) int { return 0 })
		crash(t, r, "first")
		get(t, r, func(*probe) int { return 0 }) // up after newState #2 failed, on #3
		if n := states[0].stops; n != 1 {
			t.Fatalf("OnStop ran %d times on the first state, want once", n)
		}
	})
}

// TestGoexitInOnStopDuringRestart is the regression test for an OnStop that calls
// runtime.Goexit (t.FailNow does) as a restart brings its incarnation down: the goroutine
// is lost inside the recovery of the first failure, where nothing catches a Goexit, so the
// actor is left marked running and up, with no goroutine: it never comes back, nothing is
// reported, and its Stop, and its supervisor's Stop and Wait, never finish.
func TestGoexitInOnStopDuringRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewSupervisor(context.Background(), within(5)...)
		j := &journal{}
		f := &factory{name: "a", j: j, shape: func(p *part) error {
			if p.gen == 1 {
				p.stop = func(*part) { runtime.Goexit() }
			}
			return nil
		}}
		r := SpawnFunc(s, f.newState)
		genOf(t, r)
		crash(t, r, "boom")
		if _, err := askWithin(t, r); errors.Is(err, context.DeadlineExceeded) {
			// Not stopping s: its Wait would never return.
			t.Fatalf("after a restart whose OnStop called Goexit, Ask = %v: the actor is wedged", err)
		}
		s.Stop()
		s.Wait()
	})
}
