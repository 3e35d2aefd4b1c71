package actor

import (
	"sync/atomic"
	"time"
)

// After runs msg on the actor once, when d has passed, through its mailbox like
// [Ref.Enqueue]: the bound of the mailbox does not apply, and msg runs in turn with the
// other messages. It returns a func that cancels it.
//
// After never blocks, and starts no goroutine until the timer fires (it is a
// [time.AfterFunc], so it also works under testing/synctest, as long as the actor's
// supervisor and all its callers run inside the same synctest.Test function). It is safe from any goroutine
// and from inside the actor's own messages, the usual place: Self().After(d, msg) is a
// follow-up that waits without holding the actor. Each call makes its own timer.
//
// cancel reports whether it prevented msg from running: it returns true if msg had not
// started, even if the timer had fired and msg was waiting in the mailbox, and then msg
// never runs; it returns false once msg has started, once cancel has been called, and once
// the actor has ended or dropped msg. It is safe from any goroutine; calling it again
// returns false.
//
// After does not outlive the actor: from the moment the actor is stopping a firing timer
// queues nothing (a graceful stop still runs a tick that was queued before it), and when
// the actor ends its timers are stopped and forgotten, before [Ref.Wait] returns, so they
// never fire and leave nothing behind. On an actor that is stopping or has ended, After
// does nothing and returns a cancel that returns false. A d of zero or less fires at once.
// It panics if msg is nil.
func (r *Ref[T]) After(d time.Duration, msg func(*T)) (cancel func() bool) {
	r.check("After")
	if msg == nil {
		panic("actor: After: nil message")
	}
	return r.startTimer(d, 0, msg)
}

// Every runs msg on the actor every d, through its mailbox like [Ref.After], until it is
// cancelled or the actor stops. It returns a func that cancels it.
//
// Ticks do not pile up: while a tick waits in the mailbox, the timer queues no other, so a slow or
// busy actor never has more than one tick of an Every waiting, and it does not get a burst
// of them when it catches up. The next tick can be queued as soon as the previous one has
// started. Ticks are due at fixed times (d, 2d, 3d, ... after the call), so they do not
// drift; a tick that fires a whole period late or more restarts the schedule from then.
//
// Every never blocks and starts no goroutine between ticks. It is safe from any goroutine
// and from inside the actor's own messages. cancel reports whether Every was still active;
// after it returns true no further tick starts, and a waiting one is skipped. Calling it
// again, or after the actor has ended, returns false. A panic in msg that the actor survives
// ([WithRestart]) does not stop the ticks. On an actor that is stopping or has ended, Every
// does nothing and returns a cancel that returns false. It panics if msg is nil or d <= 0.
func (r *Ref[T]) Every(d time.Duration, msg func(*T)) (cancel func() bool) {
	r.check("Every")
	if msg == nil {
		panic("actor: Every: nil message")
	}
	if d <= 0 {
		panic("actor: Every: non-positive interval")
	}
	return r.startTimer(d, d, msg)
}

// timer is one After or Every. It is in its actor's hook list while its time.Timer may still
// fire, so that end can stop it; the message it queues on each tick is the timer itself
// (it is a request[T]), so queueing a tick allocates nothing.
type timer[T any] struct {
	hook
	r     *Ref[T]
	msg   func(*T)
	every time.Duration // Every's period; 0 for After
	t     *time.Timer   // set under r.mu before anything else can see the timer
	due   time.Time     // Every: when the next tick is due; guarded by r.mu

	// state says whether msg may still run: timerArmed, then timerDone for ever, set by
	// the one that wins: an After's tick (which then runs msg), cancel, a drop, or the
	// actor's end. An Every is timerRunning while its msg runs, so that cancel from inside
	// msg, or from elsewhere meanwhile, is not undone when msg returns.
	state atomic.Int32
	// queued is set while an Every's tick waits in the mailbox and has not started: the
	// ticks that fire meanwhile coalesce into it.
	queued atomic.Bool
}

const (
	timerArmed int32 = iota
	timerRunning
	timerDone
)

// neverCancels is the cancel of a timer that was never armed.
func neverCancels() bool { return false }

func (r *Ref[T]) startTimer(d, every time.Duration, msg func(*T)) func() bool {
	tm := &timer[T]{r: r, msg: msg, every: every}
	tm.owner = tm
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopping {
		return neverCancels
	}
	// Made under mu: fire takes mu before it reads t, and end cannot stop a timer that
	// is not in the list yet.
	addHook(&r.hooks, &tm.hook)
	tm.due = time.Now().Add(d)
	tm.t = time.AfterFunc(d, tm.fire)
	return tm.cancel
}

// fire runs on the timer's own goroutine when it goes off. It must not block: it takes mu for
// a moment, and queues the tick with ignoreBound.
func (tm *timer[T]) fire() {
	r := tm.r
	r.mu.Lock()
	// Checked under mu, where cancel and end unlink the timer, so that a tick that goes
	// off just as they stop it cannot re-arm it after them.
	if r.stopping || !tm.linked {
		r.mu.Unlock()
		return
	}
	if tm.every == 0 {
		// Spent: from here the tick in the mailbox decides, between run, cancel and a drop.
		dropHook(&r.hooks, &tm.hook)
	} else {
		now := time.Now()
		tm.due = tm.due.Add(tm.every)
		if !tm.due.After(now) {
			tm.due = now.Add(tm.every) // late by a period or more: the missed ticks coalesce
		}
		tm.t.Reset(tm.due.Sub(now))
		if tm.queued.Swap(true) {
			r.mu.Unlock()
			return // the previous tick has not started: this one coalesces into it
		}
	}
	r.mu.Unlock()
	// The actor may start stopping between the unlock and here; then accept refuses, and
	// the tick ends as if dropped.
	if r.accept(tm, true) != nil {
		tm.abort(ErrStopped)
	}
}

// run is the tick, on the actor's goroutine.
func (tm *timer[T]) run(t *T) {
	if tm.every == 0 {
		if tm.state.CompareAndSwap(timerArmed, timerDone) {
			tm.msg(t)
		}
		return
	}
	tm.queued.Store(false) // from here, the next tick may be queued behind this one
	if !tm.state.CompareAndSwap(timerArmed, timerRunning) {
		return // cancelled, or the actor is ending
	}
	tm.msg(t)
	tm.state.CompareAndSwap(timerRunning, timerArmed) // fails if msg or anyone cancelled it
}

// abort is called for a tick that was dropped before it started, or whose msg panicked or
// called runtime.Goexit.
func (tm *timer[T]) abort(error) {
	if tm.every == 0 {
		tm.state.CompareAndSwap(timerArmed, timerDone)
		return
	}
	if !tm.state.CompareAndSwap(timerRunning, timerArmed) {
		// Dropped before it started: the actor is ending, but leave nothing stuck.
		tm.queued.Store(false)
	}
	// Otherwise msg panicked; if the actor restarts, the ticks go on.
}

func (tm *timer[T]) cancel() bool {
	for {
		s := tm.state.Load()
		if s == timerDone {
			return false
		}
		if tm.state.CompareAndSwap(s, timerDone) {
			break
		}
	}
	r := tm.r
	r.mu.Lock()
	dropHook(&r.hooks, &tm.hook)
	r.mu.Unlock()
	// After the unlink, which fire checks under mu, nothing re-arms it.
	tm.t.Stop()
	return true
}

// ended is called by end. The actor is stopping, so fire no longer re-arms the timer, and
// a callback that is already on its way finds stopping set and does nothing.
func (tm *timer[T]) ended(error) {
	tm.state.Store(timerDone)
	tm.t.Stop()
}
