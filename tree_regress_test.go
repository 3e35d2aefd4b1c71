package actor

import (
	"context"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Regression tests for bugs found in the supervision trees by writing their examples.

type rgGuard struct{}

// A first Done call on a supervisor while it delivered its watch notices used to store the
// closed channel, which its end then closed again: "close of closed channel".
func TestSupervisorDoneDuringEnd(t *testing.T) {
	for range 1000 {
		root := NewSupervisor(context.Background())
		g := Spawn(root, &rgGuard{})
		child := root.NewChild()
		for range 3 {
			WatchSupervisor(g, child, func(*rgGuard, error) { <-child.Done() })
		}
		child.Stop()
		root.Stop()
		if err := root.Wait(); err != nil {
			t.Fatal(err)
		}
	}
}

// The same without a Done call of the test's: in a give-up cascade the parent's drain makes
// the first one.
func TestGiveUpCascadeWithWatch(t *testing.T) {
	for range 500 {
		root := NewSupervisor(context.Background())
		g := Spawn(root, &rgGuard{})
		child := root.NewChild()
		WatchSupervisor(g, child, func(*rgGuard, error) {})
		a := Spawn(child, &counter{})
		a.Send(func(*counter) { panic("boom") })
		if err := root.Wait(); err == nil {
			t.Fatal("root.Wait = nil, want the failure")
		}
	}
}

// A child that gives up starts its control task on an actor's goroutine while the root's
// group may be empty and the root's Wait about to start: under -race this was reported as
// a WaitGroup Add racing with Wait.
func TestChildGiveUpBeforeRootWait(t *testing.T) {
	for range 200 {
		root := NewSupervisor(context.Background())
		child := root.NewChild()
		a := Spawn(child, &counter{})
		a.Send(func(*counter) { panic("boom") })
		if err := root.Wait(); err == nil {
			t.Fatal("root.Wait = nil, want the failure")
		}
	}
}

type rgPhoenix struct{ starts *atomic.Int32 }

func (p *rgPhoenix) OnStart() error { p.starts.Add(1); return nil }

// A Stop that came just as a backoff ended used to end the actor from outside while the
// activation the backoff had started brought a new incarnation up anyway: OnStart ran after
// Wait had returned, and the end ran twice. The test stops the backoff's timer and runs
// its callback itself, so that the Stop lands right after it.
func TestStopAsBackoffEnds(t *testing.T) {
	for i := range 300 {
		var starts atomic.Int32
		sup := NewSupervisor(context.Background(), WithIntensity(100, time.Minute),
			WithBackoff(time.Hour, time.Hour))
		w := SpawnFunc(sup, func() (*rgPhoenix, error) { return &rgPhoenix{&starts}, nil })
		Ask(context.Background(), w, func(*rgPhoenix) (int, error) { return 0, nil })
		w.Send(func(*rgPhoenix) { panic("crash") })
		for { // until the actor waits for its backoff
			w.mu.Lock()
			waiting := w.life != nil && w.life.backoff != nil
			if waiting {
				w.life.backoff.Stop()
			}
			w.mu.Unlock()
			if waiting {
				break
			}
			runtime.Gosched()
		}
		w.backoffOver()
		w.Stop()
		if err := w.Wait(); err != nil {
			t.Fatalf("Wait = %v, want nil", err)
		}
		after := starts.Load()
		sup.Stop()
		sup.Wait() // every goroutine of the tree has done its work
		if got := starts.Load(); got != after {
			t.Fatalf("run %d: OnStart ran %d times after Wait had returned", i, got-after)
		}
	}
}

type rgStage struct {
	name string
	log  *[]string
	mu   *sync.Mutex
}

func (s *rgStage) OnStart() error {
	s.mu.Lock()
	*s.log = append(*s.log, "start "+s.name)
	s.mu.Unlock()
	return nil
}

func (s *rgStage) OnStop() {
	s.mu.Lock()
	*s.log = append(*s.log, "stop "+s.name)
	s.mu.Unlock()
}

// When the middle child of a OneForAll supervisor failed, its OnStop ran at the same time
// as its later siblings were brought down. It now goes down first, as in OTP.
func TestOneForAllFailedChildDownFirst(t *testing.T) {
	for range 100 {
		var mu sync.Mutex
		var log []string
		ctx := context.Background()
		sup := NewSupervisor(ctx, WithStrategy(OneForAll), WithIntensity(1, time.Minute))
		var refs []*Ref[rgStage]
		for _, n := range []string{"a", "b", "c"} {
			r := SpawnFunc(sup, func() (*rgStage, error) { return &rgStage{n, &log, &mu}, nil })
			Ask(ctx, r, func(*rgStage) (int, error) { return 0, nil })
			refs = append(refs, r)
		}
		mu.Lock()
		log = nil
		mu.Unlock()
		Ask(ctx, refs[1], func(*rgStage) (int, error) { panic("x") })
		for _, r := range refs {
			Ask(ctx, r, func(*rgStage) (int, error) { return 0, nil })
		}
		mu.Lock()
		got := strings.Join(log, ",")
		mu.Unlock()
		if want := "stop b,stop c,stop a,start a,start b,start c"; got != want {
			t.Fatalf("OneForAll restart after b failed: %s, want %s", got, want)
		}
		sup.Stop()
		sup.Wait()
	}
}
