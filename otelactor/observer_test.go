package otelactor_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/pactor-go/actor"
	"github.com/pactor-go/actor/otelactor"
)

func getN(w *Worker) (int, error) { return w.n, nil }

func boom(*Worker) { panic("boom") }

func newWorker() (*Worker, error) { return &Worker{}, nil }

// TestRan: the messages counted are the messages that ran, Asks included, with their
// time; one spawn, and nothing failed.
func TestRan(t *testing.T) {
	m := newMeter(t)
	sup := actor.NewSupervisor(context.Background(), actor.WithObserver(m.observer()), actor.WithSupervisorName("main"))
	r := actor.Spawn(sup, &Worker{})
	send(t, r, 100)
	if n, err := actor.Ask(context.Background(), r, getN); n != 100 || err != nil {
		t.Fatalf("Ask = %d, %v; want 100, nil", n, err)
	}
	stop(t, sup, nil) // every EventRan comes before Wait returns

	ms := m.collect()
	a := attrs("Worker", "main")
	ms.want("actor.processed.messages", 101, a...)
	ms.want("actor.spawns", 1, a...)
	for _, name := range []string{"actor.restarts", "actor.failures", "actor.panics"} {
		ms.want(name, 0, a...)
	}
	if busy, ok := ms.value("actor.busy.time", a...); !ok || busy <= 0 || busy > long.Seconds() {
		t.Errorf("actor.busy.time = %v, %v; want a positive number of seconds", busy, ok)
	}
	ms.absent("actor.message.duration", a...)
	ms.absent("actor.supervisor.give_ups", otelactor.SupervisorKey.String("main"))
	if m := ms.find("actor.busy.time"); m == nil || m.Unit != "s" {
		t.Errorf("actor.busy.time: unit %v, want s", m)
	}
	if m := ms.find("actor.processed.messages"); m == nil || m.Unit != "{message}" {
		t.Errorf("actor.processed.messages: unit %v, want {message}", m)
	}
}

// TestMailboxDepth: the depth of a blocked actor is what waits behind it, summed over the
// live actors of a series; it reads 0 once they have run.
func TestMailboxDepth(t *testing.T) {
	m := newMeter(t)
	sup := actor.NewSupervisor(context.Background(), actor.WithObserver(m.observer()), actor.WithSupervisorName("main"))
	a := attrs("Worker", "main")
	r1, r2 := actor.Spawn(sup, &Worker{}), actor.Spawn(sup, &Worker{})
	release1 := hold(t, r1)
	send(t, r1, 7)
	ms := m.collect()
	ms.want("actor.mailbox.depth", 7, a...)
	ms.want("actor.count", 2, a...)

	release2 := hold(t, r2)
	send(t, r2, 3)
	m.collect().want("actor.mailbox.depth", 10, a...)

	release1()
	release2()
	for _, r := range []*actor.Ref[Worker]{r1, r2} {
		if n, err := actor.Ask(context.Background(), r, getN); err != nil {
			t.Fatalf("Ask: %v", err)
		} else if n != 7 && n != 3 {
			t.Fatalf("Ask = %d, want 7 or 3", n)
		}
	}
	ms = m.collect()
	ms.want("actor.mailbox.depth", 0, a...)
	ms.want("actor.count", 2, a...)
	stop(t, sup, nil)
	m.collect().want("actor.processed.messages", 1+7+1+1+3+1, a...)
}

// TestRefused: sends to a stopped actor and to a full mailbox count as refused, by error.
func TestRefused(t *testing.T) {
	m := newMeter(t)
	sup := actor.NewSupervisor(context.Background(), actor.WithObserver(m.observer()), actor.WithSupervisorName("main"))
	a := attrs("Worker", "main")

	gone := actor.Spawn(sup, &Worker{})
	gone.Stop()
	if err := gone.Wait(); err != nil {
		t.Fatalf("Wait = %v", err)
	}
	for range 2 {
		if err := gone.Send(incr); !errors.Is(err, actor.ErrStopped) {
			t.Fatalf("Send to a stopped actor = %v, want ErrStopped", err)
		}
	}
	full := actor.Spawn(sup, &Worker{}, actor.WithMailboxSize(2))
	release := hold(t, full)
	send(t, full, 2)
	if err := full.Send(incr); !errors.Is(err, actor.ErrMailboxFull) {
		t.Fatalf("Send to a full mailbox = %v, want ErrMailboxFull", err)
	}
	ms := m.collect()
	ms.want("actor.refused.messages", 2, attrs("Worker", "main", otelactor.ErrorTypeKey.String("stopped"))...)
	ms.want("actor.refused.messages", 1, attrs("Worker", "main", otelactor.ErrorTypeKey.String("mailbox_full"))...)
	ms.absent("actor.refused.messages", a...) // only by error.type
	release()
	stop(t, sup, nil)
}

// TestRefusedByPool: a send refused by a pool's shared queue counts for the members' type
// and the pool's supervisor.
func TestRefusedByPool(t *testing.T) {
	m := newMeter(t)
	sup := actor.NewSupervisor(context.Background(), actor.WithObserver(m.observer()), actor.WithSupervisorName("main"))
	p := actor.SpawnPool(sup, 2, newWorker, actor.WithSupervisorName("pool"))
	p.Stop()
	if err := p.Wait(); err != nil {
		t.Fatalf("Pool.Wait = %v", err)
	}
	if err := p.Send(incr); !errors.Is(err, actor.ErrStopped) {
		t.Fatalf("Pool.Send after Stop = %v, want ErrStopped", err)
	}
	stop(t, sup, nil)
	ms := m.collect()
	ms.want("actor.refused.messages", 1, attrs("Worker", "pool", otelactor.ErrorTypeKey.String("stopped"))...)
	ms.want("actor.spawns", 2, attrs("Worker", "pool")...)
}

// TestDropped: what StopNow, a failure and a shutdown deadline drop is counted, by reason,
// as many as were queued.
func TestDropped(t *testing.T) {
	m := newMeter(t)
	o := m.observer()

	t.Run("stop_now", func(t *testing.T) {
		sup := actor.NewSupervisor(context.Background(), actor.WithObserver(o), actor.WithSupervisorName("stop_now"))
		r := actor.Spawn(sup, &Worker{})
		release := hold(t, r)
		send(t, r, 5)
		if n := r.StopNow(); n != 5 {
			t.Fatalf("StopNow = %d, want 5", n)
		}
		release()
		stop(t, sup, nil)
		ms := m.collect()
		ms.want("actor.dropped.messages", 5, attrs("Worker", "stop_now", otelactor.DropReasonKey.String("stop_now"))...)
		ms.want("actor.processed.messages", 1, attrs("Worker", "stop_now")...)
	})

	t.Run("failure", func(t *testing.T) {
		sup := actor.NewSupervisor(context.Background(), actor.WithObserver(o), actor.WithSupervisorName("failure"))
		r := actor.Spawn(sup, &Worker{})
		running, gate := make(chan struct{}), make(chan struct{})
		if err := r.Send(func(*Worker) { close(running); <-gate; panic("boom") }); err != nil {
			t.Fatalf("Send: %v", err)
		}
		<-running
		send(t, r, 4)
		close(gate)
		var pe *actor.PanicError
		if err := sup.Wait(); !errors.As(err, &pe) || pe.Value != "boom" {
			t.Fatalf("Supervisor.Wait = %v, want the panic", err)
		}
		ms := m.collect()
		a := attrs("Worker", "failure")
		ms.want("actor.dropped.messages", 4, attrs("Worker", "failure", otelactor.DropReasonKey.String("failure"))...)
		ms.want("actor.panics", 1, a...)
		ms.want("actor.failures", 1, a...)
		ms.want("actor.restarts", 0, a...)
		ms.want("actor.processed.messages", 0, a...)
		ms.want("actor.supervisor.give_ups", 1, otelactor.SupervisorKey.String("failure"))
	})

	t.Run("deadline", func(t *testing.T) {
		sup := actor.NewSupervisor(context.Background(), actor.WithObserver(o), actor.WithSupervisorName("deadline"))
		r := actor.Spawn(sup, &Worker{}, actor.WithShutdownTimeout(time.Millisecond))
		running := make(chan struct{})
		// The message runs until the deadline cancels the actor's context.
		ctx := r.Context()
		if err := r.Send(func(*Worker) { close(running); <-ctx.Done() }); err != nil {
			t.Fatalf("Send: %v", err)
		}
		<-running
		send(t, r, 3)
		stop(t, sup, nil)
		ms := m.collect()
		ms.want("actor.dropped.messages", 3, attrs("Worker", "deadline", otelactor.DropReasonKey.String("deadline"))...)
		ms.want("actor.processed.messages", 1, attrs("Worker", "deadline")...)
	})
}

// TestRestarts: a flaky actor under a supervisor that restarts it (SpawnFunc, WithIntensity)
// counts each panic, failure and restart, then the give-up when the intensity runs out;
// panics that WithRestart absorbs restart without failing.
func TestRestarts(t *testing.T) {
	m := newMeter(t)
	o := m.observer()
	ctx := context.Background()

	sup := actor.NewSupervisor(ctx, actor.WithObserver(o), actor.WithSupervisorName("flaky"), actor.WithIntensity(2, time.Hour))
	r := actor.SpawnFunc(sup, newWorker)
	for range 2 {
		if err := r.Send(boom); err != nil {
			t.Fatalf("Send: %v", err)
		}
		// Runs on the next incarnation, which the restart brings up at once.
		if _, err := actor.Ask(ctx, r, getN); err != nil {
			t.Fatalf("Ask after a restart: %v", err)
		}
	}
	if err := r.Send(boom); err != nil {
		t.Fatalf("Send: %v", err)
	}
	var pe *actor.PanicError
	if err := sup.Wait(); !errors.As(err, &pe) {
		t.Fatalf("Supervisor.Wait = %v, want the third panic", err)
	}

	self := actor.NewSupervisor(ctx, actor.WithObserver(o), actor.WithSupervisorName("self"))
	s := actor.Spawn(self, &Worker{}, actor.WithRestart(5, time.Hour))
	if err := s.Send(boom); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if _, err := actor.Ask(ctx, s, getN); err != nil {
		t.Fatalf("Ask after WithRestart's restart: %v", err)
	}
	stop(t, self, nil)

	ms := m.collect()
	a := attrs("Worker", "flaky")
	ms.want("actor.panics", 3, a...)
	ms.want("actor.failures", 3, a...)
	ms.want("actor.restarts", 2, a...)
	ms.want("actor.processed.messages", 2, a...)
	ms.want("actor.supervisor.give_ups", 1, otelactor.SupervisorKey.String("flaky"))
	a = attrs("Worker", "self")
	ms.want("actor.panics", 1, a...)
	ms.want("actor.failures", 0, a...)
	ms.want("actor.restarts", 1, a...)
	ms.absent("actor.supervisor.give_ups", otelactor.SupervisorKey.String("self"))
}

// TestSupervisorRestart: a child supervisor that gives up, restarted by its parent, counts
// a give-up and a restart of its own; its actor counts its failure and its restart.
func TestSupervisorRestart(t *testing.T) {
	m := newMeter(t)
	ctx := context.Background()
	root := actor.NewSupervisor(ctx, actor.WithObserver(m.observer()), actor.WithSupervisorName("root"), actor.WithIntensity(1, time.Hour))
	child := root.NewChild(actor.WithSupervisorName("child"))
	r := actor.Spawn(child, &Worker{})
	if err := r.Send(boom); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if _, err := actor.Ask(ctx, r, getN); err != nil {
		t.Fatalf("Ask after the subtree's restart: %v", err)
	}
	stop(t, root, nil)
	ms := m.collect()
	sup := otelactor.SupervisorKey.String("child")
	ms.want("actor.supervisor.give_ups", 1, sup)
	ms.want("actor.supervisor.restarts", 1, sup)
	ms.absent("actor.supervisor.give_ups", otelactor.SupervisorKey.String("root"))
	a := attrs("Worker", "child")
	ms.want("actor.failures", 1, a...)
	ms.want("actor.restarts", 1, a...)
	ms.want("actor.processed.messages", 1, a...)
}

// TestMessageDuration: with WithMessageDuration the Observer asks for per-message events,
// and the histogram has one value per message, with the same counts as the counter.
func TestMessageDuration(t *testing.T) {
	m := newMeter(t)
	o := m.observer(otelactor.WithMessageDuration())
	if !o.PerMessage() {
		t.Fatal("PerMessage = false with WithMessageDuration")
	}
	sup := actor.NewSupervisor(context.Background(), actor.WithObserver(o), actor.WithSupervisorName("main"))
	r := actor.Spawn(sup, &Worker{})
	send(t, r, 50)
	stop(t, sup, nil)
	ms := m.collect()
	a := attrs("Worker", "main")
	ms.want("actor.message.duration", 50, a...)
	ms.want("actor.processed.messages", 50, a...)
	if h := ms.find("actor.message.duration"); h == nil || h.Unit != "s" {
		t.Errorf("actor.message.duration: %v, want unit s", h)
	}
	if newMeter(t).observer().PerMessage() {
		t.Error("PerMessage = true without WithMessageDuration")
	}
}

// TestRanBeforeAPanic: every message that ran to the end counts, also when a later message
// of the same batch panics.
func TestRanBeforeAPanic(t *testing.T) {
	for _, perMessage := range []bool{false, true} {
		name := map[bool]string{false: "batch", true: "per_message"}[perMessage]
		t.Run(name, func(t *testing.T) {
			m := newMeter(t)
			var opts []otelactor.Option
			if perMessage {
				opts = append(opts, otelactor.WithMessageDuration())
			}
			sup := actor.NewSupervisor(context.Background(), actor.WithObserver(m.observer(opts...)),
				actor.WithSupervisorName("main"), actor.WithIntensity(1, time.Hour))
			r := actor.SpawnFunc(sup, newWorker)
			release := hold(t, r)
			send(t, r, 5) // one batch with the panic after them
			if err := r.Send(boom); err != nil {
				t.Fatalf("Send: %v", err)
			}
			release()
			if _, err := actor.Ask(context.Background(), r, getN); err != nil {
				t.Fatalf("Ask: %v", err)
			}
			stop(t, sup, nil)
			m.collect().want("actor.processed.messages", 1+5+1, attrs("Worker", "main")...)
		})
	}
}

// TestActorName: WithActorName makes a series per actor, by name.
func TestActorName(t *testing.T) {
	m := newMeter(t)
	sup := actor.NewSupervisor(context.Background(), actor.WithObserver(m.observer(otelactor.WithActorName())), actor.WithSupervisorName("main"))
	a := actor.Spawn(sup, &Worker{}, actor.WithName("a"))
	b := actor.Spawn(sup, &Worker{}, actor.WithName("b"))
	send(t, a, 2)
	send(t, b, 3)
	stop(t, sup, nil)
	ms := m.collect()
	ms.want("actor.processed.messages", 2, attrs("Worker", "main", otelactor.NameKey.String("a"))...)
	ms.want("actor.processed.messages", 3, attrs("Worker", "main", otelactor.NameKey.String("b"))...)
	ms.absent("actor.processed.messages", attrs("Worker", "main")...)
}

// fakeActor is an actor.Actor for events a test makes up.
type fakeActor struct{ depth int }

func (*fakeActor) String() string                { return "fake" }
func (f *fakeActor) Len() int                    { return f.depth }
func (*fakeActor) Supervisor() *actor.Supervisor { return nil }

// TestEndedBeforeSpawned: the core may report an actor's end before its spawn (a
// supervisor stopping while Spawn runs); either order leaves the actor out of the live
// set, so it is neither counted nor read at collection.
func TestEndedBeforeSpawned(t *testing.T) {
	m := newMeter(t)
	o := m.observer()
	sup := actor.NewSupervisor(context.Background(), actor.WithSupervisorName("main"))
	defer stop(t, sup, nil)
	a := attrs("Fake", "main")
	ev := func(k actor.EventKind, f *fakeActor) {
		o.Observe(actor.Event{Kind: k, Actor: f, Type: "Fake", Supervisor: sup})
	}

	inOrder, reversed := &fakeActor{depth: 3}, &fakeActor{depth: 5}
	ev(actor.EventSpawned, inOrder)
	ev(actor.EventEnded, reversed)
	ms := m.collect()
	ms.want("actor.count", 1, a...)
	ms.want("actor.mailbox.depth", 3, a...)
	ev(actor.EventSpawned, reversed)
	ev(actor.EventEnded, inOrder)
	ms = m.collect()
	ms.want("actor.count", 0, a...)
	ms.want("actor.mailbox.depth", 0, a...)
	ms.want("actor.spawns", 2, a...)
	// A refusal after the end still finds the series, by its attributes.
	o.Observe(actor.Event{Kind: actor.EventRefused, Actor: inOrder, Type: "Fake", Supervisor: sup, Err: actor.ErrStopped, Count: 1})
	m.collect().want("actor.refused.messages", 1, attrs("Fake", "main", otelactor.ErrorTypeKey.String("stopped"))...)
}

// TestClose: after Close the provider no longer reads the Observer.
func TestClose(t *testing.T) {
	m := newMeter(t)
	o := m.observer()
	sup := actor.NewSupervisor(context.Background(), actor.WithObserver(o), actor.WithSupervisorName("main"))
	send(t, actor.Spawn(sup, &Worker{}), 1)
	stop(t, sup, nil)
	m.collect().want("actor.processed.messages", 1, attrs("Worker", "main")...)
	if err := o.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if got := m.collect().find("actor.processed.messages"); got != nil {
		t.Errorf("after Close: %v, want no actor.processed.messages", got)
	}
}

// TestConcurrent: collections running beside busy actors see every counter only grow,
// and the last one sees every message.
func TestConcurrent(t *testing.T) {
	const actors, senders, each = 4, 4, 2000
	m := newMeter(t)
	sup := actor.NewSupervisor(context.Background(), actor.WithObserver(m.observer()), actor.WithSupervisorName("main"))
	refs := make([]*actor.Ref[Worker], actors)
	for i := range refs {
		refs[i] = actor.Spawn(sup, &Worker{})
	}
	done := make(chan struct{})
	var collector sync.WaitGroup
	collector.Go(func() {
		last := 0.0
		for {
			select {
			case <-done:
				return
			default:
			}
			v, _ := m.collect().value("actor.processed.messages", attrs("Worker", "main")...)
			if v < last {
				t.Errorf("actor.processed.messages went from %v down to %v", last, v)
			}
			last = v
		}
	})
	var wg sync.WaitGroup
	for s := range senders {
		wg.Go(func() {
			for i := range each {
				if err := refs[(s+i)%actors].Send(incr); err != nil {
					t.Errorf("Send: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	stop(t, sup, nil)
	close(done)
	collector.Wait()
	ms := m.collect()
	ms.want("actor.processed.messages", senders*each, attrs("Worker", "main")...)
	ms.want("actor.spawns", actors, attrs("Worker", "main")...)
}

// TestNewObserverNil: a nil provider or option is a mistake at the call.
func TestNewObserverNil(t *testing.T) {
	for name, f := range map[string]func(){
		"provider": func() { _, _ = otelactor.NewObserver(nil) },
		"option":   func() { _, _ = otelactor.NewObserver(newMeter(t).mp, nil) },
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if v, ok := recover().(string); !ok || len(v) < 10 || v[:10] != "otelactor:" {
					t.Errorf("panic %v, want one that names otelactor", v)
				}
			}()
			f()
		})
	}
}
