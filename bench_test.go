package actor

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Every benchmark here runs the actor and a baseline as sibling sub-benchmarks named
// impl=actor and impl=chan (impl=goroutine for BenchmarkIdle), so that
// `benchstat -col /impl` shows the ratio from one run.
// The baseline is what people write without this package: one goroutine draining a buffered
// chan func().
//
// The messages are package-level functions, or closures made once before the timer starts,
// so sending one allocates nothing in the benchmark itself: allocs/op counts what the
// library (or the channel) allocates, not the caller.

// benchCounter is the state of the actor in BenchmarkSend, BenchmarkAsk, BenchmarkSpawnStop
// and BenchmarkIdle.
type benchCounter struct{ n int }

func benchIncr(c *benchCounter)                 { c.n++ }
func benchGet(c *benchCounter) (int, error)     { return c.n, nil }
func benchIncrGet(c *benchCounter) (int, error) { c.n++; return c.n, nil }

// benchChanBuffer is the baseline's mailbox size where the mailbox lives long.
const benchChanBuffer = 1024

func benchCheck(b testing.TB, what string, e error) {
	b.Helper()
	if e != nil {
		b.Fatalf("%s: %v", what, e)
	}
}

// benchMailbox is what BenchmarkSend and BenchmarkAsk drive: a counter reached only through
// messages. benchActorBox is an actor; benchChanBox is the baseline.
type benchMailbox interface {
	incr() error       // queue one increment and return without waiting for it
	get() (int, error) // round trip: the counter, after every increment queued before
	close() error      // stop, and wait until every goroutine it started has ended
}

var benchMailboxes = []struct {
	name string
	make func() benchMailbox
}{
	{"impl=actor", func() benchMailbox { return newBenchActorBox() }},
	{"impl=chan", func() benchMailbox { return newBenchChanBox(benchChanBuffer) }},
}

type benchActorBox struct {
	sup *Supervisor
	ref *Ref[benchCounter]
}

func newBenchActorBox() *benchActorBox {
	sup := NewSupervisor(context.Background())
	return &benchActorBox{sup: sup, ref: Spawn(sup, &benchCounter{})}
}

func (a *benchActorBox) incr() error       { return a.ref.Send(benchIncr) }
func (a *benchActorBox) get() (int, error) { return Ask(context.Background(), a.ref, benchGet) }
func (a *benchActorBox) close() error {
	a.sup.Stop()
	return a.sup.Wait()
}

// benchChanBox is the baseline: one goroutine that owns n and runs the funcs it receives.
type benchChanBox struct {
	ch     chan func()
	exited chan struct{}
	n      int    // owned by the goroutine
	incrFn func() // made once, like benchIncr, so that incr allocates nothing
}

func newBenchChanBox(buffer int) *benchChanBox {
	c := &benchChanBox{ch: make(chan func(), buffer), exited: make(chan struct{})}
	c.incrFn = func() { c.n++ }
	go c.loop()
	return c
}

func (c *benchChanBox) loop() {
	defer close(c.exited)
	for f := range c.ch {
		f()
	}
}

func (c *benchChanBox) incr() error {
	c.ch <- c.incrFn
	return nil
}

// get is the hand-written Ask: a closure and a fresh reply channel per call, as the actor's
// Ask makes a call record and a done channel per call.
func (c *benchChanBox) get() (int, error) {
	reply := make(chan int, 1)
	c.ch <- func() { reply <- c.n }
	return <-reply, nil
}

func (c *benchChanBox) close() error {
	close(c.ch)
	<-c.exited
	return nil
}

// BenchmarkSend measures one-way messages: b.N increments in total, spread over the
// producers, timed until the last one has run (a round trip after the sends flushes the
// mailbox, and checks that the counter is b.N).
//
// It counts iterations with b.N rather than b.Loop: b.Loop cannot be split among producer
// goroutines, and it stops the timer as soon as it returns false, which would leave the
// final flush, and so the messages still queued, out of the measurement.
func BenchmarkSend(b *testing.B) {
	for _, producers := range []int{1, 4} {
		b.Run(fmt.Sprintf("producers=%d", producers), func(b *testing.B) {
			for _, m := range benchMailboxes {
				b.Run(m.name, func(b *testing.B) { benchSend(b, m.make(), producers) })
			}
		})
	}
}

func benchSend(b *testing.B, m benchMailbox, producers int) {
	b.ReportAllocs()
	errs := make([]error, producers)
	var wg sync.WaitGroup
	wg.Add(producers)
	b.ResetTimer()
	for p := range producers {
		n := b.N / producers
		if p < b.N%producers {
			n++
		}
		go func() {
			defer wg.Done()
			for range n {
				if err := m.incr(); err != nil {
					errs[p] = err
					return
				}
			}
		}()
	}
	wg.Wait()
	got, err := m.get()
	b.StopTimer()
	for _, e := range errs {
		benchCheck(b, "send", e)
	}
	benchCheck(b, "flush", err)
	if got != b.N {
		b.Errorf("counter = %d after %d sends", got, b.N)
	}
	benchCheck(b, "close", m.close())
}

// BenchmarkAsk measures a round trip from one caller to an idle mailbox and back.
func BenchmarkAsk(b *testing.B) {
	for _, m := range benchMailboxes {
		b.Run(m.name, func(b *testing.B) {
			box := m.make()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := box.get(); err != nil {
					b.Fatal(err)
				}
			}
			benchCheck(b, "close", box.close())
		})
	}
}

// BenchmarkSpawnStop measures a short-lived actor: spawn, one message, stop, wait until it
// has ended. The baseline starts a goroutine on a fresh channel, sends it one func, closes
// the channel and waits until the goroutine has exited.
func BenchmarkSpawnStop(b *testing.B) {
	b.Run("impl=actor", func(b *testing.B) {
		sup := NewSupervisor(context.Background())
		// One state for every actor: each has ended (Wait) before the next is spawned, and
		// the baseline allocates no state either, so allocs/op counts the actor alone.
		st := &benchCounter{}
		b.ReportAllocs()
		for b.Loop() {
			r := Spawn(sup, st)
			if err := r.Send(benchIncr); err != nil {
				b.Fatal(err)
			}
			r.Stop()
			if err := r.Wait(); err != nil {
				b.Fatal(err)
			}
		}
		sup.Stop()
		benchCheck(b, "supervisor", sup.Wait())
		if st.n != b.N {
			b.Errorf("%d messages ran in %d iterations", st.n, b.N)
		}
	})
	b.Run("impl=chan", func(b *testing.B) {
		n := 0
		incr := func() { n++ }
		var exited sync.WaitGroup
		b.ReportAllocs()
		for b.Loop() {
			// A buffer of 1 holds the one message. The 1,024 of the long-lived baseline
			// would make this baseline pay 8 KiB per spawn that the actor, whose mailbox
			// starts empty, does not.
			ch := make(chan func(), 1)
			exited.Add(1)
			go benchDrain(ch, &exited)
			ch <- incr
			close(ch)
			exited.Wait()
		}
		if n != b.N {
			b.Errorf("%d messages ran in %d iterations", n, b.N)
		}
	})
}

// benchDrain is the baseline's actor: it runs what it receives until ch is closed.
func benchDrain(ch <-chan func(), exited *sync.WaitGroup) {
	defer exited.Done()
	for f := range ch {
		f()
	}
}

// BenchmarkPingPong bounces a message within each of benchPairs pairs, all pairs at once,
// benchHops hops per pair. A hop is one message delivered and run; each message but the
// last sends the next one to the other side of its pair (the first is sent by the
// benchmark). It reports ns/hop over all hops of all pairs.
const (
	benchPairs = 1000
	benchHops  = 100 // even: each side runs benchHops/2 messages per round
)

// benchPinger is one side of a pair. The side that runs the last hop of a round is the
// finisher; it counts its messages rather than carrying a count in each message, so that
// the message is a package-level func and a hop allocates nothing in the benchmark.
type benchPinger struct {
	peer     *Ref[benchPinger]
	recv     int
	finisher bool
	done     *sync.WaitGroup // one Done per pair per round
	err      error
}

func benchHop(p *benchPinger) {
	p.recv++
	if p.finisher && p.recv%(benchHops/2) == 0 {
		p.done.Done()
		return
	}
	if err := p.peer.Send(benchHop); err != nil {
		// Not a panic: that would stop the supervisor and leave the benchmark waiting for
		// pairs that never finish. Read after done.Wait, which orders it.
		p.err = err
		p.done.Done()
	}
}

// benchChanPinger is the baseline's side of a pair: a goroutine draining ch.
type benchChanPinger struct {
	ch       chan func()
	peer     *benchChanPinger
	hop      func() // made once per side, so that a hop allocates nothing
	recv     int    // owned by the goroutine
	finisher bool
	done     *sync.WaitGroup
}

func BenchmarkPingPong(b *testing.B) {
	report := func(b *testing.B) {
		hops := float64(b.N) * benchPairs * benchHops
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/hops, "ns/hop")
	}
	b.Run("impl=actor", func(b *testing.B) {
		sup := NewSupervisor(context.Background())
		var done sync.WaitGroup
		firsts := make([]*Ref[benchPinger], benchPairs)
		states := make([]*benchPinger, 0, 2*benchPairs)
		for i := range firsts {
			x := &benchPinger{done: &done}
			y := &benchPinger{done: &done, finisher: true}
			rx, ry := Spawn(sup, x), Spawn(sup, y)
			// Set after Spawn but before any message: benchPinger has no OnStart, so
			// nothing runs on the actors yet, and the first Send orders these writes
			// before every message.
			x.peer, y.peer = ry, rx
			firsts[i] = rx
			states = append(states, x, y)
		}
		b.ReportAllocs()
		for b.Loop() {
			done.Add(benchPairs)
			for _, r := range firsts {
				if err := r.Send(benchHop); err != nil {
					b.Fatal(err)
				}
			}
			done.Wait()
		}
		report(b)
		sup.Stop()
		benchCheck(b, "supervisor", sup.Wait())
		for _, st := range states {
			benchCheck(b, "hop", st.err)
			if st.recv != b.N*benchHops/2 {
				b.Fatalf("a side ran %d messages in %d rounds", st.recv, b.N)
			}
		}
	})
	b.Run("impl=chan", func(b *testing.B) {
		var done, exited sync.WaitGroup
		firsts := make([]*benchChanPinger, benchPairs)
		sides := make([]*benchChanPinger, 0, 2*benchPairs)
		for i := range firsts {
			// A buffer of 1 is enough: a pair has one message in flight.
			x := &benchChanPinger{ch: make(chan func(), 1), done: &done}
			y := &benchChanPinger{ch: make(chan func(), 1), done: &done, finisher: true}
			x.peer, y.peer = y, x
			for _, p := range []*benchChanPinger{x, y} {
				p.hop = func() {
					p.recv++
					if p.finisher && p.recv%(benchHops/2) == 0 {
						p.done.Done()
						return
					}
					p.peer.ch <- p.peer.hop
				}
				sides = append(sides, p)
			}
			firsts[i] = x
		}
		exited.Add(len(sides))
		for _, p := range sides {
			go benchDrain(p.ch, &exited)
		}
		b.ReportAllocs()
		for b.Loop() {
			done.Add(benchPairs)
			for _, p := range firsts {
				p.ch <- p.hop
			}
			done.Wait()
		}
		report(b)
		for _, p := range sides {
			close(p.ch)
		}
		exited.Wait()
		for _, p := range sides {
			if p.recv != b.N*benchHops/2 {
				b.Fatalf("a side ran %d messages in %d rounds", p.recv, b.N)
			}
		}
	})
}

// BenchmarkIdle reports the memory that an idle actor holds after it has run one message
// (B/actor), and the goroutines it holds (goroutines/actor: 0 for an actor, 1 for the
// baseline, a goroutine blocked on its own chan func()).
//
// It measures in a fresh child process, TestBenchIdleChild, because in this one the runtime
// reuses the stacks and g records of goroutines that earlier benchmarks left dead, which
// would hide what new goroutines cost. Each iteration runs one child; -benchtime 1x runs
// one. The metrics are the mean over the children; ns/op (the child's run time, start-up
// included) is suppressed, as it measures nothing of interest. So would be B/op and
// allocs/op, which -benchmem adds and which count the parent's exec, but the testing package
// lets a benchmark override those, not hide them.
func BenchmarkIdle(b *testing.B) {
	n := 100_000
	if benchRace() {
		// The race detector allows 8,128 live goroutines, and the baseline holds one per
		// actor. The figures under -race mean little anyway; this keeps the run going.
		n = 2_000
	}
	for _, kind := range []string{"actor", "goroutine"} {
		b.Run("impl="+kind, func(b *testing.B) {
			var bytes, goroutines float64
			runs := 0
			for b.Loop() {
				by, g := benchIdleRunChild(b, kind, n)
				bytes += by
				goroutines += g
				runs++
			}
			b.ReportMetric(bytes/float64(runs), "B/actor")
			b.ReportMetric(goroutines/float64(runs), "goroutines/actor")
			b.ReportMetric(0, "ns/op")
		})
	}
}

const (
	benchIdleKindEnv  = "ACTOR_BENCH_IDLE_CHILD" // "actor" or "goroutine"
	benchIdleCountEnv = "ACTOR_BENCH_IDLE_N"     // how many actors the child makes
	benchIdlePrefix   = "BENCH_IDLE_RESULT"      // the child's result line
)

// benchRace reports whether the binary was built with -race (the memory test uses it too).
func benchRace() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// benchIdleRunChild runs TestBenchIdleChild in a new process of this test binary and
// returns what it measured per actor.
func benchIdleRunChild(b *testing.B, kind string, n int) (bytes, goroutines float64) {
	b.Helper()
	cmd := exec.CommandContext(b.Context(), os.Args[0], "-test.run=^TestBenchIdleChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), benchIdleKindEnv+"="+kind, benchIdleCountEnv+"="+strconv.Itoa(n))
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("child: %v\n%s", err, out)
	}
	for line := range strings.Lines(string(out)) {
		if rest, ok := strings.CutPrefix(line, benchIdlePrefix+" "); ok {
			if _, err := fmt.Sscanf(rest, "%g %g", &bytes, &goroutines); err != nil {
				b.Fatalf("child's line %q: %v", line, err)
			}
			return bytes, goroutines
		}
	}
	b.Fatalf("child printed no %s line:\n%s", benchIdlePrefix, out)
	return 0, 0
}

// TestBenchIdleChild is BenchmarkIdle's child process; run directly, it skips. It makes
// ACTOR_BENCH_IDLE_N actors (or baseline goroutines), runs one message on each, and prints
// the growth of the live heap plus stacks, and of the goroutine count, per actor.
func TestBenchIdleChild(t *testing.T) {
	kind := os.Getenv(benchIdleKindEnv)
	if kind == "" {
		t.Skip("runs only as BenchmarkIdle's child process")
	}
	n, err := strconv.Atoi(os.Getenv(benchIdleCountEnv))
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a positive count", benchIdleCountEnv, os.Getenv(benchIdleCountEnv))
	}
	var bytes, goroutines float64
	switch kind {
	case "actor":
		bytes, goroutines = benchIdleActors(t, n)
	case "goroutine":
		bytes, goroutines = benchIdleGoroutines(t, n)
	default:
		t.Fatalf("%s=%q: want actor or goroutine", benchIdleKindEnv, kind)
	}
	fmt.Printf("%s %g %g\n", benchIdlePrefix, bytes, goroutines)
}

// benchMemInUse is the live heap plus goroutine stacks, after a collection.
func benchMemInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc + ms.StackInuse
}

func benchIdleActors(t *testing.T, n int) (bytes, goroutines float64) {
	sup := NewSupervisor(context.Background())
	defer func() {
		sup.Stop()
		if err := sup.Wait(); err != nil {
			t.Error(err)
		}
	}()
	refs := make([]*Ref[benchCounter], n) // made before the first reading: not per actor
	g0 := runtime.NumGoroutine()
	before := benchMemInUse()
	for i := range refs {
		refs[i] = Spawn(sup, &benchCounter{})
		// One at a time: each Ask returns once its message has run, so activations barely
		// overlap and their goroutines are reused. Sends to all at once would leave up to
		// n dead goroutines, whose g records the runtime never frees, in the reading.
		if _, err := Ask(context.Background(), refs[i], benchIncrGet); err != nil {
			t.Fatal(err)
		}
	}
	// An Ask returns just before its activation ends; wait for the last ones to exit.
	for deadline := time.Now().Add(10 * time.Second); runtime.NumGoroutine() > g0 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	after := benchMemInUse()
	g1 := runtime.NumGoroutine()
	runtime.KeepAlive(refs)
	return float64(int64(after-before)) / float64(n), float64(g1-g0) / float64(n)
}

func benchIdleGoroutines(t *testing.T, n int) (bytes, goroutines float64) {
	chans := make([]chan func(), n) // made before the first reading: not per actor
	var ran, exited sync.WaitGroup
	msg := func() { ran.Done() } // one message value for all: not per actor
	defer func() {
		for _, ch := range chans {
			if ch != nil {
				close(ch)
			}
		}
		exited.Wait()
	}()
	g0 := runtime.NumGoroutine()
	before := benchMemInUse()
	for i := range chans {
		// Buffer 1, not the long-lived baseline's 1,024: 8 KiB of buffer per idle
		// goroutine would be the channel's cost, not the goroutine's.
		ch := make(chan func(), 1)
		chans[i] = ch
		exited.Add(1)
		go benchDrain(ch, &exited)
		ran.Add(1)
		ch <- msg
	}
	ran.Wait()
	after := benchMemInUse()
	g1 := runtime.NumGoroutine()
	runtime.KeepAlive(chans)
	return float64(int64(after-before)) / float64(n), float64(g1-g0) / float64(n)
}

// benchNamed reports whether -test.bench names the benchmark explicitly, for the big
// benchmarks that a plain `-bench .` (as in CI) should skip.
func benchNamed(name string) bool {
	f := flag.Lookup("test.bench")
	return f != nil && strings.Contains(f.Value.String(), name)
}

// BenchmarkMillion spawns a million actors, asks each one once, and stops them all,
// reporting the heap at its peak (all actors alive, each having run one message). The
// baseline holds a goroutine per actor. Skipped unless -bench names it.
func BenchmarkMillion(b *testing.B) {
	if !benchNamed("Million") {
		b.Skip("run with -bench Million")
	}
	const n = 1_000_000
	peak := func() float64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return float64(ms.HeapAlloc+ms.StackInuse) / (1 << 20)
	}
	b.Run("impl=actor", func(b *testing.B) {
		var mb float64
		for b.Loop() {
			sup := NewSupervisor(context.Background())
			refs := make([]*Ref[benchCounter], n)
			for i := range refs {
				refs[i] = Spawn(sup, &benchCounter{})
			}
			for _, r := range refs {
				if _, err := Ask(context.Background(), r, benchIncrGet); err != nil {
					b.Fatal(err)
				}
			}
			mb = peak()
			sup.Stop()
			benchCheck(b, "Supervisor.Wait", sup.Wait())
		}
		b.ReportMetric(mb, "peak-MB")
	})
	b.Run("impl=goroutine", func(b *testing.B) {
		var mb float64
		for b.Loop() {
			chans := make([]chan func(), n)
			var wg sync.WaitGroup
			for i := range chans {
				ch := make(chan func(), 1)
				chans[i] = ch
				wg.Go(func() {
					for f := range ch {
						f()
					}
				})
			}
			for _, ch := range chans {
				reply := make(chan struct{})
				ch <- func() { close(reply) }
				<-reply
			}
			mb = peak()
			for _, ch := range chans {
				close(ch)
			}
			wg.Wait()
		}
		b.ReportMetric(mb, "peak-MB")
	})
}

// skyNode is one node of skynet: a leaf reports its id; an inner node spawns ten
// children and reports the sum of their reports.
type skyNode struct {
	Base[skyNode]
	parent  *Ref[skyNode]
	root    chan int64 // the root reports here
	sum     int64
	pending int
}

func skyStart(sup *Supervisor, parent *Ref[skyNode], root chan int64, num, size int64) {
	r := Spawn(sup, &skyNode{parent: parent, root: root})
	r.Send(func(n *skyNode) {
		if size == 1 {
			n.report(num)
			return
		}
		size /= 10
		n.pending = 10
		for i := range int64(10) {
			skyStart(sup, n.Self(), nil, num+i*size, size)
		}
	})
}

func (n *skyNode) add(v int64) {
	n.sum += v
	if n.pending--; n.pending == 0 {
		n.report(n.sum)
	}
}

func (n *skyNode) report(v int64) {
	if n.parent != nil {
		n.parent.Send(func(p *skyNode) { p.add(v) })
	} else {
		n.root <- v
	}
	n.Self().Stop()
}

func skynetGoroutines(c chan int64, num, size int64) {
	if size == 1 {
		c <- num
		return
	}
	rc := make(chan int64, 10)
	size /= 10
	for i := range int64(10) {
		go skynetGoroutines(rc, num+i*size, size)
	}
	var sum int64
	for range 10 {
		sum += <-rc
	}
	c <- sum
}

// BenchmarkSkynet runs the skynet benchmark: a tree of 1,000,000 leaves (1,111,111 nodes)
// that sum their ids, as actors and as the classic goroutines-and-channels version.
// Skipped unless -bench names it.
func BenchmarkSkynet(b *testing.B) {
	if !benchNamed("Skynet") {
		b.Skip("run with -bench Skynet")
	}
	const leaves, want = 1_000_000, 499999500000
	b.Run("impl=actor", func(b *testing.B) {
		for b.Loop() {
			sup := NewSupervisor(context.Background())
			root := make(chan int64, 1)
			skyStart(sup, nil, root, 0, leaves)
			if got := <-root; got != want {
				b.Fatalf("skynet sum = %d, want %d", got, want)
			}
			sup.Stop()
			benchCheck(b, "Supervisor.Wait", sup.Wait())
		}
	})
	b.Run("impl=goroutine", func(b *testing.B) {
		for b.Loop() {
			c := make(chan int64, 1)
			go skynetGoroutines(c, 0, leaves)
			if got := <-c; got != want {
				b.Fatalf("skynet sum = %d, want %d", got, want)
			}
		}
	})
}
