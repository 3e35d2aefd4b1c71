// Command monitor is the Go port of pactor's monitor example. Monitor actors read a
// simulated status at a steady pace and report each reading to one Aggregator actor, which
// prints it and counts it. On the way out it checks that every update a monitor sent was
// received.
//
// It shows a self-rescheduling actor that waits between polls with Self().After, without
// blocking its mailbox or owning a timer, and a supervisor that stops actors in reverse
// spawn order, so that the monitors' last updates still reach the aggregator.
//
// It runs until you type q and Enter, stdin ends, Ctrl-C (or SIGTERM) arrives, or -duration
// passes. Flags:
//
//	-monitors n    number of monitors (default 2: primary, secondary, then monitor-3, ...)
//	-interval d    pause between two reads of one monitor (default 500ms)
//	-duration d    stop after d; 0 means no limit (default 0)
//
// It exits 0 when the counts match, 1 when they differ or an actor failed, and 2 for bad
// flags.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/pactor-go/actor"
)

// Aggregator prints the updates it receives and counts them per monitor.
type Aggregator struct{ received map[string]int }

func (a *Aggregator) update(from, status string, seq int) {
	a.received[from]++
	fmt.Printf("%s: status=%s (update %d)\n", from, status, seq)
}

// Monitor reads a status, reports it, and schedules its next read.
type Monitor struct {
	actor.Base[Monitor]
	name     string
	agg      *actor.Ref[Aggregator]
	interval time.Duration
	rng      *rand.Rand // seeded per monitor, so a run is repeatable but monitors differ
	sent     int        // updates the aggregator accepted
}

func (m *Monitor) poll() {
	status := "ok"
	switch n := m.rng.IntN(20); {
	case n == 0:
		status = "down"
	case n < 4:
		status = "degraded"
	}
	// The message captures copies, never m: it runs on the aggregator's goroutine, where
	// m's fields belong to another actor.
	name, seq := m.name, m.sent+1
	if err := m.agg.Send(func(a *Aggregator) { a.update(name, status, seq) }); err != nil {
		// Only a failed aggregator refuses (a clean stop drains the monitors first), and
		// the supervisor reports that failure. Polling on would only be refused again.
		return
	}
	m.sent++

	// Sleeping here would hold the actor's goroutine, and everything queued behind the
	// poll, the supervisor's drain included, would wait out the pause. After queues the
	// next poll instead, and the actor stays idle in between. Nothing needs cancelling on
	// the way out: once the monitor is stopping, a pending timer queues nothing and After
	// arms none, and the monitor's timers are stopped when it ends.
	m.Self().After(m.interval, (*Monitor).poll)
}

func main() { os.Exit(run()) }

// run is main with an exit code, so that its deferred calls run before os.Exit.
func run() int {
	monitors := flag.Int("monitors", 2, "number of monitors")
	interval := flag.Duration("interval", 500*time.Millisecond, "pause between two reads of one monitor")
	duration := flag.Duration("duration", 0, "stop after this long (0: no limit)")
	flag.Parse()
	if *monitors < 1 || *interval <= 0 || *duration < 0 {
		fmt.Fprintln(os.Stderr, "monitor: need -monitors >= 1, -interval > 0 and -duration >= 0")
		return 2
	}

	ctx, stopSignals := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stopSignals()
	if *duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}

	fmt.Printf("monitor: %d monitors report a simulated status every %v to one aggregator.\n", *monitors, *interval)
	fmt.Println("Type q and Enter to quit (or Ctrl-C).")

	// The aggregator is spawned first because the supervisor stops actors in reverse
	// spawn order: the monitors drain first, and their last updates still land.
	sup := actor.NewSupervisor(context.Background())
	agg := &Aggregator{received: make(map[string]int)}
	aggRef := actor.Spawn(sup, agg, actor.WithName("aggregator"))
	names := []string{"primary", "secondary"}
	mons := make([]*Monitor, *monitors)
	for i := range mons {
		name := fmt.Sprintf("monitor-%d", i+1)
		if i < len(names) {
			name = names[i]
		}
		m := &Monitor{name: name, agg: aggRef, interval: *interval, rng: rand.New(rand.NewPCG(uint64(i), 1))}
		mons[i] = m
		// Nothing has stopped the supervisor yet, so this first poll is accepted.
		_ = actor.Spawn(sup, m, actor.WithName(name)).Send((*Monitor).poll)
	}

	fmt.Println("stopping:", waitForQuit(ctx))
	// From here a second Ctrl-C kills the program, in case the shutdown hangs.
	stopSignals()
	sup.Stop()
	if err := sup.Wait(); err != nil {
		fmt.Fprintln(os.Stderr, "monitor:", err)
		return 1
	}

	// Wait has joined every actor, so their state is safe to read without a message.
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "monitor\tsent\treceived")
	sent, received := 0, 0
	for _, m := range mons {
		fmt.Fprintf(tw, "%s\t%d\t%d\n", m.name, m.sent, agg.received[m.name])
		sent += m.sent
		received += agg.received[m.name]
	}
	fmt.Fprintf(tw, "total\t%d\t%d\n", sent, received)
	tw.Flush()
	if sent != received {
		fmt.Println("counts differ: updates were lost")
		return 1
	}
	fmt.Println("no update lost")
	return 0
}

// waitForQuit blocks until the user types q, stdin ends, or ctx ends (a signal or
// -duration), and says which.
func waitForQuit(ctx context.Context) string {
	// Buffered, so that the reader can finish even after ctx won. A reader still blocked on
	// stdin is left behind: it owns no state, and the process is about to exit.
	quit := make(chan string, 1)
	go func() {
		in := bufio.NewScanner(os.Stdin)
		for in.Scan() {
			if strings.TrimSpace(in.Text()) == "q" {
				quit <- "q typed"
				return
			}
		}
		quit <- "end of input"
	}()
	select {
	case why := <-quit:
		return why
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return "-duration passed"
		}
		return "signal received"
	}
}
