package actor

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
)

// Supervisor owns actors and child supervisors: it restarts the children that fail, within
// limits, stops them all in reverse spawn order, and joins them. Supervisors form trees: a
// child supervisor ([Supervisor.NewChild]) is a child of its parent like an actor, so a
// subsystem fails, restarts and stops as one.
//
// A tree is built on one errgroup, its root's: the root's context and Wait are the group's,
// and every goroutine a supervisor of the tree starts (to stop its children one after the
// other, or to restart several of them) is a task of the group, for as long as that work
// lasts. An idle supervisor holds no goroutine, and neither does an idle actor.
//
// A Supervisor comes only from [NewSupervisor] or [Supervisor.NewChild]; methods on a nil
// or zero one panic. Its methods are safe to call from any goroutine, including from inside
// its actors' messages.
type Supervisor struct {
	// Set when s is made, then read-only.
	parent  *Supervisor             // nil for a root
	root    *Supervisor             // the root of s's tree; s itself for a root
	group   *errgroup.Group         // the root's
	ctx     context.Context         // root: the group's; done on a give-up, or when the parent ctx ends
	cancel  context.CancelCauseFunc // root: cancels ctx
	unwatch func() bool             // root: stops watching the parent ctx
	taskMu  sync.Mutex              // root: held while a task of the group starts (see goTask)
	cfg     supConfig
	member  member   // s's entry in its parent's list; guarded by parent.mu
	pool    poolHost // the pool whose members s supervises, if any; set once by SpawnPool
	obs     Observer // WithObserver's, or the parent's; nil: nobody observes
	obsEach bool     // obs asks to be told of every message

	mu        sync.Mutex
	name      string               // guarded by mu; built on first use unless named
	tail      *member              // guarded by mu; the live children, linked in spawn order
	stopped   bool                 // guarded by mu; Spawn and NewChild make stopped children
	drainReq  bool                 // guarded by mu; set once: the control task drains s
	drainCh   chan struct{}        // root: closed once a drain is requested and its task exists
	ctl       bool                 // guarded by mu; a control task is running
	jobs      []*job               // guarded by mu; restart work for the control task
	timer     *time.Timer          // guarded by mu; a backoff before a group restart comes up
	pendingUp *job                 // guarded by mu; the job the timer will queue
	inDown    map[*member]bool     // guarded by mu; children a restart has brought (or is bringing) down
	down      bool                 // guarded by mu; s itself is down, for its parent's restart
	downCause error                // guarded by mu; why s was brought down
	restarts  []time.Time          // guarded by mu; the intensity window
	backoffs  map[*member]*backoff // guarded by mu; consecutive restarts per child
	err       error                // guarded by mu; what Wait returns
	hooksDone bool                 // guarded by mu; set once, when the watch notices are taken
	ended     bool                 // guarded by mu; set once, when every child has ended, as Done closes
	done      chan struct{}        // guarded by mu; made on first use, closed when ended is set
	hooks     *hook                // guarded by mu; WatchSupervisor notices
}

// member is a child's entry in its supervisor's list, embedded in the Ref (or the child
// Supervisor), so that linking and unlinking cost no allocation and O(1) time.
type member struct {
	prev, next *member // guarded by the supervisor's mu
	linked     bool    // guarded by the supervisor's mu
	child      child
}

// child is what a supervisor does to one of its children: an actor or a supervisor.
type child interface {
	// stop stops the child gracefully; it never blocks.
	stop()
	// Done is closed when the child has ended.
	Done() <-chan struct{}
	// bringDown brings the child down for a restart: it finishes what it is running, runs
	// no more, and runs its OnStop (a supervisor brings all its children down). The
	// channel is closed once it is down, or has ended.
	bringDown(cause error) <-chan struct{}
	// bringUp brings a child that is down up again: fresh state and OnStart (for a
	// supervisor, all its children), then it goes on with its mailbox. The channel is
	// closed once it is up, has failed again, or has ended.
	bringUp() <-chan struct{}
}

// NewSupervisor returns a root Supervisor, whose children run until [Supervisor.Stop] is
// called, ctx ends, or it gives up on a failure (see [WithIntensity]; by default the first
// failure of a child makes it give up). It starts no goroutine. It panics if ctx is nil.
func NewSupervisor(ctx context.Context, opts ...SupervisorOption) *Supervisor {
	if ctx == nil {
		panic("actor: NewSupervisor: nil Context")
	}
	cfg := newSupConfig("NewSupervisor", opts)
	parent, cancel := context.WithCancelCause(ctx)
	group, gctx := errgroup.WithContext(parent)
	s := &Supervisor{group: group, ctx: gctx, cancel: cancel, cfg: cfg, drainCh: make(chan struct{})}
	s.root, s.obs = s, cfg.obs
	s.obsEach = s.obs != nil && perMessage(s.obs)
	// For contexts of package context this registers a callback and holds no goroutine.
	s.unwatch = context.AfterFunc(gctx, s.requestDrain)
	s.observe(EventSpawned, nil)
	return s
}

// NewChild returns a Supervisor that is a child of s, placed in s's spawn order among its
// actors and other children. It is stopped as an actor is: when s stops, in reverse spawn
// order, and completely (its own children first, in their reverse order) before s moves on;
// stopping it stops only its subtree. When it gives up it fails to s, whose strategy may
// restart it: it then restarts its whole subtree from fresh state and its restart count
// starts over, and it stays the same *Supervisor, whose children's Refs keep working. Its
// Wait returns its own result.
//
// NewChild starts no goroutine. If s is stopping, or has ended, it returns a child that is
// already stopped: its Wait returns [ErrStopped] and Spawn on it returns stopped Refs.
func (s *Supervisor) NewChild(opts ...SupervisorOption) *Supervisor {
	s.check("NewChild")
	return s.newChild(newSupConfig("NewChild", opts), nil)
}

// newChild makes a child supervisor of s, for NewChild and SpawnPool (which gives its pool,
// set before the child is linked, where its parent may stop it at once).
func (s *Supervisor) newChild(cfg supConfig, pool poolHost) *Supervisor {
	c := &Supervisor{parent: s, root: s.root, group: s.root.group, cfg: cfg, obs: cfg.obs, pool: pool}
	if c.obs == nil {
		c.obs = s.obs
	}
	c.obsEach = c.obs != nil && perMessage(c.obs)
	c.member.child = c
	c.observe(EventSpawned, nil) // before its parent can end it
	if !s.link(&c.member) {
		c.stopped, c.drainReq, c.hooksDone, c.ended, c.err = true, true, true, true, ErrStopped
		if pool != nil {
			pool.draining() // a pool made stopped takes no message
		}
		c.observe(EventEnded, ErrStopped)
	}
	return c
}

// Stop tells s to stop all its children and returns at once; [Supervisor.Wait] waits for
// them.
//
// The children stop gracefully in reverse spawn order, each one completely (an actor runs its
// accepted messages, then OnStop; a child supervisor stops its own children the same way)
// before the next is told to stop, so that children spawned later, which may send to
// earlier ones, finish first and their last messages still land: spawn a consumer before
// the producers that send to it. Spawn and NewChild after Stop return stopped children.
// Stop is safe from any goroutine and from inside a message, because the stopping is done
// by a task of the tree's errgroup. Calling it again does nothing. Cancelling the context
// given to [NewSupervisor] stops a root the same way.
func (s *Supervisor) Stop() {
	s.check("Stop")
	s.requestDrain()
}

// Wait blocks until s has stopped (by [Supervisor.Stop], its context, its parent, or giving
// up) and every child it ever had has ended, then returns nil after a clean stop, or the
// failure s ended with: the error of the child that made it give up (or that failed while
// it was stopping), wrapped with s's name, so that [errors.Is] and [errors.As] reach the
// cause. A child supervisor's Wait returns its own result, and its failure also goes to its
// parent. Spawning while another goroutine waits is safe. Calling Wait from inside one of
// s's actors deadlocks.
func (s *Supervisor) Wait() error {
	s.check("Wait")
	if s.parent == nil {
		<-s.drainCh
		// Empty on purpose: taking taskMu orders every task started so far before the
		// group's Wait below, which WaitGroup requires of a start on an empty group.
		s.taskMu.Lock()
		//lint:ignore SA2001 the lock is taken for its ordering, not to guard anything
		s.taskMu.Unlock()
		_ = s.group.Wait() // its tasks return nil; failures go through fail
	} else {
		<-s.Done()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Done returns a channel that is closed when s has ended: every child has ended, just
// before [Supervisor.Wait] returns. Every call returns the same channel.
func (s *Supervisor) Done() <-chan struct{} {
	s.check("Done")
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done == nil {
		if s.ended {
			s.done = closedChan
		} else {
			s.done = make(chan struct{})
		}
	}
	return s.done
}

// String returns the supervisor's name: the one given with [WithSupervisorName], or one
// made up such as "Supervisor#3", unique in the process.
func (s *Supervisor) String() string {
	s.check("String")
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nameLocked()
}

func (s *Supervisor) nameLocked() string {
	if s.name == "" {
		if s.cfg.name != "" {
			s.name = s.cfg.name
		} else {
			s.name = "Supervisor#" + strconv.FormatUint(nextID.Add(1), 10)
		}
	}
	return s.name
}

func (s *Supervisor) check(op string) {
	if s == nil || s.group == nil {
		panic("actor: Supervisor." + op + " on a nil or zero Supervisor (use NewSupervisor)")
	}
}

// link appends m to the list, unless s no longer takes children, and reports whether it
// did. The root's context covers the moment between a give-up or the parent's end and the
// drain setting stopped.
func (s *Supervisor) link(m *member) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped || s.root.ctx.Err() != nil {
		return false
	}
	m.prev, m.linked = s.tail, true
	if s.tail != nil {
		s.tail.next = m
	}
	s.tail = m
	return true
}

// unlink forgets a child, as the last step of its end: the drain, and so Wait, take an
// empty list to mean that every child has ended. It also keeps the heap of a supervisor of
// many short-lived actors flat.
func (s *Supervisor) unlink(m *member) {
	s.mu.Lock()
	s.unlinkLocked(m)
	s.mu.Unlock()
}

func (s *Supervisor) unlinkLocked(m *member) {
	if !m.linked {
		return
	}
	if m.prev != nil {
		m.prev.next = m.next
	}
	if m.next != nil {
		m.next.prev = m.prev
	} else {
		s.tail = m.prev
	}
	m.prev, m.next, m.linked = nil, nil, false
	delete(s.backoffs, m)
	delete(s.inDown, m)
}

// children returns the live children in spawn order, or only those in set if it is not
// nil. Callers hold mu.
func (s *Supervisor) children(set map[*member]bool) []*member {
	var ms []*member
	for m := s.tail; m != nil; m = m.prev {
		if set == nil || set[m] {
			ms = append(ms, m)
		}
	}
	for i, j := 0, len(ms)-1; i < j; i, j = i+1, j-1 {
		ms[i], ms[j] = ms[j], ms[i]
	}
	return ms
}

// The control task. A supervisor's work that waits (stopping its children one after the
// other, bringing several down and up again for a restart) runs on a task of the tree's
// errgroup, one at a time per supervisor, started when there is work and ending when there
// is none. A drain, once asked for, comes before anything else and ends s.

// poolHost is a pool, as the supervisor of its members tells it that it stops and ends.
type poolHost interface {
	draining()
	ended()
}

// job is restart work for the control task.
type job struct {
	kind   jobKind
	set    map[*member]bool // the children concerned; nil: all of them
	delay  time.Duration    // jobRestart: the backoff between down and up
	reset  bool             // s's own restart: its intensity and backoffs start over
	cause  error            // the failure that made the restart
	failed *member          // the child whose failure made the restart: down first, before the others
	ch     chan struct{}    // jobDown, jobUp: closed when done or given up
}

type jobKind uint8

const (
	jobRestart jobKind = iota // bring set down, wait delay, bring it up
	jobUp                     // bring set up (after a restart's backoff, or for the parent)
	jobDown                   // bring every child down, for the parent's restart of s
)

// abandon releases whoever waits for a job that will not run.
func (j *job) abandon() {
	if j.ch != nil {
		close(j.ch)
	}
}

// enqueue hands j to the control task, starting it if it is not running. Callers hold mu,
// which it releases.
func (s *Supervisor) enqueueLocked(j *job) {
	if s.drainReq {
		s.mu.Unlock()
		j.abandon()
		return
	}
	s.jobs = append(s.jobs, j)
	if !s.ctl {
		// Under mu: whoever sees ctl set (a Stop, and then the root's Wait) must find the
		// task in the group already.
		s.ctl = true
		s.goTask(s.control)
	}
	s.mu.Unlock()
}

// goTask starts f as a task of the tree's errgroup. Callers hold s.mu, and set s.ctl in the
// same section, so that anyone who sees a control task running finds it in the group. The
// root's taskMu orders every start before the root's Wait: a task started while the group
// is empty (a child's, before the root stops) happens before Wait, as WaitGroup requires;
// once the root is stopping, its own task keeps the group from being empty until every
// child has ended. Lock order: a supervisor's mu, then the root's taskMu.
func (s *Supervisor) goTask(f func() error) {
	root := s.root
	root.taskMu.Lock()
	root.group.Go(f)
	root.taskMu.Unlock()
}

// requestDrain makes the control task drain s: stop its children in reverse spawn order,
// then end. It is how Stop, a parent's drain, a context and a give-up stop s.
func (s *Supervisor) requestDrain() {
	s.mu.Lock()
	if s.drainReq {
		s.mu.Unlock()
		return
	}
	s.drainReq, s.stopped = true, true
	if s.timer != nil {
		s.timer.Stop() // a restart waiting for its backoff: the children it brought down end at once
		s.timer, s.pendingUp = nil, nil
	}
	if s.pool != nil {
		s.pool.draining() // before any member is told to stop (lock order: s.mu, then the pool's)
	}
	if !s.ctl {
		s.ctl = true
		s.goTask(s.control) // under mu, as in enqueueLocked
	}
	s.mu.Unlock()
	if s.parent == nil {
		close(s.drainCh) // after Go: Wait's group.Wait never sees the group empty too early
	}
}

// control is the control task: it runs s's jobs one at a time until there are none, or
// until a drain is asked for, which it runs last.
func (s *Supervisor) control() error {
	for {
		s.mu.Lock()
		if s.drainReq {
			jobs := s.jobs
			s.jobs = nil
			s.mu.Unlock()
			for _, j := range jobs {
				j.abandon()
			}
			s.drain()
			return nil
		}
		if len(s.jobs) == 0 {
			s.ctl = false
			s.mu.Unlock()
			return nil
		}
		j := s.jobs[0]
		s.jobs = s.jobs[1:]
		s.mu.Unlock()
		s.run(j)
	}
}

// draining reports whether a drain has been asked for, which cuts a restart short.
func (s *Supervisor) draining() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.drainReq
}

// run does one job.
func (s *Supervisor) run(j *job) {
	defer j.abandon() // j.ch is closed once, whether the job ran to the end or not
	s.mu.Lock()
	ms := s.children(j.set)
	s.mu.Unlock()
	if j.kind != jobUp {
		if j.kind == jobDown {
			s.mu.Lock()
			s.downCause = j.cause
			s.mu.Unlock()
		}
		if j.failed != nil {
			// The child that failed goes down by itself; the others follow once it has,
			// as in OTP, where it is already dead when the others are stopped.
			<-j.failed.child.bringDown(j.cause)
		}
		// Down, in reverse spawn order, each before the next.
		for i := len(ms) - 1; i >= 0; i-- {
			if s.draining() {
				return
			}
			<-ms[i].child.bringDown(j.cause)
		}
		if j.kind == jobDown {
			s.mu.Lock()
			s.down = true
			s.mu.Unlock()
			return
		}
		s.mu.Lock()
		if p := s.pendingUp; p != nil {
			// An earlier restart still waits for its backoff: its children come up with
			// these, in spawn order, after this one's wait. Brought up first, the later
			// children of a RestForOne would run while earlier ones were still down.
			if s.timer != nil {
				s.timer.Stop()
				s.timer = nil
			}
			s.jobs = slices.DeleteFunc(s.jobs, func(q *job) bool { return q == p }) // if its timer fired
			s.pendingUp = nil
			if j.set != nil && p.set != nil {
				for m := range p.set {
					j.set[m] = true
				}
			} else {
				j.set = nil
			}
			j.reset = j.reset || p.reset
			ms = s.children(j.set)
		}
		if j.delay > 0 && !s.drainReq {
			// The children wait down; no goroutine waits with them.
			up := &job{kind: jobUp, set: j.set, reset: j.reset, cause: j.cause}
			s.pendingUp = up
			s.timer = time.AfterFunc(j.delay, func() {
				s.mu.Lock()
				if s.pendingUp != up {
					s.mu.Unlock() // merged into a later restart, or stopped
					return
				}
				s.timer = nil
				s.enqueueLocked(up)
			})
			s.mu.Unlock()
			return
		}
		s.mu.Unlock()
	}
	s.mu.Lock()
	if s.pendingUp == j {
		s.pendingUp = nil // it is running
	}
	if j.reset {
		// Before the children come up, so that a failure while they do counts, and is
		// a failure of its own: one that came up and fails while later ones still come
		// up is restarted, not left down.
		s.restarts, s.backoffs = nil, nil
		s.down = false
	}
	s.mu.Unlock()
	// Up, in spawn order, each before the next.
	for _, m := range ms {
		if s.draining() {
			return
		}
		s.mu.Lock()
		// From here a failure of m is a failure of its own: this restart is past it.
		delete(s.inDown, m)
		s.mu.Unlock()
		<-m.child.bringUp()
	}
	if j.reset {
		s.observe(EventRestarted, j.cause)
	}
}

// drain stops the children in reverse spawn order, each after the previous one has ended,
// then ends s.
func (s *Supervisor) drain() {
	for {
		s.mu.Lock()
		m := s.tail
		if m != nil {
			s.unlinkLocked(m)
		}
		s.mu.Unlock()
		if m == nil {
			break
		}
		m.child.stop()
		<-m.child.Done()
	}
	s.end()
}

// end ends s, once its children have all ended, in the order an actor's end follows:
// watch notices, then ended and Done, and last its parent's list (which its parent's Wait
// waits on).
func (s *Supervisor) end() {
	if s.parent == nil {
		s.unwatch()
		s.mu.Lock()
		err := s.err
		s.mu.Unlock()
		s.cancel(err) // release the context's resources
	}
	s.mu.Lock()
	err := s.err
	hooks := s.hooks
	s.hooks = nil
	for h := hooks; h != nil; h = h.next {
		h.linked = false
	}
	s.hooksDone = true // from here a Watch delivers by itself
	s.mu.Unlock()
	if s.pool != nil {
		s.pool.ended()
	}
	for h := hooks; h != nil; {
		next := h.next
		h.prev, h.next = nil, nil
		h.owner.ended(err)
		h = next
	}
	s.observe(EventEnded, err)
	s.mu.Lock()
	s.ended = true // with Done closed, in one section: Done hands out closedChan only after
	if s.done == nil {
		s.done = closedChan
	} else {
		close(s.done)
	}
	if s.parent != nil {
		s.parent.unlink(&s.member) // lock order: a child's mu, then its parent's
	}
	s.mu.Unlock()
}

// setErrLocked records err as what s ends with, if it is the first. Callers hold mu.
func (s *Supervisor) setErrLocked(err error) {
	if s.err == nil {
		s.err = fmt.Errorf("supervisor %s: %w", s.nameLocked(), err)
	}
}

// Failures.

// verdict is what a supervisor tells a child that failed.
type verdict struct {
	kind  verdictKind
	delay time.Duration // vRestart: the backoff before coming up
}

type verdictKind uint8

const (
	vEnd     verdictKind = iota // end with the failure: nothing restarts it
	vRestart                    // bring yourself down, wait delay, and come up again
	vDown                       // bring yourself down; the supervisor brings you up
)

// childFailed is how a child tells s that it failed with err, on the child's own
// goroutine; stopping says that it was stopping anyway. It decides, and returns, what the
// child does: restart itself, go down and wait for s to bring it up, or end. A failure
// that s's intensity does not allow makes s give up, which it reports to its own parent in
// turn, so that the verdict of the whole tree is known before the child does anything.
func (s *Supervisor) childFailed(m *member, stopping bool, err error) verdict {
	now := time.Now()
	s.mu.Lock()
	switch {
	case s.drainReq:
		// s is stopping: nothing restarts, and the failure is what s ends with.
		s.setErrLocked(err)
		s.mu.Unlock()
		return verdict{}
	case s.down || s.inDown[m]:
		// m is being brought down for a restart: it was going anyway.
		s.mu.Unlock()
		return verdict{kind: vDown}
	case s.allow(now):
		if stopping {
			// Counted, but a child that was stopping is not brought back.
			s.mu.Unlock()
			return verdict{}
		}
		if s.backoffs == nil {
			s.backoffs = make(map[*member]*backoff)
		}
		b := s.backoffs[m]
		if b == nil {
			b = new(backoff)
			s.backoffs[m] = b
		}
		d := s.cfg.delay(b, now)
		if s.cfg.strategy == OneForOne {
			s.mu.Unlock()
			return verdict{kind: vRestart, delay: d}
		}
		set := make(map[*member]bool)
		after := false
		for _, c := range s.children(nil) {
			if after = after || c == m; after || s.cfg.strategy == OneForAll {
				set[c] = true
			}
		}
		if s.inDown == nil {
			s.inDown = make(map[*member]bool)
		}
		for c := range set {
			s.inDown[c] = true
		}
		s.enqueueLocked(&job{kind: jobRestart, set: set, delay: d, cause: err, failed: m})
		return verdict{kind: vDown}
	}
	// Give up.
	gave := fmt.Errorf("supervisor %s gave up: %w", s.nameLocked(), err)
	s.mu.Unlock()
	s.observe(EventGaveUp, gave)
	if s.parent == nil {
		s.fail(gave)
		return verdict{}
	}
	pv := s.parent.childFailed(&s.member, s.draining(), gave)
	switch pv.kind {
	case vRestart:
		// The parent restarts s alone: s restarts its whole subtree, fresh, and its
		// restart count starts over.
		s.mu.Lock()
		if s.inDown == nil {
			s.inDown = make(map[*member]bool)
		}
		for _, c := range s.children(nil) {
			s.inDown[c] = true
		}
		s.enqueueLocked(&job{kind: jobRestart, delay: pv.delay, reset: true, cause: gave, failed: m})
		return verdict{kind: vDown}
	case vDown:
		// The parent restarts s with others: it brings s down and up. s may not be down
		// yet, nor about to be (made while its parent was down, it is in no restart of
		// the parent's): it goes down now, so that the parent's bring-up finds it down
		// and brings its children up. A second bringDown from the parent does nothing more.
		s.mu.Lock()
		if s.down || s.drainReq {
			s.mu.Unlock()
			return verdict{kind: vDown}
		}
		if s.inDown == nil {
			s.inDown = make(map[*member]bool)
		}
		for _, c := range s.children(nil) {
			s.inDown[c] = true
		}
		s.enqueueLocked(&job{kind: jobDown, cause: gave})
		return verdict{kind: vDown}
	}
	// The parent gives up too, or is stopping: s stops all its children and ends with
	// its failure.
	s.mu.Lock()
	if s.err == nil {
		s.err = gave
	}
	s.mu.Unlock()
	s.requestDrain()
	return verdict{}
}

// fail makes a root fail with err: it records err as what Wait returns, if it is the first,
// and cancels the root's context, which starts the drain.
func (s *Supervisor) fail(err error) {
	s.mu.Lock()
	if s.err == nil {
		s.err = err
	}
	s.mu.Unlock()
	s.cancel(err)
}

// removeHook drops a WatchSupervisor's hook.
func (s *Supervisor) removeHook(h *hook) {
	s.mu.Lock()
	dropHook(&s.hooks, h)
	s.mu.Unlock()
}

// A child supervisor, as its parent sees it.

func (s *Supervisor) stop() { s.requestDrain() }

func (s *Supervisor) bringDown(cause error) <-chan struct{} {
	ch := make(chan struct{})
	s.mu.Lock()
	if s.down || s.ended {
		s.mu.Unlock()
		close(ch)
		return ch
	}
	if s.inDown == nil {
		s.inDown = make(map[*member]bool)
	}
	for _, c := range s.children(nil) {
		s.inDown[c] = true
	}
	s.enqueueLocked(&job{kind: jobDown, cause: cause, ch: ch})
	return ch
}

func (s *Supervisor) bringUp() <-chan struct{} {
	ch := make(chan struct{})
	s.mu.Lock()
	if !s.down || s.ended {
		s.mu.Unlock()
		close(ch)
		return ch
	}
	s.enqueueLocked(&job{kind: jobUp, reset: true, cause: s.downCause, ch: ch})
	return ch
}
