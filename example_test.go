package actor_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pactor-go/actor"
)

// Counter is the state of the examples' actor. Only its own messages touch it, so it needs
// no lock.
type Counter struct{ n int }

// Example shows the whole life of an actor: spawn it, send it messages, ask it for a
// result, then stop and join everything through its supervisor.
func Example() {
	ctx := context.Background()
	sup := actor.NewSupervisor(ctx)
	counter := actor.Spawn(sup, &Counter{})

	for range 3 {
		counter.Send(func(c *Counter) { c.n++ })
	}
	n, err := actor.Ask(ctx, counter, func(c *Counter) (int, error) { return c.n, nil })
	fmt.Println(n, err)

	sup.Stop()
	fmt.Println(sup.Wait())
	// Output:
	// 3 <nil>
	// <nil>
}

// ExampleAsk shows that Ask returns the function's error as well as its value.
func ExampleAsk() {
	ctx := context.Background()
	sup := actor.NewSupervisor(ctx)
	defer sup.Wait()
	defer sup.Stop()
	counter := actor.Spawn(sup, &Counter{n: 41})

	n, err := actor.Ask(ctx, counter, func(c *Counter) (int, error) {
		if c.n < 0 {
			return 0, errors.New("negative")
		}
		c.n++
		return c.n, nil
	})
	fmt.Println(n, err)
	// Output: 42 <nil>
}

// Ticker counts down by sending itself follow-ups. Embedding Base gives it Self.
type Ticker struct {
	actor.Base[Ticker]
	left int
}

func (t *Ticker) tick() {
	fmt.Println("tick", t.left)
	if t.left--; t.left > 0 {
		t.Self().Enqueue((*Ticker).tick)
	} else {
		t.Self().Stop()
	}
}

// ExampleRef_Enqueue shows an actor that reschedules itself, as pactor's enqueue does: each
// tick queues the next one behind whatever else is waiting, so the loop never blocks the
// mailbox.
func ExampleRef_Enqueue() {
	sup := actor.NewSupervisor(context.Background())
	ticker := actor.Spawn(sup, &Ticker{left: 3})
	ticker.Send((*Ticker).tick)
	fmt.Println(ticker.Wait())
	sup.Stop()
	sup.Wait()
	// Output:
	// tick 3
	// tick 2
	// tick 1
	// <nil>
}

// ExampleSupervisor shows failure escalation: a panic in one actor fails it, its supervisor
// stops the other actors gracefully, and Wait returns the failure.
func ExampleSupervisor() {
	sup := actor.NewSupervisor(context.Background())
	healthy := actor.Spawn(sup, &Counter{})
	fragile := actor.Spawn(sup, &Counter{}, actor.WithName("fragile"))

	healthy.Send(func(c *Counter) { c.n++ })
	fragile.Send(func(c *Counter) { panic("out of coffee") })

	err := sup.Wait()
	var pe *actor.PanicError
	if errors.As(err, &pe) {
		fmt.Println("failed:", pe.Value)
	}
	fmt.Println("healthy stopped cleanly:", healthy.Wait() == nil)
	fmt.Println("send after the failure:", healthy.Send(func(*Counter) {}))
	// Output:
	// failed: out of coffee
	// healthy stopped cleanly: true
	// send after the failure: actor: stopped
}

// Cache rebuilds its state in OnStart, which runs again after every restart.
type Cache struct{ entries map[string]string }

func (c *Cache) OnStart() error {
	c.entries = map[string]string{"greeting": "hello"}
	return nil
}

// ExampleWithRestart shows an actor that survives a panic: the panicking message is dropped
// (its Ask gets the *PanicError), OnStart rebuilds the state, and the actor carries on.
func ExampleWithRestart() {
	ctx := context.Background()
	sup := actor.NewSupervisor(ctx)
	cache := actor.Spawn(sup, &Cache{}, actor.WithRestart(3, time.Minute))

	_, err := actor.Ask(ctx, cache, func(c *Cache) (string, error) {
		c.entries = nil
		c.entries["oops"] = "assignment to a nil map panics"
		return "", nil
	})
	var pe *actor.PanicError
	fmt.Println("panicked:", errors.As(err, &pe))

	v, err := actor.Ask(ctx, cache, func(c *Cache) (string, error) { return c.entries["greeting"], nil })
	fmt.Println(v, err)

	sup.Stop()
	fmt.Println(sup.Wait())
	// Output:
	// panicked: true
	// hello <nil>
	// <nil>
}

// Account is the state of the bounded-mailbox example.
type Account struct{ balance int }

// ExampleWithMailboxSize shows a bounded mailbox: Send fails fast when it is full, while
// SendContext would wait for room.
func ExampleWithMailboxSize() {
	sup := actor.NewSupervisor(context.Background())
	acct := actor.Spawn(sup, &Account{}, actor.WithMailboxSize(1))

	busy, release := make(chan struct{}), make(chan struct{})
	acct.Send(func(*Account) { close(busy); <-release }) // occupies the actor
	<-busy
	fmt.Println(acct.Send(func(a *Account) { a.balance += 10 })) // waits in the mailbox
	fmt.Println(acct.Send(func(a *Account) { a.balance += 20 })) // no room
	close(release)

	sup.Stop()
	sup.Wait()
	// Output:
	// <nil>
	// actor: mailbox full
}
