package actor

// The model of FuzzOps (fuzz_test.go): what an actor does with its mailbox, its failures
// and its incarnations, and what its supervisors do about them, step by step as
// supervisor.go's control tasks do, so that the harness can settle their work between
// operations.

import (
	"testing/synctest"
	"time"
)

// The model of an actor.

// logRun records that x runs the message id (or -id for a failed follow-up).
func (x *fzActor) logRun(id int) {
	x.log = append(x.log, id)
	x.incs = append(x.incs, x.inc)
}

// process runs the model of x's queue until it is empty, x blocks, goes down, or ends.
func (w *fzWorld) process(x *fzActor) {
	x.busy = true
	defer func() { x.busy = false }()
	for x.live && !x.down && x.blocked == nil && len(x.queue) > 0 {
		it := x.queue[0]
		x.queue = x.queue[1:]
		if it.cancelled {
			continue
		}
		x.logRun(it.id)
		if it.kind == fzPanic && it.fails() && x.restart >= 0 && x.panics < x.restart {
			// WithRestart absorbs it: the actor restarts by itself.
			x.panics++
			w.restartInPlace(x)
			continue
		}
		if it.fails() {
			x.rec.failNext.Store(int32(x.failNext))
		}
		switch {
		case it.kind == fzPanic && it.fails():
			x.panics++
			w.failed(x, fzWant{what: fzWantPanic, id: it.id}, false)
		case it.kind == fzGoexit && it.fails():
			w.failed(x, fzWant{what: fzWantGoexit}, false)
		case it.kind == fzBlock:
			x.blocked = it
		case it.kind == fzCtxBlock && !x.ctxDone:
			x.blocked = it
		case it.kind == fzEnqueue:
			if x.stopping {
				x.logRun(-it.followUp)
			} else {
				x.queue = append(x.queue, &fzItem{id: it.followUp})
			}
		case it.kind == fzStopSelf:
			w.stop(x)
		case it.kind == fzStopSupK:
			w.requestDrain(x.sup)
		}
	}
	if x.live && !x.down && x.blocked == nil && len(x.queue) == 0 && x.stopping {
		x.busy = false
		w.end(x, fzWant{what: fzWantNil}, true)
	}
}

// restartInPlace is WithRestart's restart after a panic it absorbed: for SpawnFunc, OnStop
// of the old state and a fresh one; then OnStart.
func (w *fzWorld) restartInPlace(x *fzActor) {
	x.ctxDone = false
	if x.spawnFunc && x.hooked {
		x.stops++
	}
	w.comeUp(x)
}

// comeUp brings up a new incarnation of x: newState for SpawnFunc, then OnStart. A failing
// newState fails x, whose supervisor decides.
func (w *fzWorld) comeUp(x *fzActor) {
	x.down, x.ctxDone = false, false
	if x.spawnFunc {
		x.newStates++
		if x.failNext > 0 {
			x.failNext--                                // this call's
			x.rec.failNext.Store(1 + int32(x.failNext)) // this call fails, and what the model still arms
			w.failed(x, fzWant{what: fzWantState, a: x.idx, id: x.newStates}, true)
			return
		}
		x.inc = x.newStates
	}
	if x.hooked {
		x.starts++
		if !x.spawnFunc {
			x.inc = x.starts
		}
	}
}

// failed is an actor's failure that WithRestart did not absorb (lifecycle.go's failed):
// its supervisor decides, and x does what it says. inState says that newState failed, so
// that there is no state for OnStop.
func (w *fzWorld) failed(x *fzActor, leaf fzWant, inState bool) {
	x.ctxDone = true
	v := w.childFailed(x.sup, fzNode{a: x}, x.stopping, fzActorErr(leaf))
	switch v {
	case vEnd:
		w.end(x, leaf, !inState)
	case vRestart:
		w.goDown(x, !inState)
		if x.live {
			w.comeUp(x)
		}
	case vDown:
		w.goDown(x, !inState)
	}
}

// goDown brings x's incarnation down for a restart: OnStop, and it waits down. One that was
// stopped ends instead: it will not come up again.
func (w *fzWorld) goDown(x *fzActor, onStop bool) {
	x.ctxDone, x.goingDown = true, false
	if onStop && x.hooked {
		x.stops++
	}
	x.down = true
	if x.stopping {
		// Stopped after the restart asked it down (one stopping before is not brought
		// down): it will not come up again, so what waits is dropped, as by a Stop
		// while down.
		w.end(x, fzWant{what: fzWantNil}, false)
	}
}

// end ends x with err, dropping what it has not started; onStop says whether OnStop runs.
func (w *fzWorld) end(x *fzActor, err fzWant, onStop bool) {
	if onStop && x.hooked {
		x.stops++
	}
	x.live, x.stopping, x.down, x.goingDown, x.blocked, x.queue, x.err = false, true, false, false, nil, nil, err
	x.ctxDone = true
}

// stop is Ref.Stop in the model.
func (w *fzWorld) stop(x *fzActor) {
	if !x.live || x.stopping {
		return
	}
	x.stopping = true
	if x.down {
		w.end(x, fzWant{what: fzWantNil}, false) // down: what waits is dropped
		return
	}
	if x.deadline && x.due < 0 {
		x.due = w.now + fzDeadline
	}
	if x.blocked == nil && !x.goingDown && !x.busy {
		w.end(x, fzWant{what: fzWantNil}, true) // idle: it ends at once
	}
}

// stopNow is Ref.StopNow in the model: it returns how many messages it drops.
func (w *fzWorld) stopNow(x *fzActor) int {
	if !x.live {
		return 0
	}
	n := len(x.queue)
	x.queue = nil
	x.ctxDone = true
	w.stop(x)
	w.unblockOnContext(x)
	return n
}

// unblockOnContext lets a message blocked on x's Context return, once it has ended.
func (w *fzWorld) unblockOnContext(x *fzActor) {
	if x.live && x.ctxDone && x.blocked != nil && x.blocked.kind == fzCtxBlock {
		x.blocked = nil
		w.afterBlocked(x)
	}
}

// afterBlocked goes on after x's blocked message has returned: down for a restart that
// waits for it, or on with the mailbox.
func (w *fzWorld) afterBlocked(x *fzActor) {
	if x.goingDown {
		w.goDown(x, true)
		return
	}
	w.process(x)
}

// release lets x's blocked message return: the model first, then the real message.
func (w *fzWorld) release(x *fzActor) {
	rel := x.blocked.rel
	x.blocked = nil
	w.afterBlocked(x)
	close(rel)
	w.rels[rel] = true
}

// passTime moves the model's clock by d, firing the shutdown deadlines on the way. Their
// effects are the actor's own: it drops what it has not started, and a message blocked on
// its Context returns, so that it ends.
func (w *fzWorld) passTime(d time.Duration) {
	until := w.now + d
	for {
		var next *fzActor
		for _, x := range w.actors {
			if x.live && x.due >= 0 && x.due <= until && (next == nil || x.due < next.due) {
				next = x
			}
		}
		if next == nil {
			break
		}
		w.now = next.due
		next.due = -1 // fired
		next.queue = nil
		next.ctxDone = true
		w.unblockOnContext(next)
	}
	w.now = until
}

// The model of a supervisor.

// allows reports whether s may restart once more.
func (s *fzSup) allows() bool { return s.max > 0 && s.restarts < s.max }

// restartSet returns the children a restart after child's failure brings down and up.
func (s *fzSup) restartSet(child fzNode) map[fzNode]bool {
	set := map[fzNode]bool{}
	after := false
	for _, c := range s.live() {
		if after = after || c == child; after || s.strategy == OneForAll {
			set[c] = true
		}
	}
	return set
}

// childFailed is supervisor.go's childFailed in the model.
func (w *fzWorld) childFailed(s *fzSup, child fzNode, stopping bool, err fzErr) verdictKind {
	switch {
	case s.draining:
		if s.err == nil {
			s.err = &fzErr{err.leaf, err.depth + 1}
		}
		return vEnd
	case s.down || s.inDown[child]:
		return vDown
	case s.allows():
		s.restarts++
		switch {
		case stopping:
			return vEnd
		case s.strategy == OneForOne:
			return vRestart
		}
		set := s.restartSet(child)
		s.markDown(set)
		w.enqueue(s, &fzJob{kind: jobRestart, set: set, failed: child})
		return vDown
	}
	gave := fzErr{err.leaf, err.depth + 1}
	if s.parent == nil {
		if s.err == nil {
			s.err = &gave
		}
		s.cancelled = true
		w.requestDrain(s)
		return vEnd
	}
	switch w.childFailed(s.parent, fzNode{s: s}, false, gave) {
	case vRestart:
		// The parent restarts s alone: s restarts its whole subtree, fresh.
		s.markDown(nil)
		w.enqueue(s, &fzJob{kind: jobRestart, reset: true, failed: child})
		return vDown
	case vDown:
		// The parent brings s down and up; s goes down now if it is not already, in
		// case it is in no restart of the parent's (made while the parent was down).
		if !s.down && !s.draining {
			s.markDown(nil)
			w.enqueue(s, &fzJob{kind: jobDown})
		}
		return vDown
	}
	if s.err == nil {
		s.err = &gave
	}
	w.requestDrain(s)
	return vEnd
}

// markDown records the children that a restart of s brings down: set, or all of them.
func (s *fzSup) markDown(set map[fzNode]bool) {
	if s.inDown == nil {
		s.inDown = map[fzNode]bool{}
	}
	for _, c := range s.live() {
		if set == nil || set[c] {
			s.inDown[c] = true
		}
	}
}

// enqueue hands j to s's control task; a draining supervisor abandons it at once.
func (w *fzWorld) enqueue(s *fzSup, j *fzJob) {
	if s.draining {
		j.done = true
		return
	}
	s.jobs = append(s.jobs, j)
}

// requestDrain makes s drain: it stops taking children, and its control task drains it
// once the job it runs, if any, reaches a point where it looks.
func (w *fzWorld) requestDrain(s *fzSup) {
	if s.draining {
		return
	}
	s.draining = true
}

// settle runs the control tasks until none has work: it releases, one at a time, the
// actors they wait for, or lets the clock run to the next shutdown deadline.
func (w *fzWorld) settle() {
	for range 1000 {
		w.advance()
		var release, timed *fzActor
		for _, x := range w.waitedOn() {
			switch {
			case x.blocked.kind == fzCtxBlock && x.due >= 0:
				if timed == nil || x.due < timed.due {
					timed = x
				}
			case release == nil || x.idx < release.idx:
				release = x
			}
		}
		switch {
		case release != nil:
			w.release(release)
			synctest.Wait()
		case timed != nil:
			d := timed.due - w.now
			w.passTime(d)
			time.Sleep(d)
			synctest.Wait()
		default:
			return
		}
	}
	w.t.Errorf("model: the control tasks do not settle")
}

// waitedOn returns the blocked actors that control tasks wait for.
func (w *fzWorld) waitedOn() []*fzActor {
	var xs []*fzActor
	for _, s := range w.sups {
		if s.ended {
			continue
		}
		var n fzNode
		if s.job != nil {
			n = s.job.waitFor
		} else if s.draining {
			n = s.drainWait
		}
		if n.a != nil && n.a.live && n.a.blocked != nil {
			xs = append(xs, n.a)
		}
	}
	return xs
}

// advance runs every control task as far as it goes without anything blocked returning.
func (w *fzWorld) advance() {
	for progress := true; progress; {
		progress = false
		for _, s := range w.sups {
			for w.stepControl(s) {
				progress = true
			}
		}
	}
}

// stepControl makes one step of s's control task, and reports whether it did.
func (w *fzWorld) stepControl(s *fzSup) bool {
	switch {
	case s.ended:
		return false
	case s.job != nil:
		return w.stepJob(s, s.job)
	case s.draining:
		for _, j := range s.jobs {
			j.done = true
		}
		s.jobs = nil
		return w.stepDrain(s)
	case len(s.jobs) > 0:
		s.job, s.jobs = s.jobs[0], s.jobs[1:]
		return true
	}
	return false
}

// stepJob makes one step of the job j of s (supervisor.go's run).
func (w *fzWorld) stepJob(s *fzSup, j *fzJob) bool {
	finish := func() bool {
		j.done, s.job = true, nil
		return true
	}
	if !j.started {
		j.started = true
		for _, c := range s.live() {
			if j.set == nil || j.set[c] {
				j.ms = append(j.ms, c)
			}
		}
		switch {
		case j.kind == jobUp:
			j.step = 2
		case j.failed != (fzNode{}):
			j.step = 0
		default:
			j.step, j.i = 1, len(j.ms)-1
		}
		return true
	}
	switch j.step {
	case 0: // the failed child down first
		if !w.bringDown(s, j, j.failed) {
			return false
		}
		j.step, j.i, j.issued = 1, len(j.ms)-1, false
		return true
	case 1: // the others down, in reverse spawn order
		if j.i < 0 {
			if j.kind == jobDown {
				s.down = true
				return finish()
			}
			j.step, j.i = 2, 0
			return true
		}
		if !j.issued && s.draining {
			return finish()
		}
		if !w.bringDown(s, j, j.ms[j.i]) {
			return false
		}
		j.i, j.issued = j.i-1, false
		return true
	default: // up, in spawn order
		if j.i >= len(j.ms) {
			for _, c := range j.ms {
				delete(s.inDown, c)
			}
			if j.reset {
				s.restarts, s.down = 0, false
			}
			return finish()
		}
		if !j.issued && s.draining {
			return finish()
		}
		if !w.bringUp(s, j, j.ms[j.i]) {
			return false
		}
		j.i, j.issued = j.i+1, false
		return true
	}
}

// bringDown tells c to go down for s's job j, once, and reports whether it is down.
func (w *fzWorld) bringDown(s *fzSup, j *fzJob, c fzNode) bool {
	j.waitFor = c
	if c.a != nil {
		x := c.a
		if !j.issued {
			j.issued = true
			// One that is stopping runs what it accepted and ends: not brought down.
			if x.live && !x.stopping && !x.down && !x.goingDown {
				x.ctxDone, x.goingDown = true, true
				if x.blocked != nil && x.blocked.kind == fzCtxBlock {
					x.blocked = nil // its Context ended: it returns
				}
				if x.blocked == nil {
					w.goDown(x, true)
				}
			}
		}
		if !x.live || x.down || !x.goingDown && (x.stopping || x.blocked == nil) {
			j.waitFor = fzNode{}
			return true
		}
		return false
	}
	cs := c.s
	if !j.issued {
		j.issued = true
		j.sub = nil
		if !cs.down && !cs.ended {
			cs.markDown(nil)
			j.sub = &fzJob{kind: jobDown}
			w.enqueue(cs, j.sub)
		}
	}
	if j.sub == nil || j.sub.done || cs.ended {
		j.waitFor = fzNode{}
		return true
	}
	return false
}

// bringUp tells c to come up for s's job j, once, and reports whether it is up.
func (w *fzWorld) bringUp(s *fzSup, j *fzJob, c fzNode) bool {
	if c.a != nil {
		x := c.a
		j.issued = true
		if x.live && !x.stopping && x.down {
			delete(s.inDown, c) // once up, a failure of its is a new one
			w.comeUp(x)
			w.process(x)
		}
		return true
	}
	cs := c.s
	if !j.issued {
		j.issued = true
		j.sub = nil
		if cs.down && !cs.ended {
			j.sub = &fzJob{kind: jobUp, reset: true}
			w.enqueue(cs, j.sub)
		}
	}
	j.waitFor = c
	if j.sub == nil || j.sub.done || cs.ended {
		j.waitFor = fzNode{}
		return true
	}
	return false
}

// stepDrain makes one step of s's drain: the newest child that has not ended is told to
// stop, and the drain waits for its end; with none left, s ends.
func (w *fzWorld) stepDrain(s *fzSup) bool {
	if c := s.drainWait; c != (fzNode{}) {
		if c.a != nil && c.a.live || c.s != nil && !c.s.ended {
			return false
		}
		s.drainWait = fzNode{}
	}
	live := s.live()
	if len(live) == 0 {
		s.ended = true
		if s.parent == nil {
			s.cancelled = true
		}
		return true
	}
	c := live[len(live)-1]
	s.drainWait = c
	if c.a != nil {
		w.stop(c.a)
	} else {
		w.requestDrain(c.s)
	}
	return true
}
