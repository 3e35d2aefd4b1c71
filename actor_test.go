package actor

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// Also covers the examples and benchmarks, which m.Run runs.
	goleak.VerifyTestMain(m)
}

// newSup returns a supervisor that the test's cleanup stops and joins, so that no test
// leaves an actor behind even when it fails half-way.
func newSup(t *testing.T) *Supervisor {
	t.Helper()
	s := NewSupervisor(context.Background())
	t.Cleanup(func() {
		s.Stop()
		_ = s.Wait()
	})
	return s
}

// counter is the plain test actor: it counts messages.
type counter struct {
	Base[counter]
	n int
}

// hooked has both hooks, and reports them on channels when they are set.
type hooked struct {
	Base[hooked]
	started  int
	stopped  bool
	startErr error
	onStart  func(*hooked)
	onStop   func(*hooked)
}

func (h *hooked) OnStart() error {
	h.started++
	if h.onStart != nil {
		h.onStart(h)
	}
	return h.startErr
}

func (h *hooked) OnStop() {
	h.stopped = true
	if h.onStop != nil {
		h.onStop(h)
	}
}

func get[T, R any](t *testing.T, r *Ref[T], f func(*T) R) R {
	t.Helper()
	v, err := Ask(context.Background(), r, func(s *T) (R, error) { return f(s), nil })
	if err != nil {
		t.Fatalf("Ask on %v: %v", r, err)
	}
	return v
}

// block sends r a message that signals when it starts and then waits for release, so a test
// can fill the mailbox behind it.
func block[T any](t *testing.T, r *Ref[T]) (release func()) {
	t.Helper()
	started, rel := make(chan struct{}), make(chan struct{})
	if err := r.Send(func(*T) { close(started); <-rel }); err != nil {
		t.Fatalf("Send(blocker) = %v", err)
	}
	<-started
	var once sync.Once
	release = func() { once.Do(func() { close(rel) }) }
	t.Cleanup(release)
	return release
}

func TestSendAskOneAtATimeInOrder(t *testing.T) {
	s := newSup(t)
	r := Spawn(s, &counter{})
	const senders, each = 8, 2000
	var inFlight atomic.Int32
	var wg sync.WaitGroup
	last := make([]int, senders) // owned by the actor
	for g := range senders {
		wg.Go(func() {
			for i := 1; i <= each; i++ {
				err := r.Send(func(c *counter) {
					if n := inFlight.Add(1); n != 1 {
						t.Errorf("%d messages running at once", n)
					}
					if last[g] != i-1 {
						t.Errorf("sender %d: message %d ran after %d", g, i, last[g])
					}
					last[g] = i
					c.n++
					inFlight.Add(-1)
				})
				if err != nil {
					t.Errorf("Send = %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	if got := get(t, r, func(c *counter) int { return c.n }); got != senders*each {
		t.Fatalf("ran %d messages, want %d", got, senders*each)
	}
}

func TestNilMessage(t *testing.T) {
	s := newSup(t)
	r := Spawn(s, &counter{})
	ctx := context.Background()
	for name, err := range map[string]error{
		"Send":        r.Send(nil),
		"SendContext": r.SendContext(ctx, nil),
		"Enqueue":     r.Enqueue(nil),
	} {
		if !errors.Is(err, ErrNilMessage) {
			t.Errorf("%s(nil) = %v, want ErrNilMessage", name, err)
		}
	}
	if _, err := Ask[counter, int](ctx, r, nil); !errors.Is(err, ErrNilMessage) {
		t.Errorf("Ask(nil) = %v, want ErrNilMessage", err)
	}
}

func TestMailboxFull(t *testing.T) {
	s := newSup(t)
	r := Spawn(s, &counter{}, WithMailboxSize(3))
	release := block(t, r)
	inc := func(c *counter) { c.n++ }
	for i := range 3 {
		if err := r.Send(inc); err != nil {
			t.Fatalf("Send %d into a mailbox of 3 = %v", i, err)
		}
	}
	if err := r.Send(inc); !errors.Is(err, ErrMailboxFull) {
		t.Fatalf("Send into a full mailbox = %v, want ErrMailboxFull", err)
	}
	// Enqueue is not subject to the bound.
	if err := r.Enqueue(inc); err != nil {
		t.Fatalf("Enqueue into a full mailbox = %v", err)
	}
	release()
	if got := get(t, r, func(c *counter) int { return c.n }); got != 4 {
		t.Fatalf("ran %d messages, want 4", got)
	}
}

func TestMailboxBoundCountsUnstartedMessages(t *testing.T) {
	// Messages sent before the actor starts are all waiting; the bound must count them
	// even after the actor has taken them out of the queue.
	s := newSup(t)
	r := Spawn(s, &counter{}, WithMailboxSize(2))
	started, rel := make(chan struct{}), make(chan struct{})
	r.Send(func(*counter) { close(started); <-rel })
	r.Send(func(c *counter) { c.n++ })
	<-started
	// One message waits; one more fits.
	if err := r.Send(func(c *counter) { c.n++ }); err != nil {
		t.Fatalf("second waiting Send = %v", err)
	}
	if err := r.Send(func(c *counter) { c.n++ }); !errors.Is(err, ErrMailboxFull) {
		t.Fatalf("third waiting Send = %v, want ErrMailboxFull", err)
	}
	close(rel)
}

func TestSendContext(t *testing.T) {
	inc := func(c *counter) { c.n++ }
	t.Run("waits for room", func(t *testing.T) {
		s := newSup(t)
		r := Spawn(s, &counter{}, WithMailboxSize(1))
		release := block(t, r)
		r.Send(inc)
		errc := make(chan error)
		go func() { errc <- r.SendContext(context.Background(), inc) }()
		release()
		if err := <-errc; err != nil {
			t.Fatalf("SendContext = %v", err)
		}
		if got := get(t, r, func(c *counter) int { return c.n }); got != 2 {
			t.Fatalf("ran %d, want 2", got)
		}
	})
	t.Run("ctx ends first", func(t *testing.T) {
		s := newSup(t)
		r := Spawn(s, &counter{}, WithMailboxSize(1))
		release := block(t, r)
		r.Send(inc)
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error)
		go func() { errc <- r.SendContext(ctx, func(c *counter) { c.n += 100 }) }()
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Fatalf("SendContext = %v, want context.Canceled", err)
		}
		release()
		if got := get(t, r, func(c *counter) int { return c.n }); got != 1 {
			t.Fatalf("counter = %d, want 1: a failed SendContext ran", got)
		}
	})
	t.Run("actor stops", func(t *testing.T) {
		s := newSup(t)
		r := Spawn(s, &counter{}, WithMailboxSize(1))
		release := block(t, r)
		r.Send(inc)
		errc := make(chan error)
		go func() { errc <- r.SendContext(context.Background(), inc) }()
		r.Stop()
		if err := <-errc; !errors.Is(err, ErrStopped) {
			t.Fatalf("SendContext = %v, want ErrStopped", err)
		}
		release()
	})
	t.Run("ctx already done", func(t *testing.T) {
		s := newSup(t)
		r := Spawn(s, &counter{})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := r.SendContext(ctx, inc); !errors.Is(err, context.Canceled) {
			t.Fatalf("SendContext(done ctx) = %v, want context.Canceled", err)
		}
		if got := get(t, r, func(c *counter) int { return c.n }); got != 0 {
			t.Fatalf("counter = %d, want 0", got)
		}
	})
}

func TestEnqueueFromInsideFullMailbox(t *testing.T) {
	s := newSup(t)
	r := Spawn(s, &counter{}, WithMailboxSize(1))
	done := make(chan struct{})
	var step func(c *counter)
	step = func(c *counter) {
		c.n++
		if c.n == 100 {
			close(done)
			return
		}
		// Two follow-ups per message would overflow a mailbox of 1 if Enqueue were bound.
		if err := c.Self().Enqueue(func(*counter) {}); err != nil {
			t.Errorf("Enqueue = %v", err)
		}
		if err := c.Self().Enqueue(step); err != nil {
			t.Errorf("Enqueue = %v", err)
		}
	}
	r.Send(step)
	<-done
}

func TestStopIsGraceful(t *testing.T) {
	s := newSup(t)
	h := &hooked{}
	var ranBeforeStop int // written by messages, read after Wait
	h.onStop = func(h *hooked) { ranBeforeStop = -ranBeforeStop }
	r := Spawn(s, h)
	release := block(t, r)
	for range 10 {
		r.Send(func(*hooked) { ranBeforeStop++ })
	}
	r.Stop()
	r.Stop() // idempotent
	ctx := context.Background()
	for name, err := range map[string]error{
		"Send":        r.Send(func(*hooked) { ranBeforeStop += 1000 }),
		"SendContext": r.SendContext(ctx, func(*hooked) { ranBeforeStop += 1000 }),
		"Enqueue":     r.Enqueue(func(*hooked) { ranBeforeStop += 1000 }),
	} {
		if !errors.Is(err, ErrStopped) {
			t.Errorf("%s after Stop = %v, want ErrStopped", name, err)
		}
	}
	if _, err := Ask(ctx, r, func(*hooked) (int, error) { return 0, nil }); !errors.Is(err, ErrStopped) {
		t.Errorf("Ask after Stop = %v, want ErrStopped", err)
	}
	release()
	if err := r.Wait(); err != nil {
		t.Fatalf("Wait = %v, want nil", err)
	}
	// OnStop ran after all ten messages, and returned before Wait: no lock needed to see it.
	if !h.stopped || ranBeforeStop != -10 {
		t.Fatalf("after Wait: stopped=%v, messages seen by OnStop=%d; want true, 10", h.stopped, -ranBeforeStop)
	}
	select {
	case <-r.Done():
	default:
		t.Fatal("Done not closed after Wait returned")
	}
	if d1, d2 := r.Done(), r.Done(); d1 != d2 {
		t.Fatal("Done returned different channels")
	}
}

func TestStopIdleActor(t *testing.T) {
	s := newSup(t)
	plain := Spawn(s, &counter{})
	h := &hooked{}
	withHooks := Spawn(s, h)
	plain.Stop()
	withHooks.Stop()
	if err := plain.Wait(); err != nil {
		t.Fatalf("Wait = %v", err)
	}
	if err := withHooks.Wait(); err != nil {
		t.Fatalf("Wait = %v", err)
	}
	if h.started != 1 || !h.stopped {
		t.Fatalf("OnStart ran %d times, OnStop ran: %v; want 1, true", h.started, h.stopped)
	}
}

func TestStopFromInsideEndsSelfReschedulingLoop(t *testing.T) {
	s := newSup(t)
	r := Spawn(s, &counter{})
	var loop func(c *counter)
	loop = func(c *counter) {
		c.n++
		if c.n == 50 {
			c.Self().Stop()
		}
		if err := c.Self().Enqueue(loop); err != nil && !errors.Is(err, ErrStopped) {
			t.Errorf("Enqueue = %v", err)
		}
	}
	c := r.Send(loop)
	if c != nil {
		t.Fatal(c)
	}
	if err := r.Wait(); err != nil {
		t.Fatalf("Wait = %v", err)
	}
	// The Enqueue made by message 50 was accepted before its Stop? No: Stop came first.
	if n := r.state.n; n != 50 {
		t.Fatalf("loop ran %d times, want 50", n)
	}
}

func TestStopRacesSenders(t *testing.T) {
	s := newSup(t)
	r := Spawn(s, &counter{})
	const senders = 8
	var accepted, rejected atomic.Int64
	ran := make([][]int32, senders) // ran[g][i]: how often message i of sender g ran
	var wg sync.WaitGroup
	stopAt := make(chan struct{})
	for g := range senders {
		ran[g] = make([]int32, 5000)
		wg.Go(func() {
			for i := range ran[g] {
				if i == 1000 && g == 0 {
					close(stopAt)
				}
				err := r.Send(func(*counter) { ran[g][i]++ })
				switch {
				case err == nil:
					accepted.Add(1)
				case errors.Is(err, ErrStopped):
					rejected.Add(1)
					ran[g][i] = -1 // mark: must stay untouched by the actor
				default:
					t.Errorf("Send = %v", err)
				}
			}
		})
	}
	<-stopAt
	r.Stop()
	wg.Wait()
	if err := r.Wait(); err != nil {
		t.Fatalf("Wait = %v", err)
	}
	for g := range ran {
		for i, n := range ran[g] {
			if n != 1 && n != -1 {
				t.Fatalf("sender %d message %d ran %d times", g, i, n)
			}
		}
	}
	if rejected.Load() == 0 {
		t.Log("Stop came after every send; the race was not exercised this time")
	}
	t.Logf("accepted %d, rejected %d", accepted.Load(), rejected.Load())
}

func TestAsk(t *testing.T) {
	s := newSup(t)
	r := Spawn(s, &counter{})
	want := errors.New("fn's error")
	n, err := Ask(context.Background(), r, func(c *counter) (int, error) { c.n = 7; return 42, want })
	if n != 42 || err != want {
		t.Fatalf("Ask = %d, %v; want 42, %v", n, err, want)
	}
	// The effect happened before Ask returned: read without any lock.
	if r.state.n != 7 {
		t.Fatalf("state after Ask = %d, want 7", r.state.n)
	}
}

func TestAskContext(t *testing.T) {
	t.Run("already done", func(t *testing.T) {
		s := newSup(t)
		r := Spawn(s, &counter{})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := Ask(ctx, r, func(c *counter) (int, error) { c.n++; return 0, nil })
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Ask = %v, want context.Canceled", err)
		}
		if got := get(t, r, func(c *counter) int { return c.n }); got != 0 {
			t.Fatal("fn ran after Ask returned ctx's error")
		}
	})
	t.Run("ends while queued", func(t *testing.T) {
		s := newSup(t)
		r := Spawn(s, &counter{})
		release := block(t, r)
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error)
		go func() {
			_, err := Ask(ctx, r, func(c *counter) (int, error) { c.n++; return 0, nil })
			errc <- err
		}()
		waitQueued(t, r, 1)
		cancel()
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Fatalf("Ask = %v, want context.Canceled", err)
		}
		release()
		if got := get(t, r, func(c *counter) int { return c.n }); got != 0 {
			t.Fatal("fn started after Ask returned ctx's error")
		}
	})
	t.Run("ends while fn runs", func(t *testing.T) {
		s := newSup(t)
		r := Spawn(s, &counter{})
		ctx, cancel := context.WithCancel(context.Background())
		inFn, rel := make(chan struct{}), make(chan struct{})
		errc := make(chan error)
		go func() {
			_, err := Ask(ctx, r, func(c *counter) (int, error) { close(inFn); <-rel; return 1, nil })
			errc <- err
		}()
		<-inFn
		cancel()
		// Ask must not wait for fn past ctx.
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Fatalf("Ask = %v, want context.Canceled", err)
		}
		close(rel)
	})
	t.Run("waits for room", func(t *testing.T) {
		s := newSup(t)
		r := Spawn(s, &counter{}, WithMailboxSize(1))
		release := block(t, r)
		r.Send(func(c *counter) { c.n++ })
		type result struct {
			n   int
			err error
		}
		res := make(chan result)
		go func() {
			n, err := Ask(context.Background(), r, func(c *counter) (int, error) { return c.n, nil })
			res <- result{n, err}
		}()
		release()
		if got := <-res; got.n != 1 || got.err != nil {
			t.Fatalf("Ask = %d, %v; want 1, nil", got.n, got.err)
		}
	})
}

// waitQueued waits until n messages wait in r's mailbox (behind a blocked message).
func waitQueued[T any](t *testing.T, r *Ref[T], n int) {
	t.Helper()
	for {
		r.mu.Lock()
		got := int(r.q.n)
		r.mu.Unlock()
		if got >= n {
			return
		}
		runtime.Gosched()
	}
}

func TestAskStartsNoGoroutine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewSupervisor(context.Background())
		r := Spawn(s, &counter{})
		rel := make(chan struct{})
		r.Send(func(*counter) { <-rel })
		const askers = 50
		var wg sync.WaitGroup
		for range askers {
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
				defer cancel()
				if _, err := Ask(ctx, r, func(*counter) (int, error) { return 0, nil }); err != nil {
					t.Errorf("Ask = %v", err)
				}
			})
		}
		synctest.Wait()
		// The callers and the one blocked activation: nothing per Ask.
		if got := goroutines("actor.Ask["); got != askers {
			t.Errorf("%d pending Asks: %d goroutines in Ask, want %d", askers, got, askers)
		}
		if got := goroutines("actor.(*Ref[...]).run("); got != 1 {
			t.Errorf("%d pending Asks: %d activations, want 1", askers, got)
		}
		close(rel)
		wg.Wait()
		s.Stop()
		s.Wait()
	})
}

// allStacks returns the stacks of every goroutine, as runtime.Stack gives them.
func allStacks() []byte {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	return buf
}

// goroutines counts the goroutines whose stack mentions fn.
func goroutines(fn string) int {
	buf := allStacks()
	count := 0
	for _, g := range bytes.Split(buf, []byte("\n\n")) {
		if bytes.Contains(g, []byte(fn)) {
			count++
		}
	}
	return count
}

func TestIdleActorsHoldNoGoroutine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewSupervisor(context.Background())
		refs := make([]*Ref[counter], 1000)
		for i := range refs {
			refs[i] = Spawn(s, &counter{})
			refs[i].Send(func(c *counter) { c.n++ })
		}
		for _, r := range refs {
			get(t, r, func(c *counter) int { return c.n })
		}
		synctest.Wait() // every activation has found its mailbox empty and ended
		if got := goroutines("actor.(*Ref[...]).run("); got != 0 {
			t.Errorf("1000 idle actors hold %d goroutines, want 0", got)
		}
		if got := goroutines("actor.(*Supervisor)."); got != 0 {
			t.Errorf("their supervisor holds %d goroutines, want 0", got)
		}
		s.Stop()
		if err := s.Wait(); err != nil {
			t.Fatal(err)
		}
	})
}

func TestPanicFailsActor(t *testing.T) {
	s := NewSupervisor(context.Background())
	r := Spawn(s, &hooked{}, WithName("worker"))
	other := Spawn(s, &counter{})
	started, rel := make(chan struct{}), make(chan struct{})
	r.Send(func(*hooked) { close(started); <-rel; panic("boom") })
	<-started
	ranAfter := false
	r.Send(func(*hooked) { ranAfter = true })
	askErr := make(chan error)
	go func() {
		_, err := Ask(context.Background(), r, func(*hooked) (int, error) { return 0, nil })
		askErr <- err
	}()
	waitQueued(t, r, 2)
	close(rel)
	if err := <-askErr; !errors.Is(err, ErrStopped) {
		t.Fatalf("pending Ask of a failed actor = %v, want ErrStopped", err)
	}
	err := r.Wait()
	var pe *PanicError
	if !errors.As(err, &pe) {
		t.Fatalf("Wait = %v, want a *PanicError", err)
	}
	if pe.Value != "boom" {
		t.Errorf("PanicError.Value = %v, want boom", pe.Value)
	}
	if !strings.Contains(string(pe.Stack), "TestPanicFailsActor") {
		t.Errorf("PanicError.Stack does not show the panicking function:\n%s", pe.Stack)
	}
	if msg := err.Error(); !strings.Contains(msg, "worker") || !strings.Contains(msg, "boom") {
		t.Errorf("Error() = %q, want the name and the value", msg)
	}
	if ranAfter {
		t.Error("a message queued behind the panic ran")
	}
	if !r.state.stopped {
		t.Error("OnStop did not run after the failure")
	}
	// Reported early: the failure stops the other actors without anyone calling Wait.
	<-other.Done()
	if err := other.Wait(); err != nil {
		t.Errorf("other actor's Wait = %v, want nil (stopped gracefully)", err)
	}
	if err := s.Wait(); !errors.Is(err, pe) {
		t.Fatalf("Supervisor.Wait = %v, want the actor's *PanicError wrapped", err)
	}
}

func TestPanicInAskReturnsPanicError(t *testing.T) {
	s := newSup(t)
	r := Spawn(s, &counter{}, WithRestart(1, time.Hour))
	cause := errors.New("cause")
	_, err := Ask(context.Background(), r, func(*counter) (int, error) { panic(cause) })
	var pe *PanicError
	if !errors.As(err, &pe) || !errors.Is(err, cause) {
		t.Fatalf("Ask = %v, want a *PanicError wrapping the panic's error", err)
	}
	_, err = Ask(context.Background(), r, func(*counter) (int, error) { panic(nil) })
	var pn *runtime.PanicNilError
	if !errors.As(err, &pe) || !errors.As(err, &pn) {
		t.Fatalf("Ask after panic(nil) = %v, want a *PanicError with *runtime.PanicNilError", err)
	}
	if err := r.Wait(); !errors.As(err, &pe) {
		t.Fatalf("Wait = %v, want the second panic (max 1)", err)
	}
}

func TestRestart(t *testing.T) {
	s := newSup(t)
	h := &hooked{}
	r := Spawn(s, h, WithRestart(3, time.Hour))
	release := block(t, r)
	ran := 0
	r.Send(func(*hooked) { ran++ })
	r.Send(func(*hooked) { panic("first") })
	r.Send(func(*hooked) { ran++ })
	errc := make(chan error)
	go func() {
		_, err := Ask(context.Background(), r, func(*hooked) (int, error) { panic("second") })
		errc <- err
	}()
	waitQueued(t, r, 4)
	r.Send(func(*hooked) { ran++ })
	release()
	var pe *PanicError
	if err := <-errc; !errors.As(err, &pe) || pe.Value != "second" {
		t.Fatalf("Ask that panicked = %v, want its *PanicError", err)
	}
	got := get(t, r, func(h *hooked) [2]int { return [2]int{ran, h.started} })
	if got != [2]int{3, 3} {
		t.Fatalf("ran %d messages with OnStart run %d times, want 3 and 3 (start, two restarts)", got[0], got[1])
	}
	// Two panics used; two more exceed max 3.
	r.Send(func(*hooked) { panic("third") })
	r.Send(func(*hooked) { panic("fourth") })
	if err := r.Wait(); !errors.As(err, &pe) || pe.Value != "fourth" {
		t.Fatalf("Wait = %v, want the fourth panic", err)
	}
}

func TestRestartWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewSupervisor(context.Background())
		r := Spawn(s, &counter{}, WithRestart(2, time.Minute))
		boom := func(*counter) { panic("boom") }
		// Two panics a minute, forever, never exceed 2 within a minute.
		for range 5 {
			r.Send(boom)
			r.Send(boom)
			time.Sleep(time.Minute)
		}
		synctest.Wait()
		select {
		case <-r.Done():
			t.Fatal("actor failed with two panics a minute under WithRestart(2, time.Minute)")
		default:
		}
		r.Send(boom)
		r.Send(boom)
		r.Send(boom)
		var pe *PanicError
		if err := r.Wait(); !errors.As(err, &pe) {
			t.Fatalf("Wait = %v, want *PanicError after three panics within a minute", err)
		}
		s.Wait()
	})
}

func TestOnStart(t *testing.T) {
	t.Run("binds Self first", func(t *testing.T) {
		s := newSup(t)
		var self *Ref[hooked]
		r := Spawn(s, &hooked{onStart: func(h *hooked) { self = h.Self() }})
		get(t, r, func(*hooked) int { return 0 })
		if self != r {
			t.Fatalf("Self() in OnStart = %v, want %v", self, r)
		}
	})
	t.Run("error fails", func(t *testing.T) {
		s := NewSupervisor(context.Background())
		cause := errors.New("no config")
		r := Spawn(s, &hooked{startErr: cause}, WithName("loader"), WithRestart(5, time.Hour))
		err := r.Wait()
		if !errors.Is(err, cause) || !strings.Contains(err.Error(), "loader") {
			t.Fatalf("Wait = %v, want an error naming loader and wrapping the cause", err)
		}
		if !r.state.stopped {
			t.Fatal("OnStop did not run")
		}
		if err := s.Wait(); !errors.Is(err, cause) {
			t.Fatalf("Supervisor.Wait = %v, want the cause", err)
		}
	})
	t.Run("panic restarts", func(t *testing.T) {
		s := newSup(t)
		r := Spawn(s, &hooked{onStart: func(h *hooked) {
			if h.started == 1 {
				panic("first start")
			}
		}}, WithRestart(1, time.Hour))
		if got := get(t, r, func(h *hooked) int { return h.started }); got != 2 {
			t.Fatalf("OnStart ran %d times, want 2", got)
		}
	})
}

func TestGoexitFails(t *testing.T) {
	for _, restart := range []bool{false, true} {
		s := NewSupervisor(context.Background())
		var opts []Option
		if restart {
			opts = append(opts, WithRestart(10, time.Hour))
		}
		r := Spawn(s, &hooked{}, opts...)
		other := Spawn(s, &counter{})
		started, rel := make(chan struct{}), make(chan struct{})
		r.Send(func(*hooked) { close(started); <-rel })
		<-started
		queued := make(chan error)
		go func() {
			_, err := Ask(context.Background(), r, func(*hooked) (int, error) { return 0, nil })
			queued <- err
		}()
		waitQueued(t, r, 1)
		goexitAsk := make(chan error)
		go func() {
			// Ask from a goroutine that is not the queued one, with fn calling Goexit.
			_, err := Ask(context.Background(), r, func(*hooked) (int, error) { runtime.Goexit(); return 0, nil })
			goexitAsk <- err
		}()
		waitQueued(t, r, 2)
		r.mu.Lock()
		var slots []*any
		r.q.each(0, func(m *any) { slots = append(slots, m) })
		*slots[0], *slots[1] = *slots[1], *slots[0] // the Goexit first
		r.mu.Unlock()
		close(rel)
		if err := <-goexitAsk; !errors.Is(err, ErrGoexit) {
			t.Errorf("restart=%v: Ask whose fn called Goexit = %v, want ErrGoexit", restart, err)
		}
		if err := <-queued; !errors.Is(err, ErrStopped) {
			t.Errorf("restart=%v: Ask queued behind Goexit = %v, want ErrStopped", restart, err)
		}
		if err := r.Wait(); !errors.Is(err, ErrGoexit) {
			t.Errorf("restart=%v: Wait = %v, want ErrGoexit", restart, err)
		}
		if !r.state.stopped {
			t.Errorf("restart=%v: OnStop did not run", restart)
		}
		<-other.Done()
		if err := s.Wait(); !errors.Is(err, ErrGoexit) {
			t.Errorf("restart=%v: Supervisor.Wait = %v, want ErrGoexit (errgroup alone would say nil)", restart, err)
		}
	}
}

func TestFailureReleasesBlockedSendContext(t *testing.T) {
	s := NewSupervisor(context.Background())
	r := Spawn(s, &counter{}, WithMailboxSize(1))
	started, rel := make(chan struct{}), make(chan struct{})
	r.Send(func(*counter) { close(started); <-rel; panic("boom") })
	<-started
	r.Send(func(*counter) {})
	errc := make(chan error)
	go func() { errc <- r.SendContext(context.Background(), func(*counter) {}) }()
	for {
		r.mu.Lock()
		waiting := r.life != nil && r.life.room != nil
		r.mu.Unlock()
		if waiting {
			break
		}
		runtime.Gosched()
	}
	close(rel)
	if err := <-errc; !errors.Is(err, ErrStopped) {
		t.Fatalf("SendContext blocked on a failing actor = %v, want ErrStopped", err)
	}
	s.Wait()
}

func TestPanicInOnStop(t *testing.T) {
	s := NewSupervisor(context.Background())
	r := Spawn(s, &hooked{onStop: func(*hooked) { panic("in OnStop") }}, WithRestart(5, time.Hour))
	r.Stop()
	var pe *PanicError
	if err := r.Wait(); !errors.As(err, &pe) || pe.Value != "in OnStop" {
		t.Fatalf("Wait = %v, want OnStop's *PanicError (no restart while stopping)", err)
	}
	if err := s.Wait(); !errors.As(err, &pe) {
		t.Fatalf("Supervisor.Wait = %v, want the *PanicError", err)
	}
}

func TestSelf(t *testing.T) {
	var b Base[counter]
	if b.Self() != nil {
		t.Fatal("Self of an unbound Base is not nil")
	}
	s := newSup(t)
	c := &counter{}
	r := Spawn(s, c)
	if c.Self() != r {
		t.Fatal("Self() is not the Ref Spawn returned")
	}
	// Spawning a live actor's state again would let two goroutines share it.
	mustPanic(t, "actor: Spawn: state already belongs", func() { Spawn(s, c) })
	if c.Self() != r {
		t.Fatal("a refused Spawn rebound Self")
	}
	r.Stop()
	r.Wait()
	if r2 := Spawn(s, c); c.Self() != r2 {
		t.Fatal("respawning an ended actor's state did not bind Self")
	}
	// Actors need not embed Base.
	type plain struct{ n int }
	p := Spawn(s, &plain{})
	if got := get(t, p, func(p *plain) int { p.n++; return p.n }); got != 1 {
		t.Fatalf("plain actor returned %d", got)
	}
}

func mustPanic(t *testing.T, want string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		v := recover()
		msg, _ := v.(string)
		if !strings.Contains(msg, want) {
			t.Errorf("panic %v, want one containing %q", v, want)
		}
	}()
	f()
}

func TestBadInputPanics(t *testing.T) {
	s := newSup(t)
	var nilRef *Ref[counter]
	var zeroSup Supervisor
	for want, f := range map[string]func(){
		"actor: Spawn: nil state":                  func() { Spawn[counter](s, nil) },
		"actor: Spawn: nil Supervisor":             func() { Spawn(nil, &counter{}) },
		"actor: Spawn: nil Supervisor (Supervisor": func() { Spawn(&zeroSup, &counter{}) },
		"actor: Spawn: nil Option":                 func() { Spawn(s, &counter{}, nil) },
		"actor: WithMailboxSize: size must be":     func() { WithMailboxSize(0) },
		"actor: WithRestart: negative max":         func() { WithRestart(-1, time.Second) },
		"actor: WithRestart: within must be":       func() { WithRestart(1, 0) },
		"actor: WithName: empty name":              func() { WithName("") },
		//lint:ignore SA1012 the test checks the panic for a nil Context
		"actor: NewSupervisor: nil Context": func() { NewSupervisor(nil) },
		"actor: Send on a nil or zero Ref":  func() { nilRef.Send(func(*counter) {}) },
		"actor: Stop on a nil or zero Ref":  func() { new(Ref[counter]).Stop() },
		"actor: Ask on a nil or zero Ref":   func() { Ask(context.Background(), nilRef, func(*counter) (int, error) { return 0, nil }) },
		"actor: Supervisor.Wait on a nil":   func() { zeroSup.Wait() },
		"actor: SendContext: nil Context": func() {
			//lint:ignore SA1012 the test checks the panic for a nil Context
			Spawn(s, &counter{}).SendContext(nil, func(*counter) {})
		},
		"actor: AskErr: nil Context": func() {
			//lint:ignore SA1012 the test checks the panic for a nil Context
			AskErr(nil, Spawn(s, &counter{}), func(*counter) error { return nil })
		},
		"actor: RequestErr: nil Context": func() {
			r := Spawn(s, &counter{})
			//lint:ignore SA1012 the test checks the panic for a nil Context
			RequestErr(nil, r, func(*counter) error { return nil }, r, func(*counter, error) {})
		},
	} {
		mustPanic(t, want, f)
	}
}

func TestNames(t *testing.T) {
	s := newSup(t)
	named := Spawn(s, &counter{}, WithName("worker"))
	if got := named.String(); got != "worker" {
		t.Errorf("String() = %q, want worker", got)
	}
	anon := Spawn(s, &counter{})
	if got := anon.String(); !regexp.MustCompile(`^counter#\d+$`).MatchString(got) {
		t.Errorf("generated name %q, want counter#N", got)
	}
	if anon.String() == Spawn(s, &counter{}).String() {
		t.Error("two actors got the same generated name")
	}
	// The goroutine running the actor carries the pprof label actor=worker.
	var dump bytes.Buffer
	get(t, named, func(*counter) int {
		pprof.Lookup("goroutine").WriteTo(&dump, 1)
		return 0
	})
	if !strings.Contains(dump.String(), `"actor":"worker"`) {
		t.Errorf("goroutine profile taken inside a message has no actor=worker label:\n%s", dump.String())
	}
	// An unnamed actor's goroutine carries its type's name.
	dump.Reset()
	get(t, anon, func(*counter) int {
		pprof.Lookup("goroutine").WriteTo(&dump, 1)
		return 0
	})
	if !strings.Contains(dump.String(), `"actor":"counter"`) {
		t.Errorf("goroutine profile inside an unnamed actor's message has no actor=counter label:\n%s", dump.String())
	}
}

// Regression tests for bugs found in review.

type goexitInOnStop struct{ startErr error }

func (g *goexitInOnStop) OnStart() error { return g.startErr }
func (g *goexitInOnStop) OnStop()        { runtime.Goexit() }

func TestGoexitInOnStopAfterFailure(t *testing.T) {
	// OnStart's error made finish run OnStop, whose Goexit then ran finish a second time
	// and closed Done twice, crashing the program.
	s := NewSupervisor(context.Background())
	cause := errors.New("no config")
	r := Spawn(s, &goexitInOnStop{startErr: cause})
	if err := r.Wait(); !errors.Is(err, cause) {
		t.Fatalf("Wait = %v, want OnStart's error", err)
	}
	if err := s.Wait(); !errors.Is(err, cause) {
		t.Fatalf("Supervisor.Wait = %v, want OnStart's error", err)
	}
}

func TestGoexitInOnStopOnGracefulStop(t *testing.T) {
	s := NewSupervisor(context.Background())
	r := Spawn(s, &goexitInOnStop{})
	r.Stop()
	if err := r.Wait(); !errors.Is(err, ErrGoexit) {
		t.Fatalf("Wait = %v, want ErrGoexit", err)
	}
	s.Wait()
}

func TestSpawnAfterStopReturnedIsStopped(t *testing.T) {
	// Stop used to leave the stopped flag to the drain, which starts a moment later.
	for range 200 {
		s := NewSupervisor(context.Background())
		s.Stop()
		r := Spawn(s, &hooked{})
		if err := r.Send(func(*hooked) {}); !errors.Is(err, ErrStopped) {
			t.Fatalf("Send to a Ref spawned after Stop = %v, want ErrStopped", err)
		}
		if err := r.Wait(); !errors.Is(err, ErrStopped) {
			t.Fatalf("Wait on a Ref spawned after Stop = %v, want ErrStopped", err)
		}
		if r.state.started != 0 {
			t.Fatal("OnStart ran for a Ref spawned after Stop")
		}
		s.Wait()
	}
}

func TestSpawnAfterParentCancelIsStopped(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	s := NewSupervisor(ctx)
	cancel()
	if err := Spawn(s, &counter{}).Send(func(*counter) {}); !errors.Is(err, ErrStopped) {
		t.Fatalf("Send to a Ref spawned after the context ended = %v, want ErrStopped", err)
	}
	if err := s.Wait(); err != nil {
		t.Fatalf("Supervisor.Wait after its context was cancelled = %v, want nil", err)
	}
}

func TestSpawnSameStateDoesNotRace(t *testing.T) {
	// The refused Spawn used to write Self and put it back, racing with the owner's reads.
	s := newSup(t)
	c := &counter{}
	r := Spawn(s, c)
	in, rel := make(chan struct{}), make(chan struct{})
	r.Send(func(c *counter) {
		close(in)
		<-rel
		for range 100 {
			_ = c.Self()
		}
	})
	<-in
	close(rel)
	mustPanic(t, "already belongs", func() { Spawn(s, c) })
	get(t, r, func(*counter) int { return 0 })
}

func TestSpawnNilEmbeddedBase(t *testing.T) {
	type byPointer struct{ *Base[byPointer] }
	s := newSup(t)
	mustPanic(t, "actor: Spawn: state embeds a nil *Base", func() { Spawn(s, &byPointer{}) })
}

func TestStopEndsOnStartPanicLoop(t *testing.T) {
	// With a window shorter than a restart, an OnStart that always panics restarts for
	// ever; Stop must still end the actor.
	s := NewSupervisor(context.Background())
	r := Spawn(s, &hooked{onStart: func(*hooked) { panic("always") }}, WithRestart(1, time.Nanosecond))
	r.Stop()
	var pe *PanicError
	if err := r.Wait(); !errors.As(err, &pe) {
		t.Fatalf("Wait = %v, want the *PanicError of OnStart", err)
	}
	s.Wait()
}

func TestAskErr(t *testing.T) {
	s := newSup(t)
	r := Spawn(s, &counter{})
	ctx := context.Background()
	want := errors.New("refused")
	if err := AskErr(ctx, r, func(c *counter) error { c.n = 5; return want }); err != want {
		t.Fatalf("AskErr = %v, want %v", err, want)
	}
	// The effect happened before AskErr returned.
	if r.state.n != 5 {
		t.Fatalf("state after AskErr = %d, want 5", r.state.n)
	}
	if err := AskErr(ctx, r, func(c *counter) error { return nil }); err != nil {
		t.Fatalf("AskErr = %v, want nil", err)
	}
	if err := AskErr[counter](ctx, r, nil); !errors.Is(err, ErrNilMessage) {
		t.Fatalf("AskErr(nil) = %v, want ErrNilMessage", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := AskErr(cancelled, r, func(c *counter) error { c.n++; return nil }); !errors.Is(err, context.Canceled) {
		t.Fatalf("AskErr(cancelled ctx) = %v, want context.Canceled", err)
	}
	r.Stop()
	if err := AskErr(ctx, r, func(*counter) error { return nil }); !errors.Is(err, ErrStopped) {
		t.Fatalf("AskErr after Stop = %v, want ErrStopped", err)
	}
	if r.state.n != 5 {
		t.Fatalf("a refused AskErr ran: n = %d, want 5", r.state.n)
	}
}
