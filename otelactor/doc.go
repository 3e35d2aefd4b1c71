// Package otelactor exports what happens to actors as OpenTelemetry metrics, and traces
// calls to them. It is a module of its own, so that the actor package itself never links
// OpenTelemetry.
//
// # Metrics
//
// [NewObserver] returns an [actor.Observer] that counts, per actor type and supervisor,
// the messages run and the time they took, spawns, restarts, failures, panics, dropped
// messages (by reason) and refused sends (by error), the give-ups and subtree restarts of
// supervisors, and, when the metrics are collected, the live actors and the depth of
// their mailboxes:
//
//	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter))
//	obs, err := otelactor.NewObserver(mp)
//	sup := actor.NewSupervisor(ctx, actor.WithObserver(obs), actor.WithSupervisorName("orders"))
//
// Events are added to atomic counters, and one callback exports them when the provider
// collects: an event costs tens of nanoseconds, not an SDK call, and no callback is
// registered per actor. [WithMessageDuration] adds a histogram of every message's
// duration, at a few hundred nanoseconds a message. The README lists the instruments and
// the measured costs.
//
// # Traces
//
// [Ask], [AskErr], [Request] and [RequestErr] are the actor package's calls in a span, a
// child of the caller's: pass them a tracer from [Tracer], or nil for none. The package
// otelremote carries the trace context through the remote module's calls over NATS.
//
// # Attributes
//
// Metrics carry actor.type and actor.supervisor, never the actor's own name unless
// [WithActorName] asks for it: a series lives as long as its Observer, so attributes that
// grow without bound (per-actor names, or the generated names of supervisors made per
// request) grow the metrics without bound. Name the supervisors ([actor.WithSupervisorName]),
// including a pool's.
package otelactor
