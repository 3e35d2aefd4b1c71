package actor_test

import (
	"context"
	"fmt"
	"slices"

	"github.com/pactor-go/actor"
)

// Resizer is the state of each member of ExampleSpawnPool's pool: its own, so it needs no
// lock, and the pool makes a fresh one when a member restarts.
type Resizer struct {
	done map[string][]int // per user, the jobs this member ran for them, in run order
}

// ExampleSpawnPool shows the two ways into a pool: balanced messages (Send and AskPool),
// which run on whichever member is free first, in no particular order; and ByKey, which
// sends every message for one key to one member, so they run in the order they were sent.
func ExampleSpawnPool() {
	ctx := context.Background()
	sup := actor.NewSupervisor(ctx)
	pool := actor.SpawnPool(sup, 4, func() (*Resizer, error) {
		return &Resizer{done: map[string][]int{}}, nil
	})

	// Balanced, one-way: the results come back in any order, so add them up.
	results := make(chan int, 10)
	for i := 1; i <= 10; i++ {
		pool.Send(func(*Resizer) { results <- i * i })
	}
	sum := 0
	for range 10 {
		sum += <-results
	}
	fmt.Println("sum of squares:", sum)

	// Balanced, with a result.
	n, err := actor.AskPool(ctx, pool, func(*Resizer) (int, error) { return 6 * 7, nil })
	fmt.Println("asked:", n, err)

	// By key: each user's jobs run on one member, in order.
	for job := range 3 {
		for _, user := range []string{"ada", "bob"} {
			pool.ByKey(user).Send(func(r *Resizer) { r.done[user] = append(r.done[user], job) })
		}
	}
	for _, user := range []string{"ada", "bob"} {
		jobs, _ := actor.Ask(ctx, pool.ByKey(user), func(r *Resizer) ([]int, error) {
			return slices.Clone(r.done[user]), nil
		})
		fmt.Println(user, jobs)
	}

	// Stopping the supervisor stops the pool with it, after everything it accepted.
	sup.Stop()
	fmt.Println(sup.Wait(), pool.Wait())
	// Output:
	// sum of squares: 385
	// asked: 42 <nil>
	// ada [0 1 2]
	// bob [0 1 2]
	// <nil> <nil>
}
