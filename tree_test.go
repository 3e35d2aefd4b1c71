package actor

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// Tests for supervision trees (issue 9), and the helpers of the tree tests: here the tree
// itself, failures, a child supervisor's restart, giving up, the core promises in a tree
// and bad input (semantics 1, 2, 3 for supervisors, 6 and 11); strategy_test.go has the
// strategies, intensity and backoff, lifecycle_test.go what a restart does to an actor,
// deadlines and Ref.Context. Each test's comment says what it proves; everything that
// depends on time runs inside synctest. Tests named as regression tests pin bugs of the
// implementation; they pass since the fixes.

// journal records lifecycle events of the actors of one test, in the order they happened,
// as "<name>#<gen> <what>".
type journal struct {
	mu sync.Mutex
	ev []string
}

func (j *journal) add(name string, gen int, what string) {
	j.mu.Lock()
	j.ev = append(j.ev, fmt.Sprintf("%s#%d %s", name, gen, what))
	j.mu.Unlock()
}

// take returns the events recorded since the last take.
func (j *journal) take() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	ev := j.ev
	j.ev = nil
	return ev
}

// part is the scriptable actor of the tree tests: it journals OnStart and OnStop with its
// name and incarnation (gen), and counts the messages run on this state.
type part struct {
	Base[part]
	name  string
	gen   int // which newState call made this state (1 for Spawn)
	j     *journal
	n     int               // messages run on this state
	self  *Ref[part]        // Self() as OnStart saw it
	start func(*part) error // more of OnStart, if set
	stop  func(*part)       // more of OnStop, if set
}

func (p *part) OnStart() error {
	p.self = p.Self()
	p.j.add(p.name, p.gen, "start")
	if p.start != nil {
		return p.start(p)
	}
	return nil
}

func (p *part) OnStop() {
	p.j.add(p.name, p.gen, "stop")
	if p.stop != nil {
		p.stop(p)
	}
}

// factory is a SpawnFunc newState for parts: each call makes a fresh part with the next
// gen and journals "new"; shape, if set, may adjust the part, fail or panic.
type factory struct {
	name  string
	j     *journal
	calls atomic.Int32
	shape func(p *part) error
}

func (f *factory) newState() (*part, error) {
	p := &part{name: f.name, gen: int(f.calls.Add(1)), j: f.j}
	f.j.add(f.name, p.gen, "new")
	if f.shape != nil {
		if err := f.shape(p); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// spawnPart spawns a part made by a fresh factory and returns both.
func spawnPart(s *Supervisor, j *journal, name string, opts ...Option) (*Ref[part], *factory) {
	f := &factory{name: name, j: j}
	return SpawnFunc(s, f.newState, opts...), f
}

// genOf asks r which incarnation it runs: a message queued now runs on the state that
// comes up after any restart in progress.
func genOf(t *testing.T, r *Ref[part]) int {
	t.Helper()
	return get(t, r, func(p *part) int { return p.gen })
}

// crash makes r run a message that panics with v, and returns once the caller has the
// *PanicError (the failure is then on its way to the supervisor).
func crash[T any](t *testing.T, r *Ref[T], v any) {
	t.Helper()
	_, err := Ask(context.Background(), r, func(*T) (int, error) { panic(v) })
	var pe *PanicError
	if !errors.As(err, &pe) || pe.Value != v {
		t.Fatalf("Ask(panic(%v)) on %v = %v, want its *PanicError", v, r, err)
	}
}

// newTree returns a root supervisor with opts that the test's cleanup stops and joins.
func newTree(t *testing.T, opts ...SupervisorOption) *Supervisor {
	t.Helper()
	s := NewSupervisor(context.Background(), opts...)
	t.Cleanup(func() {
		s.Stop()
		_ = s.Wait()
	})
	return s
}

// bubble runs f in a synctest bubble with a root supervisor made with opts, stopped and
// joined at the end, inside the bubble.
func bubble(t *testing.T, opts []SupervisorOption, f func(t *testing.T, s *Supervisor)) {
	t.Helper()
	synctest.Test(t, func(t *testing.T) {
		s := NewSupervisor(context.Background(), opts...)
		f(t, s)
		s.Stop()
		_ = s.Wait()
	})
}

// within returns options that allow n restarts an hour.
func within(n int, more ...SupervisorOption) []SupervisorOption {
	return append([]SupervisorOption{WithIntensity(n, time.Hour)}, more...)
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// libraryGoroutines counts the goroutines of the current synctest bubble that the package
// started: an actor's activation, a supervisor's task (on the errgroup), a timer's
// callback, or anything else a package function created. Unlike goroutines, it does not
// see the last activations of earlier tests, which may still be on their way out (nothing
// waits for an idle actor's goroutine to return), nor the test's own goroutines.
func libraryGoroutines() int {
	buf := allStacks()
	count := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		header, _, _ := strings.Cut(g, "\n")
		_, creator, _ := strings.Cut(g, "\ncreated by ")
		if strings.Contains(header, "synctest bubble") &&
			(strings.HasPrefix(creator, "github.com/pactor-go/actor.(*") ||
				strings.HasPrefix(creator, "golang.org/x/sync/errgroup.") ||
				strings.HasPrefix(creator, "time.goFunc")) {
			count++
		}
	}
	return count
}

// only returns the events of ev that end in " "+what, in order.
func only(ev []string, what string) []string {
	var out []string
	for _, e := range ev {
		if strings.HasSuffix(e, " "+what) {
			out = append(out, e)
		}
	}
	return out
}

// 1. Tree.

// TestTreeDrainOrder: children are placed in spawn order among their parent's actors and
// drained in reverse, a child supervisor whole (its own children first, in their reverse
// order) before its parent moves on.
func TestTreeDrainOrder(t *testing.T) {
	s := NewSupervisor(context.Background())
	j := &journal{}
	Spawn(s, &part{name: "a", gen: 1, j: j})
	c := s.NewChild()
	Spawn(c, &part{name: "c1", gen: 1, j: j})
	cc := c.NewChild()
	Spawn(cc, &part{name: "cc1", gen: 1, j: j})
	Spawn(cc, &part{name: "cc2", gen: 1, j: j})
	Spawn(c, &part{name: "c2", gen: 1, j: j})
	Spawn(s, &part{name: "b", gen: 1, j: j})
	s.Stop()
	if err := s.Wait(); err != nil {
		t.Fatalf("Wait = %v, want nil", err)
	}
	want := []string{"b#1 stop", "c2#1 stop", "cc2#1 stop", "cc1#1 stop", "c1#1 stop", "a#1 stop"}
	if got := only(j.take(), "stop"); !slices.Equal(got, want) {
		t.Fatalf("drain order = %v, want %v", got, want)
	}
	for _, sup := range []*Supervisor{c, cc} {
		if !isClosed(sup.Done()) {
			t.Errorf("%v.Done() open after the root's Wait returned", sup)
		}
		if err := sup.Wait(); err != nil {
			t.Errorf("%v.Wait() = %v, want nil", sup, err)
		}
	}
}

// TestTreeParentWaitsForChild: the parent's Wait waits for a child supervisor whose actor
// is still running a message.
func TestTreeParentWaitsForChild(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewSupervisor(context.Background())
		c := s.NewChild().NewChild() // a grandchild
		r := Spawn(c, &counter{})
		rel := make(chan struct{})
		finished := false
		r.Send(func(*counter) { <-rel; finished = true })
		s.Stop()
		waited := make(chan error)
		go func() { waited <- s.Wait() }()
		synctest.Wait()
		select {
		case err := <-waited:
			t.Fatalf("root Wait returned %v while a grandchild's actor ran a message", err)
		default:
		}
		if isClosed(c.Done()) {
			t.Fatal("grandchild Done closed while its actor ran a message")
		}
		close(rel)
		if err := <-waited; err != nil {
			t.Fatalf("root Wait = %v, want nil", err)
		}
		if !finished {
			t.Fatal("root Wait returned before the grandchild's message finished")
		}
	})
}

// TestTreeRootStopsChildren: cancelling the root's context, or stopping it, stops its
// child supervisors and their actors.
func TestTreeRootStopsChildren(t *testing.T) {
	for _, how := range []string{"cancel", "Stop"} {
		t.Run(how, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			s := NewSupervisor(ctx)
			c := s.NewChild()
			h := &hooked{}
			r := Spawn(c, h)
			get(t, r, func(*hooked) int { return 0 })
			if how == "cancel" {
				cancel()
			} else {
				s.Stop()
			}
			if err := c.Wait(); err != nil {
				t.Fatalf("child Wait after %s = %v, want nil", how, err)
			}
			if err := r.Wait(); err != nil || !h.stopped {
				t.Fatalf("child's actor after %s: Wait = %v, OnStop ran = %v; want nil, true", how, err, h.stopped)
			}
			if err := s.Wait(); err != nil {
				t.Fatalf("root Wait after %s = %v, want nil", how, err)
			}
		})
	}
}

// TestTreeStopChildStopsOnlyItsSubtree: stopping a child supervisor stops its subtree and
// nothing else; its Wait returns its own result, and it takes no new children.
func TestTreeStopChildStopsOnlyItsSubtree(t *testing.T) {
	s := newTree(t)
	j := &journal{}
	a := Spawn(s, &part{name: "a", gen: 1, j: j})
	c := s.NewChild()
	c1 := Spawn(c, &part{name: "c1", gen: 1, j: j})
	cc := c.NewChild()
	cc1 := Spawn(cc, &part{name: "cc1", gen: 1, j: j})
	b := Spawn(s, &part{name: "b", gen: 1, j: j})
	c.Stop()
	if err := c.Wait(); err != nil {
		t.Fatalf("child Wait = %v, want nil", err)
	}
	if got, want := only(j.take(), "stop"), []string{"cc1#1 stop", "c1#1 stop"}; !slices.Equal(got, want) {
		t.Fatalf("stopping the child stopped %v, want %v", got, want)
	}
	for _, r := range []*Ref[part]{c1, cc1} {
		if err := r.Send(func(*part) {}); !errors.Is(err, ErrStopped) {
			t.Errorf("Send to %v in the stopped subtree = %v, want ErrStopped", r.state.name, err)
		}
	}
	if !isClosed(cc.Done()) {
		t.Error("grandchild Done open after its parent's Wait returned")
	}
	for _, r := range []*Ref[part]{a, b} {
		if got := get(t, r, func(p *part) int { p.n++; return p.n }); got != 1 {
			t.Errorf("%v after its sibling subtree stopped ran %d messages, want 1", r.state.name, got)
		}
	}
	if isClosed(s.Done()) {
		t.Fatal("root Done closed after stopping a child")
	}
	// A stopped child refuses new children, but its parent takes them.
	if err := Spawn(c, &counter{}).Send(func(*counter) {}); !errors.Is(err, ErrStopped) {
		t.Errorf("Send to an actor spawned on the stopped child = %v, want ErrStopped", err)
	}
	if got := get(t, Spawn(s, &counter{}), func(c *counter) int { return c.n + 1 }); got != 1 {
		t.Errorf("actor spawned on the root after the child stopped returned %d, want 1", got)
	}
}

// TestTreeChildWaitReturnsOwnResult: a child's Wait returns the child's result, not its
// parent's.
func TestTreeChildWaitReturnsOwnResult(t *testing.T) {
	s := NewSupervisor(context.Background(), WithSupervisorName("root"))
	clean := s.NewChild(WithSupervisorName("clean"))
	Spawn(clean, &counter{})
	failing := s.NewChild(WithSupervisorName("failing"))
	boom := errors.New("boom")
	r := Spawn(failing, &hooked{startErr: boom})
	clean.Stop()
	if err := clean.Wait(); err != nil {
		t.Fatalf("clean child Wait = %v, want nil", err)
	}
	// failing gives up at r's failure, and s, with no restarts either, gives up on it.
	// (The child is joined first: see TestRootWaitRacesControlTaskStart for why.)
	childErr := failing.Wait()
	if !errors.Is(childErr, boom) || !errors.Is(childErr, r.Wait()) {
		t.Fatalf("failing child Wait = %v, want its actor's failure %v wrapped", childErr, r.Wait())
	}
	if strings.Contains(childErr.Error(), "root") || !strings.Contains(childErr.Error(), "failing") {
		t.Fatalf("failing child Wait = %q, want its own error, naming it and not root", childErr)
	}
	rootErr := s.Wait()
	if !errors.Is(rootErr, boom) || !errors.Is(rootErr, childErr) || !strings.Contains(rootErr.Error(), "root") {
		t.Fatalf("root Wait = %v, want an error naming root that wraps the child's %v", rootErr, childErr)
	}
	if err := clean.Wait(); err != nil {
		t.Fatalf("clean child Wait after the root failed = %v, want its own nil", err)
	}
}

// TestNewChildOnStoppedSupervisor: NewChild on a stopping or ended supervisor returns a
// stopped child: its Wait returns ErrStopped, its Done is closed, Spawn on it returns
// stopped Refs, and its own NewChild too.
func TestNewChildOnStoppedSupervisor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		check := func(t *testing.T, when string, c *Supervisor) {
			t.Helper()
			if err := c.Wait(); !errors.Is(err, ErrStopped) {
				t.Errorf("%s: NewChild().Wait() = %v, want ErrStopped", when, err)
			}
			if !isClosed(c.Done()) {
				t.Errorf("%s: NewChild().Done() open, want closed", when)
			}
			r := Spawn(c, &counter{})
			if err := r.Send(func(*counter) {}); !errors.Is(err, ErrStopped) {
				t.Errorf("%s: Send to Spawn on the stopped child = %v, want ErrStopped", when, err)
			}
			if err := r.Wait(); !errors.Is(err, ErrStopped) {
				t.Errorf("%s: Wait of Spawn on the stopped child = %v, want ErrStopped", when, err)
			}
			if err := c.NewChild().Wait(); !errors.Is(err, ErrStopped) {
				t.Errorf("%s: NewChild of the stopped child: Wait = %v, want ErrStopped", when, err)
			}
		}
		s := NewSupervisor(context.Background())
		blocker := Spawn(s, &counter{})
		rel := make(chan struct{})
		blocker.Send(func(*counter) { <-rel }) // keeps s stopping, not ended
		live := s.NewChild()
		s.Stop()
		check(t, "stopping root", s.NewChild())
		close(rel)
		if err := s.Wait(); err != nil {
			t.Fatalf("Wait = %v", err)
		}
		check(t, "ended root", s.NewChild())
		check(t, "ended child", live.NewChild())

		ctx, cancel := context.WithCancel(context.Background())
		s2 := NewSupervisor(ctx)
		cancel()
		check(t, "root with its context cancelled", s2.NewChild())
		s2.Wait()
	})
}

// TestSupervisorDoneStringWatch: Done, String and WatchSupervisor on a root and a child.
func TestSupervisorDoneStringWatch(t *testing.T) {
	named := NewSupervisor(context.Background(), WithSupervisorName("svc"))
	if got := named.String(); got != "svc" {
		t.Errorf("String() of a named root = %q, want svc", got)
	}
	if got := named.NewChild(WithSupervisorName("cache")).String(); got != "cache" {
		t.Errorf("String() of a named child = %q, want cache", got)
	}
	c1, c2 := named.NewChild(), named.NewChild()
	g1, g2 := c1.String(), c2.String()
	if !strings.HasPrefix(g1, "Supervisor#") || g1 == g2 || c1.String() != g1 {
		t.Errorf("generated names %q, %q (again %q), want distinct stable Supervisor#N", g1, g2, c1.String())
	}
	named.Stop()
	named.Wait()

	outside := newTree(t)
	w := Spawn(outside, &watcher{})
	s := NewSupervisor(context.Background())
	wIn := Spawn(s, &watcher{}) // spawned before c, so it outlives c in s's drain
	c := s.NewChild()
	Spawn(c, &counter{})
	WatchSupervisor(w, s, record)
	WatchSupervisor(wIn, c, record)
	cancelled := WatchSupervisor(wIn, c, record)
	cancelled()
	for _, sup := range []*Supervisor{s, c} {
		if d := sup.Done(); d != sup.Done() || isClosed(d) {
			t.Fatalf("%v.Done(): same channel %v, closed %v; want the same open channel", sup, d == sup.Done(), isClosed(d))
		}
	}
	c.Stop()
	if err := c.Wait(); err != nil {
		t.Fatalf("child Wait = %v", err)
	}
	if got := noticesOf(t, wIn); !slices.Equal(got, []error{nil}) {
		t.Fatalf("child's watch notices = %v, want one nil (the cancelled watch says nothing)", got)
	}
	if isClosed(s.Done()) {
		t.Fatal("root Done closed after its child stopped")
	}
	s.Stop()
	if err := s.Wait(); err != nil {
		t.Fatalf("root Wait = %v", err)
	}
	if !isClosed(s.Done()) || !isClosed(c.Done()) {
		t.Fatal("Done open after Wait returned")
	}
	if got := noticesOf(t, w); !slices.Equal(got, []error{nil}) {
		t.Fatalf("root's watch notices = %v, want one nil", got)
	}
	// Watching an ended supervisor tells at once.
	WatchSupervisor(w, c, record)
	if got := noticesOf(t, w); !slices.Equal(got, []error{nil, nil}) {
		t.Fatalf("notices after watching an ended child = %v, want two nils", got)
	}
}

// TestRootWaitRacesControlTaskStart is the regression test for a control task that joins
// the tree's errgroup from a zero count while the root's Wait is already waiting: a
// child supervisor that gives up, or a restart job, starts its task with group.Go after
// releasing its lock, so a concurrent Stop (or the root's give-up) can close drainCh and
// reach group.Wait first. WaitGroup forbids it (the race detector reports it), and in the
// restart case Wait can return before the drain has even started.
func TestRootWaitRacesControlTaskStart(t *testing.T) {
	rounds := 300
	if testing.Short() {
		rounds = 100
	}
	for i := range rounds {
		switch i % 2 {
		case 0: // a child supervisor gives up, and so does the root
			s := NewSupervisor(context.Background())
			c := s.NewChild()
			Spawn(c, &counter{}).Send(func(*counter) { panic("boom") })
			if err := s.Wait(); err == nil {
				t.Fatalf("round %d: Wait = nil, want the child's give-up", i)
			}
		case 1: // a restart job starts as Stop is called
			s := NewSupervisor(context.Background(), WithStrategy(OneForAll), WithIntensity(1, time.Hour))
			r := Spawn(s, &hooked{})
			crash(t, r, "boom") // returns as the failure goes to the supervisor
			s.Stop()
			// Stop may come before the failure reaches s, which then ends with it.
			var pe *PanicError
			if err := s.Wait(); err != nil && !errors.As(err, &pe) {
				t.Fatalf("round %d: Wait = %v, want nil or the *PanicError", i, err)
			}
			if !isClosed(r.Done()) {
				t.Fatalf("round %d: Supervisor.Wait returned before its actor ended", i)
			}
		}
	}
}

// 2. Failure.

// restartsOf is how many restarts s has counted in its intensity window.
func restartsOf(s *Supervisor) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.restarts)
}

// waitIdle waits until s's control task has no more work: a restart job has ended.
func waitIdle(s *Supervisor) {
	for {
		s.mu.Lock()
		busy := s.ctl
		s.mu.Unlock()
		if !busy {
			return
		}
		runtime.Gosched()
	}
}

// TestFailuresReachSupervisor: a panic, a Goexit, an OnStart error, and a newState error,
// panic or nil state each fail the actor to its supervisor, which gives up by default and
// restarts it within its intensity.
func TestFailuresReachSupervisor(t *testing.T) {
	boom := errors.New("boom")
	var pe *PanicError
	// Each spawns an actor that fails once: in its first incarnation.
	cases := []struct {
		name  string
		spawn func(s *Supervisor, j *journal) *Ref[part]
		is    func(error) bool // the failure, as the supervisor's Wait returns it
	}{
		{"message panic", func(s *Supervisor, j *journal) *Ref[part] {
			r, _ := spawnPart(s, j, "a")
			r.Send(func(p *part) { panic(boom) })
			return r
		}, func(err error) bool { return errors.As(err, &pe) && errors.Is(err, boom) }},
		{"message Goexit", func(s *Supervisor, j *journal) *Ref[part] {
			r, _ := spawnPart(s, j, "a")
			r.Send(func(*part) { runtime.Goexit() })
			return r
		}, func(err error) bool { return errors.Is(err, ErrGoexit) }},
		{"OnStart error", func(s *Supervisor, j *journal) *Ref[part] {
			f := &factory{name: "a", j: j, shape: func(p *part) error {
				if p.gen == 1 {
					p.start = func(*part) error { return boom }
				}
				return nil
			}}
			return SpawnFunc(s, f.newState)
		}, func(err error) bool { return errors.Is(err, boom) }},
		{"newState error", func(s *Supervisor, j *journal) *Ref[part] {
			f := &factory{name: "a", j: j, shape: func(p *part) error {
				if p.gen == 1 {
					return boom
				}
				return nil
			}}
			return SpawnFunc(s, f.newState)
		}, func(err error) bool { return errors.Is(err, boom) }},
		{"newState panic", func(s *Supervisor, j *journal) *Ref[part] {
			f := &factory{name: "a", j: j, shape: func(p *part) error {
				if p.gen == 1 {
					panic(boom)
				}
				return nil
			}}
			return SpawnFunc(s, f.newState)
		}, func(err error) bool { return errors.As(err, &pe) && errors.Is(err, boom) }},
		{"newState nil state", func(s *Supervisor, j *journal) *Ref[part] {
			f := &factory{name: "a", j: j}
			return SpawnFunc(s, func() (*part, error) {
				p, err := f.newState()
				if p.gen == 1 {
					return nil, nil
				}
				return p, err
			})
		}, func(err error) bool { return err != nil }},
	}
	for _, c := range cases {
		t.Run(c.name+"/gives up", func(t *testing.T) {
			s := NewSupervisor(context.Background())
			r := c.spawn(s, &journal{})
			err := s.Wait()
			if !c.is(err) || !errors.Is(err, r.Wait()) {
				t.Fatalf("Supervisor.Wait = %v, want the actor's failure %v", err, r.Wait())
			}
		})
		t.Run(c.name+"/restarts", func(t *testing.T) {
			s := newTree(t, within(1)...)
			r := c.spawn(s, &journal{})
			if got := genOf(t, r); got != 2 {
				t.Fatalf("after the failure the actor runs state #%d, want #2", got)
			}
			if got := restartsOf(s); got != 1 {
				t.Fatalf("the supervisor counted %d restarts, want 1", got)
			}
		})
	}
}

// TestChildSupervisorGivesUpToParent: a child supervisor that gives up fails to its parent,
// which applies its own intensity: it restarts the child, or gives up in turn.
func TestChildSupervisorGivesUpToParent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		j := &journal{}
		s := newTree(t, within(1)...)
		c := s.NewChild()
		r, _ := spawnPart(c, j, "a")
		crash(t, r, "boom")
		if got := genOf(t, r); got != 2 {
			t.Fatalf("after its child gave up the root runs state #%d, want #2", got)
		}
		waitIdle(c) // see TestFailureDuringGroupRestart
		if got := restartsOf(s); got != 1 {
			t.Fatalf("the root counted %d restarts, want 1 (its child)", got)
		}
		crash(t, r, "again")
		c.Wait() // joined first: see TestRootWaitRacesControlTaskStart
		err := s.Wait()
		var pe *PanicError
		if !errors.As(err, &pe) || pe.Value != "again" {
			t.Fatalf("root Wait after its child gave up twice = %v, want the second *PanicError", err)
		}
	})
}

// TestRestartedChildSupervisorRestartsSubtree: a child supervisor that gives up and is
// restarted by its parent restarts its whole subtree fresh (down in reverse spawn order, up
// in spawn order), its own restart count starts over, and it stays the same *Supervisor:
// its Done stays open and its actors' Refs keep working.
func TestRestartedChildSupervisorRestartsSubtree(t *testing.T) {
	s := newTree(t, within(5)...)
	j := &journal{}
	w := Spawn(s, &watcher{})
	c := s.NewChild(WithIntensity(1, time.Hour))
	WatchSupervisor(w, c, record)
	a, _ := spawnPart(c, j, "a")
	cc := c.NewChild()
	b, _ := spawnPart(cc, j, "b")
	d, _ := spawnPart(c, j, "d")
	done := c.Done()
	for _, r := range []*Ref[part]{a, b, d} {
		genOf(t, r)
	}
	crash(t, a, "first") // c restarts a alone
	if got := [3]int{genOf(t, a), genOf(t, b), genOf(t, d)}; got != [3]int{2, 1, 1} {
		t.Fatalf("after c's own restart the states are %v, want [2 1 1]", got)
	}
	j.take()
	crash(t, a, "second") // c gives up: s restarts c, fresh
	if got := [3]int{genOf(t, a), genOf(t, b), genOf(t, d)}; got != [3]int{3, 2, 2} {
		t.Fatalf("after s restarted c the states are %v, want [3 2 2]", got)
	}
	ev := j.take()
	// a went down as it failed; the others in reverse spawn order, then all up in order.
	if got, want := only(ev, "stop"), []string{"a#2 stop", "d#1 stop", "b#1 stop"}; !slices.Equal(got, want) &&
		!slices.Equal(got, []string{"d#1 stop", "a#2 stop", "b#1 stop"}) &&
		!slices.Equal(got, []string{"d#1 stop", "b#1 stop", "a#2 stop"}) {
		t.Fatalf("subtree stops = %v, want d before b (a, which failed, anywhere)", got)
	}
	if got, want := only(ev, "start"), []string{"a#3 start", "b#2 start", "d#2 start"}; !slices.Equal(got, want) {
		t.Fatalf("subtree starts = %v, want %v", got, want)
	}
	if i, k := slices.Index(ev, "b#1 stop"), slices.Index(ev, "a#3 start"); i > k {
		t.Fatalf("events %v: a came up before b was down", ev)
	}
	// The count starts over when the restart job ends, a moment after the last child is up;
	// a child that fails before then is mistaken for one being restarted (see
	// TestFailureDuringGroupRestart).
	waitIdle(c)
	if got := restartsOf(c); got != 0 {
		t.Fatalf("c's restart count after its restart = %d, want 0", got)
	}
	crash(t, a, "third") // allowed again: c restarts a alone
	if got := [3]int{genOf(t, a), genOf(t, b), genOf(t, d)}; got != [3]int{4, 2, 2} {
		t.Fatalf("after c's restart count started over the states are %v, want [4 2 2]", got)
	}
	if got := restartsOf(s); got != 1 {
		t.Fatalf("the root counted %d restarts, want 1", got)
	}
	if c.Done() != done || isClosed(done) {
		t.Fatal("c's Done closed, or changed, by its restart")
	}
	if got := noticesOf(t, w); len(got) != 0 {
		t.Fatalf("WatchSupervisor notices after c's restart = %v, want none: a restart is not its end", got)
	}
}

// askWithin is genOf that gives up after an hour (of a synctest bubble's time): an actor
// that a restart left down for good never answers.
func askWithin(t *testing.T, r *Ref[part]) (int, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	return Ask(ctx, r, func(p *part) (int, error) { return p.gen, nil })
}

// TestFailureDuringGroupRestart is the regression test for a child that fails again
// while a group restart (OneForAll, RestForOne, or a child supervisor's restart) is still
// bringing its siblings up: the supervisor still lists it as brought down for the
// restart, so it gets "go down, you will be brought up", is not counted, and is never
// brought up: it stays down for good and its callers hang. (The bookkeeping, including a
// restarted child supervisor's fresh restart count, is done only after the last child is
// up, while the first ones already run.)
func TestFailureDuringGroupRestart(t *testing.T) {
	t.Run("OnStart fails while coming up", func(t *testing.T) {
		bubble(t, within(5, WithStrategy(OneForAll)), func(t *testing.T, s *Supervisor) {
			j := &journal{}
			a, _ := spawnPart(s, j, "a")
			f := &factory{name: "b", j: j, shape: func(p *part) error {
				if p.gen == 2 {
					p.start = func(*part) error { return errors.New("no config") }
				}
				return nil
			}}
			b := SpawnFunc(s, f.newState)
			genOf(t, b)
			crash(t, a, "boom")
			synctest.Wait() // the restart, b's failure to start, and the next restart are over
			if gen, err := askWithin(t, b); err != nil || gen != 3 {
				t.Fatalf("b after its OnStart failed in a OneForAll restart: Ask = %d, %v; want state #3", gen, err)
			}
		})
	})
	t.Run("fails again right after coming up", func(t *testing.T) {
		bubble(t, within(5, WithStrategy(OneForAll)), func(t *testing.T, s *Supervisor) {
			j := &journal{}
			aDown := make(chan struct{})
			fa := &factory{name: "a", j: j, shape: func(p *part) error {
				if p.gen == 2 {
					p.stop = func(*part) { close(aDown) }
				}
				return nil
			}}
			a := SpawnFunc(s, fa.newState)
			fb := &factory{name: "b", j: j, shape: func(p *part) error {
				if p.gen == 2 {
					// b comes up after a has failed again: a crash loop.
					p.start = func(*part) error { <-aDown; return nil }
				}
				return nil
			}}
			b := SpawnFunc(s, fb.newState)
			genOf(t, b)
			a.Send(func(*part) { panic("first") })
			a.Send(func(*part) { panic("second") }) // runs on a#2, as soon as it is up
			if gen, err := askWithin(t, a); err != nil || gen != 3 {
				t.Fatalf("a after failing again during its OneForAll restart: Ask = %d, %v; want state #3", gen, err)
			}
		})
	})
	t.Run("child supervisor's restart", func(t *testing.T) {
		bubble(t, within(5), func(t *testing.T, s *Supervisor) {
			j := &journal{}
			c := s.NewChild()
			a, _ := spawnPart(c, j, "a")
			a.Send(func(*part) { panic("first") })  // c gives up: s restarts c
			a.Send(func(*part) { panic("second") }) // c's new a fails before c's job has ended
			if gen, err := askWithin(t, a); err != nil || gen != 3 {
				t.Fatalf("a after failing again as its supervisor restarted: Ask = %d, %v; want state #3", gen, err)
			}
		})
	})
}

// 6. Giving up.

// TestGiveUpStopsChildrenThenFails: a supervisor that gives up stops its other children
// gracefully in reverse spawn order, then fails with the cause wrapped with its name.
func TestGiveUpStopsChildrenThenFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewSupervisor(context.Background(), WithSupervisorName("frontend"), WithIntensity(1, time.Hour))
		j := &journal{}
		var refs []*Ref[part]
		for _, name := range []string{"a", "b", "c", "d"} {
			r, _ := spawnPart(s, j, name)
			genOf(t, r)
			refs = append(refs, r)
		}
		release := block(t, refs[2])
		ran := false
		refs[2].Send(func(*part) { ran = true })
		j.take()
		crash(t, refs[1], "once")
		genOf(t, refs[1])
		boom := errors.New("boom")
		refs[1].Send(func(*part) { panic(boom) }) // the second: more than 1
		<-refs[1].Done()
		release()
		err := s.Wait()
		var pe *PanicError
		if !errors.Is(err, boom) || !errors.As(err, &pe) || !errors.Is(err, refs[1].Wait()) {
			t.Fatalf("Wait = %v, want b's *PanicError wrapping boom", err)
		}
		if !strings.Contains(err.Error(), "frontend") {
			t.Fatalf("Wait = %q, want the supervisor's name in it", err)
		}
		// b, which failed, ends by itself as the others are stopped.
		stops := only(j.take(), "stop")
		others := slices.DeleteFunc(slices.Clone(stops), func(e string) bool { return strings.HasPrefix(e, "b#") })
		if want := []string{"d#1 stop", "c#1 stop", "a#1 stop"}; !slices.Equal(others, want) || len(stops) != 5 {
			t.Fatalf("stops = %v, want b#1 and b#2 and the others in reverse order: %v", stops, want)
		}
		if !ran {
			t.Fatal("c's accepted message did not run: the give-up did not stop it gracefully")
		}
	})
}

// 11. The core promises, in a tree.

// TestTreeExactlyOnceAndOrder: across restarts in a tree, every accepted message runs
// exactly once (the one that fails included, up to its panic), each sender's messages run
// in the order it sent them, an Ask queued across a restart returns, and what StopNow drops
// is counted and never runs.
func TestTreeExactlyOnceAndOrder(t *testing.T) {
	s := newTree(t, within(1000)...)
	c := s.NewChild(WithIntensity(1000, time.Hour))
	const senders, perSender, every = 4, 300, 17
	type ledger struct {
		mu  sync.Mutex
		ran [senders][]int
	}
	j := &journal{}
	var refs []*Ref[part]
	var facts []*factory
	for i, sup := range []*Supervisor{c, c, s} {
		r, f := spawnPart(sup, j, fmt.Sprint(i))
		refs, facts = append(refs, r), append(facts, f)
	}
	ledgers := make([]*ledger, len(refs))
	for i := range ledgers {
		ledgers[i] = &ledger{}
	}
	var sent [3][senders][]int
	var panics [3]int
	var wg sync.WaitGroup
	for w := range senders {
		wg.Go(func() {
			for i := range perSender {
				k := (i + w) % len(refs)
				l := ledgers[k]
				msg := func(*part) {
					l.mu.Lock()
					l.ran[w] = append(l.ran[w], i)
					l.mu.Unlock()
					if i%every == 0 {
						panic(i)
					}
				}
				var err error
				if i%every == 5 { // an Ask, queued behind failures
					ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
					_, err = Ask(ctx, refs[k], func(p *part) (int, error) { msg(p); return 0, nil })
					cancel()
				} else {
					err = refs[k].Send(msg)
				}
				if err != nil {
					t.Errorf("sender %d message %d to actor %d: %v", w, i, k, err)
					return
				}
				sent[k][w] = append(sent[k][w], i)
			}
		})
	}
	wg.Wait()
	for k, r := range refs {
		genOf(t, r) // after everything sent to it
		for w := range senders {
			for _, i := range sent[k][w] {
				if i%every == 0 {
					panics[k]++
				}
			}
			if got := ledgers[k].ran[w]; !slices.Equal(got, sent[k][w]) {
				t.Errorf("actor %d ran sender %d's messages %v, want each accepted one once, in order: %v", k, w, got, sent[k][w])
			}
		}
		if got := int(facts[k].calls.Load()) - 1; got != panics[k] {
			t.Errorf("actor %d restarted %d times for %d failures", k, got, panics[k])
		}
	}
	// StopNow drops what has not started, counted.
	r := refs[0]
	release := block(t, r)
	ran := 0
	for range 10 {
		r.Send(func(*part) { ran++ })
	}
	if n := r.StopNow(); n != 10 {
		t.Fatalf("StopNow dropped %d, want the 10 queued", n)
	}
	release()
	if err := r.Wait(); err != nil || ran != 0 {
		t.Fatalf("after StopNow: Wait = %v, dropped messages ran %d times; want nil, 0", err, ran)
	}
}

// TestIdleTreeHoldsNoGoroutine: an idle tree (supervisors, actors, after a restart) holds
// no goroutine at all.
func TestIdleTreeHoldsNoGoroutine(t *testing.T) {
	bubble(t, within(5), func(t *testing.T, s *Supervisor) {
		c := s.NewChild(WithStrategy(OneForAll), WithIntensity(5, time.Hour))
		g := c.NewChild()
		j := &journal{}
		var refs []*Ref[part]
		for i, sup := range []*Supervisor{s, c, g, c, s} {
			for k := range 4 {
				r, _ := spawnPart(sup, j, fmt.Sprint(i, k))
				refs = append(refs, r)
			}
		}
		for _, r := range refs {
			genOf(t, r)
		}
		crash(t, refs[4], "boom") // c restarts its subtree
		for _, r := range refs {
			genOf(t, r)
		}
		synctest.Wait()
		if got := libraryGoroutines(); got != 0 {
			t.Errorf("an idle tree of 3 supervisors and %d actors holds %d goroutines, want 0", len(refs), got)
		}
	})
}

// Bad input.

// panicsWith checks that f panics with a message that starts with prefix.
func panicsWith(t *testing.T, prefix string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		msg, _ := recover().(string)
		if !strings.HasPrefix(msg, prefix) {
			t.Errorf("panic %q, want one starting with %q", msg, prefix)
		}
	}()
	f()
}

// TestTreeBadInputPanics: bad arguments panic where they are written, with a message
// that starts "actor: <Func>:".
func TestTreeBadInputPanics(t *testing.T) {
	s := newTree(t)
	w := Spawn(s, &watcher{})
	ok := func() (*counter, error) { return &counter{}, nil }
	for _, c := range []struct {
		prefix string
		f      func()
	}{
		{"actor: WithStrategy: ", func() { WithStrategy(RestForOne + 1) }},
		{"actor: WithStrategy: ", func() { WithStrategy(-1) }},
		{"actor: WithIntensity: ", func() { WithIntensity(-1, time.Second) }},
		{"actor: WithIntensity: ", func() { WithIntensity(1, 0) }},
		{"actor: WithBackoff: ", func() { WithBackoff(0, time.Second) }},
		{"actor: WithBackoff: ", func() { WithBackoff(2*time.Second, time.Second) }},
		{"actor: WithSupervisorName: ", func() { WithSupervisorName("") }},
		{"actor: WithShutdownTimeout: ", func() { WithShutdownTimeout(0) }},
		{"actor: WithShutdownTimeout: ", func() { WithShutdownTimeout(-time.Second) }},
		{"actor: SpawnFunc: ", func() { SpawnFunc[counter](s, nil) }},
		{"actor: SpawnFunc: ", func() { SpawnFunc(nil, ok) }},
		{"actor: SpawnFunc: ", func() { SpawnFunc(s, ok, nil) }},
		{"actor: NewSupervisor: ", func() { NewSupervisor(context.Background(), nil) }},
		{"actor: NewChild: ", func() { s.NewChild(nil) }},
		{"actor: WatchSupervisor: ", func() { WatchSupervisor(w, s, nil) }},
	} {
		panicsWith(t, c.prefix, c.f)
	}
	WithIntensity(0, 0) // the default, spelled out: fine
	if got := Strategy(7).String(); got != "Strategy(7)" {
		t.Errorf("Strategy(7).String() = %q, want Strategy(7)", got)
	}
}
