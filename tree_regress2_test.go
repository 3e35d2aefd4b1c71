package actor

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// Regression tests for bugs in the supervision trees that the tree versions of TestTorture
// and FuzzOps found, each fixed.

// rg2State is a SpawnFunc state that records its OnStops, and notices a nil receiver.
type rg2State struct {
	gen   int
	stops *[]int
}

func (s *rg2State) OnStop() {
	if s == nil {
		rg2NilStops.Add(1)
		return
	}
	*s.stops = append(*s.stops, s.gen)
}

var rg2NilStops atomic.Int32

// When newState fails, there is no state: OnStop must not run. It runs on a nil *T
// (recovered if it dereferences it, so the user never sees it), whether the supervisor
// gives up or restarts. failed (lifecycle.go) calls goDown and end with OnStop unless the
// failure came from OnStop itself; a failure from comeUp's newState is not told apart.
func TestNewStateFailureRunsNoOnStop(t *testing.T) {
	rg2NilStops.Store(0)
	// The supervisor gives up at once.
	sup := NewSupervisor(context.Background())
	r := SpawnFunc(sup, func() (*rg2State, error) { return nil, errors.New("no state") })
	if err := r.Wait(); err == nil {
		t.Fatal("Wait = nil, want the newState error")
	}
	sup.Wait()
	// The supervisor restarts it, and the second newState works.
	var stops []int
	n := 0
	sup = NewSupervisor(context.Background(), WithIntensity(1, time.Hour))
	r = SpawnFunc(sup, func() (*rg2State, error) {
		n++
		if n == 1 {
			return nil, errors.New("no state")
		}
		return &rg2State{gen: n, stops: &stops}, nil
	})
	if _, err := Ask(context.Background(), r, func(*rg2State) (int, error) { return 0, nil }); err != nil {
		t.Fatalf("Ask after the restart = %v", err)
	}
	sup.Stop()
	sup.Wait()
	if got := rg2NilStops.Load(); got != 0 {
		t.Fatalf("OnStop ran %d times on a nil state", got)
	}
}

// When newState fails at a restart, the old state has had its OnStop already (when it went
// down); it runs again. Same cause as above: failed treats the newState failure as a
// failure of the incarnation that is still in r.state, the old one.
func TestNewStateFailureAtRestartRunsOldOnStopTwice(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var stops []int
		n := 0
		sup := NewSupervisor(context.Background(), WithIntensity(5, time.Hour))
		r := SpawnFunc(sup, func() (*rg2State, error) {
			n++
			if n == 2 {
				return nil, errors.New("no state")
			}
			return &rg2State{gen: n, stops: &stops}, nil
		})
		r.Send(func(*rg2State) { panic("crash") }) // state 1 down, newState 2 fails, state 3 up
		if _, err := Ask(context.Background(), r, func(s *rg2State) (int, error) { return s.gen, nil }); err != nil {
			t.Fatalf("Ask = %v", err)
		}
		sup.Stop()
		sup.Wait()
		if want := []int{1, 3}; len(stops) != 2 || stops[0] != 1 || stops[1] != 3 {
			t.Fatalf("OnStop ran for states %v, want %v: once per state", stops, want)
		}
	})
}

type rg2Plain struct{}

// rg2Gated is a SpawnFunc state whose OnStart waits for gate in its second incarnation, so
// that a restart's up phase stays in progress.
type rg2Gated struct {
	gen  int
	gate chan struct{}
}

func (g *rg2Gated) OnStart() error {
	if g.gen == 2 {
		<-g.gate
	}
	return nil
}

// A child that a OneForAll (or RestForOne, or a child supervisor's) restart brought up
// fails again while the control task still brings up the children after it: it is left
// down for ever. Its messages are accepted and never run, an Ask with
// context.Background() hangs until the supervisor stops, and the restart was never
// counted. childFailed (supervisor.go) answers vDown, "the supervisor brings you up", since
// s.inDown[m] is still set: run deletes the set only after the whole up loop. The same
// happens when newState or OnStart fails in the bring-up itself, and to the children of a
// child supervisor whose s.down is still set.
func TestFailureDuringRestartUpPhase(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sup := NewSupervisor(context.Background(), WithStrategy(OneForAll), WithIntensity(10, time.Hour))
		a := Spawn(sup, &rg2Plain{})
		gate := make(chan struct{})
		n := 0
		b := SpawnFunc(sup, func() (*rg2Gated, error) { n++; return &rg2Gated{gen: n, gate: gate}, nil })
		rel := make(chan struct{})
		a.Send(func(*rg2Plain) { <-rel })
		a.Send(func(*rg2Plain) { panic("second") }) // runs first thing after a comes up
		synctest.Wait()
		b.Send(func(*rg2Gated) { panic("first") }) // restarts a and b: a waits for rel
		synctest.Wait()
		close(rel)      // a goes down; up: a (runs "second" and fails), then b, whose OnStart waits
		synctest.Wait() // a has failed while the up phase waits for b
		close(gate)     // b comes up; the restart ends
		synctest.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if _, err := Ask(ctx, a, func(*rg2Plain) (int, error) { return 0, nil }); err != nil {
			t.Errorf("Ask of the child that failed during the up phase = %v, want it restarted and answering", err)
		}
		sup.Stop()
		sup.Wait()
	})
}

type rg2Hooked struct{ stops *int }

func (h *rg2Hooked) OnStop() { *h.stops++ }

// An actor told to Stop runs what it had accepted: so Stop promises, and semantic 9 of
// the trees counts a sibling's restart among the graceful stops. But if a sibling's
// restart brings it down first (here while it is blocked in a message), goDown
// (lifecycle.go) ends it at once, since it is stopping, and end drops its queue: the
// message never runs, Wait returns nil, and only an Observer hears of it (reason
// "stopped"). None of StopNow, a deadline or a final failure dropped it.
func TestStoppedSiblingKeepsAcceptedMessages(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sup := NewSupervisor(context.Background(), WithStrategy(OneForAll), WithIntensity(5, time.Hour))
		stops := 0
		a := Spawn(sup, &rg2Hooked{&stops})
		b := Spawn(sup, &rg2Plain{})
		rel := make(chan struct{})
		a.Send(func(*rg2Hooked) { <-rel })
		ran := false
		a.Send(func(*rg2Hooked) { ran = true }) // accepted before the Stop
		synctest.Wait()
		a.Stop()
		b.Send(func(*rg2Plain) { panic("b") }) // brings a down after its running message
		synctest.Wait()
		close(rel)
		if err := a.Wait(); err != nil {
			t.Fatalf("a.Wait = %v, want nil", err)
		}
		if !ran || stops != 1 {
			t.Errorf("after Stop and a sibling's restart: the message accepted before Stop ran = %v, OnStop ran %d times; want true and 1", ran, stops)
		}
		sup.Stop()
		sup.Wait()
	})
}

// A child whose running message fails while a sibling's restart is bringing it down goes
// down, is brought up with the others, and then goes down again at once, for good: its
// messages are accepted and never run. bringDown (lifecycle.go) sets l.task = taskDown for
// the running activation; the failure takes the actor down through failed, childFailed
// (vDown: it is in s.inDown) and goDown, and nothing clears the task, so the first batch
// of the next incarnation ends in drain's taskDown branch, after the restart is over.
func TestFailureWhileBroughtDownStaysDown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sup := NewSupervisor(context.Background(), WithStrategy(OneForAll), WithIntensity(10, time.Hour))
		a := Spawn(sup, &rg2Plain{})
		b := Spawn(sup, &rg2Plain{})
		rel := make(chan struct{})
		a.Send(func(*rg2Plain) { <-rel; panic("a fails while it is brought down") })
		synctest.Wait()
		b.Send(func(*rg2Plain) { panic("b") }) // the restart waits for a's message
		synctest.Wait()
		close(rel)
		synctest.Wait() // the restart is over: a and b are up
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if _, err := Ask(ctx, a, func(*rg2Plain) (int, error) { return 0, nil }); err != nil {
			t.Errorf("Ask of the child that failed while brought down = %v, want it up and answering", err)
		}
		sup.Stop()
		sup.Wait()
	})
}

// The up-phase case for a child supervisor that its parent's restart brought down and is
// now bringing up: a child of it that fails again while it still brings up later children
// must be restarted, not left down for ever. childFailed answered vDown while s.down was
// still set, and s.down was cleared only after the whole up loop.
func TestFailureDuringChildSupervisorUpPhase(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		root := NewSupervisor(context.Background(), WithStrategy(OneForAll), WithIntensity(10, time.Hour))
		c := root.NewChild(WithIntensity(10, time.Hour))
		a := Spawn(c, &rg2Plain{})
		gate := make(chan struct{})
		n := 0
		_ = SpawnFunc(c, func() (*rg2Gated, error) { n++; return &rg2Gated{gen: n, gate: gate}, nil })
		x := Spawn(root, &rg2Plain{})
		rel := make(chan struct{})
		a.Send(func(*rg2Plain) { <-rel })
		a.Send(func(*rg2Plain) { panic("second") }) // runs first thing after a comes up
		synctest.Wait()
		x.Send(func(*rg2Plain) { panic("first") }) // the root restarts c (and x): a waits for rel
		synctest.Wait()
		close(rel)      // c goes down, then up: a (runs "second" and fails), then b, whose OnStart waits
		synctest.Wait() // a has failed while c's up phase waits for b
		close(gate)
		synctest.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if _, err := Ask(ctx, a, func(*rg2Plain) (int, error) { return 0, nil }); err != nil {
			t.Errorf("Ask of the child that failed during its supervisor's up phase = %v, want it restarted and answering", err)
		}
		root.Stop()
		root.Wait()
	})
}

// A SpawnFunc actor whose WithRestart absorbs a panic runs the old state's OnStop and asks
// newState for a fresh one. If that newState fails, the old state's OnStop must not run a
// second time when the actor then ends or goes down.
func TestWithRestartFailingNewStateRunsOnStopOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var stops []int
		n := 0
		sup := NewSupervisor(context.Background())
		r := SpawnFunc(sup, func() (*rg2State, error) {
			n++
			if n == 2 {
				return nil, errors.New("no state")
			}
			return &rg2State{gen: n, stops: &stops}, nil
		}, WithRestart(1, time.Hour))
		r.Send(func(*rg2State) { panic("absorbed") })
		if err := r.Wait(); err == nil {
			t.Fatal("Wait = nil, want the newState error")
		}
		sup.Wait()
		if len(stops) != 1 || stops[0] != 1 {
			t.Fatalf("OnStops = %v, want [1]: the first state's, once", stops)
		}
	})
}

// A child supervisor made while its parent is down for a restart is not down itself. When
// it gives up, the parent answers "I bring you down and up" (its own restart is under way),
// but its bring-up finds the child not down and does nothing: the child's actor that failed
// stayed down for ever. The child now goes down itself, so that the bring-up finds it down.
// (Found by a five-minute TestTorture soak.)
func TestGiveUpOfChildMadeWhileParentIsDown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		root := NewSupervisor(context.Background(), WithStrategy(OneForAll), WithIntensity(10, time.Hour))
		gate := make(chan struct{})
		n := 0
		y := SpawnFunc(root, func() (*rg2Gated, error) { n++; return &rg2Gated{gen: n, gate: gate}, nil })
		p := root.NewChild(WithIntensity(10, time.Hour))
		y.Send(func(*rg2Gated) { panic("y") }) // the root brings p down, then y up, which waits
		synctest.Wait()
		c := p.NewChild() // made while p is down; gives up at its first failure
		m := Spawn(c, &rg2Plain{})
		m.Send(func(*rg2Plain) { panic("m") })
		synctest.Wait()
		close(gate) // y comes up, then p
		synctest.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if _, err := Ask(ctx, m, func(*rg2Plain) (int, error) { return 0, nil }); err != nil {
			t.Errorf("Ask of the actor whose supervisor gave up while its parent was down = %v, want it brought up with the parent", err)
		}
		root.Stop()
		root.Wait()
	})
}

// Stop of an actor that its supervisor's restart is bringing down (here while it is blocked
// in a message) does not bring it up again: it ends once down, and what it had accepted is
// dropped as StopNow drops it (an Ask gets ErrStopped), as Stop's doc says.
func TestStopWhileBroughtDownDrops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sup := NewSupervisor(context.Background(), WithStrategy(OneForAll), WithIntensity(5, time.Hour))
		a := Spawn(sup, &rg2Plain{})
		b := Spawn(sup, &rg2Plain{})
		rel := make(chan struct{})
		a.Send(func(*rg2Plain) { <-rel })
		synctest.Wait()
		b.Send(func(*rg2Plain) { panic("b") }) // the restart asks a down, after its message
		synctest.Wait()
		asked := make(chan error, 1)
		go func() {
			_, err := Ask(context.Background(), a, func(*rg2Plain) (int, error) { return 0, nil })
			asked <- err
		}()
		synctest.Wait()
		a.Stop()
		close(rel)
		if err := a.Wait(); err != nil {
			t.Fatalf("a.Wait = %v, want nil", err)
		}
		if err := <-asked; !errors.Is(err, ErrStopped) {
			t.Errorf("Ask accepted before Stop, while a restart brought the actor down = %v, want ErrStopped", err)
		}
		sup.Stop()
		if err := sup.Wait(); err != nil {
			t.Errorf("sup.Wait = %v, want nil", err)
		}
	})
}
