package actor

import (
	"context"
	"sync"
	"testing"
)

// Three larger workloads of the kinds actor benchmarks use, each beside the same program
// written with one goroutine draining a buffered chan func() per actor (impl=chan), as in
// bench_test.go. Every message is made before the timer starts, so that allocs/op counts
// what the library (or the channels) allocate, and both versions send the same messages in
// the same order. Each checks its result, so that neither can win by doing less.

// benchInbox is what the workloads send to: an actor's Ref or a goroutine's channel. Both
// sides of each workload are written once, against it.
type benchInbox[T any] interface {
	send(msg func(*T))
	ask(fn func(*T) bool) bool // a round trip with a result
}

type benchActorInbox[T any] struct{ r *Ref[T] }

func (a benchActorInbox[T]) send(msg func(*T)) {
	if err := a.r.Send(msg); err != nil {
		panic(err) // nothing is stopped while a workload runs
	}
}

func (a benchActorInbox[T]) ask(fn func(*T) bool) bool {
	ok, err := Ask(context.Background(), a.r, func(t *T) (bool, error) { return fn(t), nil })
	if err != nil {
		panic(err)
	}
	return ok
}

// benchChanInbox is the hand-written actor: a goroutine that owns a T and runs the funcs it
// receives on its channel.
type benchChanInbox[T any] struct {
	ch    chan func(*T)
	state *T
}

func newBenchChanInbox[T any](state *T, exited *sync.WaitGroup) benchChanInbox[T] {
	c := benchChanInbox[T]{ch: make(chan func(*T), benchChanBuffer), state: state}
	exited.Go(func() {
		for f := range c.ch {
			f(c.state)
		}
	})
	return c
}

func (c benchChanInbox[T]) send(msg func(*T)) { c.ch <- msg }

// ask is the hand-written Ask: a closure and a fresh reply channel per call.
func (c benchChanInbox[T]) ask(fn func(*T) bool) bool {
	reply := make(chan bool, 1)
	c.ch <- func(t *T) { reply <- fn(t) }
	return <-reply
}

// benchWorld makes the inboxes of one side of a workload and tears them down.
type benchWorld struct {
	sup    *Supervisor    // impl=actor
	exited sync.WaitGroup // impl=chan
	chans  []func()       // impl=chan: closes each channel
	actor  bool
}

func newBenchWorld(actor bool) *benchWorld {
	w := &benchWorld{actor: actor}
	if actor {
		w.sup = NewSupervisor(context.Background())
	}
	return w
}

func benchSpawn[T any](w *benchWorld, state *T) benchInbox[T] {
	if w.actor {
		return benchActorInbox[T]{Spawn(w.sup, state)}
	}
	c := newBenchChanInbox(state, &w.exited)
	w.chans = append(w.chans, func() { close(c.ch) })
	return c
}

func (w *benchWorld) close(b *testing.B) {
	if w.actor {
		w.sup.Stop()
		benchCheck(b, "Supervisor.Wait", w.sup.Wait())
		return
	}
	for _, c := range w.chans {
		c()
	}
	w.exited.Wait()
}

func benchImpls(b *testing.B, run func(b *testing.B, actor bool)) {
	b.Run("impl=actor", func(b *testing.B) { run(b, true) })
	b.Run("impl=chan", func(b *testing.B) { run(b, false) })
}

// BenchmarkForkJoin measures throughput of fork-join rounds: a round sends fjTasks small
// computations round-robin to fjWorkers workers, each of which sends its result to one
// collector, which signals the end of the round when it has them all. Reports ns/task.
const (
	fjWorkers = 8
	fjTasks   = 1000
)

type fjWorker struct{ done int }

type fjCollector struct {
	sum, want, pending int
	round              *sync.WaitGroup
}

// fjWork is a task's computation: small, so that the messages dominate.
func fjWork(i int) int {
	s := 0
	for k := range 64 {
		s += (i ^ k) & 7
	}
	return s
}

func BenchmarkForkJoin(b *testing.B) {
	benchImpls(b, func(b *testing.B, actor bool) {
		w := newBenchWorld(actor)
		var round sync.WaitGroup
		coll := &fjCollector{round: &round}
		collector := benchSpawn(w, coll)
		workers := make([]benchInbox[fjWorker], fjWorkers)
		for i := range workers {
			workers[i] = benchSpawn(w, &fjWorker{})
		}
		// Task i computes into results[i] and sends replies[i], which adds it up: the
		// Send orders the write before the collector's read.
		results := make([]int, fjTasks)
		replies := make([]func(*fjCollector), fjTasks)
		tasks := make([]func(*fjWorker), fjTasks)
		for i := range tasks {
			replies[i] = func(c *fjCollector) {
				c.sum += results[i]
				if c.pending--; c.pending == 0 {
					c.round.Done()
				}
			}
			tasks[i] = func(wk *fjWorker) {
				wk.done++
				results[i] = fjWork(i)
				collector.send(replies[i])
			}
			coll.want += fjWork(i)
		}
		startRound := func(c *fjCollector) { c.sum, c.pending = 0, fjTasks }
		var sums []int
		b.ReportAllocs()
		for b.Loop() {
			round.Add(1)
			collector.send(startRound) // runs before any reply: every reply follows a task sent after it
			for i, t := range tasks {
				workers[i%fjWorkers].send(t)
			}
			round.Wait()
			sums = append(sums, coll.sum) // read after round.Wait, which orders it
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*fjTasks), "ns/task")
		w.close(b)
		for _, s := range sums {
			if s != coll.want {
				b.Fatalf("a round summed %d, want %d", s, coll.want)
			}
		}
	})
}

// BenchmarkBank measures transfers between bankAccounts account actors by bankClients
// concurrent clients: a transfer asks the source to withdraw (a round trip whose reply says
// whether the funds were there) and, if they were, sends the deposit to the destination.
// The total is checked at the end. Reports ns/transfer.
const (
	bankAccounts = 100
	bankClients  = 4
	bankStart    = 1000 // each account's opening balance
)

type bankAccount struct{ balance int }

func BenchmarkBank(b *testing.B) {
	benchImpls(b, func(b *testing.B, actor bool) {
		w := newBenchWorld(actor)
		accounts := make([]benchInbox[bankAccount], bankAccounts)
		states := make([]*bankAccount, bankAccounts)
		for i := range accounts {
			states[i] = &bankAccount{balance: bankStart}
			accounts[i] = benchSpawn(w, states[i])
		}
		// Amounts 1..10, made once: a transfer allocates nothing in the benchmark.
		var withdraw [11]func(*bankAccount) bool
		var deposit [11]func(*bankAccount)
		for amt := 1; amt <= 10; amt++ {
			withdraw[amt] = func(a *bankAccount) bool {
				if a.balance < amt {
					return false
				}
				a.balance -= amt
				return true
			}
			deposit[amt] = func(a *bankAccount) { a.balance += amt }
		}
		b.ReportAllocs()
		b.ResetTimer()
		var wg sync.WaitGroup
		for c := range bankClients {
			n := b.N / bankClients
			if c < b.N%bankClients {
				n++
			}
			wg.Go(func() {
				x := uint32(c*7919 + 1) // xorshift: each client its own fixed sequence
				for range n {
					x ^= x << 13
					x ^= x >> 17
					x ^= x << 5
					src, dst, amt := int(x%bankAccounts), int((x>>8)%bankAccounts), int((x>>16)%10)+1
					if src == dst {
						dst = (dst + 1) % bankAccounts
					}
					if accounts[src].ask(withdraw[amt]) {
						accounts[dst].send(deposit[amt])
					}
				}
			})
		}
		wg.Wait()
		b.StopTimer()
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/transfer")
		w.close(b) // every deposit has run: the actors drained, the goroutines exited
		total := 0
		for _, s := range states {
			total += s.balance
		}
		if total != bankAccounts*bankStart {
			b.Fatalf("total balance %d after the transfers, want %d", total, bankAccounts*bankStart)
		}
	})
}

// BenchmarkManyToMany measures tokens hopping between mmNodes actors: mmTokens tokens, each
// sent mmHops times, each time to a node picked by a fixed pseudo-random route, so that
// every node receives from many senders at once. Reports ns/hop.
const (
	mmNodes  = 1000
	mmTokens = 1000
	mmHops   = 50
)

type mmNode struct{ recv int }

func mmRoute(token, hop int) int { return (token*7919 + hop*104729 + hop*hop*31) % mmNodes }

func BenchmarkManyToMany(b *testing.B) {
	benchImpls(b, func(b *testing.B, actor bool) {
		w := newBenchWorld(actor)
		nodes := make([]benchInbox[mmNode], mmNodes)
		states := make([]*mmNode, mmNodes)
		for i := range nodes {
			states[i] = &mmNode{}
			nodes[i] = benchSpawn(w, states[i])
		}
		var round sync.WaitGroup
		// hops[t][h] is token t's h-th delivery: it counts and forwards to the next node.
		hops := make([][mmHops]func(*mmNode), mmTokens)
		for t := range hops {
			for h := mmHops - 1; h >= 0; h-- {
				if h == mmHops-1 {
					hops[t][h] = func(n *mmNode) { n.recv++; round.Done() }
					continue
				}
				next, to := hops[t][h+1], mmRoute(t, h+1)
				hops[t][h] = func(n *mmNode) { n.recv++; nodes[to].send(next) }
			}
		}
		b.ReportAllocs()
		for b.Loop() {
			round.Add(mmTokens)
			for t := range hops {
				nodes[mmRoute(t, 0)].send(hops[t][0])
			}
			round.Wait()
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*mmTokens*mmHops), "ns/hop")
		w.close(b)
		total := 0
		for _, s := range states {
			total += s.recv
		}
		if total != b.N*mmTokens*mmHops {
			b.Fatalf("%d hops ran, want %d", total, b.N*mmTokens*mmHops)
		}
	})
}
