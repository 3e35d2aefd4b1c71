package actor

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"time"
)

// Base gives an actor its own [Ref]. Embed it in T; [Spawn] binds it before OnStart, so
// Self works in every hook and message. The zero Base is ready to embed. Actors that do not
// need their Ref need not embed it.
type Base[T any] struct {
	self *Ref[T]
}

// Self returns the Ref of the actor that owns this state, typically to send follow-ups with
// Self().Enqueue. It returns nil before [Spawn] has bound the Base.
func (b *Base[T]) Self() *Ref[T] { return b.self }

// bind and bound are promoted into *T by embedding, which lets Spawn find the Base without
// users being able to call or fake them.
func (b *Base[T]) bind(r *Ref[T]) { b.self = r }

// bound returns the Ref the Base is bound to; ok is false if the Base is a nil pointer
// (embedded as *Base[T] and never set), which Spawn cannot bind.
func (b *Base[T]) bound() (r *Ref[T], ok bool) {
	if b == nil {
		return nil, false
	}
	return b.self, true
}

type binder[T any] interface {
	bind(*Ref[T])
	bound() (*Ref[T], bool)
}

// Spawn starts an actor that owns state under supervisor s and returns its Ref. The actor
// runs its messages one at a time, in the order its mailbox accepted them, so T needs no
// lock as long as only messages touch it. Each message sees the effects of every message
// before it.
//
// Spawn never blocks. An idle actor holds no goroutine: one is started when a message
// arrives, and it ends when the mailbox is empty again.
//
// Optional hooks, found on *T:
//   - OnStart() error runs on the actor's goroutine before its first message (and again
//     after each restart). If it returns an error the actor fails with that error.
//   - OnStop() runs on the actor's goroutine after its last message, whether the actor
//     stopped or failed, and before a restart replaces the state. It returns before
//     [Ref.Wait] does.
//
// A panic in a message or hook is recovered on the actor's goroutine into a [*PanicError].
// [WithRestart] lets the actor survive it by itself; otherwise the actor fails, and s
// decides (see [WithStrategy] and [WithIntensity]): it restarts the actor, keeping its Ref
// and its mailbox (the failed message is dropped, and its Ask gets the failure), or, by
// default, it gives up: the actor ends (the messages still in its mailbox are dropped and
// their Asks return [ErrStopped] at once, OnStop runs, Wait returns the failure), and s
// stops every other child and fails.
//
// Children start in the order they are spawned and stop in the reverse order (see
// [Supervisor.Stop]): spawn an actor before the actors that send to it, or their last
// messages are refused when it stops first.
//
// If s has been stopped, Spawn returns a Ref that is already stopped: it runs nothing, sends
// return [ErrStopped] and Wait returns ErrStopped. Spawn panics if s or state is nil, or if
// state embeds a [Base] that belongs to an actor that has not ended. For an actor that a
// restart should give fresh state, use [SpawnFunc].
func Spawn[T any](s *Supervisor, state *T, opts ...Option) *Ref[T] {
	if state == nil {
		if s == nil || s.group == nil {
			panic("actor: Spawn: nil Supervisor (Supervisors come from NewSupervisor)")
		}
		panic("actor: Spawn: nil state")
	}
	return spawn(s, state, nil, "Spawn", newConfig("Spawn", opts), nil, 0)
}

// SpawnFunc starts an actor under s, like [Spawn], whose state newState makes: once when
// the actor starts, and again at each restart, so that a restarted actor starts from fresh
// state rather than from the state that failed. newState runs on the actor's goroutine,
// before OnStart; if it returns an error or a nil state, or panics, the actor fails as if
// OnStart had, and s decides what follows. Messages sent before the state exists wait in
// the mailbox. It panics if s or newState is nil.
func SpawnFunc[T any](s *Supervisor, newState func() (*T, error), opts ...Option) *Ref[T] {
	if newState == nil {
		if s == nil || s.group == nil {
			panic("actor: SpawnFunc: nil Supervisor (Supervisors come from NewSupervisor)")
		}
		panic("actor: SpawnFunc: nil newState")
	}
	return spawn(s, nil, newState, "SpawnFunc", newConfig("SpawnFunc", opts), nil, 0)
}

// spawn makes the actor for Spawn, SpawnFunc and SpawnPool (which gives its pool and the
// member's index in it).
func spawn[T any](s *Supervisor, state *T, newState func() (*T, error), op string, cfg config, pool *Pool[T], index int) *Ref[T] {
	if s == nil || s.group == nil {
		panic("actor: " + op + ": nil Supervisor (Supervisors come from NewSupervisor)")
	}
	if len(cfg.sup) > 0 && pool == nil {
		panic("actor: " + op + ": a SupervisorOption configures a supervisor (NewSupervisor, NewChild, SpawnPool), not an actor")
	}
	r := &Ref[T]{sup: s, state: state, bound: int32(cfg.bound), named: cfg.name != ""}
	if cfg.restartMax >= 0 || newState != nil || cfg.shutdown > 0 || pool != nil {
		r.x = &refExt[T]{newState: newState, shutdown: cfg.shutdown, pool: pool, index: index}
		if cfg.restartMax >= 0 {
			r.x.restart = &restarter{max: cfg.restartMax, within: cfg.restartWithin}
		}
	}
	if cfg.name != "" || cfg.bound > 0 {
		r.life = &life{name: cfg.name}
	}
	r.runFn = r.run
	r.member.child = r
	if state != nil {
		if err := r.bind(state); err != nil {
			panic("actor: " + op + ": " + err.Error())
		}
	}
	start := newState != nil || hasOnStart[T]()
	// Set before r is in the list, where the supervisor's drain may stop it at once.
	r.running, r.needState, r.stateless = start, newState != nil, newState != nil
	r.observe(EventSpawned, nil, 0, "") // before the supervisor can end it
	if !s.link(&r.member) {
		r.running, r.stopping, r.ended, r.err = false, true, true, ErrStopped
		r.observe(EventEnded, ErrStopped, 0, "")
		return r
	}
	if start {
		go r.runFn()
	}
	return r
}

// bind binds the Base that state embeds, if it embeds one, to r.
func (r *Ref[T]) bind(state *T) error {
	b, ok := any(state).(binder[T])
	if !ok {
		return nil
	}
	// Check before writing: the running owner may be reading Self at this moment.
	old, ok := b.bound()
	if !ok {
		return errors.New("state embeds a nil *Base; embed Base by value")
	}
	if old != nil && old != r && !old.hasEnded() {
		return errors.New("state already belongs to the running actor " + old.String())
	}
	b.bind(r)
	return nil
}

// hasOnStart and hasOnStop report whether *T has the hooks. They look at the type, not at
// a value, since the state of an actor made by SpawnFunc changes at each restart.
func hasOnStart[T any]() bool {
	_, ok := any((*T)(nil)).(interface{ OnStart() error })
	return ok
}

func hasOnStop[T any]() bool {
	_, ok := any((*T)(nil)).(interface{ OnStop() })
	return ok
}

func (r *Ref[T]) hasEnded() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ended
}

// labelSet is the pprof labels of an actor's goroutine, behind a pointer so that a Ref
// spends one word on them.
type labelSet struct{ ctx context.Context }

// labelSet returns the pprof labels for r's goroutine: its name if it has one, else its
// type's name, made once per type and shared, since building labels costs five
// allocations and about a hundred bytes that an unnamed actor would keep for life.
func (r *Ref[T]) makeLabels() *labelSet {
	if r.named {
		r.mu.Lock()
		name := r.life.name
		r.mu.Unlock()
		return &labelSet{pprof.WithLabels(context.Background(), pprof.Labels("actor", name))}
	}
	t := reflect.TypeFor[T]()
	if l := lastLabels.Load(); l != nil && l.t == t {
		return l.set // most programs spawn many actors of a few types, often in runs
	}
	l, ok := typeLabels.Load(t)
	if !ok {
		set := &labelSet{pprof.WithLabels(context.Background(), pprof.Labels("actor", typeName[T]()))}
		l, _ = typeLabels.LoadOrStore(t, &typeLabel{t, set})
	}
	lastLabels.Store(l.(*typeLabel))
	return l.(*typeLabel).set
}

// typeLabels maps the reflect.Type of an unnamed actor's state to its *typeLabel, and
// lastLabels holds the last one looked up, which saves hashing the type for each new
// actor of the same type.
var (
	typeLabels sync.Map
	lastLabels atomic.Pointer[typeLabel]
)

type typeLabel struct {
	t   reflect.Type
	set *labelSet
}

// typeName is T's name for generated actor names and labels.
func typeName[T any]() string {
	if t := reflect.TypeFor[T]().Name(); t != "" {
		return t
	}
	return "actor"
}

// phase is what an activation is running, so that its panic handler knows what failed.
type phase uint8

const (
	inMessage phase = iota
	inStart
	inStop
	between // between two messages: nothing of the batch is running
)

// run is one activation: a goroutine that drains the mailbox and ends when it is empty. At
// most one runs at a time; accept and stop start it, always with running set under mu, and
// it clears running under mu as its last act, so it touches nothing of r afterwards.
//
// Activations are not counted by the supervisor one by one: the supervisor counts the
// actor, once, from Spawn until its end, and the end is the activation's last act. So
// starting one costs a goroutine and nothing shared with other actors.
func (r *Ref[T]) run() {
	if r.labels == nil {
		r.labels = r.makeLabels()
	}
	pprof.SetGoroutineLabels(r.labels.ctx)
	for !r.guarded() {
	}
}

// guarded drains the mailbox, recovering a panic or runtime.Goexit. It returns false when
// the activation should go on: after a panic that a restart absorbed.
func (r *Ref[T]) guarded() (done bool) {
	normal := false
	defer func() {
		if normal {
			return
		}
		v := recover()
		if v == nil {
			// Since Go 1.21 panic(nil) recovers as *runtime.PanicNilError, so a nil here
			// means runtime.Goexit. The goroutine will end whatever we do: the actor
			// fails, and if its supervisor restarts it, it comes up on a new goroutine.
			// If the Goexit came from OnStop inside end, the actor has ended already.
			if r.finished {
				return
			}
			r.abortCurrent(ErrGoexit)
			if !r.failed(ErrGoexit) {
				go r.runFn() // restarted at once: running is still set, a new activation takes over
			}
			return
		}
		pe := newPanicError(r.String(), v)
		r.abortCurrent(pe)
		r.observe(EventPanicked, pe, 0, "")
		if r.restartable() {
			r.restartInPlace(pe)
			done = false
			return
		}
		done = r.failed(pe)
	}()
	done = r.drain()
	normal = true
	return done
}

// restartable reports whether a panic that just happened may be survived by WithRestart.
func (r *Ref[T]) restartable() bool {
	if r.x == nil || r.x.restart == nil || r.phase == inStop {
		return false
	}
	if r.phase == inStart {
		// An OnStart that always panics would restart for ever if within is short; once
		// the actor is stopping, let it fail so that Stop and Wait still end.
		r.mu.Lock()
		stopping := r.stopping
		r.mu.Unlock()
		if stopping {
			return false
		}
	}
	return r.x.restart.allow(time.Now())
}

// abortCurrent drops the message that panicked or called Goexit, telling its Ask why. The
// message was claimed, so nobody else drops it; its slot is empty if it had completed.
func (r *Ref[T]) abortCurrent(err error) {
	if r.phase != inMessage {
		return
	}
	r.phase = between
	slot := r.cur.at(&r.batch)
	m := *slot
	*slot = nil
	if c, ok := m.(request[T]); ok {
		c.abort(err)
	}
}

// drain runs messages until the mailbox is empty. It takes them from the queue in batches
// (all that are waiting, or one at a time for a bounded mailbox, so that its bound counts
// every message not yet started) under one lock per batch. Between batches it does what
// its supervisor asked of it: bring this incarnation down for a restart. It returns false
// if the activation should go on after a failure its supervisor restarted at once.
func (r *Ref[T]) drain() (done bool) {
	// With an observer, one clock reading per batch: each batch's time runs from the end of
	// the one before (or the start of the activation, or of OnStart's end) to its own end.
	o, each := r.sup.obs, r.sup.obsEach
	var last time.Time
	ran := 0 // messages of the current batch that have run
	if o != nil {
		last = time.Now()
		if !each {
			// A panic or Goexit unwinds past the batch's report below: report the
			// messages that ran before it here.
			defer func() {
				if ran > 0 {
					r.ran(ran, time.Since(last))
				}
			}()
		}
	}
	for {
		if r.needState || !r.started {
			// Once per incarnation, out of line: drain's frame is on the stack of every
			// activation, and a bigger one made the calls below it grow the stack (a
			// Request with a cancellable context took 3 µs instead of 1).
			up, done := r.startUp()
			if !up {
				if done {
					return true
				}
				continue // failed and restarted at once: come up again
			}
			if o != nil {
				last = time.Now()
			}
		}
		ran = 0
		for n := r.batch.n; ; {
			// Claim before running: once StopNow, end or a restart has taken the rest of
			// the batch, the claim fails and the message is theirs (see claimed).
			i := int32(r.claimed.Add(1)) - 1
			if i >= n || i < 0 {
				break
			}
			slot := r.cur.advance(&r.batch, i == 0)
			r.phase = inMessage
			var t0 time.Time
			if each {
				t0 = time.Now()
			}
			switch m := (*slot).(type) {
			case func(*T):
				m(r.state)
			case request[T]:
				m.run(r.state)
			}
			if each {
				r.ran(1, time.Since(t0))
			}
			r.phase = between
			*slot = nil // let the closure be collected
			ran++
		}
		if o != nil && !each && ran > 0 {
			now := time.Now()
			r.ran(ran, now.Sub(last))
			last, ran = now, 0
		}
		if more, done := r.nextBatch(); !more {
			return done
		}
	}
}

// startUp brings up the incarnation that the activation runs: fresh state if it needs
// one (comeUp), then OnStart, then the observer's EventStarted or EventRestarted. It
// reports whether the incarnation is up; if it failed instead, done says whether the
// activation ends here (see failed).
func (r *Ref[T]) startUp() (up, done bool) {
	if r.needState {
		if err := r.comeUp(); err != nil {
			return false, r.failed(err)
		}
	}
	if r.started {
		return true, false
	}
	r.started = true
	if hasOnStart[T]() {
		r.phase = inStart
		err := any(r.state).(interface{ OnStart() error }).OnStart()
		r.phase = between
		if err != nil {
			return false, r.failed(fmt.Errorf("OnStart: %w", err))
		}
	}
	o := r.sup.obs
	var cause error
	if r.cameUp || o != nil {
		r.mu.Lock()
		if r.cameUp {
			r.life.signalUp()
		}
		if r.life != nil {
			cause = r.life.cause
		}
		r.mu.Unlock()
		r.cameUp = false
	}
	if o != nil {
		if r.everStarted {
			r.observe(EventRestarted, cause, 0, "")
		} else {
			r.observe(EventStarted, nil, 0, "")
		}
	}
	r.everStarted = true
	return true, false
}

// nextBatch ends a batch, under mu: it gives the batch's segments back, then takes the next
// batch if there is one (more), or does what ends the activation and reports whether it is
// done (see drain): go down for a restart, go idle, or, stopping, run OnStop and end.
func (r *Ref[T]) nextBatch() (more, done bool) {
	r.mu.Lock()
	b := r.batch
	r.batch, r.cur = batch{}, cursor{}
	r.claimed.Store(0)
	if b.head != nil {
		// Give the segments back before the actor can go idle, so that an idle
		// actor holds nothing, not even in a goroutine on its way out. Under mu
		// first, so that a StopNow that was taking the rest of the batch is done.
		r.mu.Unlock()
		b.release()
		r.mu.Lock()
	}
	if l := r.life; l != nil && l.task == taskDown {
		l.task = taskNone
		r.mu.Unlock()
		return false, r.goDown(verdict{kind: vDown}, r.stateless) // the supervisor brings us up
	}
	switch {
	case r.q.n > 0 && r.bound > 0:
		r.batch = batch{one: r.q.pop(), n: 1}
		r.wakeSenders()
	case r.q.n > 0:
		r.batch = r.q.take()
	case r.x != nil && r.x.pool != nil && r.x.pool.next(r):
		// A pool member with nothing of its own takes the next of the pool's
		// messages, one at a time, so that none waits behind another member's.
	case !r.stopping:
		r.running = false
		r.mu.Unlock()
		return false, true
	default:
		r.mu.Unlock()
		if hasOnStop[T]() {
			r.phase = inStop
			any(r.state).(interface{ OnStop() }).OnStop()
			r.phase = between
		}
		r.end(nil, false)
		return false, true
	}
	r.mu.Unlock()
	return true, false
}

// ran reports n messages run in busy to the observer, which the caller knows exists.
func (r *Ref[T]) ran(n int, busy time.Duration) {
	r.sup.obs.Observe(Event{Kind: EventRan, Actor: r, Type: typeName[T](), Supervisor: r.sup, Count: n, Busy: busy})
}

// end ends the actor, once, in one order that nothing can overtake: refuse sends and drop
// what has not started (telling their callers at once); run OnStop if onStop (a failure's;
// a graceful stop has run it already); settle timers and watches; then, under mu, set
// Wait's result, mark the actor ended, close Done, and only then leave the supervisor's
// list, which is what the supervisor's Wait waits for. Ref.Wait takes mu after Done, so
// when it returns the supervisor has forgotten the actor too.
//
// It runs on the actor's goroutine, except for an actor with no goroutine (idle without
// OnStop, or down waiting for a restart), which Stop (or StopNow, or the supervisor's
// drain) ends on its own goroutine rather than start one to do nothing: no activation runs
// then, and none can start, since stopping is set. cause is the failure, already reported
// to the supervisor, or nil.
func (r *Ref[T]) end(cause error, onStop bool) {
	r.finished = true
	r.mu.Lock()
	r.stopping = true
	r.wakeSenders()
	dropped := r.takeUnstarted(nil)
	b := r.batch
	r.batch, r.cur = batch{}, cursor{}
	if cause == nil && !onStop && dropped == nil && r.hooks == nil && r.life == nil && r.sup.obs == nil {
		// A graceful end with nobody to tell: the whole end in one section.
		r.hooksDone = true
		r.endLocked(nil)
		b.release()
		return
	}
	if l := r.life; l != nil {
		l.endLocked(cause)
	}
	r.mu.Unlock()
	b.release()

	// Release the callers of dropped Asks before anything else that may take time.
	for _, m := range dropped {
		if c, ok := m.(request[T]); ok {
			c.abort(ErrStopped)
		}
	}
	if len(dropped) > 0 {
		reason := "stopped"
		if cause != nil {
			reason = "failure"
		}
		r.observe(EventDropped, nil, len(dropped), reason)
	}
	// Deferred, so that the actor ends even if OnStop below calls runtime.Goexit.
	defer func() {
		// Settle the timers and watches first, before Done closes, so that whoever waits
		// for the end (Wait, or the supervisor's drain, which then stops the next actor)
		// finds every timer stopped and every watch notice queued. hooksDone is set in
		// the same section that takes the list: a Watch that comes after it delivers by
		// itself, with err, which is final.
		r.mu.Lock()
		r.hooksDone, r.err = true, cause
		hooks := r.hooks
		r.hooks = nil
		for h := hooks; h != nil; h = h.next {
			h.linked = false
		}
		r.mu.Unlock()
		// Unlinked under mu, so nobody else touches next any more.
		for h := hooks; h != nil; {
			next := h.next
			h.prev, h.next = nil, nil
			h.owner.ended(cause)
			h = next
		}
		// Before Done closes, so that once Wait (the actor's or its supervisor's) has
		// returned, the observer knows. Not under mu: an observer may call Len.
		r.observe(EventEnded, cause, 0, "")
		r.mu.Lock()
		r.endLocked(cause)
	}()
	if onStop && hasOnStop[T]() {
		r.phase = inStop
		defer func() {
			// The actor has failed already; a panic in its clean-up is a consequence,
			// and the first failure is the one worth reporting.
			_ = recover()
		}()
		any(r.state).(interface{ OnStop() }).OnStop()
	}
}

// endLocked is the last step of end, under mu, which it releases: Wait's result, ended,
// Done, and then, last, the supervisor's list, which is what the supervisor's Wait waits
// for; so it cannot see the actor gone before it has ended. Lock order: an actor's mu,
// then its supervisor's.
func (r *Ref[T]) endLocked(err error) {
	r.err, r.ended = err, true
	if r.done == nil {
		r.done = closedChan
	} else {
		close(r.done)
	}
	r.sup.unlink(&r.member)
	r.mu.Unlock()
}

// hook is an entry in an actor's list of things to settle when it ends: its pending timers,
// and the watches on it. It is embedded in them, so that linking one allocates nothing, and
// it lets end stop every timer and deliver every watch without a goroutine of its own.
type hook struct {
	prev, next *hook // guarded by the actor's mu
	linked     bool  // guarded by the actor's mu; in the list
	owner      ender // the timer or watch that embeds this hook
}

// ender is what end calls, without the actor's lock, for each hook still linked when the
// actor ends, with the error Wait returns.
type ender interface{ ended(err error) }

// addHook links h at the head of the list *head. Callers hold the owner's mu.
func addHook(head **hook, h *hook) {
	h.prev, h.next, h.linked = nil, *head, true
	if *head != nil {
		(*head).prev = h
	}
	*head = h
}

// dropHook unlinks h from the list *head if it is still linked. Callers hold the owner's
// mu.
func dropHook(head **hook, h *hook) {
	if !h.linked {
		return
	}
	if h.prev != nil {
		h.prev.next = h.next
	} else {
		*head = h.next
	}
	if h.next != nil {
		h.next.prev = h.prev
	}
	h.prev, h.next, h.linked = nil, nil, false
}

// removeHook is dropHook for a caller that does not hold mu.
func (r *Ref[T]) removeHook(h *hook) {
	r.mu.Lock()
	dropHook(&r.hooks, h)
	r.mu.Unlock()
}

// takeUnstarted appends to dst every accepted message that has not started, the rest of the
// running batch and then the queue, in order, and removes them. It is how StopNow and a
// failure drop messages. Callers hold mu.
//
// The rest of the batch belongs to the activation, which claims each message before it runs
// it and may be doing so right now, without mu. The Swap settles the race: the messages
// from the old count on were not claimed and never will be, so they are ours; the one
// claimed last is running (or ran) and stays the activation's. Only the slots are cleared
// here; the batch itself stays the activation's to change under mu.
func (r *Ref[T]) takeUnstarted(dst []any) []any {
	if i := int32(r.claimed.Swap(claimedAll)); i >= 0 && i < r.batch.n {
		r.batch.each(i, func(m *any) { dst = append(dst, *m); *m = nil })
	}
	if r.q.n > 0 {
		r.q.each(0, func(m *any) { dst = append(dst, *m); *m = nil })
		r.q.release()
	}
	return dst
}

// failure makes cause the error that leaves the actor through Wait: a *PanicError already
// names the actor; anything else is wrapped with the name.
func (r *Ref[T]) failure(cause error) error {
	if pe, ok := cause.(*PanicError); ok {
		return pe
	}
	return fmt.Errorf("actor %s: %w", r.String(), cause)
}
