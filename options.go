package actor

import "time"

// Option configures an actor at [Spawn]. Options are made by [WithName], [WithMailboxSize]
// and [WithRestart]; each checks its arguments when it is made, so a bad value panics on the
// line that wrote it.
type Option interface {
	apply(config) config
}

// optionFunc passes the config by value, so that it does not escape to the heap through
// the interface call and Spawn makes one allocation fewer.
type optionFunc func(config) config

func (f optionFunc) apply(c config) config { return f(c) }

type config struct {
	name          string
	bound         int // 0: unbounded
	restartMax    int // -1: no restart
	restartWithin time.Duration
	shutdown      time.Duration      // 0: no deadline
	sup           []SupervisorOption // SpawnPool's supervisor's
}

// newConfig applies opts over the defaults: a generated name, an unbounded mailbox, no
// restart of its own (a panic fails the actor, and its supervisor decides) and no shutdown
// deadline.
func newConfig(op string, opts []Option) config {
	c := config{restartMax: -1}
	for _, o := range opts {
		if o == nil {
			panic("actor: " + op + ": nil Option")
		}
		c = o.apply(c)
	}
	return c
}

// WithShutdownTimeout bounds how long a graceful stop may take: once the actor is told to
// stop (by [Ref.Stop], or by its supervisor when, stopping its children one by one, it
// comes to this one), it has d to
// run what it had accepted; then whatever has not started is dropped as [Ref.StopNow]
// drops it (counted, and its Asks get [ErrStopped]), and its [Ref.Context] is cancelled,
// so that a message blocked on that context returns. (When a sibling's restart brings the
// actor down, its context is cancelled at once.) The default is no limit. It panics if
// d <= 0.
func WithShutdownTimeout(d time.Duration) Option {
	if d <= 0 {
		panic("actor: WithShutdownTimeout: d must be positive")
	}
	return optionFunc(func(c config) config { c.shutdown = d; return c })
}

// WithName names the actor. The name appears in [Ref.String], in the errors that
// [Ref.Wait] and [Supervisor.Wait] return, and as the pprof label actor=<name> on the
// goroutine that runs the actor, so CPU profiles and goroutine dumps tell actors apart.
// Names need not be unique. It panics if name is empty.
//
// An actor without a name gets one made from its type, such as "Monitor#3", when something
// first asks for it, and its goroutine carries the label actor=<type>, such as
// actor=Monitor: the same for all actors of the type, which keeps unnamed actors cheap.
func WithName(name string) Option {
	if name == "" {
		panic("actor: WithName: empty name")
	}
	return optionFunc(func(c config) config { c.name = name; return c })
}

// WithMailboxSize bounds the mailbox to n messages that have been accepted but not yet
// started. When it is full, [Ref.Send] returns [ErrMailboxFull], while [Ref.SendContext] and
// [Ask] wait for room; [Ref.Enqueue] ignores the bound. Without it the mailbox is unbounded.
// It panics if n < 1.
func WithMailboxSize(n int) Option {
	if n < 1 {
		panic("actor: WithMailboxSize: size must be at least 1")
	}
	return optionFunc(func(c config) config { c.bound = n; return c })
}

// WithRestart makes the actor survive panics: a message that panics is dropped (its [Ask]
// returns the [*PanicError]), OnStart runs again if T has it (also when the actor is
// stopping), and the actor goes on with the rest of its mailbox. The panic that makes more than max within the last within fails the
// actor, as if it had no restart. Errors returned by OnStart and calls to [runtime.Goexit]
// fail the actor regardless. It panics if max < 0 or within <= 0.
func WithRestart(max int, within time.Duration) Option {
	if max < 0 {
		panic("actor: WithRestart: negative max")
	}
	if within <= 0 {
		panic("actor: WithRestart: within must be positive")
	}
	return optionFunc(func(c config) config { c.restartMax, c.restartWithin = max, within; return c })
}

// restarter counts recent panics for WithRestart.
type restarter struct {
	max    int
	within time.Duration
	times  []time.Time // panics within the window, oldest first
}

// allow records a panic at now and reports whether the actor may restart.
func (p *restarter) allow(now time.Time) bool {
	keep := p.times[:0]
	for _, t := range p.times {
		if now.Sub(t) < p.within {
			keep = append(keep, t)
		}
	}
	p.times = append(keep, now)
	return len(p.times) <= p.max
}
