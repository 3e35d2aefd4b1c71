package otelactor

// Option configures an [Observer] at [NewObserver]. Options are made by [WithActorName]
// and [WithMessageDuration].
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	name      bool // WithActorName: actor.name on every actor series
	durations bool // WithMessageDuration: the per-message histogram
}

// newConfig applies opts over the defaults: attributes actor.type and actor.supervisor
// only, and no per-message histogram.
func newConfig(opts []Option) config {
	var c config
	for _, o := range opts {
		if o == nil {
			panic("otelactor: NewObserver: nil Option")
		}
		o.apply(&c)
	}
	return c
}

// WithActorName adds the attribute actor.name, the actor's name ([actor.Ref.String]), to
// every measurement about an actor, so that each actor is a series of its own.
//
// Use it only where actors are few and long-lived (named with [actor.WithName]): a
// series, once made, is exported for as long as the Observer lives, so a program that
// spawns actors without end would grow its metrics without end. It also gives every
// unnamed actor its generated name, which costs that actor a small allocation for life.
func WithActorName() Option {
	return optionFunc(func(c *config) { c.name = true })
}

// WithMessageDuration adds the histogram actor.message.duration: how long each message
// took to run, in seconds. The Observer then asks the actors to read the clock around
// every message (see [actor.Observer]) instead of once per batch, and records each
// duration as it comes, which makes every message cost a few hundred nanoseconds more:
// see the package's README for the figures.
func WithMessageDuration() Option {
	return optionFunc(func(c *config) { c.durations = true })
}
