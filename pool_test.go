package actor

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"
)

// poolWorker is the state of the test pools' members. id comes from newState, so a member
// restarted from fresh state has a new id; Self tells which member runs a message.
type poolWorker struct {
	Base[poolWorker]
	id   int64
	n    int
	keys map[string][]int // ByKey tests: the sequence numbers seen per key, in run order
}

// newPoolWorkers returns a newState for SpawnPool and the number of states it has made.
func newPoolWorkers() (newState func() (*poolWorker, error), made *atomic.Int64) {
	made = new(atomic.Int64)
	return func() (*poolWorker, error) {
		return &poolWorker{id: made.Add(1), keys: map[string][]int{}}, nil
	}, made
}

// memberIndex returns r's place in p's members, or -1.
func memberIndex[T any](p *Pool[T], r *Ref[T]) int {
	for i, m := range p.Members() {
		if m == r {
			return i
		}
	}
	return -1
}

// poolBlock sends p a balanced message that signals when it starts and then waits for
// release, so that a test holds one member busy; it returns the member that took it.
func poolBlock(t *testing.T, p *Pool[poolWorker]) (member *Ref[poolWorker], release func()) {
	t.Helper()
	started, rel := make(chan *Ref[poolWorker]), make(chan struct{})
	if err := p.Send(func(w *poolWorker) { started <- w.Self(); <-rel }); err != nil {
		t.Fatalf("Pool.Send(blocker) = %v", err)
	}
	member = <-started
	var once sync.Once
	release = func() { once.Do(func() { close(rel) }) }
	t.Cleanup(release)
	return member, release
}

// waitPoolQueued waits until n messages wait in p's shared queue.
func waitPoolQueued[T any](t *testing.T, p *Pool[T], n int) {
	t.Helper()
	for {
		p.mu.Lock()
		got := int(p.q.n)
		p.mu.Unlock()
		if got >= n {
			return
		}
		runtime.Gosched()
	}
}

// Semantic 1: the members run under a child supervisor of the pool's own.

func TestPoolMembersUnderOwnChildSupervisor(t *testing.T) {
	s := newSup(t)
	newState, made := newPoolWorkers()
	p := SpawnPool(s, 3, newState)
	if p.Supervisor() == s {
		t.Fatal("Pool.Supervisor() is the supervisor given to SpawnPool, want a child of its own")
	}
	for i, m := range p.Members() {
		if m.Supervisor() != p.Supervisor() {
			t.Errorf("member %d: Supervisor() = %v, want the pool's %v", i, m.Supervisor(), p.Supervisor())
		}
	}
	// Stopping the pool's supervisor is stopping the pool; s goes on.
	p.Supervisor().Stop()
	if err := p.Wait(); err != nil {
		t.Fatalf("Pool.Wait after stopping its supervisor = %v, want nil", err)
	}
	if got := made.Load(); got != 3 {
		t.Errorf("newState ran %d times for 3 members, want 3", got)
	}
	if err := Spawn(s, &counter{}).Send(func(*counter) {}); err != nil {
		t.Errorf("Send to a sibling after the pool stopped = %v: the parent stopped too", err)
	}
	// Members() is a copy.
	ms := p.Members()
	ms[0] = nil
	if p.Members()[0] == nil {
		t.Error("changing the slice Members returned changed the pool")
	}
}

func TestPoolRestartsFailedMemberFromFreshState(t *testing.T) {
	s := newSup(t)
	newState, made := newPoolWorkers()
	p := SpawnPool(s, 4, newState)
	ms := p.Members()
	ids := make([]int64, len(ms))
	for i, m := range ms {
		ids[i] = get(t, m, func(w *poolWorker) int64 { w.n = 10 + i; return w.id })
	}
	victim := ms[1]
	victim.Send(func(*poolWorker) { panic("boom") })
	// The next message runs on the restarted member: fresh state, new id.
	got := get(t, victim, func(w *poolWorker) [2]int64 { return [2]int64{w.id, int64(w.n)} })
	if got[0] == ids[1] || got[1] != 0 {
		t.Errorf("after a panic, member 1 has id %d and n=%d; want a fresh state (not id %d, n=0)", got[0], got[1], ids[1])
	}
	if got := made.Load(); got != 5 {
		t.Errorf("newState ran %d times, want 5 (4 members and one restart)", got)
	}
	// OneForOne: the others keep their state.
	for i, m := range ms {
		if i == 1 {
			continue
		}
		if got := get(t, m, func(w *poolWorker) int { return w.n }); got != 10+i {
			t.Errorf("member %d: n = %d after member 1 restarted, want %d (OneForOne)", i, got, 10+i)
		}
	}
	// The restarted member still takes balanced messages: block the other three, and a
	// balanced message can only run on it.
	for i, m := range ms {
		if i != 1 {
			block(t, m)
		}
	}
	ran := make(chan *Ref[poolWorker], 1)
	if err := p.Send(func(w *poolWorker) { ran <- w.Self() }); err != nil {
		t.Fatalf("Pool.Send = %v", err)
	}
	if r := <-ran; r != victim {
		t.Errorf("balanced message ran on member %d while the others were busy, want member 1", memberIndex(p, r))
	}
	select {
	case <-p.Done():
		t.Fatal("the pool ended after one restart")
	default:
	}
}

func TestPoolIntensityGivesUp(t *testing.T) {
	s := NewSupervisor(context.Background()) // default intensity: gives up on its child's failure
	newState, _ := newPoolWorkers()
	p := SpawnPool(s, 2, newState, WithIntensity(1, time.Hour), WithSupervisorName("workers"))
	m := p.Members()[0]
	m.Send(func(*poolWorker) { panic("first") })
	get(t, m, func(w *poolWorker) int { return w.n }) // restarted: within the intensity
	select {
	case <-p.Done():
		t.Fatal("the pool gave up on the first failure, with WithIntensity(1, time.Hour)")
	default:
	}
	// A message queued on the other member before the give-up still runs: the pool stops
	// its other members gracefully.
	other := p.Members()[1]
	release := block(t, other)
	otherRan := false
	other.Send(func(*poolWorker) { otherRan = true })
	m.Send(func(*poolWorker) { panic("second") })
	release() // the give-up drains the other member, which finishes its messages first

	err := p.Wait()
	var pe *PanicError
	if !errors.As(err, &pe) || pe.Value != "second" {
		t.Fatalf("Pool.Wait = %v, want the *PanicError of the second panic", err)
	}
	if msg := err.Error(); !strings.Contains(msg, "workers") {
		t.Errorf("Pool.Wait = %q, want it to name the pool's supervisor %q", msg, "workers")
	}
	// Like any child supervisor that gives up: its parent's strategy decides, and the
	// default gives up too, with the pool's failure.
	serr := s.Wait()
	if !errors.As(serr, &pe) || pe.Value != "second" {
		t.Fatalf("parent Supervisor.Wait = %v, want the pool's failure", serr)
	}
	if !otherRan {
		t.Error("a message accepted by the other member did not run when the pool gave up")
	}
	if err := p.Send(func(*poolWorker) {}); !errors.Is(err, ErrStopped) {
		t.Errorf("Pool.Send after the pool gave up = %v, want ErrStopped", err)
	}
}

func TestPoolGiveUpRestartedByParent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewSupervisor(context.Background(), WithIntensity(1, time.Hour))
		newState, made := newPoolWorkers()
		p := SpawnPool(s, 3, newState, WithIntensity(0, 0)) // gives up at the first failure
		ms := p.Members()
		for _, m := range ms {
			get(t, m, func(w *poolWorker) int { w.n = 7; return 0 })
		}
		ms[2].Send(func(*poolWorker) { panic("boom") })
		synctest.Wait() // the pool gave up, and its parent has restarted it
		// The parent restarted the whole pool, from fresh state, behind the same Refs.
		for i, m := range ms {
			if got := get(t, m, func(w *poolWorker) int { return w.n }); got != 0 {
				t.Errorf("member %d: n = %d after the parent restarted the pool, want 0 (fresh state)", i, got)
			}
		}
		if got := made.Load(); got != 6 {
			t.Errorf("newState ran %d times, want 6 (3 members, then all 3 again)", got)
		}
		if v, err := AskPool(context.Background(), p, func(*poolWorker) (int, error) { return 1, nil }); v != 1 || err != nil {
			t.Errorf("AskPool after the restart = %d, %v; want 1, nil", v, err)
		}
		select {
		case <-p.Done():
			t.Fatal("the pool ended, though its parent restarted it")
		default:
		}
		p.Stop()
		if err := p.Wait(); err != nil {
			t.Errorf("Pool.Wait after a restart and a clean stop = %v, want nil", err)
		}
		s.Stop()
		if err := s.Wait(); err != nil {
			t.Errorf("parent Supervisor.Wait = %v, want nil: it restarted the pool", err)
		}
	})
}

func TestPoolBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewSupervisor(context.Background())
		newState, _ := newPoolWorkers()
		p := SpawnPool(s, 2, newState, WithBackoff(time.Second, time.Second))
		m := p.Members()[0]
		start := time.Now()
		m.Send(func(*poolWorker) { panic("boom") })
		get(t, m, func(w *poolWorker) int { return w.n })
		// The first restart waits min plus a jitter of up to min again.
		if d := time.Since(start); d < time.Second || d > 2*time.Second {
			t.Errorf("member came back after %v, want between 1s and 2s (WithBackoff(1s, 1s))", d)
		}
		s.Stop()
		if err := s.Wait(); err != nil {
			t.Fatal(err)
		}
	})
}

func TestPoolOptionsApplyToEveryMember(t *testing.T) {
	s := newSup(t)
	newState, _ := newPoolWorkers()
	p := SpawnPool(s, 3, newState, WithName("worker"), WithMailboxSize(1))
	for i, m := range p.Members() {
		if got := m.String(); got != "worker" {
			t.Errorf("member %d: String() = %q, want %q", i, got, "worker")
		}
		release := block(t, m)
		if err := m.Send(func(*poolWorker) {}); err != nil {
			t.Errorf("member %d: first Send behind a blocker = %v, want nil", i, err)
		}
		if err := m.Send(func(*poolWorker) {}); !errors.Is(err, ErrMailboxFull) {
			t.Errorf("member %d: second Send into a mailbox of 1 = %v, want ErrMailboxFull", i, err)
		}
		release()
	}
}

// Semantic 2: balancing Send.

func TestPoolSendRunsAroundSlowMessages(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewSupervisor(context.Background())
		newState, _ := newPoolWorkers()
		p := SpawnPool(s, 4, newState)
		// Three slow messages hold three members; the fourth is free.
		busy := map[*Ref[poolWorker]]bool{}
		var releases []func()
		for range 3 {
			m, release := poolBlock(t, p)
			if busy[m] {
				t.Fatalf("two blockers ran on member %d while others were idle", memberIndex(p, m))
			}
			busy[m] = true
			releases = append(releases, release)
		}
		const msgs = 100
		var ranOn sync.Map
		var ran atomic.Int32
		for range msgs {
			if err := p.Send(func(w *poolWorker) { ranOn.Store(w.Self(), true); ran.Add(1) }); err != nil {
				t.Fatalf("Pool.Send = %v", err)
			}
		}
		synctest.Wait() // everything runnable has run; the slow ones still hold their members
		if got := ran.Load(); got != msgs {
			t.Errorf("%d of %d messages ran while one member was free; the rest wait behind slow ones", got, msgs)
		}
		ranOn.Range(func(k, _ any) bool {
			if busy[k.(*Ref[poolWorker])] {
				t.Errorf("a message ran on member %d, which was busy", memberIndex(p, k.(*Ref[poolWorker])))
			}
			return true
		})
		for _, release := range releases {
			release()
		}
		s.Stop()
		if err := s.Wait(); err != nil {
			t.Fatal(err)
		}
	})
}

func TestPoolSendUnevenCostsNoWaitBehindSlow(t *testing.T) {
	// One member stuck in a slow message: every other message still runs, spread over the
	// other members, none waiting for the slow one.
	s := newSup(t)
	newState, _ := newPoolWorkers()
	p := SpawnPool(s, 4, newState)
	stuck, release := poolBlock(t, p)
	const msgs = 1000
	var wg sync.WaitGroup
	wg.Add(msgs)
	var onStuck atomic.Int32
	for i := range msgs {
		err := p.Send(func(w *poolWorker) {
			if w.Self() == stuck {
				onStuck.Add(1)
			}
			if i%100 == 0 {
				for range 10000 { // a slower one
					w.n++
				}
			}
			wg.Done()
		})
		if err != nil {
			t.Fatalf("Pool.Send = %v", err)
		}
	}
	wg.Wait() // returns while the stuck member is still stuck
	if n := onStuck.Load(); n != 0 {
		t.Errorf("%d messages ran on the stuck member", n)
	}
	release()
}

func TestPoolSendExactlyOnce(t *testing.T) {
	s := newSup(t)
	newState, _ := newPoolWorkers()
	p := SpawnPool(s, 8, newState)
	const senders, each = 4, 5000
	var ran [senders * each]atomic.Int32
	var wg sync.WaitGroup
	for g := range senders {
		wg.Go(func() {
			for i := range each {
				k := g*each + i
				if err := p.Send(func(*poolWorker) { ran[k].Add(1) }); err != nil {
					t.Errorf("Pool.Send = %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	p.Stop()
	if err := p.Wait(); err != nil {
		t.Fatalf("Pool.Wait = %v", err)
	}
	for k := range ran {
		if n := ran[k].Load(); n != 1 {
			t.Fatalf("message %d ran %d times, want exactly once", k, n)
		}
	}
}

func TestPoolNilMessage(t *testing.T) {
	s := newSup(t)
	newState, _ := newPoolWorkers()
	p := SpawnPool(s, 2, newState)
	if err := p.Send(nil); !errors.Is(err, ErrNilMessage) {
		t.Errorf("Pool.Send(nil) = %v, want ErrNilMessage", err)
	}
	if err := p.SendContext(context.Background(), nil); !errors.Is(err, ErrNilMessage) {
		t.Errorf("Pool.SendContext(nil) = %v, want ErrNilMessage", err)
	}
	if _, err := AskPool[poolWorker, int](context.Background(), p, nil); !errors.Is(err, ErrNilMessage) {
		t.Errorf("AskPool(nil) = %v, want ErrNilMessage", err)
	}
}

func TestPoolBoundedSharedQueue(t *testing.T) {
	// fill makes a pool of 2 with a shared queue of 2, holds both members and fills the
	// queue.
	fill := func(t *testing.T) (*Pool[poolWorker], *atomic.Int32, []func()) {
		s := NewSupervisor(context.Background())
		t.Cleanup(func() { s.Stop(); _ = s.Wait() })
		newState, _ := newPoolWorkers()
		p := SpawnPool(s, 2, newState, WithMailboxSize(2))
		_, r1 := poolBlock(t, p)
		_, r2 := poolBlock(t, p)
		ran := new(atomic.Int32)
		for i := range 2 {
			if err := p.Send(func(*poolWorker) { ran.Add(1) }); err != nil {
				t.Fatalf("Pool.Send %d into a shared queue of 2 = %v", i, err)
			}
		}
		return p, ran, []func(){r1, r2}
	}
	t.Run("Send fails when full", func(t *testing.T) {
		p, ran, rel := fill(t)
		if err := p.Send(func(*poolWorker) { ran.Add(100) }); !errors.Is(err, ErrMailboxFull) {
			t.Fatalf("Pool.Send into a full shared queue = %v, want ErrMailboxFull", err)
		}
		rel[0]()
		rel[1]()
		p.Stop()
		p.Wait()
		if got := ran.Load(); got != 2 {
			t.Errorf("ran %d, want 2: a refused message ran, or an accepted one did not", got)
		}
	})
	t.Run("SendContext waits for room", func(t *testing.T) {
		p, ran, rel := fill(t)
		errc := make(chan error)
		go func() { errc <- p.SendContext(context.Background(), func(*poolWorker) { ran.Add(1) }) }()
		rel[0]() // a member frees, takes a queued message: one slot of room
		if err := <-errc; err != nil {
			t.Fatalf("Pool.SendContext = %v, want nil once there is room", err)
		}
		rel[1]()
		p.Stop()
		p.Wait()
		if got := ran.Load(); got != 3 {
			t.Errorf("ran %d, want 3", got)
		}
	})
	t.Run("AskPool waits for room", func(t *testing.T) {
		p, _, rel := fill(t)
		res := make(chan int)
		go func() {
			v, err := AskPool(context.Background(), p, func(*poolWorker) (int, error) { return 5, nil })
			if err != nil {
				t.Errorf("AskPool = %v", err)
			}
			res <- v
		}()
		rel[0]()
		if v := <-res; v != 5 {
			t.Errorf("AskPool = %d, want 5", v)
		}
	})
	t.Run("SendContext returns ctx's error", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			p, ran, rel := fill(t)
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			start := time.Now()
			err := p.SendContext(ctx, func(*poolWorker) { ran.Add(100) })
			if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != time.Second {
				t.Fatalf("Pool.SendContext into a full queue = %v after %v, want DeadlineExceeded after 1s", err, time.Since(start))
			}
			done, cancel2 := context.WithCancel(context.Background())
			cancel2()
			rel[0]() // room, but ctx is done already
			synctest.Wait()
			if err := p.SendContext(done, func(*poolWorker) { ran.Add(100) }); !errors.Is(err, context.Canceled) {
				t.Errorf("Pool.SendContext(done ctx) = %v, want context.Canceled", err)
			}
			rel[1]()
			p.Stop()
			p.Wait()
			if got := ran.Load(); got != 2 {
				t.Errorf("ran %d, want 2: a SendContext that failed ran", got)
			}
		})
	})
	t.Run("Stop releases a waiting SendContext", func(t *testing.T) {
		p, _, rel := fill(t)
		errc := make(chan error)
		go func() { errc <- p.SendContext(context.Background(), func(*poolWorker) {}) }()
		waitPoolQueued(t, p, 2)
		p.Stop()
		if err := <-errc; !errors.Is(err, ErrStopped) {
			t.Errorf("Pool.SendContext when the pool stops = %v, want ErrStopped", err)
		}
		rel[0]()
		rel[1]()
	})
}

// Semantic 3: ByKey.

func TestPoolByKeySameMember(t *testing.T) {
	s := newSup(t)
	newState, _ := newPoolWorkers()
	p := SpawnPool(s, 8, newState)
	keys := make([]string, 1000)
	first := make([]*Ref[poolWorker], len(keys))
	for i := range keys {
		keys[i] = fmt.Sprint("key-", i)
		first[i] = p.ByKey(keys[i])
		if memberIndex(p, first[i]) < 0 {
			t.Fatalf("ByKey(%q) returned a Ref that is not a member", keys[i])
		}
	}
	for round := range 3 {
		for i, k := range keys {
			if got := p.ByKey(k); got != first[i] {
				t.Fatalf("round %d: ByKey(%q) = member %d, want member %d as before", round, k, memberIndex(p, got), memberIndex(p, first[i]))
			}
		}
	}
	// Across a restart of that member: the same member, now on fresh state.
	m := p.ByKey("key-0")
	m.Send(func(w *poolWorker) { w.n = 99 })
	m.Send(func(*poolWorker) { panic("boom") })
	if got := p.ByKey("key-0"); got != m {
		t.Fatalf("after a restart ByKey = member %d, want member %d", memberIndex(p, got), memberIndex(p, m))
	}
	if got := get(t, p.ByKey("key-0"), func(w *poolWorker) int { return w.n }); got != 0 {
		t.Errorf("after a restart the key's member has n=%d, want 0 (fresh state)", got)
	}
	for i, k := range keys {
		if got := p.ByKey(k); got != first[i] {
			t.Fatalf("after a restart: ByKey(%q) = member %d, want member %d", k, memberIndex(p, got), memberIndex(p, first[i]))
		}
	}
}

func TestPoolByKeyRunsInOrder(t *testing.T) {
	s := newSup(t)
	newState, _ := newPoolWorkers()
	p := SpawnPool(s, 8, newState)
	const senders, keysPerSender, each = 4, 8, 500
	var wg sync.WaitGroup
	for g := range senders {
		wg.Go(func() {
			for i := range each {
				for k := range keysPerSender {
					key := fmt.Sprint("s", g, "k", k)
					err := p.ByKey(key).Send(func(w *poolWorker) { w.keys[key] = append(w.keys[key], i) })
					if err != nil {
						t.Errorf("Send = %v", err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	for g := range senders {
		for k := range keysPerSender {
			key := fmt.Sprint("s", g, "k", k)
			seq := get(t, p.ByKey(key), func(w *poolWorker) []int { return append([]int(nil), w.keys[key]...) })
			if len(seq) != each {
				t.Fatalf("key %s: %d messages ran on its member, want %d", key, len(seq), each)
			}
			for i, v := range seq {
				if v != i {
					t.Fatalf("key %s: message %d ran in position %d", key, v, i)
				}
			}
		}
	}
}

func TestPoolByKeySpread(t *testing.T) {
	s := newSup(t)
	newState, _ := newPoolWorkers()
	const members, keys = 8, 10000
	p := SpawnPool(s, members, newState)
	counts := make(map[*Ref[poolWorker]]int)
	for i := range keys {
		counts[p.ByKey(fmt.Sprint("user-", i))]++
	}
	// 1,250 keys each on average, with a standard deviation of about 33 (2.6%) for a fair
	// hash: 15% is 5.7 deviations, which chance misses once in millions of runs (10% failed
	// about once in 2,000), while a hash that uses few bits or favours a member misses it
	// by far.
	want := keys / members
	for i, m := range p.Members() {
		if got := counts[m]; got < want*85/100 || got > want*115/100 {
			t.Errorf("member %d has %d of %d keys, want %d ± 15%%", i, got, keys, want)
		}
	}
}

// Semantic 4: Next.

func TestPoolNextPicksFewestWaiting(t *testing.T) {
	s := newSup(t)
	newState, _ := newPoolWorkers()
	p := SpawnPool(s, 4, newState)
	ms := p.Members()
	for _, m := range ms {
		block(t, m)
	}
	// Waiting behind the blockers: 3, 1, 2 and 0 messages.
	for i, n := range []int{3, 1, 2, 0} {
		for range n {
			ms[i].Send(func(*poolWorker) {})
		}
	}
	for range 8 {
		if got := p.Next(); got != ms[3] {
			t.Fatalf("Next = member %d, want member 3 (fewest waiting)", memberIndex(p, got))
		}
	}
	for range 2 {
		ms[3].Send(func(*poolWorker) {}) // now 3, 1, 2, 2
	}
	for range 8 {
		if got := p.Next(); got != ms[1] {
			t.Fatalf("Next = member %d, want member 1 (fewest waiting)", memberIndex(p, got))
		}
	}
}

func TestPoolNextRoundRobinOverIdle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewSupervisor(context.Background())
		newState, _ := newPoolWorkers()
		const members, rounds = 4, 25
		p := SpawnPool(s, members, newState)
		synctest.Wait() // every member has come up and is idle
		counts := make(map[*Ref[poolWorker]]int)
		for range members * rounds {
			counts[p.Next()]++
		}
		for i, m := range p.Members() {
			if counts[m] != rounds {
				t.Errorf("over %d idle members, Next picked member %d %d times in %d calls, want %d",
					members, i, counts[m], members*rounds, rounds)
			}
		}
		s.Stop()
		s.Wait()
	})
}

func TestPoolNextRoundRobinAroundBusyMember(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewSupervisor(context.Background())
		newState, _ := newPoolWorkers()
		const members, rounds = 4, 25
		p := SpawnPool(s, members, newState)
		synctest.Wait()
		ms := p.Members()
		rel := make(chan struct{})
		ms[0].Send(func(*poolWorker) { <-rel })
		synctest.Wait()
		// Members 1, 2 and 3 tie at no waiting message: round-robin gives each a third.
		counts := make(map[*Ref[poolWorker]]int)
		for range (members - 1) * rounds {
			counts[p.Next()]++
		}
		for i, m := range ms {
			want := rounds
			if i == 0 {
				want = 0
			}
			if counts[m] != want {
				t.Errorf("member 0 busy, others idle: Next picked member %d %d times in %d calls, want %d",
					i, counts[m], (members-1)*rounds, want)
			}
		}
		close(rel)
		s.Stop()
		s.Wait()
	})
}

func TestPoolNextCountsMessagesTakenFromMailbox(t *testing.T) {
	s := newSup(t)
	newState, _ := newPoolWorkers()
	p := SpawnPool(s, 2, newState)
	m0, m1 := p.Members()[0], p.Members()[1]
	// m0: a blocker running, and behind it a second blocker and 10 messages, which m0's
	// activation takes as one batch when the first blocker ends.
	releaseA := block(t, m0)
	startedB, relB := make(chan struct{}), make(chan struct{})
	t.Cleanup(func() {
		select {
		case <-relB:
		default:
			close(relB)
		}
	})
	m0.Send(func(*poolWorker) { close(startedB); <-relB })
	for range 10 {
		m0.Send(func(*poolWorker) {})
	}
	releaseA()
	<-startedB
	// m1: one blocker running, nothing waiting.
	block(t, m1)
	for range 10 {
		if got := p.Next(); got != m1 {
			t.Fatalf("Next = member 0, with 10 messages waiting; want member 1, with none")
		}
	}
}

// Semantic 5: Stop, Wait and goroutines.

// fillPool holds every member of p busy and queues balanced messages, messages sent to each
// member, and balanced Asks; it returns what counts them and a release.
func fillPool(t *testing.T, p *Pool[poolWorker]) (ran *atomic.Int32, asks *sync.WaitGroup, release func(), want int32) {
	t.Helper()
	ran, asks = new(atomic.Int32), new(sync.WaitGroup)
	var rels []func()
	for _, m := range p.Members() {
		rels = append(rels, block(t, m))
	}
	const balanced, perMember, asked = 200, 25, 10
	for range balanced {
		if err := p.Send(func(*poolWorker) { ran.Add(1) }); err != nil {
			t.Fatalf("Pool.Send = %v", err)
		}
	}
	for _, m := range p.Members() {
		for range perMember {
			if err := m.Send(func(*poolWorker) { ran.Add(1) }); err != nil {
				t.Fatalf("member Send = %v", err)
			}
		}
	}
	for range asked {
		asks.Go(func() {
			_, err := AskPool(context.Background(), p, func(*poolWorker) (int, error) { ran.Add(1); return 0, nil })
			if err != nil {
				t.Errorf("AskPool accepted before Stop = %v, want nil", err)
			}
		})
	}
	waitPoolQueued(t, p, balanced+asked)
	release = func() {
		for _, r := range rels {
			r()
		}
	}
	return ran, asks, release, balanced + int32(perMember*len(p.Members())) + asked
}

func TestPoolStopDrainsEverything(t *testing.T) {
	s := newSup(t)
	newState, _ := newPoolWorkers()
	p := SpawnPool(s, 4, newState)
	ran, asks, release, want := fillPool(t, p)
	p.Stop()
	p.Stop() // again: nothing more
	if err := p.Send(func(*poolWorker) {}); !errors.Is(err, ErrStopped) {
		t.Errorf("Pool.Send after Stop = %v, want ErrStopped", err)
	}
	if err := p.SendContext(context.Background(), func(*poolWorker) {}); !errors.Is(err, ErrStopped) {
		t.Errorf("Pool.SendContext after Stop = %v, want ErrStopped", err)
	}
	if _, err := AskPool(context.Background(), p, func(*poolWorker) (int, error) { return 0, nil }); !errors.Is(err, ErrStopped) {
		t.Errorf("AskPool after Stop = %v, want ErrStopped", err)
	}
	release()
	if err := p.Wait(); err != nil {
		t.Fatalf("Pool.Wait after a clean Stop = %v, want nil", err)
	}
	asks.Wait()
	if got := ran.Load(); got != want {
		t.Errorf("%d of %d accepted messages ran before Wait returned", got, want)
	}
	select {
	case <-p.Done():
	default:
		t.Error("Pool.Done not closed after Wait returned")
	}
	if d1, d2 := p.Done(), p.Done(); d1 != d2 {
		t.Error("Pool.Done returned different channels")
	}
}

func TestPoolParentStopRunsAccepted(t *testing.T) {
	s := NewSupervisor(context.Background())
	newState, _ := newPoolWorkers()
	sink := Spawn(s, &counter{}) // spawned first, so it stops after the pool
	p := SpawnPool(s, 3, newState)
	ran, asks, release, want := fillPool(t, p)
	var last atomic.Int32
	p.Send(func(*poolWorker) { sink.Send(func(c *counter) { last.Add(1) }) })
	want++
	s.Stop() // the parent, not Pool.Stop
	release()
	if err := s.Wait(); err != nil {
		t.Fatalf("parent Supervisor.Wait = %v, want nil", err)
	}
	if err := p.Wait(); err != nil {
		t.Fatalf("Pool.Wait after its parent stopped = %v, want nil", err)
	}
	asks.Wait()
	if got := ran.Load() + last.Load(); got != want {
		t.Errorf("%d of %d accepted messages ran", got, want)
	}
	if last.Load() != 1 {
		t.Error("a message that a pool member sent to an earlier sibling while stopping was lost")
	}
	if err := p.Send(func(*poolWorker) {}); !errors.Is(err, ErrStopped) {
		t.Errorf("Pool.Send after its parent stopped = %v, want ErrStopped", err)
	}
}

func TestPoolStopFromInsideMember(t *testing.T) {
	s := newSup(t)
	newState, _ := newPoolWorkers()
	p := SpawnPool(s, 2, newState)
	var after atomic.Int32
	_, err := AskPool(context.Background(), p, func(*poolWorker) (int, error) {
		p.Stop() // must not wait for the member that calls it
		return 0, nil
	})
	if err != nil {
		t.Fatalf("AskPool = %v", err)
	}
	if err := p.Send(func(*poolWorker) { after.Add(1) }); !errors.Is(err, ErrStopped) {
		t.Errorf("Pool.Send after Stop from inside = %v, want ErrStopped", err)
	}
	if err := p.Wait(); err != nil {
		t.Fatalf("Pool.Wait = %v", err)
	}
}

func TestPoolGiveUpReleasesQueuedAsks(t *testing.T) {
	// The only member fails and the pool gives up: an Ask waiting in the shared queue has
	// nobody left to run it and must return at once, not hang.
	s := NewSupervisor(context.Background())
	newState, _ := newPoolWorkers()
	p := SpawnPool(s, 1, newState, WithIntensity(0, 0))
	_, release := poolBlock(t, p)
	p.Send(func(*poolWorker) { panic("boom") })
	errc := make(chan error)
	go func() {
		_, err := AskPool(context.Background(), p, func(*poolWorker) (int, error) { return 0, nil })
		errc <- err
	}()
	waitPoolQueued(t, p, 2)
	release()
	if err := <-errc; !errors.Is(err, ErrStopped) {
		t.Errorf("AskPool queued when the pool gave up = %v, want ErrStopped", err)
	}
	var pe *PanicError
	if err := p.Wait(); !errors.As(err, &pe) {
		t.Errorf("Pool.Wait = %v, want the *PanicError", err)
	}
	s.Wait()
}

// bubbleGoroutines is goroutines for a caller inside a synctest bubble: where the runtime
// names the bubble in stack dumps (Go 1.26 does), it counts only the goroutines of the
// caller's bubble, so that an activation of an earlier test, past its end but still on its
// way out, is not counted. Elsewhere it counts them all, as goroutines does.
func bubbleGoroutines(fn string) int {
	buf := make([]byte, 4096)
	self := buf[:runtime.Stack(buf, false)]
	header, _, _ := bytes.Cut(self, []byte("\n"))
	i := bytes.Index(header, []byte(", synctest bubble "))
	if i < 0 {
		return goroutines(fn)
	}
	bubble := header[i:]
	if j := bytes.IndexByte(bubble, ']'); j >= 0 {
		bubble = bubble[:j+1]
	}
	buf = allStacks()
	count := 0
	for _, g := range bytes.Split(buf, []byte("\n\n")) {
		h, _, _ := bytes.Cut(g, []byte("\n"))
		if bytes.Contains(h, bubble) && bytes.Contains(g, []byte(fn)) {
			count++
		}
	}
	return count
}

func TestPoolIdleMembersHoldNoGoroutine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewSupervisor(context.Background())
		newState, _ := newPoolWorkers()
		p := SpawnPool(s, 8, newState)
		for i := range 100 {
			if _, err := AskPool(context.Background(), p, func(w *poolWorker) (int, error) { w.n++; return 0, nil }); err != nil {
				t.Fatal(err)
			}
			p.Send(func(w *poolWorker) { w.n++ })
			p.ByKey(fmt.Sprint(i)).Send(func(w *poolWorker) { w.n++ })
		}
		// And after a restart.
		m := p.Members()[3]
		m.Send(func(*poolWorker) { panic("boom") })
		get(t, m, func(w *poolWorker) int { return w.n })
		synctest.Wait() // every activation has found nothing to do and ended
		if got := bubbleGoroutines("actor.(*Ref[...]).run("); got != 0 {
			t.Errorf("8 idle members hold %d goroutines, want 0", got)
		}
		if got := bubbleGoroutines("actor.(*Supervisor)."); got != 0 {
			t.Errorf("the idle pool's supervisors hold %d goroutines, want 0", got)
		}
		s.Stop()
		if err := s.Wait(); err != nil {
			t.Fatal(err)
		}
	})
}

// AskPool.

func TestAskPool(t *testing.T) {
	t.Run("result", func(t *testing.T) {
		s := newSup(t)
		newState, _ := newPoolWorkers()
		p := SpawnPool(s, 3, newState)
		sum := 0
		for i := range 10 {
			v, err := AskPool(context.Background(), p, func(w *poolWorker) (int, error) { w.n++; return i * i, nil })
			if err != nil {
				t.Fatalf("AskPool = %v", err)
			}
			sum += v
		}
		if sum != 285 {
			t.Errorf("sum of AskPool results = %d, want 285", sum)
		}
		// The effects happen before AskPool returns: 10 increments over the members.
		total := 0
		for _, m := range p.Members() {
			total += get(t, m, func(w *poolWorker) int { return w.n })
		}
		if total != 10 {
			t.Errorf("members counted %d messages, want 10", total)
		}
		want := errors.New("refused")
		if _, err := AskPool(context.Background(), p, func(*poolWorker) (int, error) { return 0, want }); !errors.Is(err, want) {
			t.Errorf("AskPool = %v, want fn's error", err)
		}
	})
	t.Run("panic", func(t *testing.T) {
		s := newSup(t)
		newState, _ := newPoolWorkers()
		// One member, so that the next AskPool waits for its restart (see
		// TestPoolStopDuringMemberRestart for what stopping the pool during one does).
		p := SpawnPool(s, 1, newState)
		_, err := AskPool(context.Background(), p, func(*poolWorker) (int, error) { panic("boom") })
		var pe *PanicError
		if !errors.As(err, &pe) || pe.Value != "boom" {
			t.Fatalf("AskPool of a panicking fn = %v, want its *PanicError", err)
		}
		if v, err := AskPool(context.Background(), p, func(*poolWorker) (int, error) { return 1, nil }); v != 1 || err != nil {
			t.Errorf("AskPool after a member restarted = %d, %v; want 1, nil", v, err)
		}
	})
	t.Run("ctx ends first", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			s := NewSupervisor(context.Background())
			newState, _ := newPoolWorkers()
			p := SpawnPool(s, 2, newState)
			_, r1 := poolBlock(t, p)
			_, r2 := poolBlock(t, p)
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			ran := false
			_, err := AskPool(ctx, p, func(*poolWorker) (int, error) { ran = true; return 0, nil })
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("AskPool with every member busy = %v, want DeadlineExceeded", err)
			}
			r1()
			r2()
			s.Stop()
			if err := s.Wait(); err != nil {
				t.Fatal(err)
			}
			if ran {
				t.Error("fn ran after AskPool returned ctx's error")
			}
			done, cancel2 := context.WithCancel(context.Background())
			cancel2()
			if _, err := AskPool(done, p, func(*poolWorker) (int, error) { return 0, nil }); !errors.Is(err, context.Canceled) {
				t.Errorf("AskPool(done ctx) = %v, want context.Canceled", err)
			}
		})
	})
	t.Run("after Stop", func(t *testing.T) {
		s := newSup(t)
		newState, _ := newPoolWorkers()
		p := SpawnPool(s, 2, newState)
		p.Stop()
		if _, err := AskPool(context.Background(), p, func(*poolWorker) (int, error) { return 0, nil }); !errors.Is(err, ErrStopped) {
			t.Errorf("AskPool after Stop = %v, want ErrStopped", err)
		}
		p.Wait()
		if _, err := AskPool(context.Background(), p, func(*poolWorker) (int, error) { return 0, nil }); !errors.Is(err, ErrStopped) {
			t.Errorf("AskPool after Wait = %v, want ErrStopped", err)
		}
	})
}

// Misuse.

func TestPoolBadInputPanics(t *testing.T) {
	s := newSup(t)
	newState, _ := newPoolWorkers()
	var zeroSup Supervisor
	p := SpawnPool(s, 1, newState)
	for _, c := range []struct {
		want string
		f    func()
	}{
		{"actor: SpawnPool: n must be at least 1", func() { SpawnPool(s, 0, newState) }},
		{"actor: SpawnPool: n must be at least 1", func() { SpawnPool(s, -1, newState) }},
		{"actor: SpawnPool: nil newState", func() { SpawnPool[poolWorker](s, 2, nil) }},
		{"actor: SpawnPool: nil Supervisor", func() { SpawnPool(nil, 2, newState) }},
		{"actor: SpawnPool: nil Supervisor", func() { SpawnPool(&zeroSup, 2, newState) }},
		{"actor: SpawnPool: nil Option", func() { SpawnPool(s, 2, newState, nil) }},
		{"actor: Spawn: a SupervisorOption", func() { Spawn(s, &counter{}, WithIntensity(1, time.Second)) }},
		{"actor: SpawnFunc: a SupervisorOption", func() {
			SpawnFunc(s, func() (*counter, error) { return &counter{}, nil }, WithSupervisorName("x"))
		}},
		{"actor: Pool.SendContext: nil Context", func() {
			//lint:ignore SA1012 the test checks the panic for a nil Context
			p.SendContext(nil, func(*poolWorker) {})
		}},
		{"actor: AskPool: nil Context", func() {
			//lint:ignore SA1012 the test checks the panic for a nil Context
			AskPool(nil, p, func(*poolWorker) (int, error) { return 0, nil })
		}},
	} {
		mustPanic(t, c.want, c.f)
	}
}

func TestPoolStopDuringMemberRestart(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	s := NewSupervisor(context.Background())
	var made atomic.Int32
	entered, gate := make(chan struct{}), make(chan struct{})
	p := SpawnPool(s, 1, func() (*poolWorker, error) {
		if made.Add(1) == 2 { // the restart: hold the member half-way up
			close(entered)
			<-gate
		}
		return &poolWorker{}, nil
	})
	p.Members()[0].Send(func(*poolWorker) { panic("boom") })
	<-entered
	p.Stop()
	close(gate)
	if err := p.Wait(); err != nil {
		t.Errorf("Pool.Wait = %v, want nil", err)
	}
	s.Stop()
	if err := s.Wait(); err != nil {
		t.Errorf("Supervisor.Wait = %v, want nil", err)
	}
	// VerifyNone: the member ended once, and its activation is gone.
}

func TestPoolDoneRacesEnd(t *testing.T) {
	s := newSup(t)
	newState, _ := newPoolWorkers()
	p := SpawnPool(s, 1, newState)
	// Hold the pool's end while it delivers its watch notices, before Done closes: the
	// notice waits for the watcher's lock, which the test holds.
	watcher := Spawn(s, &counter{})
	WatchSupervisor(watcher, p.Supervisor(), func(*counter, error) {})
	watcher.mu.Lock()
	p.Stop()
	for {
		p.sup.mu.Lock()
		delivering := p.sup.hooksDone
		p.sup.mu.Unlock()
		if delivering {
			break
		}
		runtime.Gosched()
	}
	done := p.Done() // as Pool.Wait does, just as the pool ends
	watcher.mu.Unlock()
	<-done
	if err := p.Wait(); err != nil {
		t.Errorf("Pool.Wait = %v, want nil", err)
	}
}

func TestSpawnPoolOnStoppedSupervisor(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := NewSupervisor(context.Background())
		s.Stop()
		if err := s.Wait(); err != nil {
			t.Fatal(err)
		}
		newState, made := newPoolWorkers()
		p := SpawnPool(s, 2, newState)
		if err := p.Wait(); !errors.Is(err, ErrStopped) {
			t.Errorf("Pool.Wait of a pool spawned on a stopped supervisor = %v, want ErrStopped", err)
		}
		if err := p.Send(func(*poolWorker) {}); !errors.Is(err, ErrStopped) {
			t.Errorf("Pool.Send on a pool spawned on a stopped supervisor = %v, want ErrStopped (it will never run)", err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // fake time: returns at once if AskPool hangs
		defer cancel()
		if _, err := AskPool(ctx, p, func(*poolWorker) (int, error) { return 0, nil }); !errors.Is(err, ErrStopped) {
			t.Errorf("AskPool on a pool spawned on a stopped supervisor = %v, want ErrStopped", err)
		}
		if got := made.Load(); got != 0 {
			t.Errorf("newState ran %d times for a pool spawned stopped, want 0", got)
		}
	})
}
