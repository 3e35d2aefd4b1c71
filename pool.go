package actor

import (
	"context"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"
)

// Pool is a fixed number of actors of one kind, its members, behind one handle: for work
// that one actor, running one message at a time, cannot keep up with. Each member has its
// own state, made by the pool's newState, so members need no lock either.
//
// Messages reach the members in three ways. [Pool.Send] and [AskPool] balance: the message
// waits in the pool's shared queue and runs on whichever member becomes free first, so no
// message waits behind a slow one while another member is idle; there is no order between
// messages sent this way, even from one goroutine. [Pool.ByKey] routes by key: the same key
// goes to the same member for as long as the pool exists, so the messages for one key run
// in order, on one state. [Pool.Next] picks the member with the fewest waiting messages.
// Members are ordinary actors: [Ask], [Request], [Watch] and timers work on them.
//
// The members run under a supervisor of the pool's own, a child of the supervisor given to
// [SpawnPool], which restarts a failed member from fresh state ([OneForOne]). A Pool comes
// only from SpawnPool; its methods are safe from any goroutine, including from inside its
// members' messages.
type Pool[T any] struct {
	sup     *Supervisor // the pool's own
	members []*Ref[T]
	seed    maphash.Seed  // ByKey's hash: fixed for the pool's life
	bound   int32         // WithMailboxSize: the shared queue's bound too; 0: unbounded
	rr      atomic.Uint32 // where Next starts looking, so that ties go round

	mu       sync.Mutex
	q        queue         // guarded by mu; balanced messages that no member has taken yet
	idle     []*Ref[T]     // guarded by mu; members that found q empty and went idle
	isIdle   []bool        // guarded by mu; by member index: in idle
	stopping bool          // guarded by mu; the pool takes no more balanced messages
	room     chan struct{} // guarded by mu; closed when a full shared queue frees a slot or stops
}

// SpawnPool starts n members under a new child supervisor of s, each with its own state from
// newState, and returns their Pool. opts apply to every member (a bounded mailbox also
// bounds the pool's shared queue, see [Pool.Send]), except [SupervisorOption]s, which
// configure the pool's supervisor: its strategy is [OneForOne] and, unless they say
// otherwise, it restarts up to n failed members within 5 seconds ([WithIntensity]) and
// gives up on the next failure, which fails the pool like any child supervisor.
//
// Idle members hold no goroutine. It panics if s or newState is nil, or n < 1.
func SpawnPool[T any](s *Supervisor, n int, newState func() (*T, error), opts ...Option) *Pool[T] {
	if s == nil || s.group == nil {
		panic("actor: SpawnPool: nil Supervisor (Supervisors come from NewSupervisor)")
	}
	if newState == nil {
		panic("actor: SpawnPool: nil newState")
	}
	if n < 1 {
		panic("actor: SpawnPool: n must be at least 1")
	}
	cfg := newConfig("SpawnPool", opts)
	supOpts := append([]SupervisorOption{WithIntensity(n, 5*time.Second)}, cfg.sup...)
	cfg.sup = nil
	p := &Pool[T]{seed: maphash.MakeSeed(), bound: int32(cfg.bound), isIdle: make([]bool, n)}
	p.sup = s.newChild(newSupConfig("SpawnPool", supOpts), p)
	p.members = make([]*Ref[T], n)
	for i := range p.members {
		p.members[i] = spawn(p.sup, nil, newState, "SpawnPool", cfg, p, i)
	}
	return p
}

// Send queues msg in the pool's shared queue and returns without waiting for it to run; the
// first member to be free runs it. It never blocks. Like [Ref.Send], a Send that returns
// nil runs msg exactly once unless the pool fails first; it returns [ErrNilMessage] for a
// nil msg, [ErrStopped] once the pool is stopping, and [ErrMailboxFull] when the pool was
// made with [WithMailboxSize] and that many messages already wait in its shared queue.
// Messages sent with Send run in no particular order: use [Pool.ByKey] for order.
func (p *Pool[T]) Send(msg func(*T)) error {
	if msg == nil {
		return ErrNilMessage
	}
	return p.accept(context.Background(), msg, false)
}

// SendContext is [Pool.Send] that waits for room in a full shared queue instead of failing,
// as [Ref.SendContext] does for a mailbox.
func (p *Pool[T]) SendContext(ctx context.Context, msg func(*T)) error {
	if ctx == nil {
		panic("actor: Pool.SendContext: nil Context")
	}
	if msg == nil {
		return ErrNilMessage
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return p.accept(ctx, msg, true)
}

// AskPool runs fn on whichever member of p is free first, as [Pool.Send] does, and returns
// its result as [Ask] does: it blocks until fn has run, ctx ends, or the pool drops it, and
// waits for room in a full shared queue.
func AskPool[T, R any](ctx context.Context, p *Pool[T], fn func(*T) (R, error)) (R, error) {
	if ctx == nil {
		panic("actor: AskPool: nil Context")
	}
	var zero R
	if fn == nil {
		return zero, ErrNilMessage
	}
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	return ask(ctx, fn, func(m any) error { return p.accept(ctx, m, true) })
}

// accept queues m for the first free member: it hands m to an idle member at once, or
// queues it in the shared queue, where the next member to be free takes it. A full shared
// queue refuses m, or with wait, makes accept wait for room until ctx ends.
//
// A member registers as idle only under mu, having found the shared queue empty, and
// before it lets go of its activation; so a message queued here, with no idle member
// listed, is always found by some member.
func (p *Pool[T]) accept(ctx context.Context, m any, wait bool) error {
	p.mu.Lock()
	for {
		if p.stopping {
			p.mu.Unlock()
			return p.refused(ErrStopped)
		}
		for len(p.idle) > 0 {
			r := p.idle[len(p.idle)-1]
			p.idle = p.idle[:len(p.idle)-1]
			p.isIdle[r.x.index] = false
			// Not under mu: the member takes its own lock first, then the pool's.
			p.mu.Unlock()
			if r.acceptIfIdle(m) {
				return nil
			}
			p.mu.Lock() // it had work of its own meanwhile, or is stopping: try another
			if p.stopping {
				p.mu.Unlock()
				return p.refused(ErrStopped)
			}
		}
		if p.bound == 0 || p.q.n < p.bound {
			break
		}
		if !wait {
			p.mu.Unlock()
			return p.refused(ErrMailboxFull)
		}
		if p.room == nil {
			p.room = make(chan struct{})
		}
		room := p.room
		p.mu.Unlock()
		select {
		case <-room:
		case <-ctx.Done():
			return ctx.Err()
		}
		p.mu.Lock()
	}
	p.q.push(m)
	p.mu.Unlock()
	return nil
}

// next gives member r the next message of the shared queue, as its batch, and reports
// whether there was one; if not, it lists r as idle, unless r is stopping. r's activation
// calls it under r.mu when r has nothing of its own left (lock order: r.mu, then p.mu).
func (p *Pool[T]) next(r *Ref[T]) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.q.n > 0 {
		r.batch = batch{one: p.q.pop(), n: 1}
		if p.room != nil {
			close(p.room)
			p.room = nil
		}
		return true
	}
	if !r.stopping && !p.isIdle[r.x.index] {
		p.isIdle[r.x.index] = true
		p.idle = append(p.idle, r)
	}
	return false
}

// acceptIfIdle queues m on r and starts r's activation if r is idle: not running, not
// stopping. It reports whether it did.
func (r *Ref[T]) acceptIfIdle(m any) bool {
	r.mu.Lock()
	if r.running || r.stopping {
		r.mu.Unlock()
		return false
	}
	r.q.push(m)
	r.running = true
	r.mu.Unlock()
	go r.runFn()
	return true
}

// draining is called when the pool's supervisor starts stopping: the pool takes no more
// balanced messages, and the members run what waits in the shared queue before they end.
func (p *Pool[T]) draining() {
	p.mu.Lock()
	p.stopping = true
	if p.room != nil {
		close(p.room)
		p.room = nil
	}
	p.mu.Unlock()
}

// ended is called when the pool's supervisor has ended. Members that ended without taking
// what waited (down for a restart when the pool stopped, or failed) leave it here: it is
// dropped, and the callers of its Asks get ErrStopped.
func (p *Pool[T]) ended() {
	p.mu.Lock()
	var dropped []any
	p.q.each(0, func(m *any) { dropped = append(dropped, *m); *m = nil })
	p.q.release()
	p.mu.Unlock()
	for _, m := range dropped {
		if c, ok := m.(request[T]); ok {
			c.abort(ErrStopped)
		}
	}
	if o := p.sup.obs; o != nil && len(dropped) > 0 {
		o.Observe(Event{Kind: EventDropped, Type: typeName[T](), Supervisor: p.sup, Count: len(dropped), Reason: "pool"})
	}
}

// refused reports a send the pool refused to the observer, if any, and returns err.
func (p *Pool[T]) refused(err error) error {
	if o := p.sup.obs; o != nil {
		o.Observe(Event{Kind: EventRefused, Type: typeName[T](), Supervisor: p.sup, Err: err, Count: 1})
	}
	return err
}

// Next returns the member with the fewest messages waiting (a busy member counts its
// running message as one), ties broken round-robin. It takes no lock shared by all its
// callers: it reads each member's count under that member's own lock.
func (p *Pool[T]) Next() *Ref[T] {
	// Every member is looked at, and the turn picks among those with the least load, so
	// that ties go round fairly: starting from a rotating member and taking the first
	// least would give a busy member's turns to the idle one after it.
	var buf [64]int32
	loads := buf[:0]
	least := int32(-1)
	for _, m := range p.members {
		l := m.load()
		loads = append(loads, l)
		if least < 0 || l < least {
			least = l
		}
	}
	ties := 0
	for _, l := range loads {
		if l == least {
			ties++
		}
	}
	k := int(p.rr.Add(1) % uint32(ties))
	for i, l := range loads {
		if l == least {
			if k == 0 {
				return p.members[i]
			}
			k--
		}
	}
	return p.members[0] // unreachable: one member at least has the least load
}

// load is how many messages r has waiting: in its queue, and taken in its batch but not
// started, counting a running one. The batch changes only under mu; claimed is what the
// activation has started of it (claimedAll, negative, once the rest was taken away).
func (r *Ref[T]) load() int32 {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := r.q.n
	if c := int32(r.claimed.Load()); c >= 0 && c < r.batch.n {
		n += r.batch.n - c
	}
	if r.running {
		n++
	}
	return n
}

// Len returns how many balanced messages wait in the pool's shared queue, not yet taken by
// a member: a snapshot, for metrics.
func (p *Pool[T]) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return int(p.q.n)
}

// ByKey returns the member for key: the same member for the same key for as long as the
// pool exists (restarts keep members in place), so that all the messages sent to it for
// one key run in order on one state. Keys spread evenly over the members. The mapping is
// the pool's own: another pool, or another process, maps keys differently.
func (p *Pool[T]) ByKey(key string) *Ref[T] {
	return p.members[maphash.String(p.seed, key)%uint64(len(p.members))]
}

// Members returns the members, in the order they were spawned: for broadcasts, or to Watch
// them. The slice is a copy.
func (p *Pool[T]) Members() []*Ref[T] {
	return append([]*Ref[T](nil), p.members...)
}

// Stop stops the pool and returns at once; [Pool.Wait] waits for it. From then on Send
// returns [ErrStopped]; the members run what waits in the shared queue and in their own
// mailboxes, then stop, as the children of any supervisor do. Calling it again does
// nothing.
func (p *Pool[T]) Stop() { p.sup.Stop() }

// Wait blocks until every member has ended, and returns nil after a clean stop, or the
// failure that made the pool's supervisor give up.
func (p *Pool[T]) Wait() error { return p.sup.Wait() }

// Done returns a channel that is closed when every member has ended.
func (p *Pool[T]) Done() <-chan struct{} { return p.sup.Done() }

// Supervisor returns the pool's own supervisor, a child of the one given to SpawnPool: to
// watch it, or to stop the pool with the rest of a subsystem.
func (p *Pool[T]) Supervisor() *Supervisor { return p.sup }
