// Package actor runs typed actors: each actor owns a value of type T, and the only way to
// touch it is to send the actor a func(*T), which it runs on its own goroutine, one message
// at a time, in order. T needs no lock. It is the Go take on pactor, a minimalist Python
// actor framework, with compile-time types instead of untyped messages.
//
// # The model
//
// [Spawn] starts an actor under a [Supervisor] and returns its [*Ref]. [Ref.Send] queues a
// message; [Ask] runs a function on the actor and returns its result; an actor that embeds
// [Base] reaches its own Ref with Self and schedules follow-ups with Self().Enqueue.
// [Ref.Stop] asks an actor to finish what it has accepted, and [Ref.Wait] joins it. The
// Supervisor, built on errgroup, owns every actor: it stops them in reverse spawn order,
// joins them, and turns the first failure into a stop of all the others. [Ref.After] and
// [Ref.Every] schedule messages, [Request] asks without blocking, [Watch] reports an
// actor's end to another, and [Ref.StopNow] stops without running what is queued.
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
// as a task of its supervisor's errgroup, which runs the waiting messages in batches and
// ends when the mailbox is empty. Idle actors cost their state and a few hundred bytes.
//
// # Guarantees
//
//   - Order: an actor runs one message at a time, in the order its mailbox accepted them, so
//     messages sent by one goroutine run in the order it sent them, and each message sees
//     the effects of those before it.
//   - No lost message: a send that returned nil runs exactly once, unless the actor fails
//     before it runs; one that returned an error never runs.
//   - No hung caller: [Ask] and [Ref.SendContext] return no later than their context's
//     end or the actor's; a caller whose message a failure dropped is released at once.
//   - No leak: every goroutine the package starts belongs to a Supervisor, and
//     [Supervisor.Wait] returns only after all of them have ended.
//   - Failures are values: a panic in a message becomes a [*PanicError] with its stack;
//     a message that calls runtime.Goexit fails the actor with [ErrGoexit]. Neither
//     crashes the program. [WithRestart] lets an actor survive panics.
package actor
