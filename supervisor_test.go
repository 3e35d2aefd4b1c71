package actor

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
)

// stopRecorder appends its id to a shared log when it stops, and may send a last message
// to another actor from OnStop.
type stopRecorder struct {
	id   int
	log  *[]int
	mu   *sync.Mutex
	last *Ref[counter] // if set, OnStop sends it one last message
}

func (s *stopRecorder) OnStop() {
	s.mu.Lock()
	*s.log = append(*s.log, s.id)
	s.mu.Unlock()
	if s.last != nil {
		s.last.Send(func(c *counter) { c.n++ })
	}
}

func TestSupervisorStopsInReverseOrder(t *testing.T) {
	s := NewSupervisor(context.Background())
	var mu sync.Mutex
	var log []int
	sink := Spawn(s, &counter{}) // spawned first, so stopped last
	for id := 1; id <= 5; id++ {
		Spawn(s, &stopRecorder{id: id, log: &log, mu: &mu, last: sink})
	}
	s.Stop()
	if err := s.Wait(); err != nil {
		t.Fatalf("Wait = %v", err)
	}
	want := []int{5, 4, 3, 2, 1}
	if len(log) != len(want) {
		t.Fatalf("stop order %v, want %v", log, want)
	}
	for i := range want {
		if log[i] != want[i] {
			t.Fatalf("stop order %v, want %v", log, want)
		}
	}
	// Each recorder's last message, sent from its OnStop, landed in the earlier sink.
	if sink.state.n != 5 {
		t.Fatalf("sink received %d last messages, want 5", sink.state.n)
	}
}

func TestSupervisorContextCancelActsAsStop(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	s := NewSupervisor(ctx)
	h := &hooked{}
	r := Spawn(s, h)
	release := block(t, r)
	ran := false
	r.Send(func(*hooked) { ran = true })
	cancel()
	release()
	if err := s.Wait(); err != nil {
		t.Fatalf("Wait after cancelling ctx = %v, want nil", err)
	}
	if !ran || !h.stopped {
		t.Fatalf("after cancel: queued message ran=%v, OnStop ran=%v; want both", ran, h.stopped)
	}
}

func TestSupervisorWaitOutlivesRunningActor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewSupervisor(context.Background())
		r := Spawn(s, &counter{})
		rel := make(chan struct{})
		finished := false
		r.Send(func(*counter) { <-rel; finished = true })
		s.Stop()
		waited := make(chan error)
		go func() { waited <- s.Wait() }()
		synctest.Wait() // everything that can run has run: Wait must still be blocked
		select {
		case err := <-waited:
			t.Fatalf("Wait returned %v while an actor was still running a message", err)
		default:
		}
		close(rel)
		if err := <-waited; err != nil {
			t.Fatalf("Wait = %v", err)
		}
		if !finished {
			t.Fatal("Wait returned before the message finished")
		}
	})
}

func TestSpawnDuringWait(t *testing.T) {
	s := NewSupervisor(context.Background())
	waited := make(chan error)
	go func() { waited <- s.Wait() }()
	var refs []*Ref[counter]
	for range 100 {
		r := Spawn(s, &counter{})
		r.Send(func(c *counter) { c.n++ })
		refs = append(refs, r)
	}
	for _, r := range refs {
		if got := get(t, r, func(c *counter) int { return c.n }); got != 1 {
			t.Fatalf("actor spawned during Wait ran %d messages, want 1", got)
		}
	}
	s.Stop()
	if err := <-waited; err != nil {
		t.Fatalf("Wait = %v", err)
	}
	for _, r := range refs {
		if err := r.Wait(); err != nil {
			t.Fatalf("Ref.Wait = %v", err)
		}
	}
}

func TestSupervisorStopFromInsideMessage(t *testing.T) {
	s := NewSupervisor(context.Background())
	r := Spawn(s, &counter{})
	after := 0
	r.Send(func(c *counter) {
		s.Stop() // must not wait for the drain, which waits for this very message
		c.n++
	})
	r.Send(func(*counter) { after++ }) // accepted before Stop: still runs
	if err := s.Wait(); err != nil {
		t.Fatalf("Wait = %v", err)
	}
	if r.state.n != 1 || after != 1 {
		t.Fatalf("after a Stop from inside: n=%d, after=%d; want 1, 1", r.state.n, after)
	}
}

func TestSupervisorForgetsEndedActors(t *testing.T) {
	s := newSup(t)
	for range 10_000 {
		r := Spawn(s, &hooked{})
		r.Send(func(*hooked) {})
		r.Stop()
		r.Wait()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tail != nil {
		t.Fatal("the supervisor still lists actors that have ended")
	}
}

func TestSupervisorWaitReturnsFirstFailure(t *testing.T) {
	s := NewSupervisor(context.Background())
	first := errors.New("first")
	a := Spawn(s, &hooked{startErr: first})
	a.Wait()
	b := Spawn(s, &counter{}) // refused: the supervisor is failing already
	if err := b.Send(func(*counter) { panic("second") }); !errors.Is(err, ErrStopped) {
		t.Fatalf("Send after the failure = %v, want ErrStopped", err)
	}
	if err := s.Wait(); !errors.Is(err, first) {
		t.Fatalf("Wait = %v, want the first failure", err)
	}
	if err := s.Wait(); !errors.Is(err, first) {
		t.Fatalf("second Wait = %v, want the same failure", err)
	}
}

// TestSupervisorWaitAfterActorEnd is the regression test for a Wait that returned before an
// actor had ended: an idle actor without OnStop, stopped by a goroutine that is not one of
// the supervisor's, used to leave the supervisor's list before it set ended and closed
// Done, so a drain running in between found nothing to wait for.
func TestSupervisorWaitAfterActorEnd(t *testing.T) {
	rounds := 1000
	if testing.Short() {
		rounds = 300
	}
	for range rounds {
		s := NewSupervisor(context.Background())
		r := Spawn(s, &counter{})
		stopContend := make(chan struct{})
		var wg sync.WaitGroup
		for range 3 {
			wg.Go(func() {
				for {
					select {
					case <-stopContend:
						return
					default:
						r.Done() // contends the actor's lock
					}
				}
			})
		}
		start := make(chan struct{})
		wg.Go(func() { <-start; r.Stop() })
		close(start)
		s.Stop()
		if err := s.Wait(); err != nil {
			t.Fatalf("Supervisor.Wait = %v", err)
		}
		select {
		case <-r.Done():
		default:
			close(stopContend)
			wg.Wait()
			t.Fatal("Supervisor.Wait returned before one of its actors had ended")
		}
		// Its state is free for another actor at once.
		s2 := NewSupervisor(context.Background())
		Spawn(s2, r.state)
		s2.Stop()
		if err := s2.Wait(); err != nil {
			t.Fatalf("second Supervisor.Wait = %v", err)
		}
		close(stopContend)
		wg.Wait()
	}
}
