package actor

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// An actor lives as a series of incarnations: a state, started by OnStart, that runs
// messages until it fails, is restarted, or the actor ends. A restart keeps the Ref, the
// mailbox, the timers and the watches; it replaces the incarnation. This file holds what
// restarts, contexts and shutdown deadlines need of an actor.

// life holds what an actor needs only once it is named, bounded, asked for its context,
// stopped with a deadline or restarted, so that the Ref of the others stays small. It is
// guarded by the actor's mu, and made under it when first needed.
type life struct {
	name string        // WithName's, or made on first use
	room chan struct{} // closed when a full mailbox frees a slot or stops

	ctx      context.Context // the current incarnation's; made on first use
	cancel   context.CancelCauseFunc
	ctxDone  bool  // the current incarnation runs no more messages than the one running
	ctxCause error // why

	task   lifeTask      // what the activation does next, asked by the supervisor
	down   bool          // the incarnation has gone down (OnStop ran); waiting to come up
	downCh chan struct{} // closed when down: a restart that brings the actor down waits on it
	upCh   chan struct{} // closed when up, or failed instead: a restart waits on it

	cause    error       // the failure that brought the incarnation down, for EventRestarted
	backoff  *time.Timer // the wait before coming up again
	deadline *time.Timer // WithShutdownTimeout's
}

type lifeTask uint8

const (
	taskNone lifeTask = iota
	taskDown          // go down after the running message, for a restart of the supervisor's
)

// lifeLocked returns r's life, making it if needed. Callers hold mu.
func (r *Ref[T]) lifeLocked() *life {
	if r.life == nil {
		r.life = &life{}
	}
	return r.life
}

// cancelCtxLocked marks the incarnation as running no more messages than the one running,
// and cancels its context if it has one. Callers hold the actor's mu.
func (l *life) cancelCtxLocked(cause error) {
	if l.ctxDone {
		return
	}
	l.ctxDone, l.ctxCause = true, cause
	if l.cancel != nil {
		l.cancel(cause)
	}
}

// newIncarnationLocked starts a fresh context for the incarnation that is coming up.
func (l *life) newIncarnationLocked() {
	l.cancelCtxLocked(ErrStopped) // releases the old context, if anyone made one
	l.ctx, l.cancel, l.ctxDone, l.ctxCause = nil, nil, false, nil
}

// signalUp tells a restart that waits for the actor to come up that it has, or has failed
// instead. Callers hold the actor's mu; l may be nil.
func (l *life) signalUp() {
	if l != nil && l.upCh != nil {
		close(l.upCh)
		l.upCh = nil
	}
}

// endLocked settles l when the actor ends: its timers stop, its context is cancelled, and
// whoever waits for it to go down or come up is released.
func (l *life) endLocked(cause error) {
	if cause == nil {
		cause = ErrStopped
	}
	l.cancelCtxLocked(cause)
	if l.cancel != nil {
		l.cancel(cause) // an incarnation whose context was made after it was marked done
	}
	for _, t := range []*time.Timer{l.backoff, l.deadline} {
		if t != nil {
			t.Stop()
		}
	}
	l.backoff, l.deadline = nil, nil
	if l.downCh != nil {
		close(l.downCh)
		l.downCh = nil
	}
	l.signalUp()
}

// Context returns the context of the actor's current incarnation, for a message that does
// I/O, waits with [Ref.SendContext] or [Ask], or anything else that should end with the
// incarnation instead of holding up a stop or a restart.
//
// It is done once the actor will run no more messages of its current incarnation beyond
// the one running: on [Ref.StopNow], on a failure, when the actor is brought down for a
// restart, when a shutdown deadline ([WithShutdownTimeout]) passes, and after the actor
// has ended. It is not done during an ordinary graceful stop, in which the actor still
// runs what it accepted. [context.Cause] tells why: the failure, or [ErrStopped]. After a
// restart, Context returns the new incarnation's context. Safe from any goroutine.
func (r *Ref[T]) Context() context.Context {
	r.check("Context")
	r.mu.Lock()
	defer r.mu.Unlock()
	l := r.lifeLocked()
	if l.ctx == nil {
		l.ctx, l.cancel = context.WithCancelCause(context.Background())
		if l.ctxDone || r.ended {
			cause := l.ctxCause
			if cause == nil {
				cause = ErrStopped
			}
			l.cancel(cause)
		}
	}
	return l.ctx
}

// Supervisor returns the supervisor that owns the actor, so that a message can spawn
// siblings ([Spawn]) or a subsystem of children ([Supervisor.NewChild]).
func (r *Ref[T]) Supervisor() *Supervisor {
	r.check("Supervisor")
	return r.sup
}

// failed handles a failure that WithRestart did not absorb (a panic, a Goexit, an error
// from OnStart or newState), on the actor's goroutine: it asks the supervisor what to do
// and does it. It returns true if the activation is to end here (the actor ended, or is
// down until its supervisor or its backoff brings it up), false if it has been restarted
// at once and the activation goes on with the new incarnation.
func (r *Ref[T]) failed(cause error) bool {
	err := r.failure(cause)
	inStop := r.phase == inStop
	r.phase = between
	r.mu.Lock()
	stopping := r.stopping
	l := r.lifeLocked()
	if l.downCh == nil {
		l.downCh = make(chan struct{}) // a restart that brings us down waits for this
	}
	l.signalUp() // a restart waiting for us to come up: we failed instead
	l.cancelCtxLocked(err)
	l.cause = err
	r.mu.Unlock()
	r.observe(EventFailed, err, 0, "")

	v := r.sup.childFailed(&r.member, stopping, err)
	if v.kind == vEnd {
		// OnStop runs for a state that is up: not when it failed, nor when there is no
		// state (newState failed).
		r.end(err, !inStop && !r.stateless)
		return true
	}
	return r.goDown(v, inStop || r.stateless)
}

// goDown brings the current incarnation down for a restart, on the actor's goroutine, and
// does what the verdict v says next. What was taken from the mailbox and not started goes
// back to its front, the context is cancelled, and OnStop runs (unless skipOnStop: it is
// what failed, or there is no state). Then:
//   - vDown: the actor is down until its supervisor brings it up;
//   - vRestart with a delay: it is down until the backoff's timer brings it up;
//   - vRestart at once: the activation brings the next incarnation up (goDown returns
//     false); it is never marked down, so that a Stop meanwhile is a graceful stop.
//
// Down, running stays set, so that no send starts an activation, nothing runs, and a Stop
// ends the actor at once; stopped while it went down, it ends instead. goDown returns true
// when the activation is to end here.
func (r *Ref[T]) goDown(v verdict, skipOnStop bool) (done bool) {
	r.mu.Lock()
	r.takeBackLocked()
	r.lifeLocked().cancelCtxLocked(ErrStopped)
	r.mu.Unlock()
	if skipOnStop || !hasOnStop[T]() {
		return r.settleDown(v, false)
	}
	r.phase = inStop
	normal := false
	defer func() {
		if !normal {
			// OnStop called runtime.Goexit: this goroutine ends whatever we do. Settle
			// the restart from here, and let a new goroutine bring the actor up if it
			// comes up at once.
			r.settleDown(v, true)
		}
	}()
	func() {
		// The incarnation is on its way out: a panic in its clean-up must not stop the
		// restart.
		defer func() { _ = recover() }()
		any(r.state).(interface{ OnStop() }).OnStop()
	}()
	normal = true
	return r.settleDown(v, false)
}

// settleDown is the end of goDown, also when OnStop called runtime.Goexit (goexit), after
// which no code of this activation runs.
func (r *Ref[T]) settleDown(v verdict, goexit bool) (done bool) {
	r.phase = between
	r.started, r.stateless = false, true
	back := v.kind == vRestart && v.delay == 0
	r.mu.Lock()
	l := r.life
	l.down = !back
	// A restart's request to bring us down (bringDown, which may have come while the
	// failed message ran) is answered: it must not take the next incarnation down too.
	l.task = taskNone
	if l.downCh != nil {
		close(l.downCh)
		l.downCh = nil
	}
	if r.stopping {
		r.mu.Unlock()
		r.end(nil, false) // stopped while going down: end now, without coming up
		return true
	}
	switch {
	case v.kind == vDown:
		r.mu.Unlock()
		return true // the supervisor brings us up, with the others
	case v.delay > 0:
		l.backoff = time.AfterFunc(v.delay, r.backoffOver)
		r.mu.Unlock()
		return true
	}
	r.needState = true
	if goexit {
		go r.runFn() // running is still set: a new activation takes over
	}
	r.mu.Unlock()
	return false
}

// comeUp starts a new incarnation, on the actor's goroutine: fresh state from newState (for
// SpawnFunc; Spawn keeps its state), bound to r, and a new context; OnStart follows in
// drain. It returns the error that fails the incarnation, if newState gives one.
func (r *Ref[T]) comeUp() error {
	r.needState = false
	if r.x != nil && r.x.newState != nil {
		// The old state, if any, has had its OnStop (or failed in it): from here there
		// is no state to stop until newState gives one.
		r.stateless = true
		r.phase = inStart
		st, err := r.x.newState()
		r.phase = between
		if err == nil && st == nil {
			err = errors.New("returned a nil state")
		}
		if err == nil {
			err = r.bind(st)
		}
		if err != nil {
			return fmt.Errorf("newState: %w", err)
		}
		r.state = st
	}
	r.started, r.cameUp, r.stateless = false, true, false
	r.mu.Lock()
	if l := r.life; l != nil {
		l.down = false
		if l.ctxDone {
			// A restart: the old incarnation's context is done; the new one gets its
			// own. (Before the first start, a context someone took already is the
			// first incarnation's, and stays.)
			l.newIncarnationLocked()
		}
	}
	r.mu.Unlock()
	return nil
}

// restartInPlace is WithRestart's restart, on the actor's goroutine, after the panic that
// it absorbed: a new incarnation, with OnStart again; for SpawnFunc, the old state's
// OnStop and fresh state first.
func (r *Ref[T]) restartInPlace(cause error) {
	r.mu.Lock()
	if l := r.life; l != nil || r.sup.obs != nil {
		l = r.lifeLocked()
		l.cancelCtxLocked(cause) // the old context's cause is the panic
		l.newIncarnationLocked()
		l.cause = cause // for EventRestarted
	}
	r.mu.Unlock()
	if r.x.newState != nil {
		if hasOnStop[T]() && r.phase != inStop && !r.stateless {
			r.phase = inStop
			func() {
				defer func() { _ = recover() }()
				any(r.state).(interface{ OnStop() }).OnStop()
			}()
		}
		r.needState = true
	}
	r.phase = between
	r.started = false
}

// takeBackLocked puts what the activation took from the mailbox and has not started back
// at the front of the queue, in order, so that the running message is the last one of the
// current incarnation. Callers hold mu.
func (r *Ref[T]) takeBackLocked() {
	i := int32(r.claimed.Swap(claimedAll))
	if i < 0 || i >= r.batch.n {
		return
	}
	var q queue
	r.batch.each(i, func(m *any) { q.push(*m); *m = nil })
	r.q.each(0, func(m *any) { q.push(*m); *m = nil })
	r.q.release()
	r.q = q
}

// bringDown is the supervisor's request to bring the actor down for a restart.
func (r *Ref[T]) bringDown(cause error) <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ended || r.stopping {
		// One that is stopping runs what it accepted and ends: there is nothing to
		// restart, and its messages must not be dropped.
		return closedChan
	}
	l := r.lifeLocked()
	if l.down {
		return closedChan
	}
	if l.downCh != nil {
		return l.downCh // on its way down already: it failed
	}
	l.downCh = make(chan struct{})
	l.cause = cause
	l.cancelCtxLocked(ErrStopped)
	r.takeBackLocked() // the running message is the last of this incarnation
	l.task = taskDown
	if !r.running {
		r.running = true
		go r.runFn()
	}
	return l.downCh
}

// bringUp is the supervisor's request to bring the actor up after bringDown.
func (r *Ref[T]) bringUp() <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	l := r.life
	if r.ended || r.stopping || l == nil || !l.down || l.upCh != nil {
		return closedChan
	}
	if l.backoff != nil {
		l.backoff.Stop() // the supervisor's restart supersedes the actor's own wait
		l.backoff = nil
	}
	l.upCh = make(chan struct{})
	l.down = false // coming up: from here a Stop is a graceful stop of the new incarnation
	// No activation runs while the actor is down, and the go statement orders this write
	// before the new one reads it.
	r.needState = true
	go r.runFn()
	return l.upCh
}

// backoffOver brings the actor up when its backoff has passed, on the timer's goroutine.
func (r *Ref[T]) backoffOver() {
	r.mu.Lock()
	l := r.life
	if r.stopping || r.ended || l.backoff == nil {
		r.mu.Unlock()
		return // stopped meanwhile (it ended), or a restart of the supervisor's took over
	}
	l.backoff = nil
	l.down = false // coming up: from here a Stop is a graceful stop of the new incarnation
	r.needState = true
	r.mu.Unlock()
	go r.runFn()
}

// startDeadlineLocked starts the shutdown deadline of an actor told to stop gracefully.
// Callers hold mu.
func (r *Ref[T]) startDeadlineLocked() {
	if r.x == nil || r.x.shutdown <= 0 || r.ended {
		return
	}
	l := r.lifeLocked()
	if l.deadline == nil {
		l.deadline = time.AfterFunc(r.x.shutdown, r.deadlinePassed)
	}
}

// deadlinePassed drops what the actor has not started, as StopNow does, and cancels its
// context, so that a message blocked on it returns.
func (r *Ref[T]) deadlinePassed() {
	r.mu.Lock()
	if r.ended {
		r.mu.Unlock()
		return
	}
	dropped := r.takeUnstarted(nil)
	r.lifeLocked().cancelCtxLocked(ErrStopped)
	r.mu.Unlock()
	if len(dropped) > 0 {
		r.observe(EventDropped, nil, len(dropped), "deadline")
	}
	for _, m := range dropped {
		if c, ok := m.(request[T]); ok {
			c.abort(ErrStopped)
		}
	}
}
