package actor

// Failure isolation with many actors under one supervisor: a restarting actor that panics
// over and over leaves its 99 siblings alone, and one that fails stops them gracefully.

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const ttIsoActors = 100

// ttIsoActor counts the messages of each sender and notes any that arrive out of order.
type ttIsoActor struct {
	starts     int
	n          int
	last       map[int]int // sender -> last seq
	outOfOrder int
	stopOrder  *atomic.Int64 // shared; OnStop takes the next number
	stopped    int64         // the number OnStop took; 0 if it did not run
}

func (a *ttIsoActor) OnStart() error { a.starts++; return nil }

func (a *ttIsoActor) OnStop() {
	if a.stopOrder != nil {
		a.stopped = a.stopOrder.Add(1)
	}
}

// ttIsoMsg is message seq (from 1) of sender.
func ttIsoMsg(sender, seq int) func(*ttIsoActor) {
	return func(a *ttIsoActor) {
		if a.last == nil {
			a.last = map[int]int{}
		}
		if a.last[sender] != seq-1 {
			a.outOfOrder++
		}
		a.last[sender] = seq
		a.n++
	}
}

func TestIsolationRestartingActorDisturbsNoOther(t *testing.T) {
	const senders, each, panics = 4, 200, 200
	ctx := context.Background()
	s := NewSupervisor(ctx)
	refs := make([]*Ref[ttIsoActor], ttIsoActors)
	bad := ttIsoActors / 2 // spawned among the others
	for i := range refs {
		var opts []Option
		if i == bad {
			opts = append(opts, WithRestart(panics, time.Hour))
		}
		refs[i] = Spawn(s, &ttIsoActor{}, opts...)
	}

	// One goroutine keeps the bad actor panicking, with Sends and Asks, while the senders
	// send to everyone else.
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range panics {
			if i%2 == 0 {
				if err := refs[bad].Send(func(*ttIsoActor) { panic("bad") }); err != nil {
					t.Errorf("Send(panic) %d to the restarting actor = %v, want nil", i, err)
					return
				}
				continue
			}
			_, err := Ask(ctx, refs[bad], func(*ttIsoActor) (int, error) { panic("bad") })
			var pe *PanicError
			if !errors.As(err, &pe) || pe.Value != "bad" {
				t.Errorf("Ask(panic) %d of the restarting actor = %v, want its *PanicError", i, err)
				return
			}
		}
	})
	for g := range senders {
		wg.Go(func() {
			for seq := 1; seq <= each; seq++ {
				for i, r := range refs {
					if i == bad {
						continue
					}
					if err := r.Send(ttIsoMsg(g, seq)); err != nil {
						t.Errorf("Send %d of sender %d to actor %d = %v, want nil", seq, g, i, err)
						return
					}
				}
			}
		})
	}
	wg.Wait()

	for i, r := range refs {
		got, err := Ask(ctx, r, func(a *ttIsoActor) ([3]int, error) { return [3]int{a.n, a.outOfOrder, a.starts}, nil })
		want := [3]int{senders * each, 0, 1}
		if i == bad {
			want = [3]int{0, 0, 1 + panics}
		}
		if err != nil || got != want {
			t.Errorf("actor %d: (messages, out of order, OnStart calls) = %v, %v; want %v, nil", i, got, err, want)
		}
	}
	s.Stop()
	if err := s.Wait(); err != nil {
		t.Fatalf("Supervisor.Wait = %v, want nil: the restarts must not fail anything", err)
	}
	for i, r := range refs {
		if err := r.Wait(); err != nil {
			t.Errorf("actor %d: Wait = %v, want nil", i, err)
		}
	}
}

func TestIsolationFailureStopsOthersGracefully(t *testing.T) {
	const queued = 20
	ctx := context.Background()
	s := NewSupervisor(ctx)
	var stopOrder atomic.Int64
	refs := make([]*Ref[ttIsoActor], ttIsoActors)
	states := make([]*ttIsoActor, ttIsoActors) // read only after the actor's Wait
	bad := ttIsoActors / 2
	for i := range refs {
		states[i] = &ttIsoActor{stopOrder: &stopOrder}
		refs[i] = Spawn(s, states[i])
	}

	// Every other actor is busy on a message that waits for gate, with a queue behind it.
	gate := make(chan struct{})
	var started sync.WaitGroup
	seen := make([]chan int, ttIsoActors)
	for i, r := range refs {
		if i == bad {
			continue
		}
		started.Add(1)
		if err := r.Send(func(*ttIsoActor) { started.Done(); <-gate }); err != nil {
			t.Fatalf("Send(blocker) to actor %d = %v, want nil", i, err)
		}
		for seq := 1; seq <= queued; seq++ {
			if err := r.Send(ttIsoMsg(0, seq)); err != nil {
				t.Fatalf("Send %d to actor %d = %v, want nil", seq, i, err)
			}
		}
		// Last in the queue, a message that reports what it saw.
		seen[i] = make(chan int, 1)
		if err := r.Send(func(a *ttIsoActor) { seen[i] <- a.n }); err != nil {
			t.Fatalf("Send(report) to actor %d = %v, want nil", i, err)
		}
	}
	started.Wait()

	if err := refs[bad].Send(func(*ttIsoActor) { panic("bad") }); err != nil {
		t.Fatalf("Send(panic) = %v, want nil", err)
	}
	err := refs[bad].Wait()
	var pe *PanicError
	if !errors.As(err, &pe) || pe.Value != "bad" {
		t.Fatalf("Wait of the failing actor = %v, want its *PanicError", err)
	}
	// The failure has been reported and the drain has begun, held up by the blocked
	// newest actor. Let everyone go.
	close(gate)

	if got := s.Wait(); !errors.Is(got, err) {
		t.Fatalf("Supervisor.Wait = %v, want the failure %v", got, err)
	}
	for i, r := range refs {
		if i == bad {
			continue
		}
		if err := r.Wait(); err != nil {
			t.Errorf("actor %d: Wait = %v, want nil (stopped gracefully)", i, err)
		}
		select {
		case n := <-seen[i]:
			if n != queued {
				t.Errorf("actor %d: the last queued message saw %d before it, want %d", i, n, queued)
			}
		default:
			t.Errorf("actor %d: the last message queued before the failure did not run", i)
		}
		a := states[i]
		if a.n != queued || a.outOfOrder != 0 {
			t.Errorf("actor %d ran %d of its %d queued messages (%d out of order), want all in order", i, a.n, queued, a.outOfOrder)
		}
	}
	// The drain stops the newest actor first and each one only after the newer ones have
	// ended, so OnStop ran in reverse spawn order (the failed actor ran its own at once).
	next := int64(0)
	for i := len(refs) - 1; i >= 0; i-- {
		if i == bad {
			continue
		}
		if got := states[i].stopped; got <= next {
			t.Fatalf("actor %d ran OnStop as number %d, after an older actor (number %d): want reverse spawn order", i, got, next)
		}
		next = states[i].stopped
	}
}
