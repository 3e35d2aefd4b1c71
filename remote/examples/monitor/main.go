// Command monitor is pactor's monitor example across processes, the way pactor runs it: the
// aggregator in one process, each monitor in a process of its own. Monitors read a simulated
// status at a steady pace and report each reading to the aggregator's endpoint; on the way
// out, each monitor says how many reports it sent, and the aggregator checks them against
// what it received.
//
// By default the aggregator starts an embedded NATS server listening on 127.0.0.1 (a free
// port) and starts the monitors itself: the same binary, run again with -role monitor and
// the server's URL. With -nats it uses that server (or cluster) instead, for instance one
// started with `nats-server`, and the monitors connect to it too.
//
// It runs until you type q and Enter, stdin ends, Ctrl-C (or SIGTERM) arrives, or -duration
// passes, then stops everything in order: the monitors first (each finishes the report in
// flight and sends its count), then the aggregator's server, its actors, its connection, and
// the embedded NATS server last. Flags:
//
//	-monitors n    number of monitor processes (default 2: primary, secondary, monitor-3, ...)
//	-interval d    pause between two reads of one monitor (default 500ms)
//	-duration d    stop after d; 0 means no limit (default 0)
//	-nats url      use this NATS server instead of an embedded one
//
// It exits 0 when the counts match, 1 when they differ or something failed, and 2 for bad
// flags.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/pactor-go/actor"
	"github.com/pactor-go/actor/remote"
	"github.com/pactor-go/actor/remote/embedded"
)

// The endpoints, shared by both roles as they would be by two programs importing one
// package.
var (
	reportEP = remote.NewEndpoint[Update, struct{}]("monitor.report")
	doneEP   = remote.NewEndpoint[Summary, struct{}]("monitor.done")
)

// Update is one reading, sent by a monitor.
type Update struct {
	From   string `json:"from"`
	Status string `json:"status"`
	Seq    int    `json:"seq"`
}

// Summary is what a monitor says on its way out.
type Summary struct {
	From string `json:"from"`
	Sent int    `json:"sent"` // reports the aggregator answered: they ran
	// Unknown counts reports whose fate is unknown (a deadline passed): each one may or
	// may not have been received, since remote delivery is at most once.
	Unknown int `json:"unknown"`
}

// childEnv marks a monitor process, so that a test binary standing in for this program
// knows to run the monitor rather than its tests.
const childEnv = "PACTOR_MONITOR_CHILD"

func main() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout)) }

// run is main with its arguments, input and output given, and an exit code.
func run(args []string, stdin io.Reader, stdout io.Writer) int {
	fs := flag.NewFlagSet("monitor", flag.ContinueOnError)
	monitors := fs.Int("monitors", 2, "number of monitor processes")
	interval := fs.Duration("interval", 500*time.Millisecond, "pause between two reads of one monitor")
	duration := fs.Duration("duration", 0, "stop after this long (0: no limit)")
	url := fs.String("nats", "", "NATS server URL (default: start an embedded one on 127.0.0.1)")
	role := fs.String("role", "aggregator", "aggregator, or monitor (set when the aggregator starts one)")
	name := fs.String("name", "", "the monitor's name (with -role monitor)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *monitors < 1 || *interval <= 0 || *duration < 0 || (*role == "monitor" && (*name == "" || *url == "")) {
		fmt.Fprintln(os.Stderr, "monitor: need -monitors >= 1, -interval > 0, -duration >= 0, and -name and -nats with -role monitor")
		return 2
	}
	switch *role {
	case "monitor":
		return runMonitor(*name, *url, *interval, stdin)
	case "aggregator":
		return runAggregator(*monitors, *interval, *duration, *url, stdin, stdout)
	}
	fmt.Fprintln(os.Stderr, "monitor: -role must be aggregator or monitor")
	return 2
}

// Aggregator prints the updates it receives and counts them per monitor.
type Aggregator struct {
	out       io.Writer
	received  map[string]int
	summaries map[string]Summary
}

func (a *Aggregator) update(u Update) (struct{}, error) {
	a.received[u.From]++
	fmt.Fprintf(a.out, "%s: status=%s (update %d)\n", u.From, u.Status, u.Seq)
	return struct{}{}, nil
}

func (a *Aggregator) done(s Summary) (struct{}, error) {
	a.summaries[s.From] = s
	return struct{}{}, nil
}

func runAggregator(monitors int, interval, duration time.Duration, url string, stdin io.Reader, stdout io.Writer) int {
	// The aggregator prints from its own goroutine, and this one prints too while it runs.
	stdout = &lockedWriter{w: stdout}
	ctx, stopSignals := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stopSignals()
	if duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, duration)
		defer cancel()
	}

	var nc *nats.Conn
	var err error
	if url == "" {
		ns, err := embedded.Start(embedded.Loopback())
		if err != nil {
			fmt.Fprintln(os.Stderr, "monitor:", err)
			return 1
		}
		defer ns.Shutdown() // last of all: after every connection to it has closed
		url = ns.URL()
		nc, err = ns.Connect(nats.Name("aggregator"))
		if err != nil {
			fmt.Fprintln(os.Stderr, "monitor:", err)
			return 1
		}
		fmt.Fprintf(stdout, "monitor: embedded NATS server at %s\n", url)
	} else if nc, err = nats.Connect(url, nats.Name("aggregator")); err != nil {
		fmt.Fprintln(os.Stderr, "monitor:", err)
		return 1
	}
	defer nc.Close() // a no-op after the Drain below; there for the early returns

	// The Server is made before the actor it serves, so that the supervisor stops the
	// actor first and the Server's own actor after it (see remote.NewServer).
	sup := actor.NewSupervisor(context.Background())
	srv, err := remote.NewServer(sup, nc, "monitor-aggregator", "1.0.0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "monitor:", err)
		return 1
	}
	agg := &Aggregator{out: stdout, received: map[string]int{}, summaries: map[string]Summary{}}
	ref := actor.Spawn(sup, agg, actor.WithName("aggregator"))
	for _, h := range []error{
		remote.Handle(srv, reportEP, ref, (*Aggregator).update),
		remote.Handle(srv, doneEP, ref, (*Aggregator).done),
	} {
		if h != nil {
			fmt.Fprintln(os.Stderr, "monitor:", h)
			return 1
		}
	}

	fmt.Fprintf(stdout, "monitor: %d monitor processes report a simulated status every %v to this one.\n", monitors, interval)
	fmt.Fprintln(stdout, "Type q and Enter to quit (or Ctrl-C).")
	names := monitorNames(monitors)
	children, err := startMonitors(names, url, interval)
	if err != nil {
		fmt.Fprintln(os.Stderr, "monitor:", err)
	}

	if err == nil {
		fmt.Fprintln(stdout, "stopping:", waitForQuit(ctx, stdin))
	}
	// From here a second Ctrl-C kills the program, in case the shutdown hangs.
	stopSignals()
	code := 0
	// 1. The monitors, first: each finishes its report in flight and sends its summary.
	for _, ch := range children {
		_ = ch.stdin.Close()
	}
	for _, ch := range children {
		if err := ch.cmd.Wait(); err != nil {
			fmt.Fprintf(os.Stderr, "monitor: %s: %v\n", ch.name, err)
			code = 1
		}
	}
	// 2. The server: no new request reaches it. 3. Its actors: whatever they took runs.
	if err := srv.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "monitor:", err)
		code = 1
	}
	sup.Stop()
	if err := sup.Wait(); err != nil {
		fmt.Fprintln(os.Stderr, "monitor:", err)
		code = 1
	}
	// 4. The connection. (5. The embedded server: deferred above.)
	if err := drain(nc); err != nil {
		fmt.Fprintln(os.Stderr, "monitor:", err)
	}

	// Wait has joined every actor, so their state is safe to read without a message.
	if !report(stdout, names, agg) {
		code = 1
	}
	return code
}

// lockedWriter serialises writes to w, which the aggregator actor and the main goroutine
// share.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// report prints what each monitor sent and the aggregator received, and says whether they
// agree. A report of unknown fate may have been received or not: it widens the check.
func report(w io.Writer, names []string, agg *Aggregator) bool {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "monitor\tsent\treceived\tunknown")
	var sent, received, unknown int
	ok := true
	for _, name := range names {
		s, told := agg.summaries[name]
		if !told {
			fmt.Fprintf(tw, "%s\t?\t%d\t?\n", name, agg.received[name])
			ok = false
			continue
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\n", name, s.Sent, agg.received[name], s.Unknown)
		sent, received, unknown = sent+s.Sent, received+agg.received[name], unknown+s.Unknown
		if r := agg.received[name]; r < s.Sent || r > s.Sent+s.Unknown {
			ok = false
		}
	}
	fmt.Fprintf(tw, "total\t%d\t%d\t%d\n", sent, received, unknown)
	tw.Flush()
	if !ok {
		fmt.Fprintln(w, "counts differ: updates were lost, or a monitor did not report")
		return false
	}
	fmt.Fprintln(w, "no update lost")
	return true
}

func monitorNames(n int) []string {
	names := []string{"primary", "secondary"}
	for i := len(names); i < n; i++ {
		names = append(names, fmt.Sprintf("monitor-%d", i+1))
	}
	return names[:n]
}

// child is a monitor process.
type child struct {
	name  string
	cmd   *exec.Cmd
	stdin io.WriteCloser // closing it tells the monitor to stop
}

// startMonitors starts one monitor process per name: this program, run again.
func startMonitors(names []string, url string, interval time.Duration) ([]*child, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	var children []*child
	for _, name := range names {
		ch := &child{name: name, cmd: exec.Command(self, "-role=monitor", "-name="+name, "-nats="+url, "-interval="+interval.String())}
		ch.cmd.Env = append(os.Environ(), childEnv+"=1")
		ch.cmd.Stdout, ch.cmd.Stderr = os.Stderr, os.Stderr
		if ch.stdin, err = ch.cmd.StdinPipe(); err == nil {
			err = ch.cmd.Start()
		}
		if err != nil {
			return children, fmt.Errorf("starting %s: %w", name, err)
		}
		children = append(children, ch)
	}
	return children, nil
}

// drain drains nc and waits until it is closed, so that every reply it holds is sent.
func drain(nc *nats.Conn) error {
	closed := make(chan struct{})
	nc.SetClosedHandler(func(*nats.Conn) { close(closed) })
	if err := nc.Drain(); err != nil {
		return err
	}
	<-closed
	return nil
}

// waitForQuit blocks until the user types q, stdin ends, or ctx ends (a signal or
// -duration), and says which.
func waitForQuit(ctx context.Context, stdin io.Reader) string {
	// Buffered, so that the reader can finish even after ctx won. A reader still blocked on
	// stdin is left behind: it owns no state, and the process is about to exit.
	quit := make(chan string, 1)
	go func() {
		in := bufio.NewScanner(stdin)
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

// Monitor reads a status, reports it, and schedules its next read.
type Monitor struct {
	actor.Base[Monitor]
	name     string
	c        *remote.Client
	interval time.Duration
	rng      *rand.Rand // seeded per monitor, so a run is repeatable but monitors differ
	sent     int        // reports the aggregator answered
	unknown  int        // reports whose fate is unknown
	failed   error      // the error that ended the polling, if any
}

func (m *Monitor) poll() {
	status := "ok"
	switch n := m.rng.IntN(20); {
	case n == 0:
		status = "down"
	case n < 4:
		status = "degraded"
	}
	// The call waits for the aggregator's answer, holding this actor, which has nothing
	// else to do meanwhile; the supervisor's stop waits for it too, so the report in
	// flight when the monitor is told to stop still completes.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	_, err := reportEP.Call(ctx, m.c, Update{From: m.name, Status: status, Seq: m.sent + 1})
	cancel()
	switch {
	case err == nil:
		m.sent++
	case errors.Is(err, context.DeadlineExceeded):
		m.unknown++ // it may have run: count it apart, and go on
	default:
		// The aggregator is gone or refused (ErrNoResponders, actor.ErrStopped): the
		// report did not run, and polling on would only be refused again.
		m.failed = err
		return
	}
	// After queues the next poll instead of sleeping here, so that the actor stays idle
	// in between and a stop need not wait out the pause.
	m.Self().After(m.interval, (*Monitor).poll)
}

func runMonitor(name, url string, interval time.Duration, stdin io.Reader) int {
	// The terminal sends Ctrl-C to the whole process group: a monitor leaves it to the
	// aggregator, which stops the monitors first, by closing their stdin.
	signal.Ignore(os.Interrupt)
	nc, err := nats.Connect(url, nats.Name(name))
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		return 1
	}
	defer nc.Close()
	c := remote.NewClient(nc)
	// The names give the monitors different, repeatable random streams.
	seed := uint64(slices.Index(monitorNames(64), name) + 1)
	m := &Monitor{name: name, c: c, interval: interval, rng: rand.New(rand.NewPCG(seed, 1))}
	sup := actor.NewSupervisor(context.Background())
	_ = actor.Spawn(sup, m, actor.WithName(name)).Send((*Monitor).poll)

	_, _ = io.Copy(io.Discard, stdin) // until the aggregator closes it
	sup.Stop()
	if err := sup.Wait(); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		return 1
	}
	code := 0
	if m.failed != nil {
		fmt.Fprintf(os.Stderr, "%s: stopped reporting: %v\n", name, m.failed)
		code = 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := doneEP.Call(ctx, c, Summary{From: name, Sent: m.sent, Unknown: m.unknown}); err != nil {
		fmt.Fprintf(os.Stderr, "%s: sending the summary: %v\n", name, err)
		return 1
	}
	if err := drain(nc); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
	}
	return code
}
