package actor_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pactor-go/actor"
)

// Kettle boils water on a timer.
type Kettle struct {
	actor.Base[Kettle]
}

// ExampleRef_After shows a follow-up that waits without holding the actor: the kettle
// schedules its own "boiled" message, and cancels a reminder it no longer needs.
func ExampleRef_After() {
	sup := actor.NewSupervisor(context.Background())
	kettle := actor.Spawn(sup, &Kettle{})
	kettle.Send(func(k *Kettle) {
		fmt.Println("switched on")
		k.Self().After(10*time.Millisecond, func(k *Kettle) {
			fmt.Println("boiled")
			k.Self().Stop()
		})
		remind := k.Self().After(time.Hour, func(*Kettle) { fmt.Println("still on?") })
		fmt.Println("reminder cancelled:", remind())
	})
	fmt.Println(kettle.Wait())
	sup.Stop()
	sup.Wait()
	// Output:
	// switched on
	// reminder cancelled: true
	// boiled
	// <nil>
}

// Heartbeat counts its beats.
type Heartbeat struct {
	actor.Base[Heartbeat]
	beats int
	stop  func() bool
}

// ExampleRef_Every shows a periodic message that the actor cancels from inside itself. The
// ticks of a busy actor coalesce, so the output is the same however slow the machine.
func ExampleRef_Every() {
	sup := actor.NewSupervisor(context.Background())
	heart := actor.Spawn(sup, &Heartbeat{})
	heart.Send(func(h *Heartbeat) {
		h.stop = h.Self().Every(time.Millisecond, func(h *Heartbeat) {
			h.beats++
			fmt.Println("beat", h.beats)
			if h.beats == 3 {
				fmt.Println("stopped beating:", h.stop())
				h.Self().Stop()
			}
		})
	})
	fmt.Println(heart.Wait())
	sup.Stop()
	sup.Wait()
	// Output:
	// beat 1
	// beat 2
	// beat 3
	// stopped beating: true
	// <nil>
}

// Inventory holds stock; only its own messages touch it.
type Inventory struct{ stock map[string]int }

// Shop takes orders and asks the inventory, without ever waiting for it.
type Shop struct {
	actor.Base[Shop]
	inventory *actor.Ref[Inventory]
	pending   int
}

func (s *Shop) order(item string) {
	take := func(inv *Inventory) (int, error) {
		if inv.stock[item] == 0 {
			return 0, errors.New("out of stock")
		}
		inv.stock[item]--
		return inv.stock[item], nil
	}
	// The reply comes back as a message of the shop, so onReply may touch s.
	err := actor.Request(context.Background(), s.inventory, take, s.Self(), func(s *Shop, left int, err error) {
		if err != nil {
			fmt.Println(item+":", err)
		} else {
			fmt.Println(item+": sold,", left, "left")
		}
		if s.pending--; s.pending == 0 {
			s.Self().Stop()
		}
	})
	if err == nil {
		s.pending++ // exactly one reply will come
	}
}

// ExampleRequest shows an actor asking another from inside its messages: Request returns at
// once, and each reply arrives later as a message of the shop.
func ExampleRequest() {
	sup := actor.NewSupervisor(context.Background())
	inventory := actor.Spawn(sup, &Inventory{stock: map[string]int{"tea": 1}})
	shop := actor.Spawn(sup, &Shop{inventory: inventory})
	shop.Send(func(s *Shop) {
		s.order("tea")
		s.order("tea")
	})
	fmt.Println(shop.Wait())
	sup.Stop()
	sup.Wait()
	// Output:
	// tea: sold, 0 left
	// tea: out of stock
	// <nil>
}

// Guardian is told when the workers it watches end.
type Guardian struct{}

// ExampleWatch shows a guardian that hears of a worker's failure. The guardian is spawned
// first, so the supervisor, which stops actors in reverse spawn order when one fails, stops
// it after the worker: the notice is already in its mailbox by then, and still runs.
func ExampleWatch() {
	sup := actor.NewSupervisor(context.Background())
	guardian := actor.Spawn(sup, &Guardian{})
	worker := actor.Spawn(sup, &Counter{}, actor.WithName("worker"))
	actor.Watch(guardian, worker, func(_ *Guardian, err error) {
		var pe *actor.PanicError
		if errors.As(err, &pe) {
			fmt.Println("worker panicked:", pe.Value)
			return
		}
		fmt.Println("worker ended:", err)
	})
	worker.Send(func(*Counter) { panic("out of coffee") })
	err := sup.Wait()
	fmt.Println("supervisor failed:", err != nil)
	// Output:
	// worker panicked: out of coffee
	// supervisor failed: true
}

// Worker runs jobs.
type Worker struct{ done int }

// Client sends requests to a Worker.
type Client struct{}

// ExampleRef_StopNow shows a worker told to give up on its queued jobs while a long one
// runs: StopNow says how many it dropped, and the request among them is answered at once
// with ErrStopped, without waiting for the long job.
func ExampleRef_StopNow() {
	ctx := context.Background()
	sup := actor.NewSupervisor(ctx)
	w := &Worker{}
	worker := actor.Spawn(sup, w)
	client := actor.Spawn(sup, &Client{})

	started, release := make(chan struct{}), make(chan struct{})
	worker.Send(func(*Worker) { close(started); <-release }) // a long job
	<-started
	for range 3 {
		worker.Send(func(w *Worker) { w.done++ })
	}
	replies := make(chan error, 1)
	actor.Request(ctx, worker, func(w *Worker) (int, error) { return w.done, nil },
		client, func(_ *Client, _ int, err error) { replies <- err })

	fmt.Println("dropped:", worker.StopNow())
	fmt.Println("request stopped:", errors.Is(<-replies, actor.ErrStopped))
	close(release)
	fmt.Println("wait:", worker.Wait())
	fmt.Println("jobs done:", w.done) // safe: Wait has returned
	sup.Stop()
	sup.Wait()
	// Output:
	// dropped: 4
	// request stopped: true
	// wait: <nil>
	// jobs done: 0
}
