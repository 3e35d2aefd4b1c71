package otelactor

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pactor-go/actor"
	"github.com/pactor-go/actor/otelactor/internal/span"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// ScopeName is the instrumentation scope of the meter and the tracers this module makes
// (Prometheus shows it as the label otel_scope_name).
const ScopeName = "github.com/pactor-go/actor/otelactor"

// The attributes of the measurements. Every series about actors has TypeKey and
// SupervisorKey (and NameKey with [WithActorName]); a series about a supervisor itself
// (its restarts and give-ups) has SupervisorKey only.
const (
	// TypeKey is the name of the actor's state type, such as "Monitor".
	TypeKey attribute.Key = "actor.type"
	// SupervisorKey is the name of the actor's supervisor ([actor.Supervisor.String]).
	SupervisorKey attribute.Key = "actor.supervisor"
	// NameKey is the actor's name; only with [WithActorName], and on spans.
	NameKey attribute.Key = "actor.name"
	// DropReasonKey says why messages were dropped, as [actor.Event] Reason does:
	// "stop_now", "failure", "deadline", "stopped" or "pool".
	DropReasonKey attribute.Key = "actor.drop.reason"
	// ErrorTypeKey is OpenTelemetry's error.type: why a send was refused ("stopped" for
	// [actor.ErrStopped], "mailbox_full" for [actor.ErrMailboxFull]), or why a traced call
	// failed (see [Ask]).
	ErrorTypeKey = span.ErrorTypeKey
)

// Observer is an [actor.Observer] that exports what happens to actors as OpenTelemetry
// metrics. Give it to a supervision tree with [actor.WithObserver]; one Observer may serve
// any number of trees.
//
// Observe does no export work: it adds each event to atomic counters kept per attribute
// set (per actor type and supervisor name), found without a lock, and the instruments are
// observable ones, read by one callback when the metrics are collected. The callback also
// reads the mailbox depth of every live actor, which the Observer tracks from spawn to
// end. So the cost of an event is a map look-up and an atomic add or two, whatever the
// exporter; see the README for the figures.
//
// An Observer comes only from [NewObserver]. Its methods are safe for concurrent use.
type Observer struct {
	cfg  config
	inst instruments
	reg  metric.Registration // the one callback, collect

	// live maps every actor between its EventSpawned and its EventEnded to its series,
	// for the hot path (EventRan finds its counters here) and for the mailbox depth at
	// collection. See spawned for the tombstone.
	live sync.Map // actor.Actor -> *series

	// last is the series of the last spawn, which saves the next spawn of the same type
	// under the same supervisor the name and the locked look-up. It keeps that one
	// supervisor from being collected until another spawn replaces it.
	last atomic.Pointer[lastSpawn]

	mu     sync.Mutex
	series map[seriesKey]*series // guarded by mu; every series ever made, for ever
	list   []*series             // guarded by mu; the same, append-only, for collect
}

// instruments are the Observer's instruments. Everything but hist is observable.
type instruments struct {
	messages, spawns, restarts, failures, panics, dropped, refused metric.Int64ObservableCounter
	supRestarts, giveUps                                           metric.Int64ObservableCounter
	busy                                                           metric.Float64ObservableCounter
	count, depth                                                   metric.Int64ObservableUpDownCounter
	hist                                                           metric.Float64Histogram // nil without WithMessageDuration
}

type lastSpawn struct {
	typ string
	sup *actor.Supervisor
	s   *series
}

// seriesKey identifies a series: its attribute values. typ is empty for a supervisor's
// own series.
type seriesKey struct{ typ, sup, name string }

// series is the counters of one attribute set. Observe adds to them; collect reads them.
// They only grow, so that each is a monotonic sum; a series lives as long as its
// Observer, since a cumulative counter must not vanish and come back from zero.
type series struct {
	set   metric.MeasurementOption // the series' attributes
	rec   []metric.RecordOption    // set, for the histogram, made once so Record allocates nothing
	ofSup bool                     // a supervisor's own series: only supRestarts and giveUps

	messages, busy, spawns, restarts, failures, panics atomic.Int64
	supRestarts, giveUps                               atomic.Int64
	dropped                                            [len(dropReasons)]atomic.Int64
	refused                                            [len(refusals)]atomic.Int64

	// The attribute sets of dropped and refused, each the series' attributes plus the
	// reason, made with the series.
	droppedSet [len(dropReasons)]metric.MeasurementOption
	refusedSet [len(refusals)]metric.MeasurementOption
}

// dropReasons are the values of DropReasonKey, those of [actor.Event] Reason; "other"
// catches a reason this module does not know yet.
var dropReasons = [...]string{"stop_now", "failure", "deadline", "stopped", "pool", "other"}

// refusals are the values of ErrorTypeKey on actor.refused.messages.
var refusals = [...]string{"stopped", "mailbox_full", "other"}

// tomb marks, in live, an actor whose EventEnded came before its EventSpawned (see
// spawned). It is never exported.
var tomb = new(series)

// NewObserver returns an Observer that reports through a meter of provider (named
// [ScopeName]). It creates the instruments and registers their one callback; Close
// unregisters it. It returns an error if provider rejects an instrument or the callback
// (the Observer it returns with the error still counts, and exports what provider
// accepted). It panics if provider is nil.
//
// The instruments, all about actors of one type under one supervisor unless said
// otherwise (the README explains each):
//
//	actor.processed.messages    counter        {message}  messages that ran to the end
//	actor.busy.time             counter        s          time spent running them
//	actor.spawns                counter        {actor}    actors spawned
//	actor.restarts              counter        {restart}  new incarnations after a failure
//	actor.failures              counter        {failure}  failures not absorbed by WithRestart
//	actor.panics                counter        {panic}    panics recovered, absorbed or not
//	actor.dropped.messages      counter        {message}  accepted, then dropped; by actor.drop.reason
//	actor.refused.messages      counter        {message}  sends refused; by error.type
//	actor.count                 updowncounter  {actor}    live actors
//	actor.mailbox.depth         updowncounter  {message}  messages waiting, summed over live actors
//	actor.supervisor.restarts   counter        {restart}  restarts of a child supervisor's subtree
//	actor.supervisor.give_ups   counter        {give_up}  supervisors that gave up
//	actor.message.duration      histogram      s          per message; only with WithMessageDuration
func NewObserver(provider metric.MeterProvider, opts ...Option) (*Observer, error) {
	if provider == nil {
		panic("otelactor: NewObserver: nil MeterProvider")
	}
	o := &Observer{cfg: newConfig(opts), series: make(map[seriesKey]*series)}
	m := provider.Meter(ScopeName)
	var errs []error
	counter := func(name, unit, desc string) metric.Int64ObservableCounter {
		c, err := m.Int64ObservableCounter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return c
	}
	in := &o.inst
	in.messages = counter("actor.processed.messages", "{message}", "Messages that actors ran to the end.")
	in.spawns = counter("actor.spawns", "{actor}", "Actors spawned.")
	in.restarts = counter("actor.restarts", "{restart}", "Actor incarnations started after a failure, the actor's own or a sibling's.")
	in.failures = counter("actor.failures", "{failure}", "Actor failures that WithRestart did not absorb, passed to the supervisor.")
	in.panics = counter("actor.panics", "{panic}", "Panics recovered in messages and hooks, absorbed by WithRestart or not.")
	in.dropped = counter("actor.dropped.messages", "{message}", "Messages accepted and then dropped before they started.")
	in.refused = counter("actor.refused.messages", "{message}", "Sends refused: the dead letters.")
	in.supRestarts = counter("actor.supervisor.restarts", "{restart}", "Restarts of a child supervisor's whole subtree.")
	in.giveUps = counter("actor.supervisor.give_ups", "{give_up}", "Supervisors that gave up on a failure.")
	var err error
	in.busy, err = m.Float64ObservableCounter("actor.busy.time", metric.WithUnit("s"),
		metric.WithDescription("Time actors spent running messages."))
	errs = append(errs, err)
	// Up-down counters rather than gauges: both values add up over actors and
	// supervisors, so a sum across series means something (Prometheus shows them as gauges).
	in.count, err = m.Int64ObservableUpDownCounter("actor.count", metric.WithUnit("{actor}"),
		metric.WithDescription("Live actors: spawned and not yet ended."))
	errs = append(errs, err)
	in.depth, err = m.Int64ObservableUpDownCounter("actor.mailbox.depth", metric.WithUnit("{message}"),
		metric.WithDescription("Messages waiting in the mailboxes of live actors, summed, at collection."))
	errs = append(errs, err)
	if o.cfg.durations {
		in.hist, err = m.Float64Histogram("actor.message.duration", metric.WithUnit("s"),
			metric.WithDescription("How long each message took to run."),
			// Messages take microseconds to seconds; the SDK's default buckets start at 5.
			metric.WithExplicitBucketBoundaries(1e-6, 5e-6, 1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3,
				0.01, 0.05, 0.1, 0.5, 1, 5, 10))
		errs = append(errs, err)
	}
	o.reg, err = m.RegisterCallback(o.collect, in.messages, in.spawns, in.restarts, in.failures,
		in.panics, in.dropped, in.refused, in.supRestarts, in.giveUps, in.busy, in.count, in.depth)
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		return o, err
	}
	return o, nil
}

// Close unregisters the Observer's callback, so that provider no longer reads it: call it
// when the trees it observes have ended and provider lives on. Events still count
// afterwards, but nothing exports them (nor, with [WithMessageDuration], stops the
// histogram, which belongs to provider). Calling it again does nothing.
func (o *Observer) Close() error {
	if o.reg == nil {
		return nil
	}
	return o.reg.Unregister()
}

// PerMessage reports whether the Observer asks actors to time every message: true with
// [WithMessageDuration]. See [actor.Observer].
func (o *Observer) PerMessage() bool { return o.inst.hist != nil }

// Observe adds e to the counters of its series. It never blocks: the look-ups are
// lock-free, except for the first event of a series, and of events about a supervisor
// or about an actor that has ended. It is safe for concurrent use.
func (o *Observer) Observe(e actor.Event) {
	switch e.Kind {
	case actor.EventRan:
		s := o.actorSeries(&e)
		s.messages.Add(int64(e.Count))
		s.busy.Add(int64(e.Busy))
		if o.inst.hist != nil {
			o.inst.hist.Record(context.Background(), e.Busy.Seconds(), s.rec...)
		}
	case actor.EventSpawned:
		if e.Actor != nil { // a supervisor's spawn is not counted
			o.spawned(&e)
		}
	case actor.EventEnded:
		if e.Actor != nil {
			o.ended(e.Actor)
		}
	case actor.EventRestarted:
		if e.Actor == nil {
			o.lookup("", e.Supervisor, nil).supRestarts.Add(1)
		} else {
			o.actorSeries(&e).restarts.Add(1)
		}
	case actor.EventFailed:
		o.actorSeries(&e).failures.Add(1)
	case actor.EventPanicked:
		o.actorSeries(&e).panics.Add(1)
	case actor.EventGaveUp:
		o.lookup("", e.Supervisor, nil).giveUps.Add(1)
	case actor.EventDropped:
		o.actorSeries(&e).dropped[dropIndex(e.Reason)].Add(int64(e.Count))
	case actor.EventRefused:
		o.actorSeries(&e).refused[refusalIndex(e.Err)].Add(int64(e.Count))
	}
}

// actorSeries returns the series of the actor e is about: from live, or, for an actor
// that has ended (a send refused afterwards) or an event about a pool, which has no
// Actor, by its attributes.
func (o *Observer) actorSeries(e *actor.Event) *series {
	if e.Actor != nil {
		if v, ok := o.live.Load(e.Actor); ok && v != tomb {
			return v.(*series)
		}
	}
	return o.lookup(e.Type, e.Supervisor, e.Actor)
}

// spawned counts a spawn and puts the actor in live.
//
// EventSpawned may come after EventEnded: the core links an actor into its supervisor's
// list before it reports the spawn, so a supervisor that is stopping at that moment can
// stop and end the actor in between. Each of spawned and ended therefore stores its mark
// only if the other has not come yet, with LoadOrStore, and otherwise deletes the other's:
// whichever order they come in, the actor leaves live, and a tombstone lives only between
// the two.
func (o *Observer) spawned(e *actor.Event) {
	var s *series
	if l := o.last.Load(); l != nil && l.sup == e.Supervisor && l.typ == e.Type && !o.cfg.name {
		s = l.s // most programs spawn many actors of a few types, often in runs
	} else {
		s = o.lookup(e.Type, e.Supervisor, e.Actor)
		o.last.Store(&lastSpawn{typ: e.Type, sup: e.Supervisor, s: s})
	}
	s.spawns.Add(1)
	if _, ended := o.live.LoadOrStore(e.Actor, s); ended {
		o.live.Delete(e.Actor)
	}
}

// ended takes an actor out of live; see spawned. The usual order needs one
// LoadAndDelete; LoadOrStore, which needs a much larger frame, is left to endedFirst.
func (o *Observer) ended(a actor.Actor) {
	if _, spawned := o.live.LoadAndDelete(a); !spawned {
		o.endedFirst(a)
	}
}

func (o *Observer) endedFirst(a actor.Actor) {
	if v, spawned := o.live.LoadOrStore(a, tomb); spawned {
		o.live.CompareAndDelete(a, v) // spawned came in between
	}
}

// lookup returns the series for an actor of type typ (or, for typ "", for supervisor sup
// itself), making it if it is new.
func (o *Observer) lookup(typ string, sup *actor.Supervisor, a actor.Actor) *series {
	k := seriesKey{typ: typ}
	if sup != nil {
		k.sup = sup.String()
	}
	if o.cfg.name && typ != "" && a != nil {
		k.name = a.String()
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if s := o.series[k]; s != nil {
		return s
	}
	s := newSeries(k)
	o.series[k] = s
	o.list = append(o.list, s)
	return s
}

func newSeries(k seriesKey) *series {
	attrs := []attribute.KeyValue{SupervisorKey.String(k.sup)}
	if k.typ != "" {
		attrs = append(attrs, TypeKey.String(k.typ))
	}
	if k.name != "" {
		attrs = append(attrs, NameKey.String(k.name))
	}
	with := func(kv attribute.KeyValue) metric.MeasurementOption {
		return metric.WithAttributeSet(attribute.NewSet(append(attrs[:len(attrs):len(attrs)], kv)...))
	}
	s := &series{set: metric.WithAttributeSet(attribute.NewSet(attrs...)), ofSup: k.typ == ""}
	s.rec = []metric.RecordOption{s.set}
	for i, r := range dropReasons {
		s.droppedSet[i] = with(DropReasonKey.String(r))
	}
	for i, r := range refusals {
		s.refusedSet[i] = with(ErrorTypeKey.String(r))
	}
	return s
}

func dropIndex(reason string) int {
	for i, r := range dropReasons[:len(dropReasons)-1] {
		if r == reason {
			return i
		}
	}
	return len(dropReasons) - 1
}

func refusalIndex(err error) int {
	switch {
	case errors.Is(err, actor.ErrStopped):
		return 0
	case errors.Is(err, actor.ErrMailboxFull):
		return 1
	}
	return 2
}

// collect is the one callback: it reports every series. An actor series reports its
// counters even at zero, so that a rate reads 0 rather than nothing; the counts by reason,
// and a supervisor's own series, only once they are above zero, so that they add no
// series that say nothing.
//
// The depth and the count of live actors are summed per series from live, reading each
// actor's Len: a snapshot, taken one actor at a time, of mailboxes that keep moving.
// collect keeps them in a map of its own rather than in the series, so that two readers
// may collect at once.
func (o *Observer) collect(_ context.Context, obs metric.Observer) error {
	type gauge struct{ count, depth int64 }
	gauges := make(map[*series]gauge)
	o.live.Range(func(k, v any) bool {
		if s := v.(*series); s != tomb {
			g := gauges[s]
			g.count++
			g.depth += int64(k.(actor.Actor).Len())
			gauges[s] = g
		}
		return true
	})
	// After the Range: a series is listed before any actor of it is in live.
	o.mu.Lock()
	list := o.list
	o.mu.Unlock()
	in := &o.inst
	for _, s := range list {
		if s.ofSup {
			if v := s.supRestarts.Load(); v > 0 {
				obs.ObserveInt64(in.supRestarts, v, s.set)
			}
			if v := s.giveUps.Load(); v > 0 {
				obs.ObserveInt64(in.giveUps, v, s.set)
			}
			continue
		}
		obs.ObserveInt64(in.messages, s.messages.Load(), s.set)
		obs.ObserveFloat64(in.busy, time.Duration(s.busy.Load()).Seconds(), s.set)
		obs.ObserveInt64(in.spawns, s.spawns.Load(), s.set)
		obs.ObserveInt64(in.restarts, s.restarts.Load(), s.set)
		obs.ObserveInt64(in.failures, s.failures.Load(), s.set)
		obs.ObserveInt64(in.panics, s.panics.Load(), s.set)
		g := gauges[s]
		obs.ObserveInt64(in.count, g.count, s.set)
		obs.ObserveInt64(in.depth, g.depth, s.set)
		for i := range s.dropped {
			if v := s.dropped[i].Load(); v > 0 {
				obs.ObserveInt64(in.dropped, v, s.droppedSet[i])
			}
		}
		for i := range s.refused {
			if v := s.refused[i].Load(); v > 0 {
				obs.ObserveInt64(in.refused, v, s.refusedSet[i])
			}
		}
	}
	return nil
}
