package actor_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pactor-go/actor"
)

// Parser is a worker whose state a restart must replace: parsed would be wrong after a
// crash in the middle of an item, so a restart starts it again from zero.
type Parser struct {
	generation int // which incarnation this is: 1 for the first, 2 after one restart
	parsed     int
}

// ExampleSupervisor_NewChild shows a subsystem that recovers by itself. The "workers"
// child supervisor restarts its flaky parser (OneForOne, at most 3 restarts a minute) from
// fresh state, made again by SpawnFunc's newState; its sibling, and the rest of the tree,
// go on untouched. The parser keeps its Ref: callers never learn that it restarted, except
// the one whose message crashed.
func ExampleSupervisor_NewChild() {
	ctx := context.Background()
	root := actor.NewSupervisor(ctx, actor.WithSupervisorName("app"))
	workers := root.NewChild(actor.WithSupervisorName("workers"),
		actor.WithStrategy(actor.OneForOne), actor.WithIntensity(3, time.Minute))

	generation := 0 // newState runs on the parser's goroutine, one incarnation after another
	parser := actor.SpawnFunc(workers, func() (*Parser, error) {
		generation++
		return &Parser{generation: generation}, nil
	}, actor.WithName("parser"))
	sibling := actor.Spawn(workers, &Counter{})

	report := func(p *Parser) (string, error) {
		return fmt.Sprintf("generation %d, parsed %d", p.generation, p.parsed), nil
	}
	parser.Send(func(p *Parser) { p.parsed++ })
	parser.Send(func(p *Parser) { p.parsed++ })
	sibling.Send(func(c *Counter) { c.n += 10 })
	fmt.Println(actor.Ask(ctx, parser, report))

	_, err := actor.Ask(ctx, parser, func(p *Parser) (int, error) {
		p.parsed++
		panic("malformed input")
	})
	var pe *actor.PanicError
	if errors.As(err, &pe) {
		fmt.Println("crashed:", pe.Value)
	}

	fmt.Println(actor.Ask(ctx, parser, report)) // the same Ref, a new incarnation
	fmt.Println(actor.Ask(ctx, sibling, func(c *Counter) (int, error) { return c.n, nil }))

	root.Stop()
	fmt.Println(root.Wait(), workers.Wait())
	// Output:
	// generation 1, parsed 2 <nil>
	// crashed: malformed input
	// generation 2, parsed 0 <nil>
	// 10 <nil>
	// <nil> <nil>
}

// Stage prints its hooks, so that the order in which a supervisor brings its children down
// and up shows.
type Stage struct{ name string }

func (s *Stage) OnStart() error { fmt.Println("start", s.name); return nil }
func (s *Stage) OnStop()        { fmt.Println("stop ", s.name) }

// ExampleStrategy_oneForAll shows OneForAll, for children that cannot go on without each
// other: when one fails, all are restarted. The others finish the message they are running,
// then go down in reverse spawn order (their OnStop), and once all are down they come up
// again in spawn order (fresh state, OnStart); what was queued for them stays queued and
// runs on the new state. Here the last-spawned stage fails, so it goes down first.
func ExampleStrategy_oneForAll() {
	ctx := context.Background()
	sup := actor.NewSupervisor(ctx, actor.WithStrategy(actor.OneForAll),
		actor.WithIntensity(1, time.Minute))

	var stages []*actor.Ref[Stage]
	for _, name := range []string{"source", "parse", "sink"} {
		st := actor.SpawnFunc(sup, func() (*Stage, error) { return &Stage{name: name}, nil })
		// Spawn never waits for OnStart; this Ask does, so that the output is in order.
		actor.Ask(ctx, st, func(*Stage) (bool, error) { return true, nil })
		stages = append(stages, st)
	}

	fmt.Println("-- sink fails")
	actor.Ask(ctx, stages[2], func(*Stage) (bool, error) { panic("disk full") })
	// The sink runs this on its new state, so after all three have come up.
	actor.Ask(ctx, stages[2], func(*Stage) (bool, error) { return true, nil })

	fmt.Println("-- stop")
	sup.Stop()
	fmt.Println(sup.Wait())
	// Output:
	// start source
	// start parse
	// start sink
	// -- sink fails
	// stop  sink
	// stop  parse
	// stop  source
	// start source
	// start parse
	// start sink
	// -- stop
	// stop  sink
	// stop  parse
	// stop  source
	// <nil>
}

// Fetcher stands for an actor whose messages do I/O.
type Fetcher struct {
	actor.Base[Fetcher]
}

// ExampleWithShutdownTimeout shows a shutdown deadline freeing a message that would have
// held up the stop for ever: the fetcher's call waits on its own Context, as a network call
// given that context would. A graceful stop lets the running message finish, so without the
// deadline Wait would never return; with it, once 10ms have passed, what is still queued is
// dropped and the Context is cancelled, so the call returns and the actor ends.
func ExampleWithShutdownTimeout() {
	sup := actor.NewSupervisor(context.Background())
	fetcher := actor.Spawn(sup, &Fetcher{}, actor.WithShutdownTimeout(10*time.Millisecond))

	started := make(chan struct{})
	fetcher.Send(func(f *Fetcher) {
		ctx := f.Self().Context()
		close(started)
		<-ctx.Done() // a slow call that honours ctx
		fmt.Println("call returned:", context.Cause(ctx))
	})
	fetcher.Send(func(*Fetcher) { fmt.Println("never runs: dropped at the deadline") })
	<-started

	fetcher.Stop()
	fmt.Println("wait:", fetcher.Wait())
	sup.Stop()
	sup.Wait()
	// Output:
	// call returned: actor: stopped
	// wait: <nil>
}

// Operator keeps a log of what it is told.
type Operator struct{ log []string }

// ExampleWatchSupervisor shows an operator that hears of the end of a supervisor it does
// not belong to. The "app" supervisor restarts its cache once; the second crash within a
// minute is more than it allows, so it gives up: it stops its children and fails. A restart
// is not an end: the operator hears once, when app has stopped for good. The operator lives
// under a supervisor of its own, so that it is still running when app ends.
func ExampleWatchSupervisor() {
	ctx := context.Background()
	ops := actor.NewSupervisor(ctx)
	op := &Operator{}
	operator := actor.Spawn(ops, op)
	app := actor.NewSupervisor(ctx, actor.WithSupervisorName("app"), actor.WithIntensity(1, time.Minute))
	actor.WatchSupervisor(operator, app, func(o *Operator, err error) {
		var pe *actor.PanicError
		if errors.As(err, &pe) {
			o.log = append(o.log, fmt.Sprint(app, " gave up after a panic: ", pe.Value))
		}
	})

	cache := actor.Spawn(app, &Counter{})
	_, err := actor.Ask(ctx, cache, func(*Counter) (int, error) { panic("first crash") })
	fmt.Println("first crash:", err != nil)
	_, err = actor.Ask(ctx, cache, func(c *Counter) (int, error) { return c.n, nil })
	fmt.Println("restarted, answers:", err == nil)
	actor.Ask(ctx, cache, func(*Counter) (int, error) { panic("second crash") })

	// app's Wait returns the failure, wrapped with its name; errors.As reaches the panic.
	var pe *actor.PanicError
	if errors.As(app.Wait(), &pe) {
		fmt.Println("app failed with:", pe.Value)
	}
	// Once app's Wait has returned, the notice is in the operator's mailbox, and stopping
	// ops still runs it.
	ops.Stop()
	ops.Wait()
	fmt.Println(op.log) // safe: ops's Wait has returned
	// Output:
	// first crash: true
	// restarted, answers: true
	// app failed with: second crash
	// [app gave up after a panic: second crash]
}
