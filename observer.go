package actor

import (
	"log/slog"
	"time"
)

// Observer is told what happens in the supervision tree it is given to with [WithObserver]:
// every actor and supervisor of the tree reports its events to it as they happen, so that
// it can count, time and log them. The package itself keeps no metrics and writes no logs;
// the slogobserver package logs, and the otelactor module exports OpenTelemetry metrics.
//
// Observe is called synchronously, on the goroutine where the event happens (each
// [EventKind] says which), from many goroutines at once. It must be safe for concurrent use,
// return quickly, and never block: the actor it is called for waits meanwhile, and so may
// every sender to it. It must not wait for, stop or Ask the actor the event is about.
//
// An Observer that also has a method PerMessage() bool returning true is told of every
// message with its own clock readings (an [EventRan] per message, two readings each);
// otherwise an actor reads the clock once per batch of messages and reports the batch.
type Observer interface {
	Observe(Event)
}

// Event is one thing that happened to an actor or a supervisor.
type Event struct {
	Kind EventKind
	// Actor is the actor the event is about; nil for an event about a supervisor, and
	// for a pool's own EventRefused and EventDropped (sends to the pool, and what its
	// shared queue held when it ended), which say the pool's supervisor and Type.
	Actor Actor
	// Type is the name of the actor's state type, such as "Monitor" ("actor" for an
	// unnamed type); empty for an event about a supervisor.
	Type string
	// Supervisor is the actor's supervisor, or the supervisor the event is about.
	Supervisor *Supervisor
	// Err is the failure, refusal or result that goes with the event: see each Kind.
	Err error
	// Count is how many messages an EventRan or EventDropped is about (1 for EventRefused).
	Count int
	// Busy is how long the messages of an EventRan took to run.
	Busy time.Duration
	// Reason says why the messages of an EventDropped were dropped: "stop_now" (by
	// [Ref.StopNow]), "failure" (the actor failed), "deadline" (a shutdown deadline passed),
	// "stopped" (the actor was stopped while down for a restart), or "pool" (a pool ended
	// with balanced messages that no member took).
	Reason string
}

// Actor is what an [Observer] sees of an actor; every *[Ref] is one.
type Actor interface {
	// String returns the actor's name.
	String() string
	// Len returns how many messages wait in the actor's mailbox.
	Len() int
	// Supervisor returns the actor's supervisor.
	Supervisor() *Supervisor
}

// EventKind says what an [Event] is about.
type EventKind uint8

const (
	// EventSpawned: an actor was spawned, or a supervisor made; on the caller's goroutine.
	EventSpawned EventKind = iota + 1
	// EventStarted: an actor's first incarnation is up (its OnStart, if any, returned nil);
	// on the actor's goroutine.
	EventStarted
	// EventRan: Count messages ran, in Busy; on the actor's goroutine, after a batch (or
	// after each message for an Observer that asks for it).
	EventRan
	// EventPanicked: a message or hook panicked and the panic was recovered, Err being the
	// [*PanicError], whether [WithRestart] absorbs it or not; on the actor's goroutine.
	EventPanicked
	// EventFailed: the actor failed with Err (a panic, runtime.Goexit, or an error from
	// OnStart or newState) and WithRestart did not absorb it; its supervisor decides next.
	// On the actor's goroutine.
	EventFailed
	// EventRestarted: a new incarnation of the actor came up after a restart (Err is the
	// failure that caused it, its own or a sibling's), on the actor's goroutine; or a child
	// supervisor restarted its whole subtree, on a goroutine of the tree's errgroup.
	EventRestarted
	// EventGaveUp: a supervisor gave up, Err being the error it fails with; on the
	// goroutine of the child whose failure made it give up.
	EventGaveUp
	// EventDropped: Count accepted messages were dropped before they started, for Reason;
	// on the goroutine that dropped them (StopNow's caller, the actor's, a timer's).
	EventDropped
	// EventRefused: a send to the actor was refused with Err, [ErrStopped] or
	// [ErrMailboxFull] (a dead letter); on the sender's goroutine. Sends the package makes
	// itself (replies, timer ticks, watch notices) count too.
	EventRefused
	// EventEnded: the actor or supervisor ended; Err is what its Wait returns. On the
	// goroutine that ended it.
	EventEnded
)

// String returns the kind's name, such as "ran" or "refused".
func (k EventKind) String() string {
	switch k {
	case EventSpawned:
		return "spawned"
	case EventStarted:
		return "started"
	case EventRan:
		return "ran"
	case EventPanicked:
		return "panicked"
	case EventFailed:
		return "failed"
	case EventRestarted:
		return "restarted"
	case EventGaveUp:
		return "gave_up"
	case EventDropped:
		return "dropped"
	case EventRefused:
		return "refused"
	case EventEnded:
		return "ended"
	}
	return "unknown"
}

// WithObserver gives the supervisor an Observer, which child supervisors (and pools)
// inherit unless given their own. Without one, an actor pays nothing for observation. It
// panics if o is nil.
func WithObserver(o Observer) SupervisorOption {
	if o == nil {
		panic("actor: WithObserver: nil Observer")
	}
	return supOptionFunc(func(c supConfig) supConfig { c.obs = o; return c })
}

// perMessage reports whether o asks to be told of every message.
func perMessage(o Observer) bool {
	p, ok := o.(interface{ PerMessage() bool })
	return ok && p.PerMessage()
}

// observe reports an event about r to its supervisor's observer, if it has one.
func (r *Ref[T]) observe(kind EventKind, err error, count int, reason string) {
	if o := r.sup.obs; o != nil {
		o.Observe(Event{Kind: kind, Actor: r, Type: typeName[T](), Supervisor: r.sup, Err: err, Count: count, Reason: reason})
	}
}

// observe reports an event about s to its observer, if it has one.
func (s *Supervisor) observe(kind EventKind, err error) {
	if o := s.obs; o != nil {
		o.Observe(Event{Kind: kind, Supervisor: s, Err: err})
	}
}

// Len returns how many messages wait in the actor's mailbox: accepted, not yet taken by the
// actor's goroutine. It is a snapshot, for metrics and for choosing among actors, as
// [Pool.Next] does.
func (r *Ref[T]) Len() int {
	r.check("Len")
	r.mu.Lock()
	defer r.mu.Unlock()
	return int(r.q.n)
}

// LogValue makes a Ref log as a group of the actor's name, its state type and its
// supervisor's name.
func (r *Ref[T]) LogValue() slog.Value {
	r.check("LogValue")
	return slog.GroupValue(
		slog.String("name", r.String()),
		slog.String("type", typeName[T]()),
		slog.String("supervisor", r.sup.String()),
	)
}

// LogValue makes a Supervisor log as a group of its name and, for a child, its parent's.
func (s *Supervisor) LogValue() slog.Value {
	s.check("LogValue")
	if s.parent == nil {
		return slog.GroupValue(slog.String("name", s.String()))
	}
	return slog.GroupValue(slog.String("name", s.String()), slog.String("parent", s.parent.String()))
}
