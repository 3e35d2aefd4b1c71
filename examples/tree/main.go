// Command tree runs a small service as a supervision tree, injects crashes into it, and
// shows that the tree recovers from them without losing an item it accepted.
//
//	service                  root: gives up at the first subsystem that gives up
//	├── store                subsystem: one store actor
//	└── ingest               subsystem: one_for_one, -max-restarts within -within, backoff
//	    └── worker-1 ... worker-n
//
// One client goroutine per worker offers it items with [actor.Ask]. The worker parses the
// item and hands it to the store; now and then (-crash-rate, seeded by -seed) it panics
// first, as on a corrupt input. The ingest subsystem then restarts that worker alone, after a
// short backoff, from fresh state ([actor.SpawnFunc]): each restart prints a line from the
// new incarnation's OnStart, with its generation. Its siblings, and the store, never notice.
// The client whose Ask returned the panic knows the item was not stored (the panic comes
// before the hand-over), and sends it again.
//
// On the way out the clients stop first and finish the item they hold; then the tree stops.
// The store subsystem is made before the ingest subsystem because a supervisor starts its
// children in order and stops them in reverse: spawn a consumer before the producers that
// send to it. The workers then stop first, and the store stops last, after it has run every
// hand-over it accepted; spawned the other way round, it would refuse whatever a worker
// still hands over while it stops.
//
// It runs until you type q and Enter, Ctrl-C (or SIGTERM) arrives, -duration passes, or the
// service gives up (more than -max-restarts crashes within -within). Then it prints what
// every part counted. Flags:
//
//	-workers n        ingest workers, one client each (default 4)
//	-interval d       pause between two items of one client; 0: none (default 1ms)
//	-crash-rate p     probability that a worker panics on an item (default 0.001)
//	-max-restarts n   restarts the ingest subsystem allows within -within (default 20)
//	-within d         the intensity window (default 1s)
//	-backoff d        the first restart's delay, doubling up to 32 times it (default 1ms)
//	-duration d       stop after d; 0 means no limit (default 0)
//	-seed n           seeds the crashes (default 1)
//	-stop-after n     stop once the store holds n items; 0 means never (default 0)
//
// It exits 0 when the counts reconcile: every item a client had acknowledged is in the
// store, once, in order, and every other item is accounted for, as refused by a service
// that had stopped or as lost in a crash. It exits 1 when they do not or the service gave
// up, and 2 for bad flags.
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
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/pactor-go/actor"
)

// maxAttempts is how often a client offers an item whose message crashed before it counts
// the item as lost.
const maxAttempts = 3

// Store holds what the workers parsed. It checks, per worker, that items arrive in order,
// none twice: each client offers its items in order, one at a time, and its worker hands
// each over before it takes the next.
type Store struct {
	stored     []int // per worker
	last       []int // per worker: the sequence number stored last
	outOfOrder int
	total      int
	stopAfter  int           // 0: never
	reached    chan struct{} // closed when total reaches stopAfter
}

func (s *Store) put(worker, seq int) {
	if seq != s.last[worker]+1 {
		s.outOfOrder++
	}
	s.last[worker] = seq
	s.stored[worker]++
	s.total++
	if s.total == s.stopAfter {
		close(s.reached)
	}
}

// Worker parses items and hands them to the store. A restart replaces it whole: newWorker
// makes each incarnation, with its own generation and random source.
type Worker struct {
	actor.Base[Worker]
	id         int
	generation int // 1 for the first incarnation
	parsed     int // by this incarnation: a restart starts again from 0
	crashRate  float64
	rng        *rand.Rand
	store      *actor.Ref[Store]
	out        io.Writer
}

// OnStart runs once per incarnation, so every run after the first is a restart.
func (w *Worker) OnStart() error {
	if w.generation > 1 {
		fmt.Fprintf(w.out, "restart: worker-%d is at generation %d, its count back at %d\n", w.id+1, w.generation, w.parsed)
	}
	return nil
}

// parse parses one raw item, "worker:seq", and hands it to the store; the store has it once
// parse returns nil. A crash comes before the hand-over, so the item of a message that
// crashed is never stored, and sending it again stores it once.
func (w *Worker) parse(raw string) error {
	a, b, ok := strings.Cut(raw, ":")
	worker, err1 := strconv.Atoi(a)
	seq, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil {
		return fmt.Errorf("malformed item %q", raw)
	}
	if w.rng.Float64() < w.crashRate {
		panic("corrupt item " + raw)
	}
	// The store's mailbox is bounded: wait for room, but only as long as this incarnation
	// lives, so that a wait can never hold up a restart or a stop.
	if err := w.store.SendContext(w.Self().Context(), func(s *Store) { s.put(worker, seq) }); err != nil {
		return err
	}
	w.parsed++
	return nil
}

// client offers one worker its items, one at a time, and counts what became of them.
type client struct {
	id     int
	worker *actor.Ref[Worker]
	out    io.Writer

	// Written by the client's goroutine; read after it has ended.
	offered      int // distinct items
	acknowledged int // the worker's Ask returned nil: the store has the item
	crashed      int // Asks that returned the worker's panic
	refused      int // first offers that returned ErrStopped: the service had stopped
	lost         int // items whose message crashed and that could not be offered again
	failed       int // items the worker refused with an error (the store was stopped)
}

// run offers items until stop is closed or the worker refuses.
func (c *client) run(stop <-chan struct{}, interval time.Duration) {
	var tick <-chan time.Time
	if interval > 0 {
		t := time.NewTicker(interval)
		defer t.Stop()
		tick = t.C
	}
	for seq := 1; ; seq++ {
		select {
		case <-stop: // first, so that a waiting tick does not win over it
			return
		default:
		}
		if tick != nil {
			select {
			case <-stop:
				return
			case <-tick:
			}
		}
		c.offered++
		if !c.offer(fmt.Sprintf("%d:%d", c.id, seq)) {
			return
		}
	}
}

// offer offers one item until it is stored or given up, and reports whether to go on.
func (c *client) offer(raw string) bool {
	for attempt := 1; ; attempt++ {
		// Background, not a context that ends with the run: an Ask that the worker
		// accepted runs, and the client learns its outcome. It cannot hang: once the
		// worker has ended, Ask returns.
		err := actor.AskErr(context.Background(), c.worker, func(w *Worker) error { return w.parse(raw) })
		var pe *actor.PanicError
		switch {
		case err == nil:
			c.acknowledged++
			return true
		case errors.As(err, &pe):
			c.crashed++
			if attempt < maxAttempts {
				fmt.Fprintf(c.out, "crash:   worker-%d panicked (%v): sending it again\n", c.id+1, pe.Value)
				continue
			}
			fmt.Fprintf(c.out, "crash:   worker-%d panicked (%v) %d times: item lost\n", c.id+1, pe.Value, attempt)
			c.lost++
			return true
		case errors.Is(err, actor.ErrStopped) && attempt == 1:
			c.refused++ // never ran: the service has stopped
			return false
		case errors.Is(err, actor.ErrStopped):
			c.lost++ // crashed, and the service stopped before it could run again
			return false
		default:
			c.failed++
			return false
		}
	}
}

// config is the command line.
type config struct {
	workers     int
	interval    time.Duration
	crashRate   float64
	maxRestarts int
	within      time.Duration
	backoff     time.Duration
	duration    time.Duration
	seed        uint64
	stopAfter   int
}

// result is what a run counted, read once the service has ended.
type result struct {
	config
	why         string // what started the stop
	err         error  // the service's Wait: a subsystem gave up
	generations []int  // per worker
	clients     []*client
	store       *Store
}

// syncWriter lets the workers and clients print from their goroutines.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// run builds the service, feeds it until ctx ends, the store holds c.stopAfter items or the
// service gives up, then stops it and returns the counts.
func run(ctx context.Context, c config, stdout io.Writer) result {
	out := &syncWriter{w: stdout}
	root := actor.NewSupervisor(context.Background(), actor.WithSupervisorName("service"))
	ended := root.Done()

	// The consumer first: stopped last.
	storeSub := root.NewChild(actor.WithSupervisorName("store"))
	st := &Store{stored: make([]int, c.workers), last: make([]int, c.workers),
		stopAfter: c.stopAfter, reached: make(chan struct{})}
	store := actor.Spawn(storeSub, st, actor.WithName("store"), actor.WithMailboxSize(256))

	ingest := root.NewChild(actor.WithSupervisorName("ingest"),
		actor.WithStrategy(actor.OneForOne),
		actor.WithIntensity(c.maxRestarts, c.within),
		actor.WithBackoff(c.backoff, 32*c.backoff))
	r := result{config: c, generations: make([]int, c.workers), store: st}
	for i := range c.workers {
		// newWorker runs on worker i's goroutine, once per incarnation, one after the
		// other; r.generations[i] is read only after the service has ended.
		newWorker := func() (*Worker, error) {
			r.generations[i]++
			g := r.generations[i]
			return &Worker{id: i, generation: g, crashRate: c.crashRate, store: store, out: out,
				rng: rand.New(rand.NewPCG(c.seed, uint64(i)<<32|uint64(g)))}, nil
		}
		w := actor.SpawnFunc(ingest, newWorker, actor.WithName(fmt.Sprintf("worker-%d", i+1)))
		r.clients = append(r.clients, &client{id: i, worker: w, out: out})
	}

	fmt.Fprintf(out, "tree: service = store (1 actor) + ingest (%d workers, %v, at most %d restarts within %v, backoff from %v)\n",
		c.workers, actor.OneForOne, c.maxRestarts, c.within, c.backoff)
	stop := make(chan struct{})
	var clients sync.WaitGroup
	for _, cl := range r.clients {
		clients.Go(func() { cl.run(stop, c.interval) })
	}

	select {
	case <-ctx.Done():
		r.why = "interrupted"
		if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
			r.why = cause.Error()
		}
	case <-st.reached:
		r.why = fmt.Sprintf("the store holds %d items", c.stopAfter)
	case <-ended:
		r.why = "the service stopped by itself"
	}
	// A service stops its intake first: the clients offer no new item and finish the one
	// they hold, offering it again if it crashed, which waits for its worker to come back.
	close(stop)
	clients.Wait()
	// The tree stops in reverse spawn order: ingest first, then the store, which still
	// runs every hand-over the workers made before they stopped.
	root.Stop()
	r.err = root.Wait()
	return r
}

// report prints r and says whether the counts reconcile.
func (r result) report(w io.Writer) (ok bool) {
	fmt.Fprintf(w, "stopped: %s\n", r.why)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\tgenerations\toffered\tacknowledged\tstored\tcrashed\trefused\tlost\t")
	var offered, acked, crashed, refused, lost, failed, restarts int
	ok = true
	for i, c := range r.clients {
		fmt.Fprintf(tw, "worker-%d\t%d\t%d\t%d\t%d\t%d\t%d\t%d\t\n", i+1, r.generations[i],
			c.offered, c.acknowledged, r.store.stored[i], c.crashed, c.refused, c.lost)
		offered += c.offered
		acked += c.acknowledged
		crashed += c.crashed
		refused += c.refused
		lost += c.lost
		failed += c.failed
		restarts += max(r.generations[i]-1, 0)
		if c.acknowledged != r.store.stored[i] {
			ok = false
		}
	}
	fmt.Fprintf(tw, "total\t\t%d\t%d\t%d\t%d\t%d\t%d\t\n", offered, acked, r.store.total, crashed, refused, lost)
	tw.Flush()

	fmt.Fprintf(w, "ingest:  %d crashes, %d restarts", crashed, restarts)
	if crashed > restarts {
		fmt.Fprint(w, " (the service gave up before it restarted them all)")
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "store:   %d items, %d out of order\n", r.store.total, r.store.outOfOrder)
	if failed > 0 {
		fmt.Fprintf(w, "%d items refused by the store: was it stopped before ingest?\n", failed)
	}
	if r.store.outOfOrder != 0 || offered != acked+refused+lost+failed {
		ok = false
	}
	if ok {
		fmt.Fprintf(w, "reconciled: every acknowledged item is stored, once, in order; %d refused by a stopped service, %d lost in a crash\n", refused+failed, lost)
	} else {
		fmt.Fprintln(w, "NOT RECONCILED: items were lost or stored twice")
	}
	if r.err != nil {
		fmt.Fprintln(w, "failure:", r.err)
		ok = false
	}
	return ok
}

func main() { os.Exit(cli(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }

// cli is main with its arguments, input, output and exit code, so that tests can call it.
func cli(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tree", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c config
	fs.IntVar(&c.workers, "workers", 4, "ingest workers, one client each")
	fs.DurationVar(&c.interval, "interval", time.Millisecond, "pause between two items of one client (0: none)")
	fs.Float64Var(&c.crashRate, "crash-rate", 0.001, "probability that a worker panics on an item")
	fs.IntVar(&c.maxRestarts, "max-restarts", 20, "restarts the ingest subsystem allows within -within")
	fs.DurationVar(&c.within, "within", time.Second, "the intensity window")
	fs.DurationVar(&c.backoff, "backoff", time.Millisecond, "the first restart's delay, doubling up to 32 times it")
	fs.DurationVar(&c.duration, "duration", 0, "stop after this long (0: no limit)")
	fs.Uint64Var(&c.seed, "seed", 1, "seeds the crashes")
	fs.IntVar(&c.stopAfter, "stop-after", 0, "stop once the store holds this many items (0: never)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if c.workers < 1 || c.interval < 0 || c.crashRate < 0 || c.crashRate > 1 || c.maxRestarts < 1 ||
		c.within <= 0 || c.backoff <= 0 || c.duration < 0 || c.stopAfter < 0 || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "tree: need -workers >= 1, -interval >= 0, 0 <= -crash-rate <= 1, -max-restarts >= 1, -within > 0, -backoff > 0, -duration >= 0, -stop-after >= 0 and no arguments")
		return 2
	}

	ctx, stopSignals := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stopSignals()
	// Once the stop has begun, a second Ctrl-C kills the program the default way.
	context.AfterFunc(ctx, stopSignals)
	ctx, quit := context.WithCancelCause(ctx)
	defer quit(nil)
	if c.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, c.duration, errors.New("-duration passed"))
		defer cancel()
	}
	fmt.Fprintln(stdout, "Type q and Enter to quit (or Ctrl-C).")
	go readQuit(stdin, quit)

	r := run(ctx, c, stdout)
	if !r.report(stdout) {
		return 1
	}
	return 0
}

// readQuit cancels quit when a line "q" is read. At the end of input it just returns: the
// other ways to stop remain. On a terminal it stays blocked on input after the run, and
// the process exit ends it.
func readQuit(in io.Reader, quit context.CancelCauseFunc) {
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == "q" {
			quit(errors.New("q typed"))
			return
		}
	}
}
