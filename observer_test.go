package actor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// recorder is an Observer that keeps every event, for the tests to count.
type recorder struct {
	mu     sync.Mutex
	events []Event
	each   bool
}

func (o *recorder) Observe(e Event) {
	o.mu.Lock()
	o.events = append(o.events, e)
	o.mu.Unlock()
}

func (o *recorder) PerMessage() bool { return o.each }

// count adds up the Count (or 1 for events without one) of the events of kind about a, or
// about any actor if a is nil, that match f (if not nil).
func (o *recorder) count(kind EventKind, a Actor, f func(Event) bool) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, e := range o.events {
		if e.Kind != kind || (a != nil && e.Actor != a) || (f != nil && !f(e)) {
			continue
		}
		if e.Count > 0 {
			n += e.Count
		} else {
			n++
		}
	}
	return n
}

func (o *recorder) find(kind EventKind, f func(Event) bool) (Event, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, e := range o.events {
		if e.Kind == kind && (f == nil || f(e)) {
			return e, true
		}
	}
	return Event{}, false
}

func TestObserverLifecycle(t *testing.T) {
	o := &recorder{}
	s := NewSupervisor(context.Background(), WithObserver(o), WithSupervisorName("root"))
	r := Spawn(s, &hooked{}, WithName("w"))
	for range 10 {
		r.Send(func(*hooked) {})
	}
	get(t, r, func(*hooked) int { return 0 })
	s.Stop()
	if err := s.Wait(); err != nil {
		t.Fatal(err)
	}
	if n := o.count(EventSpawned, r, nil); n != 1 {
		t.Errorf("spawned events of the actor = %d, want 1", n)
	}
	if n := o.count(EventStarted, r, nil); n != 1 {
		t.Errorf("started events = %d, want 1", n)
	}
	if n := o.count(EventRan, r, nil); n != 11 {
		t.Errorf("messages ran = %d, want 11 (10 sends and an Ask)", n)
	}
	if n := o.count(EventEnded, r, func(e Event) bool { return e.Err == nil }); n != 1 {
		t.Errorf("ended events with a nil error = %d, want 1", n)
	}
	e, ok := o.find(EventSpawned, func(e Event) bool { return e.Actor == r })
	if !ok || e.Type != "hooked" || e.Supervisor != s || e.Actor.String() != "w" {
		t.Errorf("spawned event = %+v, want type hooked, the supervisor and the name w", e)
	}
	if _, ok := o.find(EventSpawned, func(e Event) bool { return e.Actor == nil && e.Supervisor == s }); !ok {
		t.Error("no spawned event for the supervisor")
	}
	if _, ok := o.find(EventEnded, func(e Event) bool { return e.Actor == nil && e.Supervisor == s && e.Err == nil }); !ok {
		t.Error("no ended event for the supervisor")
	}
}

func TestObserverBusyTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for _, each := range []bool{false, true} {
			o := &recorder{each: each}
			s := NewSupervisor(context.Background(), WithObserver(o))
			r := Spawn(s, &counter{})
			started, rel := make(chan struct{}), make(chan struct{})
			r.Send(func(*counter) { close(started); <-rel })
			<-started
			r.Send(func(*counter) { time.Sleep(time.Second) })
			r.Send(func(*counter) { time.Sleep(2 * time.Second) })
			close(rel)
			get(t, r, func(*counter) int { return 0 })
			var busy time.Duration
			events := 0
			o.mu.Lock()
			for _, e := range o.events {
				if e.Kind == EventRan {
					busy += e.Busy
					events++
				}
			}
			o.mu.Unlock()
			if busy != 3*time.Second {
				t.Errorf("PerMessage=%v: busy time = %v, want 3s", each, busy)
			}
			if each && events != 4 {
				t.Errorf("PerMessage: %d ran events, want one per message (4)", events)
			}
			if !each && events >= 4 {
				t.Errorf("per batch: %d ran events for 4 messages, want fewer (batches)", events)
			}
			s.Stop()
			s.Wait()
		}
	})
}

func TestObserverFailuresAndRestarts(t *testing.T) {
	o := &recorder{}
	s := NewSupervisor(context.Background(), WithObserver(o), WithIntensity(1, time.Hour))
	r := SpawnFunc(s, func() (*counter, error) { return &counter{}, nil })
	_, err := Ask(context.Background(), r, func(*counter) (int, error) { panic("boom") })
	var pe *PanicError
	if !errors.As(err, &pe) {
		t.Fatalf("Ask = %v, want a *PanicError", err)
	}
	get(t, r, func(*counter) int { return 0 }) // restarted
	if n := o.count(EventPanicked, r, func(e Event) bool { return e.Err == pe }); n != 1 {
		t.Errorf("panicked events with the PanicError = %d, want 1", n)
	}
	if n := o.count(EventFailed, r, func(e Event) bool { return errors.Is(e.Err, pe) }); n != 1 {
		t.Errorf("failed events = %d, want 1", n)
	}
	if n := o.count(EventRestarted, r, func(e Event) bool { return errors.Is(e.Err, pe) }); n != 1 {
		t.Errorf("restarted events with the cause = %d, want 1", n)
	}
	// The second failure is more than the intensity allows: the supervisor gives up.
	Ask(context.Background(), r, func(*counter) (int, error) { panic("again") })
	err = s.Wait()
	if err == nil {
		t.Fatal("Supervisor.Wait = nil, want the give-up")
	}
	if n := o.count(EventGaveUp, nil, func(e Event) bool { return e.Supervisor == s && e.Err == err }); n != 1 {
		t.Errorf("gave-up events with Wait's error = %d, want 1", n)
	}
	if n := o.count(EventEnded, r, func(e Event) bool { return e.Err != nil }); n != 1 {
		t.Errorf("ended events of the failed actor with its failure = %d, want 1", n)
	}
}

func TestObserverDropsAndRefusals(t *testing.T) {
	o := &recorder{}
	s := NewSupervisor(context.Background(), WithObserver(o))
	defer func() { s.Stop(); s.Wait() }()

	// StopNow.
	r := Spawn(s, &counter{}, WithMailboxSize(3))
	release := block(t, r)
	for range 3 {
		if err := r.Send(func(*counter) {}); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Send(func(*counter) {}); !errors.Is(err, ErrMailboxFull) {
		t.Fatalf("Send to a full mailbox = %v", err)
	}
	if got := r.Len(); got != 3 {
		t.Errorf("Len = %d, want 3", got)
	}
	dropped := r.StopNow()
	release()
	r.Wait()
	if err := r.Send(func(*counter) {}); !errors.Is(err, ErrStopped) {
		t.Fatalf("Send after StopNow = %v", err)
	}
	if n := o.count(EventDropped, r, func(e Event) bool { return e.Reason == "stop_now" }); n != dropped || n != 3 {
		t.Errorf("dropped by StopNow: observed %d, StopNow said %d, want 3", n, dropped)
	}
	if n := o.count(EventRefused, r, func(e Event) bool { return e.Err == ErrMailboxFull }); n != 1 {
		t.Errorf("refused as full = %d, want 1", n)
	}
	if n := o.count(EventRefused, r, func(e Event) bool { return e.Err == ErrStopped }); n != 1 {
		t.Errorf("refused as stopped = %d, want 1", n)
	}

	// A failure drops what was queued behind it.
	child := s.NewChild(WithObserver(o))
	f := Spawn(child, &counter{})
	started, rel := make(chan struct{}), make(chan struct{})
	f.Send(func(*counter) { close(started); <-rel; panic("x") })
	<-started
	for range 5 {
		f.Send(func(*counter) {})
	}
	close(rel)
	f.Wait()
	if n := o.count(EventDropped, f, func(e Event) bool { return e.Reason == "failure" }); n != 5 {
		t.Errorf("dropped by the failure = %d, want 5", n)
	}
}

func TestObserverShutdownDeadlineDrops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		o := &recorder{}
		s := NewSupervisor(context.Background(), WithObserver(o))
		r := Spawn(s, &counter{}, WithShutdownTimeout(time.Second))
		started := make(chan struct{})
		r.Send(func(c *counter) { close(started); <-c.Self().Context().Done() })
		<-started
		for range 4 {
			r.Send(func(*counter) {})
		}
		s.Stop()
		if err := s.Wait(); err != nil {
			t.Fatal(err)
		}
		if n := o.count(EventDropped, r, func(e Event) bool { return e.Reason == "deadline" }); n != 4 {
			t.Errorf("dropped at the deadline = %d, want 4", n)
		}
	})
}

func TestObserverInheritance(t *testing.T) {
	root, other := &recorder{}, &recorder{}
	s := NewSupervisor(context.Background(), WithObserver(root))
	c1 := s.NewChild()
	c2 := s.NewChild(WithObserver(other))
	a, b := Spawn(c1, &counter{}), Spawn(c2, &counter{})
	s.Stop()
	s.Wait()
	if root.count(EventSpawned, a, nil) != 1 || root.count(EventSpawned, b, nil) != 0 {
		t.Error("the root's observer should see the inheriting child's actor and not the other")
	}
	if other.count(EventSpawned, b, nil) != 1 {
		t.Error("a child given its own observer should report to it")
	}
	// Without an observer nothing is called, and nothing breaks.
	plain := NewSupervisor(context.Background())
	Spawn(plain, &counter{}).Send(func(*counter) {})
	plain.Stop()
	if err := plain.Wait(); err != nil {
		t.Fatal(err)
	}
}

func TestPanicErrorFormats(t *testing.T) {
	s := NewSupervisor(context.Background(), WithIntensity(1, time.Hour))
	defer func() { s.Stop(); s.Wait() }()
	r := Spawn(s, &counter{}, WithName("worker"))
	_, err := Ask(context.Background(), r, func(*counter) (int, error) { panic("boom") })
	var pe *PanicError
	if !errors.As(err, &pe) {
		t.Fatalf("Ask = %v", err)
	}
	if got := pe.Error(); got != "actor worker panicked: boom" {
		t.Errorf("Error() = %q, want one line: actor worker panicked: boom", got)
	}
	if got := fmt.Sprintf("%v", err); strings.Contains(got, "\n") {
		t.Errorf("%%v = %q, want one line", got)
	}
	if got := fmt.Sprintf("%+v", err); !strings.HasPrefix(got, "actor worker panicked: boom\n\n") || !strings.Contains(got, "TestPanicErrorFormats") {
		t.Errorf("%%+v = %q, want the line and then the stack", got)
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Error("failed", "err", pe, "actor", r, "supervisor", s)
	out := buf.String()
	for _, want := range []string{`"err":{"actor":"worker","panic":"boom","stack":"`, `"actor":{"name":"worker","type":"counter","supervisor":"` + s.String() + `"}`, `"supervisor":{"name":"` + s.String() + `"}`} {
		if !strings.Contains(out, want) {
			t.Errorf("slog output %s\nlacks %s", out, want)
		}
	}
	if strings.Count(out, "\n") != 1 {
		t.Errorf("slog output spans %d lines, want 1", strings.Count(out, "\n"))
	}
}

// TestObserverCountsMessagesBeforeAPanic: the messages of a batch that ran before one that
// panicked are reported, though the panic unwinds past the batch's own report.
func TestObserverCountsMessagesBeforeAPanic(t *testing.T) {
	o := &recorder{}
	s := NewSupervisor(context.Background(), WithObserver(o), WithIntensity(1, time.Hour))
	defer func() { s.Stop(); s.Wait() }()
	r := Spawn(s, &counter{})
	started, rel := make(chan struct{}), make(chan struct{})
	r.Send(func(*counter) { close(started); <-rel })
	<-started
	for range 5 {
		r.Send(func(*counter) {})
	}
	r.Send(func(*counter) { panic("x") }) // the same batch as the five before it
	close(rel)
	get(t, r, func(*counter) int { return 0 }) // restarted; one more message
	if n := o.count(EventRan, r, nil); n != 7 {
		t.Errorf("messages reported ran = %d, want 7 (the blocker, five, and the Ask; not the panic)", n)
	}
}

// TestObserverSeesEveryEndBeforeWait: when Supervisor.Wait returns, the observer has been
// told of every actor's end, each after its spawn.
func TestObserverSeesEveryEndBeforeWait(t *testing.T) {
	for range 50 {
		o := &recorder{}
		s := NewSupervisor(context.Background(), WithObserver(o))
		var refs []*Ref[counter]
		for range 20 {
			refs = append(refs, Spawn(s, &counter{}))
		}
		go s.Stop() // concurrently with the spawns' events
		for range 5 {
			refs = append(refs, Spawn(s, &counter{})) // some made stopped
		}
		s.Wait()
		for _, r := range refs {
			spawned, ended := -1, -1
			o.mu.Lock()
			for i, e := range o.events {
				if e.Actor == r && e.Kind == EventSpawned {
					spawned = i
				}
				if e.Actor == r && e.Kind == EventEnded {
					ended = i
				}
			}
			o.mu.Unlock()
			if spawned < 0 || ended < spawned {
				t.Fatalf("%v: spawned at %d, ended at %d: want both, the spawn first", r, spawned, ended)
			}
		}
	}
}
