package actor

import (
	"context"
	"fmt"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The pool benchmarks run a Pool (impl=actor) beside what people write without this
// package (impl=chan): N goroutines ranging over one buffered channel for balanced work,
// or N goroutines with a channel each for routed work. Both sides run the same messages,
// made before the timer starts, on the same number of workers, and each checks at the end
// that every message ran.

const (
	benchPoolMembers = 4    // workers on each side; the CI machines have 2 cores
	benchPoolRound   = 1000 // messages per round of uneven work
	benchPoolCheap   = 300  // spin steps of a cheap message: about 1µs
	benchPoolSlowX   = 100  // a slow message costs this many cheap ones
	benchPoolSlowOne = 100  // one message in this many is slow
	// benchPoolStuck is how long the stuck message of BenchmarkPoolStuck holds its worker:
	// a slow call to something else, which holds the worker but not a core, about twice
	// the round's work spread over two cores.
	benchPoolStuck = 2 * time.Millisecond
)

// benchPoolSpin is a message's work: n dependent steps of a xorshift, about 3.3ns each,
// that the compiler cannot skip, since the result is kept.
//
//go:noinline
func benchPoolSpin(n int) uint64 {
	x := uint64(n) | 1
	for range n {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
	}
	return x
}

// benchPoolWorker is the state of a worker on either side.
type benchPoolWorker struct {
	sum uint64 // keeps the spins
	n   int    // messages run
}

// benchPoolSide is one side of a pool benchmark: benchPoolMembers workers, and a route that
// picks which of them a message goes to.
type benchPoolSide struct {
	send  func(msg func(*benchPoolWorker))
	close func() []*benchPoolWorker     // stop, after every message sent has run; the states
	own   []chan func(*benchPoolWorker) // impl=chan, routes other than balance: each goroutine's
}

// Routes: "balance" is Pool.Send, or one channel shared by every goroutine; "bounded" is
// Pool.SendContext into a shared queue bounded like the channel (WithMailboxSize), so that
// producers wait for room as they do on a full channel; "next" is Pool.Next, or the
// goroutine whose channel holds the fewest messages, counting the one it runs; "rr" is
// round-robin over Members, or over the goroutines' channels.
func newBenchPoolActor(b *testing.B, route string) *benchPoolSide {
	sup := NewSupervisor(context.Background())
	var mu sync.Mutex
	var states []*benchPoolWorker
	var opts []Option
	if route == "bounded" {
		opts = append(opts, WithMailboxSize(benchChanBuffer))
	}
	p := SpawnPool(sup, benchPoolMembers, func() (*benchPoolWorker, error) {
		w := &benchPoolWorker{}
		mu.Lock()
		states = append(states, w)
		mu.Unlock()
		return w, nil
	}, opts...)
	ms := p.Members()
	side := &benchPoolSide{close: func() []*benchPoolWorker {
		// The root's Wait, not Pool.Wait: see TestPoolDoneRacesEnd.
		sup.Stop()
		benchCheck(b, "Supervisor.Wait", sup.Wait())
		return states
	}}
	switch route {
	case "balance":
		side.send = func(msg func(*benchPoolWorker)) { benchPoolMust(p.Send(msg)) }
	case "bounded":
		ctx := context.Background()
		side.send = func(msg func(*benchPoolWorker)) { benchPoolMust(p.SendContext(ctx, msg)) }
	case "next":
		side.send = func(msg func(*benchPoolWorker)) { benchPoolMust(p.Next().Send(msg)) }
	case "rr":
		i := 0
		side.send = func(msg func(*benchPoolWorker)) {
			benchPoolMust(ms[i%len(ms)].Send(msg))
			i++
		}
	default:
		panic("unknown route " + route)
	}
	return side
}

// benchPoolMust panics on a send's error: nothing is stopped while a benchmark sends, and
// the sends run on producer goroutines, where b.Fatal may not be called (benchCheck's
// b.Helper would also cost more than the send).
func benchPoolMust(err error) {
	if err != nil {
		panic(err)
	}
}

func newBenchPoolChan(route string) *benchPoolSide {
	if route == "bounded" {
		route = "balance" // a channel is bounded
	}
	states := make([]*benchPoolWorker, benchPoolMembers)
	chans := make([]chan func(*benchPoolWorker), benchPoolMembers)
	busy := make([]atomic.Int32, benchPoolMembers) // "next" only: the message running
	var exited sync.WaitGroup
	shared := make(chan func(*benchPoolWorker), benchChanBuffer)
	for i := range states {
		states[i] = &benchPoolWorker{}
		in := shared
		if route != "balance" {
			chans[i] = make(chan func(*benchPoolWorker), benchChanBuffer)
			in = chans[i]
		}
		if route == "next" {
			exited.Go(func() {
				for f := range in {
					busy[i].Store(1)
					f(states[i])
					busy[i].Store(0)
				}
			})
			continue
		}
		exited.Go(func() {
			for f := range in {
				f(states[i])
			}
		})
	}
	side := &benchPoolSide{own: chans, close: func() []*benchPoolWorker {
		if route == "balance" {
			close(shared)
		} else {
			for _, c := range chans {
				close(c)
			}
		}
		exited.Wait()
		return states
	}}
	switch route {
	case "balance":
		side.send = func(msg func(*benchPoolWorker)) { shared <- msg }
	case "next":
		// As Pool.Next does: scan from a turn that goes round, take the least loaded,
		// stop at an idle one.
		var turn uint32
		side.send = func(msg func(*benchPoolWorker)) {
			turn++
			best, least := 0, -1
			for k := range benchPoolMembers {
				i := (int(turn) + k) % benchPoolMembers
				load := len(chans[i]) + int(busy[i].Load())
				if least < 0 || load < least {
					best, least = i, load
					if load == 0 {
						break
					}
				}
			}
			chans[best] <- msg
		}
	case "rr":
		i := 0
		side.send = func(msg func(*benchPoolWorker)) {
			chans[i%benchPoolMembers] <- msg
			i++
		}
	default:
		panic("unknown route " + route)
	}
	return side
}

func newBenchPoolSide(b *testing.B, actor bool, route string) *benchPoolSide {
	if actor {
		return newBenchPoolActor(b, route)
	}
	return newBenchPoolChan(route)
}

// benchPoolCheckRan fails b unless the workers ran want messages in all.
func benchPoolCheckRan(b *testing.B, states []*benchPoolWorker, want int) {
	b.Helper()
	got := 0
	for _, w := range states {
		got += w.n
	}
	if got != want {
		b.Fatalf("the workers ran %d messages, want %d", got, want)
	}
}

// benchPoolUneven returns a round of uneven messages: most cheap, one in benchPoolSlowOne
// benchPoolSlowX times slower; each calls round.Done.
func benchPoolUneven(round *sync.WaitGroup) []func(*benchPoolWorker) {
	msgs := make([]func(*benchPoolWorker), benchPoolRound)
	for i := range msgs {
		cost := benchPoolCheap
		if i%benchPoolSlowOne == benchPoolSlowOne/2 {
			cost *= benchPoolSlowX
		}
		msgs[i] = func(w *benchPoolWorker) {
			w.sum += benchPoolSpin(cost)
			w.n++
			round.Done()
		}
	}
	return msgs
}

// BenchmarkPoolUneven measures balanced uneven work: rounds of benchPoolRound messages, one
// in 100 a hundred times slower than the rest (about 1µs and 100µs), sent through Pool.Send
// or into the channel that N goroutines range over; a round ends when every message has
// run. Reports ns/msg.
func BenchmarkPoolUneven(b *testing.B) {
	benchImpls(b, func(b *testing.B, actor bool) {
		side := newBenchPoolSide(b, actor, "balance")
		var round sync.WaitGroup
		msgs := benchPoolUneven(&round)
		b.ReportAllocs()
		for b.Loop() {
			round.Add(len(msgs))
			for _, m := range msgs {
				side.send(m)
			}
			round.Wait()
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchPoolRound), "ns/msg")
		benchPoolCheckRan(b, side.close(), b.N*benchPoolRound)
	})
}

// BenchmarkPoolStuck measures how a route copes with a worker stuck on a slow message: each
// round first sends a message that holds its worker for benchPoolStuck (waiting, not
// computing), then the uneven round of BenchmarkPoolUneven, through the route; the time is
// until every message but the stuck one has run (the stuck one is then waited for, off the
// clock). Balancing runs the round on the other workers; Next and round-robin leave some of
// it behind the stuck message. Reports ns/msg.
func BenchmarkPoolStuck(b *testing.B) {
	for _, route := range []string{"balance", "next", "rr"} {
		b.Run("route="+route, func(b *testing.B) {
			benchImpls(b, func(b *testing.B, actor bool) {
				side := newBenchPoolSide(b, actor, route)
				var round, stuck sync.WaitGroup
				msgs := benchPoolUneven(&round)
				stuckMsg := func(w *benchPoolWorker) {
					time.Sleep(benchPoolStuck)
					w.n++
					stuck.Done()
				}
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					stuck.Add(1)
					round.Add(len(msgs))
					side.send(stuckMsg)
					for _, m := range msgs {
						side.send(m)
					}
					round.Wait()
					b.StopTimer()
					stuck.Wait()
					b.StartTimer()
				}
				b.StopTimer()
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchPoolRound), "ns/msg")
				benchPoolCheckRan(b, side.close(), b.N*(benchPoolRound+1))
			})
		})
	}
}

// BenchmarkPoolEven measures balanced even work from several producers: b.N messages in
// all, split among benchPoolProducers goroutines, through Pool.Send or into the shared
// channel, timed until every one has run (the pool or the goroutines stopped and joined).
// work=0 is an empty message, which measures the queue alone; work=1us is a cheap message
// of BenchmarkPoolUneven. queue=unbounded is Pool.Send, whose producers never wait, so the
// shared queue grows as far as they outrun the members; queue=1024 is Pool.SendContext on
// a pool made WithMailboxSize(1024), whose producers wait for room as on the channel.
const benchPoolProducers = 4

func BenchmarkPoolEven(b *testing.B) {
	for _, work := range []struct {
		name string
		cost int
	}{{"0", 0}, {"1us", benchPoolCheap}} {
		for _, queue := range []string{"unbounded", "1024"} {
			route := "balance"
			if queue != "unbounded" {
				route = "bounded"
			}
			b.Run("work="+work.name+"/queue="+queue, func(b *testing.B) {
				benchImpls(b, func(b *testing.B, actor bool) {
					side := newBenchPoolSide(b, actor, route)
					msg := func(w *benchPoolWorker) { w.sum += benchPoolSpin(work.cost); w.n++ }
					b.ReportAllocs()
					b.ResetTimer()
					var wg sync.WaitGroup
					for g := range benchPoolProducers {
						n := b.N / benchPoolProducers
						if g < b.N%benchPoolProducers {
							n++
						}
						wg.Go(func() {
							for range n {
								side.send(msg)
							}
						})
					}
					wg.Wait()
					states := side.close()
					b.StopTimer()
					benchPoolCheckRan(b, states, b.N)
				})
			})
		}
	}
}

// BenchmarkPoolByKey measures routing by key: op=send is one message per key, b.N in all
// from one goroutine over benchPoolKeys keys, through ByKey(key).Send, or through a maphash
// of the key to one of N goroutines' channels, timed until every one has run; op=route is
// the choice of the worker alone (ByKey, or the hash and modulo).
const benchPoolKeys = 1024

func BenchmarkPoolByKey(b *testing.B) {
	keys := make([]string, benchPoolKeys)
	for i := range keys {
		keys[i] = fmt.Sprint("user-", i)
	}
	incr := func(w *benchPoolWorker) { w.n++ }
	b.Run("op=send", func(b *testing.B) {
		benchImpls(b, func(b *testing.B, actor bool) {
			var send func(key string)
			var close func() []*benchPoolWorker
			if actor {
				sup := NewSupervisor(context.Background())
				var mu sync.Mutex
				var states []*benchPoolWorker
				p := SpawnPool(sup, benchPoolMembers, func() (*benchPoolWorker, error) {
					w := &benchPoolWorker{}
					mu.Lock()
					states = append(states, w)
					mu.Unlock()
					return w, nil
				})
				send = func(key string) { benchPoolMust(p.ByKey(key).Send(incr)) }
				close = func() []*benchPoolWorker {
					sup.Stop()
					benchCheck(b, "Supervisor.Wait", sup.Wait())
					return states
				}
			} else {
				seed := maphash.MakeSeed()
				side := newBenchPoolChan("rr") // a channel per goroutine
				chans := side.own
				send = func(key string) { chans[maphash.String(seed, key)%uint64(len(chans))] <- incr }
				close = side.close
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				send(keys[i%len(keys)])
			}
			states := close()
			b.StopTimer()
			benchPoolCheckRan(b, states, b.N)
		})
	})
	b.Run("op=route", func(b *testing.B) {
		benchImpls(b, func(b *testing.B, actor bool) {
			var hits [benchPoolMembers]int
			b.ReportAllocs()
			i := 0
			if actor {
				sup := NewSupervisor(context.Background())
				p := SpawnPool(sup, benchPoolMembers, func() (*benchPoolWorker, error) { return &benchPoolWorker{}, nil })
				ms := p.Members()
				for b.Loop() {
					if p.ByKey(keys[i%len(keys)]) == ms[0] {
						hits[0]++
					}
					i++
				}
				sup.Stop()
				benchCheck(b, "Supervisor.Wait", sup.Wait())
				return
			}
			seed := maphash.MakeSeed()
			n := uint64(len(hits)) // a variable, as the number of members is: no mask
			for b.Loop() {
				hits[maphash.String(seed, keys[i%len(keys)])%n]++
				i++
			}
		})
	})
}
