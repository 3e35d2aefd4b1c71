package actor

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// SupervisorOption configures a [Supervisor] at [NewSupervisor] or [Supervisor.NewChild],
// or the supervisor of a pool at [SpawnPool] (a SupervisorOption is also an [Option], for
// that). Options are made by [WithStrategy], [WithIntensity], [WithBackoff] and
// [WithSupervisorName]; each checks its arguments when it is made, so a bad value panics on
// the line that wrote it.
type SupervisorOption interface {
	Option
	applySup(supConfig) supConfig
}

type supOptionFunc func(supConfig) supConfig

func (f supOptionFunc) applySup(c supConfig) supConfig { return f(c) }

// apply keeps the option for SpawnPool's supervisor; Spawn and SpawnFunc refuse it.
func (f supOptionFunc) apply(c config) config {
	c.sup = append(c.sup, f)
	return c
}

type supConfig struct {
	name       string
	strategy   Strategy
	max        int           // restarts allowed within within; 0: give up at the first failure
	within     time.Duration // the intensity window
	backoffMin time.Duration // 0: restart at once
	backoffMax time.Duration
	obs        Observer // nil: inherit the parent's, if any
}

// newSupConfig applies opts over the defaults: a generated name, OneForOne, an intensity of
// 0 (the first failure makes the supervisor give up) and no backoff.
func newSupConfig(op string, opts []SupervisorOption) supConfig {
	var c supConfig
	for _, o := range opts {
		if o == nil {
			panic("actor: " + op + ": nil SupervisorOption")
		}
		c = o.applySup(c)
	}
	return c
}

// Strategy says which children a [Supervisor] restarts when one of them fails: the
// strategies of Erlang/OTP's supervisors.
type Strategy int

const (
	// OneForOne restarts only the child that failed. It is the default.
	OneForOne Strategy = iota
	// OneForAll restarts every child: the others are brought down in reverse spawn order
	// (each finishes the message it is running, then its OnStop runs), then all are
	// brought up in spawn order (new state, OnStart). Suits children that depend on each
	// other so much that none can go on when one restarts.
	OneForAll
	// RestForOne restarts the child that failed and the children spawned after it, as
	// OneForAll does for all of them. Suits children spawned in dependency order: a later
	// child depends on the earlier ones, not the other way round.
	RestForOne
)

// String returns the strategy's name, as OTP spells it: "one_for_one", "one_for_all" or
// "rest_for_one".
func (st Strategy) String() string {
	switch st {
	case OneForOne:
		return "one_for_one"
	case OneForAll:
		return "one_for_all"
	case RestForOne:
		return "rest_for_one"
	}
	return fmt.Sprintf("Strategy(%d)", int(st))
}

// WithStrategy sets which children the supervisor restarts when one fails: [OneForOne] (the
// default), [OneForAll] or [RestForOne]. Restarts happen only within the supervisor's
// intensity ([WithIntensity]), whose default allows none. It panics for an unknown
// strategy.
func WithStrategy(st Strategy) SupervisorOption {
	if st < OneForOne || st > RestForOne {
		panic(fmt.Sprintf("actor: WithStrategy: unknown strategy %d", int(st)))
	}
	return supOptionFunc(func(c supConfig) supConfig { c.strategy = st; return c })
}

// WithIntensity lets the supervisor restart failed children up to max times within any
// period of length within, counting the restarts of all its children together; the failure
// that would make it more gives up: the supervisor stops all its children gracefully and
// fails (see [Supervisor.Wait]). The default is max 0: the first failure makes the
// supervisor give up, which stops every actor, as a supervisor without restarts does. It
// is OTP's intensity and period. It panics if max < 0, or if max > 0 and within <= 0.
func WithIntensity(max int, within time.Duration) SupervisorOption {
	if max < 0 {
		panic("actor: WithIntensity: negative max")
	}
	if max > 0 && within <= 0 {
		panic("actor: WithIntensity: within must be positive")
	}
	return supOptionFunc(func(c supConfig) supConfig { c.max, c.within = max, within; return c })
}

// WithBackoff delays restarts: the k-th consecutive restart of one child waits
// min·2^(k-1), at most max, lengthened by a random jitter of up to as much again, so that
// children that fail together do not come back in step. A child that then runs for max
// without failing starts again from min. While a child waits, its mailbox still accepts
// messages (a bounded one stays bounded) and nothing runs; stopping it (or its supervisor)
// during the wait ends it at once. The wait holds no goroutine: it is a timer. The default
// is no delay. It panics if min <= 0 or max < min.
func WithBackoff(min, max time.Duration) SupervisorOption {
	if min <= 0 {
		panic("actor: WithBackoff: min must be positive")
	}
	if max < min {
		panic("actor: WithBackoff: max is less than min")
	}
	return supOptionFunc(func(c supConfig) supConfig { c.backoffMin, c.backoffMax = min, max; return c })
}

// WithSupervisorName names the supervisor, in [Supervisor.String] and in the error it fails
// with. It panics if name is empty.
func WithSupervisorName(name string) SupervisorOption {
	if name == "" {
		panic("actor: WithSupervisorName: empty name")
	}
	return supOptionFunc(func(c supConfig) supConfig { c.name = name; return c })
}

// backoff is one child's record of consecutive restarts, kept by its supervisor.
type backoff struct {
	k    int       // consecutive restarts
	last time.Time // when the last restart was due
}

// delay returns how long the restart of a child that failed at now waits, and records it.
// Callers hold the supervisor's mu.
func (c *supConfig) delay(b *backoff, now time.Time) time.Duration {
	if c.backoffMin <= 0 {
		return 0
	}
	if b.k > 0 && now.Sub(b.last) >= c.backoffMax {
		b.k = 0 // it ran cleanly for max: start again from min
	}
	b.k++
	d := c.backoffMin
	for i := 1; i < b.k && d < c.backoffMax; i++ {
		d *= 2
	}
	d = min(d, c.backoffMax)
	d += rand.N(d + 1) // jitter that only lengthens it, at most to double
	b.last = now.Add(d)
	return d
}

// allow records a restart at now if the intensity allows one more, and reports whether it
// did. Callers hold the supervisor's mu.
func (s *Supervisor) allow(now time.Time) bool {
	if s.cfg.max == 0 {
		return false
	}
	keep := s.restarts[:0]
	for _, t := range s.restarts {
		if now.Sub(t) < s.cfg.within {
			keep = append(keep, t)
		}
	}
	s.restarts = keep
	if len(s.restarts) >= s.cfg.max {
		return false
	}
	s.restarts = append(s.restarts, now)
	return true
}
