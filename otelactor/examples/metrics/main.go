// Command metrics is pactor's monitor example with its metrics on a Prometheus endpoint.
// Monitor actors read a simulated status at a steady pace and report each reading to one
// Aggregator actor, which hands it to a flaky Worker: the worker panics on every n-th job,
// and its supervisor restarts it from fresh state (SpawnFunc, WithIntensity). An
// otelactor.Observer counts everything, the OpenTelemetry Prometheus exporter serves it on
// /metrics, and restarts and failures are logged through log/slog. At the end it prints
// how many messages each kind of actor ran, which are the numbers /metrics reports.
//
// It runs until you type q and Enter, stdin ends, Ctrl-C (or SIGTERM) arrives, or -duration
// passes. Flags:
//
//	-addr a        where to serve /metrics (default 127.0.0.1:9464; port 0 picks a free one)
//	-monitors n    number of monitors (default 2)
//	-interval d    pause between two reads of one monitor (default 500ms)
//	-fail-every n  the worker panics on every n-th job (default 10)
//	-duration d    stop after d; 0 means no limit (default 0)
//	-linger d      after stopping, keep serving /metrics for d, or until q, end of input or
//	               a signal, so that a last scrape sees the final counts (default 0)
//
// Try it with: curl -s 127.0.0.1:9464/metrics | grep '^actor_'
//
// It exits 0 after a clean run, 1 when an actor failed for good or the endpoint failed, and
// 2 for bad flags.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/pactor-go/actor"
	"github.com/pactor-go/actor/otelactor"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
)

// tally counts the messages the actors ran to the end, kept apart from the actors' state
// because a restart replaces the worker's. Atomics, because the worker's incarnations may
// run on different goroutines; main reads them once every actor has ended.
type tally struct {
	polls, updates, jobs, flushes, panics atomic.Int64
}

// Aggregator receives the monitors' updates and hands each to the worker as a job.
type Aggregator struct {
	worker   *actor.Ref[Worker]
	received map[string]int
	t        *tally
}

func (a *Aggregator) update(from, status string, seq int) {
	a.received[from]++
	a.t.updates.Add(1)
	// The job captures copies; it runs on the worker. A refusal can only come from a
	// worker that has failed for good, which the supervisor reports.
	_ = a.worker.Send(func(w *Worker) { w.process(from, status, seq) })
}

// Worker does the jobs, and panics on every n-th one it is given, counting across restarts.
type Worker struct {
	failEvery int64
	t         *tally
}

func (w *Worker) process(from, status string, seq int) {
	if n := w.t.jobs.Load() + w.t.panics.Load() + 1; n%w.failEvery == 0 {
		w.t.panics.Add(1)
		panic(fmt.Sprintf("job %d (%s update %d, %s) is cursed", n, from, seq, status))
	}
	w.t.jobs.Add(1)
}

// Monitor reads a status, reports it, and schedules its next read.
type Monitor struct {
	actor.Base[Monitor]
	name     string
	agg      *actor.Ref[Aggregator]
	interval time.Duration
	rng      *rand.Rand
	sent     int
	t        *tally
}

func (m *Monitor) poll() {
	m.t.polls.Add(1)
	status := "ok"
	switch n := m.rng.IntN(20); {
	case n == 0:
		status = "down"
	case n < 4:
		status = "degraded"
	}
	name, seq := m.name, m.sent+1
	if err := m.agg.Send(func(a *Aggregator) { a.update(name, status, seq) }); err != nil {
		return // only a failed aggregator refuses, and the supervisor reports that
	}
	m.sent++
	m.Self().After(m.interval, (*Monitor).poll)
}

// logged is an actor.Observer that hands every event to the otelactor Observer and logs
// the ones a person should see. (The root module's slogobserver package will do the
// logging; this is the few lines it takes meanwhile.) Logging runs on the goroutine of the
// event, which waits for it: fine for restarts and failures, which are rare; the counts of
// everything else are in /metrics, not in the log.
type logged struct {
	*otelactor.Observer // its PerMessage, too
	log                 *slog.Logger
}

func (l logged) Observe(e actor.Event) {
	l.Observer.Observe(e)
	switch e.Kind {
	case actor.EventRestarted:
		if e.Actor != nil {
			l.log.Warn("actor restarted", "actor", e.Actor, "cause", errText(e.Err))
		} else {
			l.log.Warn("supervisor restarted", "supervisor", e.Supervisor, "cause", errText(e.Err))
		}
	case actor.EventGaveUp:
		l.log.Error("supervisor gave up", "supervisor", e.Supervisor, "err", e.Err)
	}
}

// errText is err's one-line text: a restart's log line names its cause; the stack of a
// panic belongs to the failure, which the supervisor's Wait reports.
func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func main() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }

// run is main with its arguments and streams, and an exit code, so that its deferred calls
// run before os.Exit and a test can run it.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("metrics", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:9464", "where to serve /metrics")
	monitors := fs.Int("monitors", 2, "number of monitors")
	interval := fs.Duration("interval", 500*time.Millisecond, "pause between two reads of one monitor")
	failEvery := fs.Int("fail-every", 10, "the worker panics on every n-th job")
	duration := fs.Duration("duration", 0, "stop after this long (0: no limit)")
	linger := fs.Duration("linger", 0, "after stopping, keep serving /metrics this long")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *monitors < 1 || *interval <= 0 || *failEvery < 2 || *duration < 0 || *linger < 0 {
		fmt.Fprintln(stderr, "metrics: need -monitors >= 1, -interval > 0, -fail-every >= 2, -duration >= 0 and -linger >= 0")
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))

	// The exporter is a reader of the meter provider, and a collector of a registry of our
	// own, which promhttp serves; the default registry would add the Go runtime's metrics.
	reg := prometheus.NewRegistry()
	exporter, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		fmt.Fprintln(stderr, "metrics:", err)
		return 1
	}
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(exporter))
	defer func() { _ = mp.Shutdown(context.Background()) }()
	obs, err := otelactor.NewObserver(mp)
	if err != nil {
		fmt.Fprintln(stderr, "metrics:", err)
		return 1
	}
	defer obs.Close()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(stderr, "metrics:", err)
		return 1
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	served := make(chan struct{}) // closed when Serve returns
	go func() { defer close(served); _ = srv.Serve(ln) }()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
		<-served
	}()

	ctx, stopSignals := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stopSignals()
	stopAt := ctx
	if *duration > 0 {
		var cancel context.CancelFunc
		stopAt, cancel = context.WithTimeout(ctx, *duration)
		defer cancel()
	}
	quit := readQuit(stdin)

	// Spawn order is stop order reversed: the worker first, so that it outlives the
	// aggregator's last jobs, then the aggregator, then the monitors.
	var t tally
	sup := actor.NewSupervisor(context.Background(), actor.WithObserver(logged{obs, log}), actor.WithSupervisorName("main"))
	workers := sup.NewChild(actor.WithSupervisorName("workers"), actor.WithIntensity(1000, time.Second))
	worker := actor.SpawnFunc(workers, func() (*Worker, error) {
		return &Worker{failEvery: int64(*failEvery), t: &t}, nil
	}, actor.WithName("worker"))
	agg := &Aggregator{worker: worker, received: make(map[string]int), t: &t}
	aggRef := actor.Spawn(sup, agg, actor.WithName("aggregator"))
	mons := make([]*Monitor, *monitors)
	monRefs := make([]*actor.Ref[Monitor], *monitors)
	for i := range mons {
		m := &Monitor{name: fmt.Sprintf("monitor-%d", i+1), agg: aggRef, interval: *interval,
			rng: rand.New(rand.NewPCG(uint64(i), 1)), t: &t}
		mons[i] = m
		monRefs[i] = actor.Spawn(sup, m, actor.WithName(m.name))
		_ = monRefs[i].Send((*Monitor).poll)
	}

	fmt.Fprintf(stdout, "metrics: %d monitors report every %v; the worker fails every %d jobs.\n", *monitors, *interval, *failEvery)
	fmt.Fprintf(stdout, "metrics on http://%s/metrics\n", ln.Addr())
	fmt.Fprintln(stdout, "Type q and Enter to quit (or Ctrl-C).")

	why := wait(stopAt, quit, served)
	fmt.Fprintln(stdout, "stopping:", why)
	// sup.Stop alone would stop the actors in this order too, but a worker that panics
	// while its supervisor stops is not restarted: it fails, and the supervisor with it.
	// So the producers stop first, the worker finishes its jobs with its supervisor still
	// restarting it, and only then does the supervisor stop what is left, all idle.
	for _, r := range monRefs {
		r.Stop()
		_ = r.Wait()
	}
	aggRef.Stop()
	_ = aggRef.Wait()
	if _, err := actor.Ask(context.Background(), worker, func(*Worker) (int, error) {
		t.flushes.Add(1) // a message like any other: /metrics counts it
		return 0, nil
	}); err != nil {
		log.Error("the worker did not finish its jobs", "err", err)
	}
	sup.Stop()
	werr := sup.Wait()

	// Wait has joined every actor: their state and the tally are safe to read.
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	sent := 0
	for _, m := range mons {
		sent += m.sent
	}
	fmt.Fprintln(tw, "actor\tmessages run")
	fmt.Fprintf(tw, "monitors\t%d\n", t.polls.Load())
	fmt.Fprintf(tw, "aggregator\t%d\n", t.updates.Load())
	fmt.Fprintf(tw, "worker\t%d\n", t.jobs.Load()+t.flushes.Load())
	tw.Flush()
	total := t.polls.Load() + t.updates.Load() + t.jobs.Load() + t.flushes.Load()
	fmt.Fprintf(stdout, "ran %d messages; the worker panicked %d times and was restarted as often\n", total, t.panics.Load())
	status := 0
	if werr != nil {
		fmt.Fprintln(stderr, "metrics:", werr)
		status = 1
	}
	if int64(sent) != t.updates.Load() {
		fmt.Fprintf(stdout, "monitors sent %d updates, the aggregator received %d\n", sent, t.updates.Load())
		status = 1
	}

	if *linger > 0 && why != "endpoint failed" {
		lctx, cancel := context.WithTimeout(ctx, *linger)
		defer cancel()
		fmt.Fprintf(stdout, "serving the final counts for %v (q, end of input or Ctrl-C ends it)\n", *linger)
		wait(lctx, quit, served)
	}
	return status
}

// readQuit reads stdin on a goroutine of its own and sends on the channel it returns for
// each q line and once at the end of input. A reader still blocked on stdin at exit is
// left behind: it owns nothing, and the process is about to end.
func readQuit(stdin io.Reader) <-chan string {
	quit := make(chan string, 8)
	go func() {
		in := bufio.NewScanner(stdin)
		for in.Scan() {
			if strings.TrimSpace(in.Text()) == "q" {
				quit <- "q typed"
			}
		}
		close(quit)
	}()
	return quit
}

// wait blocks until quit says so, ctx ends, or the endpoint fails, and says which.
func wait(ctx context.Context, quit <-chan string, served <-chan struct{}) string {
	select {
	case why, ok := <-quit:
		if !ok {
			return "end of input"
		}
		return why
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return "time is up"
		}
		return "signal received"
	case <-served:
		return "endpoint failed"
	}
}
