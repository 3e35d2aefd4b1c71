package actor

// The ledger of TestTorture (torture_test.go): once a round has ended, it checks every
// message, incarnation and Wait against the properties listed there.

import (
	"context"
	"errors"
	"math"
)

// check runs once every supervisor's Wait has returned, so every actor has ended and every
// call has returned: the ledger is complete and owned by this goroutine.
func (rd *ttRound) check() {
	byActor := make([][]*ttMsg, len(rd.actors))
	for _, m := range rd.msgs {
		byActor[m.to.idx] = append(byActor[m.to.idx], m)
	}
	errs := make([]error, len(rd.actors))
	for _, a := range rd.actors {
		select {
		case <-a.target.done():
		default:
			rd.failf("%v had not ended when Wait of its supervisor returned", a)
			continue
		}
		errs[a.idx] = a.target.wait()
	}
	for _, a := range rd.actors {
		rd.checkActor(a, errs[a.idx], byActor[a.idx])
	}
	for _, sp := range rd.sups {
		if sp.flat {
			rd.checkFlatSup(sp, errs)
		} else {
			rd.checkTreeSup(sp, errs)
		}
	}
	for _, sp := range rd.sups {
		if sp.parent == nil {
			rd.stats.roots++
		} else {
			rd.stats.childSups++
		}
	}
	rd.stats.actors += len(rd.actors)
	rd.stats.msgs += len(rd.msgs)
}

// scopeFailures counts the failures, other than a's own, that could have restarted a: those
// of the whole tree if its root restarts more than the child that failed, else those of
// the root's child that a is in (none if a is the root's own child).
func (rd *ttRound) scopeFailures(a *ttActor) int {
	scope := a.sup.root
	if scope.flat || scope.strategy == OneForOne {
		scope = a.sup
		for scope.parent != nil && scope.parent.parent != nil {
			scope = scope.parent
		}
		if scope.parent == nil {
			return 0 // directly under a OneForOne root: only its own failures restart it
		}
	}
	n := 0
	for _, b := range rd.actors {
		if b != a && b.sup.under(scope) {
			n += len(b.fails)
		}
	}
	return n
}

// matchFailure reports whether err is the error that failure f of a fails with.
func matchFailure(err error, a *ttActor, f ttFail) bool {
	if f.msg == nil {
		var se ttStateErr
		return errors.As(err, &se) && se == ttStateErr{a, f.state}
	}
	if f.msg.kind == ttGoexit {
		return errors.Is(err, ErrGoexit)
	}
	var pe *PanicError
	return errors.As(err, &pe) && pe.Value == ttPanicValue(f.msg.id)
}

// checkActor checks one ended actor and the messages sent to it, in ledger order.
func (rd *ttRound) checkActor(a *ttActor, err error, msgs []*ttMsg) {
	stillborn := err == ErrStopped
	failed := err != nil && !stillborn
	flat := a.sup.flat
	absorbed := 0
	for _, f := range a.fails {
		if f.absorbed {
			absorbed++
		}
		if f.msg == nil {
			rd.stats.stateFails++
		}
	}
	if len(a.incs) > 1 {
		rd.stats.restarts += len(a.incs) - 1
	}
	switch {
	case stillborn:
		rd.stats.stillborn++
		if len(a.incs) != 0 || a.seq != 0 || a.newStates != 0 || a.stopClock != 0 {
			rd.failf("%v: Wait = ErrStopped (spawned stopped), yet it has %d incarnations, %d newStates, %d messages",
				a, len(a.incs), a.newStates, a.seq)
		}
	case a.tracked():
		rd.checkIncarnations(a, err, absorbed, msgs)
	}
	if a.spawnBefore > a.sup.effectiveStopDone() && !stillborn {
		rd.failf("%v: spawned after Stop of its supervisor returned (clock %d > %d), Wait = %v, want ErrStopped",
			a, a.spawnBefore, a.sup.effectiveStopDone(), err)
	}
	rd.stats.panics += a.panics

	var lastFail *ttFail
	if len(a.fails) > 0 {
		lastFail = &a.fails[len(a.fails)-1]
	}
	maxPanics := max(a.restart, 0) // panics an actor survives by itself
	if failed {
		rd.stats.failed++
		switch {
		case lastFail == nil || lastFail.absorbed:
			rd.failf("%v: Wait = %v, but its last failure (if any) was absorbed by WithRestart", a, err)
		case !matchFailure(err, a, *lastFail):
			rd.failf("%v: Wait = %v, want the error of its last failure (message %v, newState %d)", a, err, lastFail.msg, lastFail.state)
		case lastFail.msg != nil && lastFail.msg != a.last:
			rd.failf("%v: Wait = %v, but messages ran after the one that failed it, %v", a, err, lastFail.msg)
		}
		if lastFail != nil && !flat && a.sup.waitErr == nil && a.stopCalled.Load() > lastFail.clock {
			rd.failf("%v: ended with its failure %v, but nothing had stopped it and its supervisor's Wait = nil (neither gave up nor was stopping)", a, err)
		}
		switch {
		case !flat || lastFail == nil:
		case lastFail.msg != nil && lastFail.msg.kind == ttPanic:
			if a.panics != maxPanics+1 {
				rd.failf("%v: failed at panic %d, want at panic %d (WithRestart(%d, time.Hour))", a, a.panics, maxPanics+1, a.restart)
			}
		case a.panics > maxPanics:
			rd.failf("%v: survived %d panics, want at most %d", a, a.panics, maxPanics)
		}
	} else if flat && (a.panics > maxPanics || len(a.fails) > absorbed) {
		rd.failf("%v: Wait = %v after %d panics and %d failures WithRestart does not absorb; a flat root gives up at the first",
			a, err, a.panics, len(a.fails)-absorbed)
	}

	lastSeq := map[int]int{} // per sender, the place of its last message that ran
	maxRanBefore := int64(-1)
	minDroppedAfter := int64(math.MaxInt64)
	maxAcceptedBefore := int64(-1)
	minStoppedAfter := int64(math.MaxInt64)
	stopDone := a.stopDone.Load()
	notRan, uncertain, stoppedOrFull := 0, 0, 0
	for _, m := range msgs {
		rd.checkCall(a, m)
		acc, unc := m.accepted()
		switch {
		case m.ran > 1:
			rd.failf("%v ran %d times", m, m.ran)
		case m.ran == 1 && !acc:
			rd.failf("%v: the call returned an error, yet the message ran", m)
		}
		if m.ran > 0 {
			rd.stats.ran++
			if m.seq <= lastSeq[m.sender] {
				rd.failf("%v started as message %d of its actor, after a later message of the same sender (started %d)",
					m, m.seq, lastSeq[m.sender])
			}
			lastSeq[m.sender] = m.seq
			if m.kind == ttGoexit && !failed && flat {
				rd.failf("%v called Goexit, yet Wait = %v", m, err)
			}
			if m.kind == ttCtxBlock {
				rd.stats.ctxBlocks++
				if m.lateCtx {
					rd.failf("%v: its actor's Context was still live %v after StopNow or the shutdown deadline of a Stop was due", m, ttCtxGrace)
				}
			}
		}
		if !acc && !unc {
			rd.stats.refused++
		}
		if unc && m.ran == 0 {
			rd.stats.timedOut++
			uncertain++
		}
		if errors.Is(m.err, ErrStopped) || errors.Is(m.err, ErrMailboxFull) {
			stoppedOrFull++
		}
		if acc {
			maxAcceptedBefore = max(maxAcceptedBefore, m.before)
			switch {
			case stillborn:
				rd.failf("%v: accepted by an actor spawned stopped", m)
			case m.ran == 1:
				maxRanBefore = max(maxRanBefore, m.before)
			default:
				notRan++
				rd.stats.dropped++
				minDroppedAfter = min(minDroppedAfter, m.after)
			}
			if m.before > stopDone {
				rd.failf("%v: accepted though Stop of its actor had returned (clock %d)", m, stopDone)
			}
		}
		if errors.Is(m.err, ErrStopped) {
			minStoppedAfter = min(minStoppedAfter, m.after)
		}
	}
	// A mailbox is FIFO, a restart drops only the message that failed, and what drops
	// messages (StopNow, a deadline, a final failure, a stop while down) drops everything
	// behind: so a message that returned from its send before another was sent must have
	// run if the other did.
	if minDroppedAfter < maxRanBefore {
		rd.failf("%v: a dropped message was accepted (by clock %d) before one that ran was sent (clock %d)",
			a, minDroppedAfter, maxRanBefore)
	}
	// Stopping is for ever.
	if minStoppedAfter < maxAcceptedBefore {
		rd.failf("%v: a send returned ErrStopped (by clock %d) before one that was accepted was made (clock %d)",
			a, minStoppedAfter, maxAcceptedBefore)
	}
	rd.checkDrops(a, err, notRan, uncertain, stoppedOrFull)
}

// checkIncarnations checks the hooks of an actor whose incarnations the ledger sees.
func (rd *ttRound) checkIncarnations(a *ttActor, err error, absorbed int, msgs []*ttMsg) {
	unstopped := 0
	for _, inc := range a.incs {
		if a.hooked && inc.starts != 1 || inc.stops > 1 {
			rd.failf("%v: incarnation %d had %d OnStarts and %d OnStops, want 1 and at most 1", a, inc.n, inc.starts, inc.stops)
		}
		if inc.stops == 0 {
			unstopped++
		}
	}
	if a.spawnFunc {
		stateFails := 0
		for _, f := range a.fails {
			if f.msg == nil {
				stateFails++
			}
		}
		if a.newStates != len(a.incs)+stateFails {
			rd.failf("%v: newState ran %d times for %d incarnations and %d failures", a, a.newStates, len(a.incs), stateFails)
		}
	}
	if a.hooked {
		// Every incarnation ends with one OnStop, except one that WithRestart replaced on a
		// Spawned actor: its state stays, and only OnStart runs again.
		want := 0
		if !a.spawnFunc {
			want = absorbed
		}
		if unstopped != want {
			rd.failf("%v: %d of its %d incarnations never ran OnStop, want %d (WithRestart absorbed %d panics)",
				a, unstopped, len(a.incs), want, absorbed)
		}
	}
	// After a failure, the next message runs on a new incarnation.
	bySeq := make(map[int]*ttMsg)
	for _, m := range msgs {
		if m.ran > 0 {
			bySeq[m.seq] = m
		}
	}
	for _, f := range a.fails {
		if f.msg == nil || f.msg.inc == nil {
			continue
		}
		if next := bySeq[f.msg.seq+1]; next != nil && next.inc != nil && next.inc.n <= f.msg.inc.n {
			rd.failf("%v: %v ran on incarnation %d, after %v failed it", a, next, next.inc.n, f.msg)
		}
	}
	// No restart without a failure that could cause it.
	if extra, own, scope := len(a.incs)-1, len(a.fails), rd.scopeFailures(a); extra > own+scope {
		rd.failf("%v: %d incarnations, but only %d failures of its own and %d that could restart it from elsewhere",
			a, len(a.incs), own, scope)
	}
	// On a flat root only WithRestart restarts: one incarnation, plus one per absorbed
	// panic (the last failure, if final, makes none; a failed newState makes none).
	if a.sup.flat && err != ErrStopped {
		want := 1 + absorbed
		for _, f := range a.fails {
			if f.msg == nil {
				want--
			}
		}
		if len(a.incs) != want {
			rd.failf("%v: %d incarnations on a flat root, want %d (1 + %d panics WithRestart absorbed - failed newStates)",
				a, len(a.incs), want, absorbed)
		}
	}
}

// checkDrops checks that every accepted message that did not run was dropped for a reason
// the actor had: with an Observer, exactly, per reason.
func (rd *ttRound) checkDrops(a *ttActor, err error, notRan, uncertain, stoppedOrFull int) {
	failed := err != nil && err != ErrStopped
	stopNows := int(a.stopNows.Load())
	rd.stats.stopNowDropped += stopNows
	// Only a restart by a supervisor brings an actor down: on a flat root, never.
	mayBeDown := false
	for _, f := range a.fails {
		mayBeDown = mayBeDown || !f.absorbed
	}
	mayBeDown = !a.sup.flat && (mayBeDown || rd.scopeFailures(a) > 0)
	if !rd.observed(a.sup.root) {
		// Not observed: StopNow's counts bound the drops, and drops need a reason.
		if stopNows > notRan+stoppedOrFull+uncertain {
			rd.failf("%v: StopNow dropped %d messages, but only %d accepted ones did not run (and %d were refused or dropped Asks, %d uncertain)",
				a, stopNows, notRan, stoppedOrFull, uncertain)
		}
		if notRan > stopNows && !failed && a.deadline == 0 && !mayBeDown {
			rd.failf("%v: %d accepted messages never ran, but StopNow dropped only %d, Wait = %v, it has no deadline and was never down",
				a, notRan, stopNows, err)
		}
		return
	}
	rd.obs.mu.Lock()
	ob := rd.obs.actors[a.target.actor()]
	rd.obs.mu.Unlock()
	if ob == nil {
		ob = &ttObserved{dropped: map[string]int{}}
	}
	total := 0
	for reason, n := range ob.dropped {
		total += n
		switch reason {
		case "stop_now", "failure", "deadline", "stopped":
		default:
			rd.failf("%v: %d messages dropped for an unknown reason %q", a, n, reason)
		}
	}
	rd.stats.deadlineDropped += ob.dropped["deadline"]
	droppedAsks := stoppedOrFull - ob.refused
	cancelled := total - notRan - droppedAsks
	switch {
	case ob.dropped["stop_now"] != stopNows:
		rd.failf("%v: StopNow returned %d in all, but the Observer was told of %d messages dropped by it", a, stopNows, ob.dropped["stop_now"])
	case droppedAsks < 0:
		rd.failf("%v: %d sends were refused (Observer), but only %d calls returned ErrStopped or ErrMailboxFull", a, ob.refused, stoppedOrFull)
	case cancelled < 0 || cancelled > uncertain:
		rd.failf("%v: %d messages dropped (Observer: %v), %d accepted ones never ran and %d Asks got ErrStopped after they were accepted; the rest, %d, must be Asks whose context ended (%d)",
			a, total, ob.dropped, notRan, droppedAsks, cancelled, uncertain)
	case ob.dropped["failure"] > 0 && !failed:
		rd.failf("%v: %d messages dropped by a failure, yet Wait = %v", a, ob.dropped["failure"], err)
	case ob.dropped["deadline"] > 0 && a.deadline == 0:
		rd.failf("%v: %d messages dropped by a shutdown deadline it does not have", a, ob.dropped["deadline"])
	case ob.dropped["stopped"] > 0 && !mayBeDown:
		rd.failf("%v: %d messages dropped by a stop while it was down, but nothing could have brought it down", a, ob.dropped["stopped"])
	}
}

// observed reports whether root's tree has the round's Observer.
func (rd *ttRound) observed(root *ttSup) bool {
	return rd.obs != nil && root.s.obs == Observer(rd.obs)
}

// checkCall checks what one call returned, against its op, context and message.
func (rd *ttRound) checkCall(a *ttActor, m *ttMsg) {
	if m.ctxKind == ttDeadline && m.late > ttGrace {
		rd.failf("%v returned %v after its deadline", m, m.late)
	}
	isCtxErr := m.err == context.Canceled || m.err == context.DeadlineExceeded
	failing := (m.kind == ttPanic || m.kind == ttGoexit)
	switch {
	case m.ctxKind == ttCancelled:
		if m.err != context.Canceled {
			rd.failf("%v: called with a cancelled context, want context.Canceled", m)
		}
		return
	case m.err == nil, errors.Is(m.err, ErrStopped):
	case m.err == context.DeadlineExceeded && m.ctxKind == ttDeadline:
	case errors.Is(m.err, ErrMailboxFull) && m.op == ttSend && a.bound > 0:
	case m.op == ttAsk && m.kind == ttPanic:
		var pe *PanicError
		if !errors.As(m.err, &pe) || pe.Value != ttPanicValue(m.id) || m.ran != 1 {
			rd.failf("%v: want nil, ErrStopped, its context's error or its own *PanicError", m)
		}
	case m.op == ttAsk && m.kind == ttGoexit && errors.Is(m.err, ErrGoexit) && m.ran == 1:
	default:
		rd.failf("%v: unexpected error for %s", m, m.op)
	}
	if m.op == ttAsk && m.err == nil && (m.val != m.id || failing) {
		rd.failf("%v: Ask returned %d, nil; want %d and, for panic or goexit, an error", m, m.val, m.id)
	}
	if m.op == ttAsk && m.sender == -1-a.idx && (m.ran != 0 || !(isCtxErr || errors.Is(m.err, ErrStopped))) {
		rd.failf("%v: an Ask of an actor from its own message, want its deadline or ErrStopped and never run", m)
	}
}

// checkFlatSup checks a flat root's Wait against the failures of its actors, and Spawn
// against its stops.
func (rd *ttRound) checkFlatSup(sp *ttSup, errs []error) {
	var failed []*ttActor
	earliest := sp.stopCalled.Load() // nothing could stop sp before this clock
	for _, a := range rd.actors {
		if a.sup != sp {
			continue
		}
		if err := errs[a.idx]; err != nil && err != ErrStopped {
			failed = append(failed, a)
			if len(a.fails) > 0 {
				earliest = min(earliest, a.fails[len(a.fails)-1].clock)
			}
		}
	}
	for _, a := range rd.actors {
		if a.sup == sp && a.spawnAfter < earliest && errs[a.idx] == ErrStopped {
			rd.failf("%v: Spawn returned (clock %d) before anything could stop its supervisor (clock %d), yet Wait = ErrStopped",
				a, a.spawnAfter, earliest)
		}
	}
	if len(failed) == 0 {
		if sp.waitErr != nil {
			rd.failf("%v: Supervisor.Wait = %v, but none of its actors failed", sp, sp.waitErr)
		}
		return
	}
	var first *ttActor
	for _, a := range failed {
		if sp.waitErr != nil && errors.Is(sp.waitErr, errs[a.idx]) {
			first = a
		}
	}
	if first == nil || len(first.fails) == 0 {
		rd.failf("%v: Supervisor.Wait = %v, want the error of one of its %d failed actors", sp, sp.waitErr, len(failed))
		return
	}
	// A failure is reported before OnStop runs, and after the failing message took its
	// clock: an actor whose OnStop ran for its failure (after its own failing message
	// took its clock; a failing newState runs none) before first's failing message did
	// reported first.
	firstClock := first.fails[len(first.fails)-1].clock
	for _, a := range failed {
		if len(a.fails) == 0 {
			continue
		}
		own := a.fails[len(a.fails)-1].clock
		if a != first && a.hooked && a.stopClock > own && a.stopClock < firstClock {
			rd.failf("%v: Supervisor.Wait = the failure of %v, but %v failed and ran OnStop (clock %d) before that failure (clock %d)",
				sp, first, a, a.stopClock, firstClock)
		}
	}
}

// failureIn reports whether err wraps a failure of an actor of sub.
func (rd *ttRound) failureIn(err error, sub *ttSup) bool {
	for _, a := range rd.actors {
		if !a.sup.under(sub) {
			continue
		}
		for _, f := range a.fails {
			if !f.absorbed && matchFailure(err, a, f) {
				return true
			}
		}
	}
	return false
}

// checkTreeSup checks the Wait of a supervisor of a tree, root or child, against the
// failures of its subtree, and Spawn and NewChild against its stops.
func (rd *ttRound) checkTreeSup(sp *ttSup, errs []error) {
	if sp.parent != nil {
		stillborn := sp.waitErr == ErrStopped
		if sp.spawnBefore > sp.parent.effectiveStopDone() && !stillborn {
			rd.failf("%v: made after Stop of its parent returned, Wait = %v, want ErrStopped", sp, sp.waitErr)
		}
		if stillborn {
			for _, a := range rd.actors {
				if a.sup == sp && errs[a.idx] != ErrStopped {
					rd.failf("%v: a stopped child supervisor, yet %v under it has Wait = %v", sp, a, errs[a.idx])
				}
			}
			return
		}
	}
	// Nothing could stop sp before its own stop, an ancestor's, or a failure in its tree.
	earliest := sp.stopCalled.Load()
	for s := sp.parent; s != nil; s = s.parent {
		earliest = min(earliest, s.stopCalled.Load())
	}
	anyFailure := false
	for _, a := range rd.actors {
		if a.sup.root != sp.root {
			continue
		}
		for _, f := range a.fails {
			if !f.absorbed {
				earliest = min(earliest, f.clock)
				if a.sup.under(sp) {
					anyFailure = true
				}
			}
		}
	}
	for _, a := range rd.actors {
		if a.sup == sp && a.spawnAfter < earliest && errs[a.idx] == ErrStopped {
			rd.failf("%v: Spawn returned (clock %d) before anything could stop its supervisor (clock %d), yet Wait = ErrStopped",
				a, a.spawnAfter, earliest)
		}
	}
	for _, c := range rd.sups {
		if c.parent == sp && c.spawnAfter < earliest && c.waitErr == ErrStopped {
			rd.failf("%v: NewChild returned (clock %d) before anything could stop its parent (clock %d), yet Wait = ErrStopped",
				c, c.spawnAfter, earliest)
		}
	}
	var gave []error
	if rd.observed(sp.root) {
		rd.obs.mu.Lock()
		gave = rd.obs.gave[sp.s]
		rd.obs.mu.Unlock()
	}
	rd.stats.gaveUp += len(gave)
	for _, g := range gave {
		if !rd.failureIn(g, sp) {
			rd.failf("%v gave up with %v, which wraps no failure of its subtree", sp, g)
		}
	}
	if sp.waitErr == nil {
		if !anyFailure {
			return
		}
		for _, c := range rd.sups {
			if c.parent != sp || c.waitErr == nil || !rd.observed(sp.root) {
				continue
			}
			rd.obs.mu.Lock()
			for _, g := range rd.obs.gave[c.s] {
				if g == c.waitErr {
					rd.failf("%v: Wait = nil, yet its child %v ended giving up with %v", sp, c, g)
				}
			}
			rd.obs.mu.Unlock()
		}
		return
	}
	if !anyFailure || !rd.failureIn(sp.waitErr, sp) {
		rd.failf("%v: Wait = %v, which wraps no failure of its subtree (errors.Is, errors.As)", sp, sp.waitErr)
	}
}
