package actor

import (
	"context"
	"sync"

	"golang.org/x/sync/errgroup"
)

// Supervisor owns actors: it is built on an errgroup whose one task lives until every actor
// of the Supervisor has ended, so no actor outlives [Supervisor.Wait]. It stops them on [Supervisor.Stop] and
// escalates the first failure by stopping them all.
//
// A Supervisor comes only from [NewSupervisor]; [Spawn] panics on a nil or zero one. Its
// methods are safe to call from any goroutine.
type Supervisor struct {
	group  *errgroup.Group
	ctx    context.Context         // the group's: done on Stop, on failure, or when the parent ends
	cancel context.CancelCauseFunc // cancels ctx; used to report failures that errgroup cannot see
	stop   chan struct{}           // closed once by Stop
	once   sync.Once

	mu      sync.Mutex
	stopped bool    // guarded by mu; set once when the drain starts: Spawn makes stopped Refs
	tail    *member // guarded by mu; the last of the live actors, linked in spawn order
	err     error   // guarded by mu; the first failure
}

// member is an actor's entry in its supervisor's list, embedded in the Ref so that linking
// and unlinking cost no allocation and O(1) time.
type member struct {
	prev, next *member // guarded by the supervisor's mu
	linked     bool    // guarded by the supervisor's mu
	actor      interface {
		stop()
		Done() <-chan struct{}
	}
}

// NewSupervisor returns a Supervisor whose actors run until [Supervisor.Stop] is called, ctx
// ends, or one of them fails. It starts one goroutine, which waits for that moment and then
// stops the actors; a Supervisor that is never stopped keeps it, so stop every Supervisor
// (or cancel its ctx) and call [Supervisor.Wait]. It panics if ctx is nil.
func NewSupervisor(ctx context.Context) *Supervisor {
	if ctx == nil {
		panic("actor: NewSupervisor: nil Context")
	}
	parent, cancel := context.WithCancelCause(ctx)
	group, gctx := errgroup.WithContext(parent)
	s := &Supervisor{group: group, ctx: gctx, cancel: cancel, stop: make(chan struct{})}
	// This task keeps the group's count above zero until the actors are drained, so that
	// Spawn during Wait never adds to a WaitGroup that has reached zero, and Wait cannot
	// return while an idle actor (which holds no task) is still alive.
	group.Go(s.run)
	return s
}

// Stop tells every actor of s to stop and returns at once; [Supervisor.Wait] waits for them.
//
// The actors stop gracefully in reverse spawn order, each one drained (its accepted messages
// run, then OnStop) before the next is told to stop, so that actors spawned later, which may
// send to earlier ones, finish first and their last messages still land. Spawn after Stop
// returns a stopped Ref. Stop is safe from any goroutine and from inside a message, because
// the drain runs on the supervisor's own goroutine. Calling it again does nothing.
// Cancelling the context given to [NewSupervisor] has the same effect.
func (s *Supervisor) Stop() {
	s.check("Stop")
	s.once.Do(func() {
		// Set here rather than only in the drain, so that a Spawn after Stop has
		// returned is refused however late the drain starts.
		s.mu.Lock()
		s.stopped = true
		s.mu.Unlock()
		close(s.stop)
	})
}

// Wait blocks until s has been stopped (by [Supervisor.Stop], its context, or a failure)
// and every actor it ever ran has ended, then returns the first failure, or nil after a
// clean stop. Failures that leave an actor name it, and wrap the cause, so [errors.Is] and
// [errors.As] work on them. Spawning while another goroutine waits is safe. Calling Wait
// from inside one of s's actors deadlocks.
func (s *Supervisor) Wait() error {
	s.check("Wait")
	_ = s.group.Wait() // every failure also went through fail, which keeps the first
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

func (s *Supervisor) check(op string) {
	if s == nil || s.group == nil {
		panic("actor: Supervisor." + op + " on a nil or zero Supervisor (use NewSupervisor)")
	}
}

// run is the supervisor's own task: it waits to be stopped, then drains the actors.
func (s *Supervisor) run() error {
	select {
	case <-s.stop:
	case <-s.ctx.Done():
	}
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
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
		m.actor.stop()
		<-m.actor.Done()
	}
	s.cancel(nil) // every actor has ended; release the context's resources
	return nil
}

// fail records err as the supervisor's failure if it is the first, and cancels the group,
// which starts the drain. Actors call it directly rather than by returning the error from
// their task, because a task that calls runtime.Goexit returns nothing.
func (s *Supervisor) fail(err error) {
	s.mu.Lock()
	if s.err == nil {
		s.err = err
	}
	s.mu.Unlock()
	s.cancel(err)
}

// link appends m to the list, unless s is stopping, and reports whether it did. The
// context check covers the moment between a failure or the parent's end and the drain
// setting stopped.
func (s *Supervisor) link(m *member) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped || s.ctx.Err() != nil {
		return false
	}
	m.prev, m.linked = s.tail, true
	if s.tail != nil {
		s.tail.next = m
	}
	s.tail = m
	return true
}

// unlink forgets an actor, as the last step of its end: the drain, and so Wait, take an
// empty list to mean that every actor has ended. It also keeps the heap of a supervisor
// of many short-lived actors flat.
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
}
