package actor

import "sync/atomic"

// Watch delivers one message to watcher when target ends: it calls onEnd on watcher with the
// error target's [Ref.Wait] returns (nil after a graceful stop). It returns a func that
// cancels the watch.
//
// The notice is queued after target's OnStop has returned and before target's Done closes,
// so once target's Wait has returned the notice is in watcher's mailbox, and stopping the
// watcher after that still runs it. That is the order in which a [Supervisor] stops its
// actors (in reverse spawn order, each after the previous one has ended), so a watcher
// spawned before its target hears of the target's end even when a failure stops them all.
// The notice goes through watcher's mailbox like [Ref.Enqueue], ignoring its bound; if
// watcher is stopping or has ended by then, it is dropped (so an actor that watches itself
// is never told). Watching a target that has already ended sends the notice at once.
//
// Watch never blocks and starts no goroutine: the watch is a record in target that target
// settles when it ends. It is safe from any goroutine and from inside any actor's messages.
// Each call is a watch of its own, with its own notice. cancel prevents the notice if onEnd
// has not started, even if the notice is already in watcher's mailbox, and forgets the
// watch, so that watching and cancelling many times leaves nothing in target. It is safe
// from any goroutine, and calling it again does nothing. If watcher is already stopping,
// Watch does nothing (there would be nobody to tell). A watch whose watcher ends first
// stays in target, holding watcher, until target ends or cancel is called: cancel the
// watches of a short-lived watcher on a long-lived target. It panics if watcher or target
// is nil, or onEnd is nil.
func Watch[W, T any](watcher *Ref[W], target *Ref[T], onEnd func(*W, error)) (cancel func()) {
	watcher.check("Watch")
	target.check("Watch")
	if onEnd == nil {
		panic("actor: Watch: nil onEnd")
	}
	w := newWatch(watcher, target, onEnd)
	if w.state.Load() == watchDone {
		return w.cancel
	}
	target.mu.Lock()
	if target.hooksDone || target.ended {
		// end has settled the hooks already, or will never run (a Ref that Spawn
		// made stopped); err was set with either flag, so it is final.
		err := target.err
		target.mu.Unlock()
		w.ended(err)
		return w.cancel
	}
	addHook(&target.hooks, &w.hook)
	target.mu.Unlock()
	return w.cancel
}

// WatchSupervisor delivers one message to watcher when s ends: it calls onEnd on watcher with
// the error s's [Supervisor.Wait] returns (nil after a clean stop). It is [Watch] for a
// supervisor, root or child, with the same promises: the notice is queued before s's Done
// closes, so once s's Wait has returned it is in watcher's mailbox; it goes through the
// mailbox ignoring its bound and is dropped if watcher is stopping by then; watching a
// supervisor that has ended sends it at once; cancel prevents it if onEnd has not started.
// A supervisor's restarts are not its end: the notice comes once, when it stops for good.
// Spawn the watcher outside s (or before it, under the same parent) so that it still runs
// when s ends. It panics if watcher, s or onEnd is nil.
func WatchSupervisor[W any](watcher *Ref[W], s *Supervisor, onEnd func(*W, error)) (cancel func()) {
	watcher.check("WatchSupervisor")
	s.check("WatchSupervisor")
	if onEnd == nil {
		panic("actor: WatchSupervisor: nil onEnd")
	}
	w := newWatch(watcher, s, onEnd)
	if w.state.Load() == watchDone {
		return w.cancel
	}
	s.mu.Lock()
	if s.hooksDone || s.ended {
		err := s.err
		s.mu.Unlock()
		w.ended(err)
		return w.cancel
	}
	addHook(&s.hooks, &w.hook)
	s.mu.Unlock()
	return w.cancel
}

// newWatch makes a watch, already done if watcher is stopping (there would be nobody to
// tell).
func newWatch[W any](watcher *Ref[W], target hookHost, onEnd func(*W, error)) *watch[W] {
	w := &watch[W]{watcher: watcher, target: target, onEnd: onEnd}
	w.owner = w
	watcher.mu.Lock()
	stopping := watcher.stopping
	watcher.mu.Unlock()
	if stopping {
		w.state.Store(watchDone)
	}
	return w
}

// hookHost is what a watch is a hook in: an actor or a supervisor.
type hookHost interface {
	removeHook(*hook)
}

// watch is one Watch or WatchSupervisor: a hook in target's list until target ends or it is
// cancelled, then a notice in watcher's mailbox (it is a request[W], so sending it
// allocates nothing).
type watch[W any] struct {
	hook
	watcher *Ref[W]
	target  hookHost
	onEnd   func(*W, error)
	err     error // target's Wait error; written before the notice is queued

	// state is watchPending until the notice starts (watchDone), or cancel or a drop wins.
	state atomic.Int32
}

const (
	watchPending int32 = iota
	watchDone
)

// ended sends the notice; the target's end calls it without the target's lock.
func (w *watch[W]) ended(err error) {
	w.err = err
	if w.watcher.accept(w, true) != nil {
		w.state.Store(watchDone) // watcher is stopping: nobody left to tell
	}
}

func (w *watch[W]) run(x *W) {
	if w.state.CompareAndSwap(watchPending, watchDone) {
		w.onEnd(x, w.err)
	}
}

// abort: watcher dropped the notice (it failed or was stopped at once), or onEnd panicked.
func (w *watch[W]) abort(error) { w.state.Store(watchDone) }

func (w *watch[W]) cancel() {
	if !w.state.CompareAndSwap(watchPending, watchDone) {
		return // delivered or dropped: target has let go of it already
	}
	w.target.removeHook(&w.hook) // a no-op if target has ended and settled it
}
