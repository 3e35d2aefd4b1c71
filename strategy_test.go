package actor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// Tests for strategy.go (issue 9, semantics 4, 5 and 7): which children a restart takes,
// in what order, how many restarts the intensity allows, and the backoff between them. The
// helpers (part, journal, bubble...) are in tree_test.go.

// 4. Strategies.

// TestStrategies: OneForOne restarts the failed child, OneForAll all of them, RestForOne
// the failed one and those spawned after it; the others are brought down in reverse spawn
// order and all are brought up in spawn order once all are down.
func TestStrategies(t *testing.T) {
	for _, c := range []struct {
		st   Strategy
		gens [4]int // a, b, c, d after b fails
	}{
		{OneForOne, [4]int{1, 2, 1, 1}},
		{OneForAll, [4]int{2, 2, 2, 2}},
		{RestForOne, [4]int{1, 2, 2, 2}},
	} {
		t.Run(c.st.String(), func(t *testing.T) {
			s := newTree(t, within(1, WithStrategy(c.st))...)
			j := &journal{}
			var refs []*Ref[part]
			for _, name := range []string{"a", "b", "c", "d"} {
				r, _ := spawnPart(s, j, name)
				genOf(t, r)
				refs = append(refs, r)
			}
			j.take()
			crash(t, refs[1], "boom")
			genOf(t, refs[1]) // b is up: the others are down, or up again already
			waitIdle(s)       // the restart is over
			var gens [4]int
			for i, r := range refs {
				gens[i] = genOf(t, r)
			}
			if gens != c.gens {
				t.Fatalf("after b failed under %v the states are %v, want %v", c.st, gens, c.gens)
			}
			var want []string // the siblings' stops, reverse order, then every start in order
			for i := 3; i >= 0; i-- {
				if c.gens[i] == 2 && i != 1 {
					want = append(want, fmt.Sprintf("%c#1 stop", 'a'+i))
				}
			}
			for i := range 4 {
				if c.gens[i] == 2 {
					want = append(want, fmt.Sprintf("%c#2 start", 'a'+i))
				}
			}
			// b, which failed, goes down by itself, before anything comes up.
			ev := j.take()
			bStop := slices.Index(ev, "b#1 stop")
			firstStart := slices.IndexFunc(ev, func(e string) bool { return strings.HasSuffix(e, " start") })
			if bStop < 0 || bStop > firstStart {
				t.Fatalf("events %v: b's OnStop missing or after a start", ev)
			}
			ev = slices.Delete(ev, bStop, bStop+1)
			if got := slices.DeleteFunc(ev, func(e string) bool { return strings.HasSuffix(e, " new") }); !slices.Equal(got, want) {
				t.Fatalf("restart events under %v = %v, want %v", c.st, got, want)
			}
		})
	}
}

// TestStrategiesCountChildSupervisorsInOrder: a child supervisor takes its place in its
// parent's spawn order: RestForOne restarts it (its whole subtree, fresh) when a child
// spawned before it fails, and leaves it alone when one spawned after it does.
func TestStrategiesCountChildSupervisorsInOrder(t *testing.T) {
	s := newTree(t, within(5, WithStrategy(RestForOne))...)
	j := &journal{}
	a, _ := spawnPart(s, j, "a")
	c := s.NewChild()
	x, _ := spawnPart(c, j, "x")
	b, _ := spawnPart(s, j, "b")
	gens := func(failed *Ref[part]) [3]int {
		// The failed child answers once it is up again, within the restart; then the
		// restart ends.
		genOf(t, failed)
		waitIdle(s)
		return [3]int{genOf(t, a), genOf(t, x), genOf(t, b)}
	}
	crash(t, a, "a")
	if got := gens(a); got != [3]int{2, 2, 2} {
		t.Fatalf("after a failed under RestForOne, a, c's x, b run states %v, want [2 2 2]", got)
	}
	crash(t, b, "b")
	if got := gens(b); got != [3]int{2, 2, 3} {
		t.Fatalf("after b failed under RestForOne, a, c's x, b run states %v, want [2 2 3]", got)
	}
}

// TestRestartedSiblingsFinishTheirMessage: a sibling restarted because of another child's
// failure finishes the message it is running (and its Context says it is the last of the
// incarnation), is brought down in its turn, in reverse spawn order, and what was queued
// behind it runs on its new state, after all are up again.
func TestRestartedSiblingsFinishTheirMessage(t *testing.T) {
	bubble(t, within(1, WithStrategy(OneForAll)), func(t *testing.T, s *Supervisor) {
		j := &journal{}
		a, _ := spawnPart(s, j, "a")
		b, _ := spawnPart(s, j, "b")
		c, _ := spawnPart(s, j, "c")
		for _, r := range []*Ref[part]{a, b, c} {
			genOf(t, r)
		}
		// The running message and one behind it are taken together, as one batch, and
		// one more waits in the mailbox: both of those must wait for the new state.
		first := block(t, a)
		started, rel := make(chan struct{}), make(chan struct{})
		finished := false
		a.Send(func(*part) { close(started); <-rel; finished = true })
		a.Send(func(p *part) { j.add(p.name, p.gen, "batched") })
		first()
		<-started
		a.Send(func(p *part) { j.add(p.name, p.gen, "queued") })
		ctx := a.Context()
		j.take()
		crash(t, c, "boom")
		synctest.Wait() // c and b are down; the restart waits for a's message
		if got := j.take(); !slices.Equal(got, []string{"c#1 stop", "b#1 stop"}) {
			t.Fatalf("while a runs its message, events = %v, want [c#1 stop b#1 stop]", got)
		}
		if ctx.Err() == nil || !errors.Is(context.Cause(ctx), ErrStopped) {
			t.Fatalf("a's Context while it is being brought down: Err %v, Cause %v; want done with ErrStopped", ctx.Err(), context.Cause(ctx))
		}
		close(rel)
		if got := genOf(t, a); got != 2 || !finished {
			t.Fatalf("after the restart a runs state #%d, its message finished %v; want #2, true", got, finished)
		}
		genOf(t, c)
		want := []string{"a#1 stop", "a#2 new", "a#2 start", "b#2 new", "b#2 start", "c#2 new", "c#2 start"}
		ev := j.take()
		i, k := slices.Index(ev, "a#2 batched"), slices.Index(ev, "a#2 queued")
		if i < slices.Index(ev, "a#2 start") || k != i+1 || !slices.Equal(slices.Delete(ev, i, k+1), want) {
			t.Fatalf("events after a's message = %v, want %v with a#2 batched, a#2 queued after a#2 start", ev, want)
		}
		if a.Context().Err() != nil {
			t.Fatal("a's Context after the restart is done, want the new incarnation's")
		}
	})
}

// TestIntensityCountsAllChildren: the restarts of all of a supervisor's children count
// against one intensity.
func TestIntensityCountsAllChildren(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewSupervisor(context.Background(), WithIntensity(2, time.Hour))
		j := &journal{}
		a, _ := spawnPart(s, j, "a")
		b, _ := spawnPart(s, j, "b")
		c, _ := spawnPart(s, j, "c")
		crash(t, a, "a")
		crash(t, b, "b")
		if ga, gb := genOf(t, a), genOf(t, b); ga != 2 || gb != 2 {
			t.Fatalf("after one failure each a, b run states #%d, #%d; want #2, #2", ga, gb)
		}
		crash(t, c, "c")
		err := s.Wait()
		var pe *PanicError
		if !errors.As(err, &pe) || pe.Value != "c" {
			t.Fatalf("Wait after three children failed once each under intensity 2 = %v, want c's *PanicError", err)
		}
	})
}

// TestOverlappingRestartsComeUpInOrder is the regression test for two group restarts with
// backoffs that overlap: RestForOne restarts c and d after a backoff; before it is over, a
// fails and its restart (a longer backoff) brings down a, b, c, d. The first backoff then
// brings c and d up while a and b are still down, which the strategy exists to prevent.
func TestOverlappingRestartsComeUpInOrder(t *testing.T) {
	opts := within(10, WithStrategy(RestForOne), WithBackoff(time.Second, 10*time.Second))
	bubble(t, opts, func(t *testing.T, s *Supervisor) {
		j := &journal{}
		var refs []*Ref[part]
		for _, name := range []string{"a", "b", "c", "d"} {
			r, _ := spawnPart(s, j, name)
			refs = append(refs, r)
		}
		a, c := refs[0], refs[2]
		crash(t, a, "first") // a's first restart: all, after 1-2s
		for _, r := range refs {
			genOf(t, r)
		}
		synctest.Wait()
		j.take()
		crash(t, c, "c") // c and d, after 1-2s
		synctest.Wait()
		crash(t, a, "second") // a's second in a row: all, after 2-4s
		synctest.Wait()
		for _, r := range refs {
			genOf(t, r)
		}
		got := only(j.take(), "start")
		if want := []string{"a#3 start", "b#3 start", "c#3 start", "d#3 start"}; !slices.Equal(got, want) {
			t.Fatalf("starts after overlapping RestForOne restarts = %v, want %v", got, want)
		}
	})
}

// 5. Intensity.

// TestIntensityWindow: more than max restarts within the window give up; restarts spread
// further apart than the window never do.
func TestIntensityWindow(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewSupervisor(context.Background(), WithIntensity(2, 10*time.Second))
		r, _ := spawnPart(s, &journal{}, "a")
		t0 := time.Now()
		for i, at := range []time.Duration{0, 5 * time.Second, 12 * time.Second} {
			time.Sleep(at - time.Since(t0))
			crash(t, r, i)
			if got := genOf(t, r); got != i+2 {
				t.Fatalf("failure %d at %v: the actor runs state #%d, want #%d (restarted)", i+1, at, got, i+2)
			}
		}
		// 12s and now 13s: with 5s, three within 10s.
		time.Sleep(time.Second)
		crash(t, r, 3)
		err := s.Wait()
		var pe *PanicError
		if !errors.As(err, &pe) || pe.Value != 3 {
			t.Fatalf("Wait after a third failure within 10s = %v, want its *PanicError", err)
		}
	})
}

// TestDefaultIntensityGivesUpAtFirstFailure: without WithIntensity the first failure makes
// the supervisor give up, exactly as before trees: every other actor stops gracefully
// (runs what it accepted, then OnStop), and Wait returns the failure.
func TestDefaultIntensityGivesUpAtFirstFailure(t *testing.T) {
	s := NewSupervisor(context.Background())
	j := &journal{}
	a := Spawn(s, &part{name: "a", gen: 1, j: j})
	b := Spawn(s, &part{name: "b", gen: 1, j: j})
	release := block(t, a)
	ran := 0
	for range 3 {
		a.Send(func(*part) { ran++ })
	}
	boom := errors.New("boom")
	b.Send(func(*part) { panic(boom) })
	<-b.Done()
	release()
	err := s.Wait()
	if !errors.Is(err, boom) || !errors.Is(err, b.Wait()) {
		t.Fatalf("Wait = %v, want b's failure wrapping boom", err)
	}
	if err := a.Wait(); err != nil || ran != 3 {
		t.Fatalf("a after the give-up: Wait = %v, ran %d of its 3 accepted messages; want nil, 3", err, ran)
	}
	if got := only(j.take(), "stop"); !slices.Equal(got, []string{"b#1 stop", "a#1 stop"}) {
		t.Fatalf("stops = %v, want [b#1 stop a#1 stop]", got)
	}
}

// 7. Backoff.

// TestBackoffDelays: the k-th consecutive restart of a child waits min·2^(k-1), capped at
// max, plus a jitter that only lengthens it, at most to double; a child that runs cleanly
// for max starts from min again.
func TestBackoffDelays(t *testing.T) {
	const sec = time.Second
	bubble(t, within(100, WithBackoff(sec, 4*sec)), func(t *testing.T, s *Supervisor) {
		r, _ := spawnPart(s, &journal{}, "a")
		genOf(t, r)
		jittered := false
		restart := func(k int, base time.Duration) {
			t.Helper()
			t0 := time.Now()
			crash(t, r, k)
			genOf(t, r) // runs once the actor is up again
			d := time.Since(t0)
			if d < base || d > 2*base {
				t.Errorf("restart %d waited %v, want %v to %v", k, d, base, 2*base)
			}
			jittered = jittered || d != base
		}
		for k, base := range []time.Duration{sec, 2 * sec, 4 * sec, 4 * sec} {
			restart(k+1, base)
		}
		time.Sleep(4 * sec) // clean for max: from min again
		restart(5, sec)
		time.Sleep(3 * sec) // less than max: still consecutive
		restart(6, 2*sec)
		if !jittered {
			t.Error("six restarts all waited exactly their base: no jitter")
		}
	})
}

// TestBackoffWait: while a child waits out its backoff its mailbox accepts messages (a
// bounded one stays bounded), nothing runs and no goroutine waits; once it is over the
// queued messages run on the new state; Stop during the wait ends the actor at once.
func TestBackoffWait(t *testing.T) {
	for _, stop := range []bool{false, true} {
		name := map[bool]string{false: "wait over", true: "Stop during the wait"}[stop]
		t.Run(name, func(t *testing.T) {
			bubble(t, within(5, WithBackoff(time.Minute, time.Minute)), func(t *testing.T, s *Supervisor) {
				j := &journal{}
				r, f := spawnPart(s, j, "a", WithMailboxSize(2))
				genOf(t, r)
				j.take()
				r.Send(func(*part) { panic("boom") })
				synctest.Wait() // failed, down, waiting
				t0 := time.Now()
				if err := r.Send(func(p *part) { j.add(p.name, p.gen, "queued") }); err != nil {
					t.Fatalf("Send during the backoff = %v, want nil", err)
				}
				asked := make(chan error)
				go func() {
					_, err := Ask(context.Background(), r, func(*part) (int, error) { return 0, nil })
					asked <- err
				}()
				synctest.Wait()
				if err := r.Send(func(*part) {}); !errors.Is(err, ErrMailboxFull) {
					t.Fatalf("third Send to a bounded mailbox of 2 during the backoff = %v, want ErrMailboxFull", err)
				}
				if got := libraryGoroutines(); got != 0 {
					t.Errorf("during the backoff the actor and its supervisor hold %d goroutines, want 0", got)
				}
				time.Sleep(30 * time.Second)
				if ev := j.take(); !slices.Equal(ev, []string{"a#1 stop"}) || f.calls.Load() != 1 {
					t.Fatalf("30s into a 1-2 min backoff: events %v, newState calls %d; want only a#1 stop, 1", ev, f.calls.Load())
				}
				if stop {
					r.Stop()
					if err := r.Wait(); err != nil {
						t.Fatalf("Wait after Stop during the backoff = %v, want nil", err)
					}
					if d := time.Since(t0); d != 30*time.Second {
						t.Fatalf("Stop during the backoff took until %v, want at once (30s)", d)
					}
					if err := <-asked; !errors.Is(err, ErrStopped) {
						t.Fatalf("Ask queued during the backoff, after Stop = %v, want ErrStopped", err)
					}
					return
				}
				if err := <-asked; err != nil {
					t.Fatalf("Ask queued during the backoff = %v, want nil", err)
				}
				if d := time.Since(t0); d < time.Minute || d > 2*time.Minute {
					t.Fatalf("the queued Ask ran after %v, want after the 1-2 min backoff", d)
				}
				if ev, want := j.take(), []string{"a#2 new", "a#2 start", "a#2 queued"}; !slices.Equal(ev, want) {
					t.Fatalf("events after the backoff = %v, want %v", ev, want)
				}
			})
		})
	}
}

// TestGroupBackoffWait: a OneForAll restart's backoff keeps every child down without a
// goroutine, and stopping the supervisor during it ends them all at once.
func TestGroupBackoffWait(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewSupervisor(context.Background(), WithStrategy(OneForAll), WithIntensity(5, time.Hour),
			WithBackoff(time.Minute, time.Minute))
		j := &journal{}
		a, _ := spawnPart(s, j, "a")
		b, _ := spawnPart(s, j, "b")
		genOf(t, a)
		genOf(t, b)
		crash(t, b, "boom")
		synctest.Wait()
		if got := only(j.take(), "stop"); len(got) != 2 {
			t.Fatalf("stops after b failed = %v, want both down", got)
		}
		if got := libraryGoroutines(); got != 0 {
			t.Errorf("during a OneForAll backoff the actors and their supervisor hold %d goroutines, want 0", got)
		}
		t0 := time.Now()
		s.Stop()
		if err := s.Wait(); err != nil {
			t.Fatalf("Wait after Stop during the backoff = %v, want nil", err)
		}
		if d := time.Since(t0); d != 0 {
			t.Fatalf("Stop during a group backoff took %v, want at once", d)
		}
		if ev := j.take(); len(ev) != 0 {
			t.Fatalf("events after Stop during the backoff = %v, want none (nothing comes up)", ev)
		}
	})
}
