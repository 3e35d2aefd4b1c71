// Package slogobserver logs what happens to actors through a [log/slog.Logger]: it is an
// [actor.Observer] to give a supervisor with [actor.WithObserver].
//
// Failures and give-ups are logged at Error, with the panic's stack as an attribute of its
// own; restarts at Warn, with their cause; refused sends (dead letters) and dropped
// messages at Debug, with counts. Those last two can come by the thousand under load, so
// they are never logged one line per message: each actor's are added up and logged at most
// once per interval (one second by default), and what is left when the actor ends is
// logged then. Nothing else is logged: the messages an actor runs are for metrics, not logs.
//
// It depends on nothing beyond the standard library and the actor package.
package slogobserver

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/pactor-go/actor"
)

// Observer logs actor events through a *slog.Logger. It is safe for concurrent use, and
// its Observe never blocks longer than the logger's handler does.
type Observer struct {
	log      *slog.Logger
	interval time.Duration

	mu   sync.Mutex
	aggs map[owner]*counts // counts not yet logged, by actor (or pool)
}

// counts are one owner's counts not yet logged, and the timer that logs them if nothing
// else does first.
type counts struct {
	m     map[aggKey]*agg
	timer *time.Timer
}

// owner is what counts are kept for: an actor or, for a pool's own refusals and drops, its
// supervisor.
type owner struct {
	actor actor.Actor
	sup   *actor.Supervisor
}

// aggKey says what a count counts: the kind of event, and its reason or error.
type aggKey struct {
	kind   actor.EventKind
	reason string
}

type agg struct {
	n      int       // counted since the last line
	last   time.Time // when the last line was logged
	sample actor.Event
}

// Option configures an Observer.
type Option func(*Observer)

// WithInterval sets how often, at most, one actor's refused sends (or dropped messages)
// are logged: one line with the count since the last. The default is one second. It
// panics if d <= 0.
func WithInterval(d time.Duration) Option {
	if d <= 0 {
		panic("slogobserver: WithInterval: d must be positive")
	}
	return func(o *Observer) { o.interval = d }
}

// New returns an Observer that logs through logger. It panics if logger is nil.
func New(logger *slog.Logger, opts ...Option) *Observer {
	if logger == nil {
		panic("slogobserver: New: nil Logger")
	}
	o := &Observer{log: logger, interval: time.Second, aggs: make(map[owner]*counts)}
	for _, opt := range opts {
		opt(o)
	}
	return o
}

// Observe logs e, or counts it toward a later line. It implements [actor.Observer].
func (o *Observer) Observe(e actor.Event) {
	ctx := context.Background()
	switch e.Kind {
	case actor.EventFailed:
		o.log.LogAttrs(ctx, slog.LevelError, "actor failed", who(e), slog.Any("err", e.Err))
	case actor.EventGaveUp:
		o.log.LogAttrs(ctx, slog.LevelError, "supervisor gave up", slog.Any("supervisor", e.Supervisor), slog.Any("err", e.Err))
	case actor.EventRestarted:
		if e.Actor == nil {
			o.log.LogAttrs(ctx, slog.LevelWarn, "supervisor restarted", slog.Any("supervisor", e.Supervisor), slog.Any("cause", e.Err))
		} else {
			o.log.LogAttrs(ctx, slog.LevelWarn, "actor restarted", who(e), slog.Any("cause", e.Err))
		}
	case actor.EventRefused:
		if o.log.Enabled(ctx, slog.LevelDebug) {
			o.count(e, e.Err.Error())
		}
	case actor.EventDropped:
		if o.log.Enabled(ctx, slog.LevelDebug) {
			o.count(e, e.Reason)
		}
	case actor.EventEnded:
		o.flush(ownerOf(e))
	}
}

// who is the attribute that names the actor an event is about (or the pool's supervisor).
func who(e actor.Event) slog.Attr {
	if e.Actor == nil {
		return slog.Any("supervisor", e.Supervisor)
	}
	return slog.Any("actor", e.Actor)
}

// count adds e to its actor's count, and logs the count if the last line for it is older
// than the interval.
func (o *Observer) count(e actor.Event, reason string) {
	w := ownerOf(e)
	k := aggKey{kind: e.Kind, reason: reason}
	now := time.Now()
	o.mu.Lock()
	c := o.aggs[w]
	if c == nil {
		c = &counts{m: make(map[aggKey]*agg)}
		o.aggs[w] = c
	}
	a := c.m[k]
	if a == nil {
		a = &agg{sample: e}
		c.m[k] = a
	}
	a.n += e.Count
	if now.Sub(a.last) < o.interval {
		// Logged with the next line, or by the timer: a count left behind is never lost,
		// even for an actor that has ended and gets no more events.
		if c.timer == nil {
			c.timer = time.AfterFunc(o.interval, func() { o.flush(w) })
		}
		o.mu.Unlock()
		return
	}
	n := a.n
	a.n, a.last = 0, now
	o.mu.Unlock()
	o.line(e, reason, n)
}

func ownerOf(e actor.Event) owner {
	if e.Actor != nil {
		return owner{actor: e.Actor}
	}
	return owner{sup: e.Supervisor}
}

// flush logs what is left of w's counts and forgets them: when w ends, or when its timer
// fires.
func (o *Observer) flush(w owner) {
	o.mu.Lock()
	c := o.aggs[w]
	delete(o.aggs, w)
	if c != nil && c.timer != nil {
		c.timer.Stop()
	}
	o.mu.Unlock()
	if c == nil {
		return
	}
	for k, a := range c.m {
		if a.n > 0 {
			o.line(a.sample, k.reason, a.n)
		}
	}
}

func (o *Observer) line(e actor.Event, reason string, n int) {
	ctx := context.Background()
	if e.Kind == actor.EventRefused {
		o.log.LogAttrs(ctx, slog.LevelDebug, "sends refused", who(e), slog.String("err", reason), slog.Int("count", n))
	} else {
		o.log.LogAttrs(ctx, slog.LevelDebug, "messages dropped", who(e), slog.String("reason", reason), slog.Int("count", n))
	}
}

var _ actor.Observer = (*Observer)(nil)
