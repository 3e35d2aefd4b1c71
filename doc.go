// Package actor runs typed actors: each actor owns a value of type T, and the only way to
// touch it is to send the actor a func(*T), which it runs on its own goroutine, one message
// at a time, in order. T needs no lock. It is the Go take on pactor, a minimalist Python
// actor framework, with compile-time types instead of untyped messages.
//
// # The model
//
// [Spawn] starts an actor under a [Supervisor] and returns its [*Ref]. [Ref.Send] queues a
// message; [Ask] runs a function on the actor and returns its result ([AskErr] when it has
// only an error to return); an actor that embeds [Base] reaches its own Ref with Self and
// schedules follow-ups with Self().Enqueue. [Ref.Stop] asks an actor to finish what it has
// accepted, and [Ref.Wait] joins it. [Ref.After] and [Ref.Every] schedule messages,
// [Request] asks without waiting, [Watch] reports an actor's end to another, and
// [Ref.StopNow] stops without running what is queued.
//
//	type Counter struct{ n int }
//
//	sup := actor.NewSupervisor(ctx)
//	c := actor.Spawn(sup, &Counter{})
//	c.Send(func(c *Counter) { c.n++ })
//	n, err := actor.Ask(ctx, c, func(c *Counter) (int, error) { return c.n, nil })
//	fmt.Println(n, err) // 1 <nil>
//	sup.Stop()
//	err = sup.Wait()
//
// An actor whose mailbox is empty holds no goroutine: a send that finds it idle starts one,
// which runs the waiting messages and ends when the mailbox is empty again. An idle actor
// costs its state and a few hundred bytes.
//
// # Supervision
//
// Every actor has a supervisor, and supervisors form trees ([Supervisor.NewChild]). A
// supervisor stops its children in reverse spawn order, each completely before the next, so
// spawn an actor before the actors that send to it: then the senders stop first, and their
// last messages still land. When a child fails (a panic that [WithRestart] does not absorb,
// runtime.Goexit, or an error from OnStart or [SpawnFunc]'s newState), its supervisor
// restarts it, keeping its Ref and its mailbox, with the strategy of [WithStrategy] and
// within the limits of [WithIntensity] and [WithBackoff]; by default it allows no restart
// and gives up: it stops all its children and fails, to its parent or to
// [Supervisor.Wait]. [SpawnPool] runs several actors of one kind behind one handle.
//
// A tree is built on one errgroup, its root's: its context, and its Wait, which returns
// only after every actor of the tree has ended. The goroutines the package starts are an
// actor's while it has messages, and an errgroup task of the tree's root while a
// supervisor stops or restarts several children; the only others are the callbacks of
// timers ([Ref.After], [Ref.Every], [WithBackoff], [WithShutdownTimeout]) and of contexts
// ([Request], a root's context), which run briefly and end with the actor. Idle actors and
// idle supervisors hold no goroutine.
//
// # Guarantees
//
//   - Order: an actor runs one message at a time, in the order its mailbox accepted them, so
//     messages sent by one goroutine run in the order it sent them, and each message sees
//     the effects of those before it.
//   - No lost message: a send that returned nil runs exactly once, unless the actor fails
//     before it runs, or [Ref.StopNow] or a shutdown deadline drops it (each counted); one
//     that returned an error never runs.
//   - No hung caller: [Ask] and [Ref.SendContext] return no later than their context's
//     end or the actor's; a caller whose message was dropped is released at once.
//   - No leak: [Supervisor.Wait] returns only after every actor and supervisor of its tree
//     has ended, and every goroutine the package started has finished its work.
//   - Failures are values: a panic in a message becomes a [*PanicError] with its stack;
//     a message that calls runtime.Goexit fails the actor with [ErrGoexit]. Neither
//     crashes the program.
//
// # Observing
//
// [WithObserver] gives a tree an [Observer], told of every spawn, restart, failure,
// refused send and dropped message, and of the time actors spend running messages. The
// slogobserver package logs them; the otelactor module exports them as OpenTelemetry
// metrics. Without an observer, observation costs nothing.
package actor
