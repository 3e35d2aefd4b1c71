package actor

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// Tests for the interaction patterns: After and Every (timer.go), Request (request.go),
// Watch (watch.go) and StopNow (ref.go). Everything that depends on time runs inside
// synctest, so no test sleeps for real.

// hookCount is how many timers and watches r holds.
func hookCount[T any](r *Ref[T]) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for h := r.hooks; h != nil; h = h.next {
		n++
	}
	return n
}

// timersOf returns r's armed timers.
func timersOf[T any](r *Ref[T]) []*timer[T] {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ts []*timer[T]
	for h := r.hooks; h != nil; h = h.next {
		if tm, ok := h.owner.(*timer[T]); ok {
			ts = append(ts, tm)
		}
	}
	return ts
}

// queued is how many messages wait in r's queue (not counting a batch already taken).
func queued[T any](r *Ref[T]) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return int(r.q.n)
}

// stamps is the state of an actor that records when its messages ran.
type stamps struct {
	Base[stamps]
	start time.Time
	at    []time.Duration // when each message ran, since start
}

func (s *stamps) stamp() { s.at = append(s.at, time.Since(s.start)) }

func (s *stamps) times() []time.Duration { return slices.Clone(s.at) }

func spawnStamps(s *Supervisor, opts ...Option) *Ref[stamps] {
	return Spawn(s, &stamps{start: time.Now()}, opts...)
}

func stampsOf(t *testing.T, r *Ref[stamps]) []time.Duration {
	t.Helper()
	return get(t, r, (*stamps).times)
}

func secs(ss ...float64) []time.Duration {
	d := make([]time.Duration, len(ss))
	for i, s := range ss {
		d[i] = time.Duration(math.Round(s * float64(time.Second)))
	}
	return d
}

// inBubble runs f in a synctest bubble with a supervisor that is stopped and joined at the
// end, inside the bubble.
func inBubble(t *testing.T, f func(t *testing.T, s *Supervisor)) {
	t.Helper()
	synctest.Test(t, func(t *testing.T) {
		s := NewSupervisor(context.Background())
		f(t, s)
		s.Stop()
		_ = s.Wait()
	})
}

func TestAfterFiresOnceAtD(t *testing.T) {
	inBubble(t, func(t *testing.T, s *Supervisor) {
		r := spawnStamps(s)
		cancel := r.After(time.Second, (*stamps).stamp)
		time.Sleep(time.Second - time.Nanosecond)
		synctest.Wait()
		if got := stampsOf(t, r); len(got) != 0 {
			t.Fatalf("After(1s) ran at %v, before 1s", got)
		}
		time.Sleep(time.Hour)
		synctest.Wait()
		if got := stampsOf(t, r); !slices.Equal(got, secs(1)) {
			t.Fatalf("After(1s) ran at %v, want once at 1s", got)
		}
		if cancel() {
			t.Error("cancel after msg ran = true, want false")
		}
		if n := hookCount(r); n != 0 {
			t.Errorf("a fired After left %d hooks", n)
		}
	})
}

func TestAfterZeroFiresAtOnce(t *testing.T) {
	inBubble(t, func(t *testing.T, s *Supervisor) {
		r := spawnStamps(s)
		r.After(0, (*stamps).stamp)
		r.After(-time.Second, (*stamps).stamp)
		synctest.Wait()
		if got := stampsOf(t, r); !slices.Equal(got, secs(0, 0)) {
			t.Fatalf("After(0) and After(-1s) ran at %v, want both at 0", got)
		}
	})
}

func TestAfterCancel(t *testing.T) {
	t.Run("before it fires", func(t *testing.T) {
		inBubble(t, func(t *testing.T, s *Supervisor) {
			r := spawnStamps(s)
			cancel := r.After(time.Second, (*stamps).stamp)
			time.Sleep(time.Second / 2)
			if !cancel() {
				t.Fatal("cancel before the timer fired = false, want true")
			}
			if cancel() {
				t.Error("second cancel = true, want false")
			}
			if n := hookCount(r); n != 0 {
				t.Errorf("a cancelled After left %d hooks", n)
			}
			time.Sleep(time.Hour)
			synctest.Wait()
			if got := stampsOf(t, r); len(got) != 0 {
				t.Fatalf("cancelled After ran at %v", got)
			}
		})
	})
	t.Run("after it fired, while queued", func(t *testing.T) {
		inBubble(t, func(t *testing.T, s *Supervisor) {
			r := spawnStamps(s)
			release := block(t, r)
			cancel := r.After(time.Second, (*stamps).stamp)
			time.Sleep(2 * time.Second)
			synctest.Wait()
			if n := queued(r); n != 1 {
				t.Fatalf("%d messages queued after the timer fired, want its tick", n)
			}
			if !cancel() {
				t.Fatal("cancel of a queued tick = false, want true")
			}
			release()
			if got := stampsOf(t, r); len(got) != 0 {
				t.Fatalf("After cancelled while queued ran at %v", got)
			}
		})
	})
	t.Run("from inside a message", func(t *testing.T) {
		inBubble(t, func(t *testing.T, s *Supervisor) {
			r := spawnStamps(s)
			got := get(t, r, func(st *stamps) bool {
				cancel := st.Self().After(time.Second, (*stamps).stamp)
				return cancel()
			})
			if !got {
				t.Fatal("cancel inside a message = false, want true")
			}
			time.Sleep(time.Hour)
			if got := stampsOf(t, r); len(got) != 0 {
				t.Fatalf("cancelled After ran at %v", got)
			}
		})
	})
}

func TestAfterIgnoresBound(t *testing.T) {
	inBubble(t, func(t *testing.T, s *Supervisor) {
		r := spawnStamps(s, WithMailboxSize(1))
		release := block(t, r)
		if err := r.Send(func(*stamps) {}); err != nil {
			t.Fatalf("Send = %v", err)
		}
		r.After(time.Second, (*stamps).stamp)
		time.Sleep(time.Second)
		synctest.Wait()
		if n := queued(r); n != 2 {
			t.Fatalf("%d messages queued, want 2: the tick is not subject to the bound", n)
		}
		release()
		if got := stampsOf(t, r); !slices.Equal(got, secs(1)) {
			t.Fatalf("tick ran at %v, want 1s", got)
		}
	})
}

func TestTimersOnStoppingActorDoNothing(t *testing.T) {
	inBubble(t, func(t *testing.T, s *Supervisor) {
		r := spawnStamps(s)
		r.Stop()
		if r.After(0, (*stamps).stamp)() {
			t.Error("After on a stopped actor: cancel = true, want false")
		}
		if r.Every(time.Second, (*stamps).stamp)() {
			t.Error("Every on a stopped actor: cancel = true, want false")
		}
		if err := r.Wait(); err != nil {
			t.Fatalf("Wait = %v", err)
		}
		time.Sleep(time.Hour)
		if len(r.state.at) != 0 {
			t.Fatalf("timers of a stopped actor ran at %v", r.state.at)
		}
	})
}

func TestEveryTicksAtMultiples(t *testing.T) {
	inBubble(t, func(t *testing.T, s *Supervisor) {
		r := spawnStamps(s)
		cancel := r.Every(time.Second, (*stamps).stamp)
		time.Sleep(5*time.Second + time.Second/2)
		synctest.Wait()
		if got := stampsOf(t, r); !slices.Equal(got, secs(1, 2, 3, 4, 5)) {
			t.Fatalf("Every(1s) ran at %v, want 1s..5s", got)
		}
		if !cancel() {
			t.Fatal("cancel of a running Every = false, want true")
		}
		if cancel() {
			t.Error("second cancel = true, want false")
		}
		if n := hookCount(r); n != 0 {
			t.Errorf("a cancelled Every left %d hooks", n)
		}
		time.Sleep(time.Hour)
		if got := stampsOf(t, r); len(got) != 5 {
			t.Fatalf("Every ran %d times after cancel, want 5 in all", len(got))
		}
	})
}

func TestEveryCoalesces(t *testing.T) {
	t.Run("actor busy", func(t *testing.T) {
		inBubble(t, func(t *testing.T, s *Supervisor) {
			r := spawnStamps(s)
			r.Every(time.Second, (*stamps).stamp)
			// Busy for 10.5s: ten ticks fire meanwhile, and one waits.
			r.Send(func(*stamps) { time.Sleep(10*time.Second + time.Second/2) })
			for range 10 {
				time.Sleep(time.Second)
				synctest.Wait()
				if n := queued(r); n > 1 {
					t.Fatalf("%d ticks queued at %v, want at most 1", n, time.Since(r.state.start))
				}
			}
			time.Sleep(2 * time.Second)
			synctest.Wait()
			if got := stampsOf(t, r); !slices.Equal(got, secs(10.5, 11, 12)) {
				t.Fatalf("ticks ran at %v, want one coalesced at 10.5s, then 11s, 12s", got)
			}
		})
	})
	t.Run("msg slower than d", func(t *testing.T) {
		inBubble(t, func(t *testing.T, s *Supervisor) {
			r := spawnStamps(s)
			// Each tick takes 2.6s: the ticks due meanwhile coalesce into one, which
			// starts as soon as the previous one returns.
			r.Every(time.Second, func(st *stamps) {
				st.stamp()
				time.Sleep(2600 * time.Millisecond)
			})
			time.Sleep(10 * time.Second)
			synctest.Wait()
			if n := queued(r); n > 1 {
				t.Fatalf("%d ticks queued, want at most 1", n)
			}
			// The Ask runs after the tick that is running and the one waiting.
			got := get(t, r, (*stamps).times)
			if want := secs(1, 3.6, 6.2, 8.8, 11.4); !slices.Equal(got, want) {
				t.Fatalf("ticks started at %v, want %v", got, want)
			}
		})
	})
}

func TestEveryCancel(t *testing.T) {
	t.Run("from inside its msg", func(t *testing.T) {
		inBubble(t, func(t *testing.T, s *Supervisor) {
			r := spawnStamps(s)
			var cancel func() bool
			var cancelled []bool // owned by the actor
			get(t, r, func(st *stamps) int {
				cancel = st.Self().Every(time.Second, func(st *stamps) {
					st.stamp()
					if len(st.at) == 3 {
						cancelled = append(cancelled, cancel(), cancel())
					}
				})
				return 0
			})
			time.Sleep(time.Hour)
			synctest.Wait()
			if got := stampsOf(t, r); !slices.Equal(got, secs(1, 2, 3)) {
				t.Fatalf("Every ran at %v, want 1s, 2s, 3s", got)
			}
			if !slices.Equal(cancelled, []bool{true, false}) {
				t.Fatalf("cancel, cancel inside the third tick = %v, want true, false", cancelled)
			}
		})
	})
	t.Run("skips a queued tick", func(t *testing.T) {
		inBubble(t, func(t *testing.T, s *Supervisor) {
			r := spawnStamps(s)
			release := block(t, r)
			cancel := r.Every(time.Second, (*stamps).stamp)
			time.Sleep(3 * time.Second)
			synctest.Wait()
			if !cancel() {
				t.Fatal("cancel = false, want true")
			}
			release()
			time.Sleep(time.Hour)
			if got := stampsOf(t, r); len(got) != 0 {
				t.Fatalf("ticks ran at %v after cancel", got)
			}
		})
	})
}

func TestEverySurvivesRestart(t *testing.T) {
	inBubble(t, func(t *testing.T, s *Supervisor) {
		r := spawnStamps(s, WithRestart(10, time.Hour))
		r.Every(time.Second, func(st *stamps) {
			st.stamp()
			if len(st.at) == 2 {
				panic("second tick")
			}
		})
		time.Sleep(4*time.Second + time.Second/2)
		synctest.Wait()
		if got := stampsOf(t, r); !slices.Equal(got, secs(1, 2, 3, 4)) {
			t.Fatalf("ticks ran at %v, want 1s..4s across the restart", got)
		}
	})
}

func TestTimerBadInputPanics(t *testing.T) {
	s := newSup(t)
	r := Spawn(s, &counter{})
	var nilRef *Ref[counter]
	for want, f := range map[string]func(){
		"actor: After: nil message":              func() { r.After(time.Second, nil) },
		"actor: Every: nil message":              func() { r.Every(time.Second, nil) },
		"actor: Every: non-positive interval":    func() { r.Every(0, func(*counter) {}) },
		"actor: After on a nil or zero Ref":      func() { nilRef.After(time.Second, func(*counter) {}) },
		"actor: Every on a nil or zero Ref":      func() { nilRef.Every(time.Second, func(*counter) {}) },
		"actor: StopNow on a nil or zero Ref":    func() { nilRef.StopNow() },
		"actor: Watch on a nil or zero Ref":      func() { Watch(r, nilRef, func(*counter, error) {}) },
		"actor: Watch: nil onEnd":                func() { Watch[counter, counter](r, r, nil) },
		"actor: Request on a nil or zero Ref":    func() { Request(context.Background(), nilRef, zeroFn, r, ignoreReply) },
		"actor: Request on a nil or zero Ref (R": func() { Request(context.Background(), r, zeroFn, nilRef, ignoreReply) },
		"actor: Request: nil Context": func() {
			//lint:ignore SA1012 the test checks the panic for a nil Context
			Request(nil, r, zeroFn, r, ignoreReply)
		},
	} {
		mustPanic(t, want, f)
	}
}

func zeroFn(*counter) (int, error)     { return 0, nil }
func ignoreReply(*counter, int, error) {}

func TestTimersEndWithActor(t *testing.T) {
	for _, how := range []string{"Stop", "failure", "StopNow"} {
		t.Run(how, func(t *testing.T) {
			inBubble(t, func(t *testing.T, s *Supervisor) {
				r := spawnStamps(s)
				in, rel := make(chan struct{}), make(chan struct{})
				r.Send(func(*stamps) {
					close(in)
					<-rel
					if how == "failure" {
						panic("boom")
					}
				})
				<-in
				// One tick fires and waits behind the blocker; the rest stay armed.
				queuedCancel := r.After(time.Second, (*stamps).stamp)
				time.Sleep(time.Second)
				synctest.Wait()
				r.After(time.Hour, (*stamps).stamp)
				r.After(2*time.Hour, (*stamps).stamp)
				everyCancel := r.Every(time.Minute, (*stamps).stamp)
				armed := timersOf(r)
				if len(armed) != 3 {
					close(rel)
					t.Fatalf("%d armed timers, want 3", len(armed))
				}
				switch how {
				case "Stop":
					r.Stop()
				case "StopNow":
					// The queued tick is a message like any other: counted, dropped.
					if n := r.StopNow(); n != 1 {
						t.Errorf("StopNow dropped %d, want the one queued tick", n)
					}
				}
				close(rel)
				err := r.Wait()
				// Wait returned: every timer is stopped already, and forgotten.
				for i, tm := range armed {
					if tm.t.Stop() {
						t.Errorf("timer %d still armed after Wait", i)
					}
				}
				if n := hookCount(r); n != 0 {
					t.Errorf("%d hooks left after Wait", n)
				}
				if everyCancel() {
					t.Error("cancel of Every after the actor ended = true, want false")
				}
				want := []time.Duration(nil)
				if how == "Stop" {
					// A graceful stop runs what was queued before it, the tick included.
					want = secs(1)
					if queuedCancel() {
						t.Error("cancel of an After that ran = true, want false")
					}
				} else if queuedCancel() {
					t.Error("cancel of an After whose tick was dropped = true, want false")
				}
				time.Sleep(3 * time.Hour)
				synctest.Wait()
				if !slices.Equal(r.state.at, want) {
					t.Fatalf("ran at %v, want %v", r.state.at, want)
				}
				if (how == "failure") != (err != nil) {
					t.Fatalf("Wait = %v", err)
				}
			})
		})
	}
}

func TestTimerLateFireIsNoop(t *testing.T) {
	inBubble(t, func(t *testing.T, s *Supervisor) {
		r := spawnStamps(s)
		r.After(time.Hour, (*stamps).stamp)
		r.Every(time.Hour, (*stamps).stamp)
		armed := timersOf(r)
		r.Stop()
		r.Wait()
		// A callback that was already on its way when the actor ended.
		for _, tm := range armed {
			tm.fire()
			if tm.t.Stop() {
				t.Error("a late fire re-armed the timer")
			}
		}
		synctest.Wait()
		if len(r.state.at) != 0 {
			t.Fatalf("late fires ran at %v", r.state.at)
		}
	})
}

func TestAfterCancelRacesFire(t *testing.T) {
	// cancel() == true means msg never runs; false means it ran (nothing drops it here).
	inBubble(t, func(t *testing.T, s *Supervisor) {
		r := Spawn(s, &counter{})
		const n = 500
		ran := make([]bool, n) // owned by the actor
		cancelled := make([]bool, n)
		var wg sync.WaitGroup
		for i := range n {
			cancel := r.After(0, func(*counter) { ran[i] = true })
			wg.Go(func() { cancelled[i] = cancel() })
		}
		wg.Wait()
		synctest.Wait()
		get(t, r, func(*counter) int { return 0 })
		both, neither := 0, 0
		for i := range n {
			if ran[i] == cancelled[i] {
				if ran[i] {
					both++
				} else {
					neither++
				}
			}
		}
		if both+neither > 0 {
			t.Fatalf("%d timers ran though cancel returned true, %d neither ran nor were cancelled", both, neither)
		}
	})
}

// Request.

// node is an actor that serves requests and records the replies it gets.
type node struct {
	Base[node]
	name    string
	served  int
	replies []string
}

func (n *node) record(tag string) func(*node, string, error) {
	return func(n *node, v string, err error) {
		n.replies = append(n.replies, fmt.Sprintf("%s:%s:%v", tag, v, err))
	}
}

func repliesOf(t *testing.T, r *Ref[node]) []string {
	t.Helper()
	return get(t, r, func(n *node) []string { return slices.Clone(n.replies) })
}

func TestRequestChainDoesNotBlock(t *testing.T) {
	s := newSup(t)
	a, b, c := Spawn(s, &node{name: "a"}), Spawn(s, &node{name: "b"}), Spawn(s, &node{name: "c"})
	releaseC := block(t, c)
	ctx := context.Background()
	// a asks b from inside a message; b, inside that request, asks c; nobody waits.
	err := a.Send(func(an *node) {
		err := Request(ctx, b, func(bn *node) (string, error) {
			bn.served++
			err := Request(ctx, c, func(cn *node) (string, error) {
				cn.served++
				return "from c", nil
			}, bn.Self(), bn.record("b<-c"))
			return "from b", err
		}, an.Self(), an.record("a<-b"))
		if err != nil {
			t.Errorf("Request a->b = %v", err)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	// c is stuck, yet a and b answer: neither holds its mailbox for a reply.
	// Each Ask runs after the message or request queued before it: a has sent its
	// request, then b has run it and replied.
	get(t, a, func(*node) int { return 0 })
	get(t, b, func(*node) int { return 0 })
	if got := repliesOf(t, a); !slices.Equal(got, []string{"a<-b:from b:<nil>"}) {
		t.Fatalf("a's replies while c is blocked = %q", got)
	}
	if got := repliesOf(t, b); len(got) != 0 {
		t.Fatalf("b's replies while c is blocked = %q, want none yet", got)
	}
	releaseC()
	get(t, c, func(*node) int { return 0 }) // c has run b's request, and queued the reply
	if got := repliesOf(t, b); !slices.Equal(got, []string{"b<-c:from c:<nil>"}) {
		t.Fatalf("b's replies = %q", got)
	}
	if got := repliesOf(t, a); len(got) != 1 {
		t.Fatalf("a got %d replies, want exactly 1", len(got))
	}
	if served := get(t, b, func(n *node) int { return n.served }) + get(t, c, func(n *node) int { return n.served }); served != 2 {
		t.Fatalf("b and c served %d requests, want 2", served)
	}
}

func TestRequestToSelf(t *testing.T) {
	s := newSup(t)
	a := Spawn(s, &node{})
	got := get(t, a, func(n *node) error {
		return Request(context.Background(), n.Self(), func(n *node) (string, error) {
			n.served++
			return "self", nil
		}, n.Self(), n.record("me"))
	})
	if got != nil {
		t.Fatalf("Request to self = %v", got)
	}
	// The request runs after the message that made it, and the reply after the request:
	// this Ask comes before the reply, the next one after it.
	get(t, a, func(*node) int { return 0 })
	if got := repliesOf(t, a); !slices.Equal(got, []string{"me:self:<nil>"}) {
		t.Fatalf("replies = %q", got)
	}
}

// watchedCtx is a cancellable Context that counts the callbacks registered with
// context.AfterFunc and not yet released, to prove that Request releases its own.
type watchedCtx struct {
	context.Context
	live atomic.Int32
}

// Value hides the cancelCtx inside, which context.AfterFunc would otherwise use directly.
func (c *watchedCtx) Value(any) any { return nil }

func (c *watchedCtx) AfterFunc(f func()) func() bool {
	c.live.Add(1)
	stop := context.AfterFunc(c.Context, func() { c.live.Add(-1); f() })
	return func() bool {
		ok := stop()
		if ok {
			c.live.Add(-1)
		}
		return ok
	}
}

func TestRequestContext(t *testing.T) {
	t.Run("ends while queued", func(t *testing.T) {
		inBubble(t, func(t *testing.T, s *Supervisor) {
			a, b := Spawn(s, &node{}), Spawn(s, &node{})
			release := block(t, b)
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			err := Request(ctx, b, func(n *node) (string, error) { n.served++; return "late", nil }, a, a.state.record("r"))
			if err != nil {
				t.Fatalf("Request = %v", err)
			}
			time.Sleep(time.Second)
			synctest.Wait()
			if got := repliesOf(t, a); !slices.Equal(got, []string{"r::" + context.DeadlineExceeded.Error()}) {
				t.Fatalf("replies at the deadline = %q, want ctx's error", got)
			}
			release()
			if served := get(t, b, func(n *node) int { return n.served }); served != 0 {
				t.Fatal("fn started after ctx's error was the reply")
			}
			synctest.Wait()
			if got := repliesOf(t, a); len(got) != 1 {
				t.Fatalf("%d replies, want exactly 1", len(got))
			}
		})
	})
	t.Run("ends while fn runs", func(t *testing.T) {
		inBubble(t, func(t *testing.T, s *Supervisor) {
			a, b := Spawn(s, &node{}), Spawn(s, &node{})
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			Request(ctx, b, func(*node) (string, error) {
				time.Sleep(2 * time.Second)
				return "slow", nil
			}, a, a.state.record("r"))
			time.Sleep(time.Second)
			synctest.Wait()
			// The reply comes at ctx's end, not after fn.
			if got := repliesOf(t, a); !slices.Equal(got, []string{"r::" + context.DeadlineExceeded.Error()}) {
				t.Fatalf("replies at the deadline = %q, want ctx's error", got)
			}
			time.Sleep(time.Hour)
			synctest.Wait()
			if got := repliesOf(t, a); len(got) != 1 {
				t.Fatalf("replies after fn returned = %q, want only ctx's error", got)
			}
		})
	})
	t.Run("already done", func(t *testing.T) {
		s := newSup(t)
		a, b := Spawn(s, &node{}), Spawn(s, &node{})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		err := Request(ctx, b, func(n *node) (string, error) { n.served++; return "", nil }, a, a.state.record("r"))
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Request with a done ctx = %v, want context.Canceled", err)
		}
		if get(t, b, func(n *node) int { return n.served }) != 0 || len(repliesOf(t, a)) != 0 {
			t.Fatal("a Request that returned an error ran fn or replied")
		}
	})
	t.Run("releases ctx on completion", func(t *testing.T) {
		inBubble(t, func(t *testing.T, s *Supervisor) {
			a, b := Spawn(s, &node{}), Spawn(s, &node{})
			base, cancel := context.WithCancel(context.Background())
			ctx := &watchedCtx{Context: base}
			for range 100 {
				Request(ctx, b, func(*node) (string, error) { return "ok", nil }, a, a.state.record("r"))
			}
			synctest.Wait()
			if got := repliesOf(t, a); len(got) != 100 {
				t.Fatalf("%d replies, want 100", len(got))
			}
			if n := ctx.live.Load(); n != 0 {
				t.Fatalf("%d AfterFunc callbacks still registered after every request completed", n)
			}
			cancel()
			synctest.Wait()
			if got := repliesOf(t, a); len(got) != 100 {
				t.Fatalf("%d replies after ctx ended, want still 100", len(got))
			}
		})
	})
}

func TestRequestTargetStopsOrFails(t *testing.T) {
	ctx := context.Background()
	t.Run("stopped before", func(t *testing.T) {
		s := newSup(t)
		a, b := Spawn(s, &node{}), Spawn(s, &node{})
		b.Stop()
		if err := Request(ctx, b, func(*node) (string, error) { return "", nil }, a, a.state.record("r")); !errors.Is(err, ErrStopped) {
			t.Fatalf("Request to a stopped actor = %v, want ErrStopped", err)
		}
		b.Wait()
		if got := repliesOf(t, a); len(got) != 0 {
			t.Fatalf("replies = %q, want none after an error", got)
		}
	})
	t.Run("fails before running it", func(t *testing.T) {
		s := NewSupervisor(ctx)
		a, b := Spawn(s, &node{}), Spawn(s, &node{})
		release := block(t, b)
		b.Send(func(*node) { panic("boom") })
		Request(ctx, b, func(*node) (string, error) { return "never", nil }, a, a.state.record("r"))
		release()
		s.Wait() // the failure stops a too, after a graceful drain that runs the reply
		if got := a.state.replies; !slices.Equal(got, []string{"r::" + ErrStopped.Error()}) {
			t.Fatalf("replies = %q, want ErrStopped", got)
		}
	})
	t.Run("fn panics", func(t *testing.T) {
		s := NewSupervisor(ctx)
		a, b := Spawn(s, &node{}), Spawn(s, &node{}, WithRestart(1, time.Hour))
		errc := make(chan error, 2)
		onReply := func(_ *node, _ string, err error) { errc <- err }
		Request(ctx, b, func(*node) (string, error) { panic("in fn") }, a, onReply)
		var pe *PanicError
		if err := <-errc; !errors.As(err, &pe) || pe.Value != "in fn" {
			t.Fatalf("reply = %v, want the *PanicError", err)
		}
		Request(ctx, b, func(*node) (string, error) { runtime.Goexit(); return "", nil }, a, onReply)
		if err := <-errc; !errors.Is(err, ErrGoexit) {
			t.Fatalf("reply = %v, want ErrGoexit", err)
		}
		// Goexit fails b even with restarts, which stops a, after a graceful drain.
		s.Wait()
		if len(errc) != 0 {
			t.Fatal("more than one reply per request")
		}
	})
	t.Run("mailbox full", func(t *testing.T) {
		s := newSup(t)
		a, b := Spawn(s, &node{}), Spawn(s, &node{}, WithMailboxSize(1))
		release := block(t, b)
		b.Send(func(*node) {})
		base, cancel := context.WithCancel(ctx)
		defer cancel()
		wctx := &watchedCtx{Context: base}
		err := Request(wctx, b, func(n *node) (string, error) { n.served++; return "", nil }, a, a.state.record("r"))
		if !errors.Is(err, ErrMailboxFull) {
			t.Fatalf("Request into a full mailbox = %v, want ErrMailboxFull", err)
		}
		if n := wctx.live.Load(); n != 0 {
			t.Fatalf("a refused Request left %d AfterFunc callbacks", n)
		}
		release()
		if get(t, b, func(n *node) int { return n.served }) != 0 || len(repliesOf(t, a)) != 0 {
			t.Fatal("a refused Request ran fn or replied")
		}
	})
}

func TestRequestReplyTo(t *testing.T) {
	ctx := context.Background()
	t.Run("stopped: reply dropped", func(t *testing.T) {
		s := newSup(t)
		a, b := Spawn(s, &node{}), Spawn(s, &node{})
		a.Stop()
		a.Wait()
		err := Request(ctx, b, func(n *node) (string, error) { n.served++; return "", nil }, a, a.state.record("r"))
		if err != nil {
			t.Fatalf("Request with a stopped replyTo = %v, want nil (fn still runs)", err)
		}
		if served := get(t, b, func(n *node) int { return n.served }); served != 1 {
			t.Fatalf("fn ran %d times, want 1", served)
		}
		if len(a.state.replies) != 0 {
			t.Fatal("a stopped actor got a reply")
		}
	})
	t.Run("bound does not apply", func(t *testing.T) {
		s := newSup(t)
		a, b := Spawn(s, &node{}, WithMailboxSize(1)), Spawn(s, &node{})
		release := block(t, a)
		a.Send(func(*node) {})
		Request(ctx, b, func(*node) (string, error) { return "ok", nil }, a, a.state.record("r"))
		get(t, b, func(*node) int { return 0 })
		if n := queued(a); n != 2 {
			t.Fatalf("%d messages queued in replyTo, want 2: the reply ignores the bound", n)
		}
		release()
		if got := repliesOf(t, a); !slices.Equal(got, []string{"r:ok:<nil>"}) {
			t.Fatalf("replies = %q", got)
		}
	})
}

func TestRequestNil(t *testing.T) {
	s := newSup(t)
	a := Spawn(s, &node{})
	ctx := context.Background()
	if err := Request[node, string](ctx, a, nil, a, a.state.record("r")); !errors.Is(err, ErrNilMessage) {
		t.Errorf("Request(nil fn) = %v, want ErrNilMessage", err)
	}
	if err := Request[node, string, node](ctx, a, func(*node) (string, error) { return "", nil }, a, nil); !errors.Is(err, ErrNilMessage) {
		t.Errorf("Request(nil onReply) = %v, want ErrNilMessage", err)
	}
}

func TestRequestStartsNoGoroutine(t *testing.T) {
	inBubble(t, func(t *testing.T, s *Supervisor) {
		a, b := Spawn(s, &node{}), Spawn(s, &node{})
		release := block(t, b)
		ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
		defer cancel()
		for range 50 {
			if err := Request(ctx, b, func(*node) (string, error) { return "", nil }, a, a.state.record("r")); err != nil {
				t.Fatal(err)
			}
		}
		synctest.Wait()
		if got := goroutines("context.AfterFunc") + goroutines("actor.(*reqCall["); got != 0 {
			t.Errorf("50 pending Requests hold %d goroutines, want 0", got)
		}
		release()
		synctest.Wait()
		if got := repliesOf(t, a); len(got) != 50 {
			t.Fatalf("%d replies, want 50", len(got))
		}
	})
}

func TestRequestExactlyOnceUnderRace(t *testing.T) {
	// ctx ends at every point of a request's life, from before it is queued to after it
	// has replied, racing with the actor: every Request that returned nil gets exactly one
	// reply, and one that returned an error gets none.
	inBubble(t, func(t *testing.T, s *Supervisor) {
		a, b := Spawn(s, &node{}), Spawn(s, &node{})
		const n = 400
		replies := make([]int, n) // owned by a
		var wg sync.WaitGroup
		made := make([]bool, n)
		for i := range n {
			ctx, cancel := context.WithCancel(context.Background())
			fn := func(*node) (string, error) { return "ok", nil }
			onReply := func(*node, string, error) { replies[i]++ }
			wg.Go(func() { made[i] = Request(ctx, b, fn, a, onReply) == nil })
			wg.Go(cancel)
		}
		wg.Wait()
		synctest.Wait()
		get(t, b, func(*node) int { return 0 })
		synctest.Wait()
		get(t, a, func(*node) int { return 0 })
		for i := range n {
			want := 0
			if made[i] {
				want = 1
			}
			if replies[i] != want {
				t.Fatalf("request %d (made: %v) got %d replies, want %d", i, made[i], replies[i], want)
			}
		}
	})
}

// Watch.

// watcher records the notices it gets.
type watcher struct {
	Base[watcher]
	notices []error
}

func record(w *watcher, err error) { w.notices = append(w.notices, err) }

func noticesOf(t *testing.T, r *Ref[watcher]) []error {
	t.Helper()
	return get(t, r, func(w *watcher) []error { return slices.Clone(w.notices) })
}

func TestWatch(t *testing.T) {
	t.Run("graceful stop", func(t *testing.T) {
		s := newSup(t)
		w, target := Spawn(s, &watcher{}), Spawn(s, &hooked{})
		Watch(w, target, func(w *watcher, err error) {
			select {
			case <-target.Done():
			case <-time.After(time.Minute):
				t.Error("target's Done did not close soon after the notice")
			}
			record(w, err)
		})
		target.Stop()
		target.Wait()
		// Wait returned: the notice is queued, so it runs before this Ask.
		if got := noticesOf(t, w); !slices.Equal(got, []error{nil}) {
			t.Fatalf("notices = %v, want one nil", got)
		}
		if !target.state.stopped {
			t.Error("notice came before OnStop")
		}
	})
	t.Run("failure", func(t *testing.T) {
		s := NewSupervisor(context.Background())
		// Spawned first, so stopped last: the failure's drain stops target first, and
		// the notice is in w's mailbox before w is told to stop.
		w := Spawn(s, &watcher{})
		target := Spawn(s, &counter{})
		Watch(w, target, record)
		target.Send(func(*counter) { panic("boom") })
		s.Wait()
		var pe *PanicError
		if got := w.state.notices; len(got) != 1 || !errors.As(got[0], &pe) || pe.Value != "boom" {
			t.Fatalf("notices = %v, want the *PanicError", got)
		}
	})
	t.Run("already ended", func(t *testing.T) {
		s := newSup(t)
		w, target := Spawn(s, &watcher{}), Spawn(s, &counter{})
		target.Stop()
		target.Wait()
		Watch(w, target, record)
		if got := noticesOf(t, w); !slices.Equal(got, []error{nil}) {
			t.Fatalf("notices = %v, want one nil", got)
		}
		stopped := NewSupervisor(context.Background())
		stopped.Stop()
		never := Spawn(stopped, &counter{})
		Watch(w, never, record)
		if got := noticesOf(t, w); len(got) != 2 || !errors.Is(got[1], ErrStopped) {
			t.Fatalf("notices = %v, want ErrStopped for a Ref spawned stopped", got)
		}
		stopped.Wait()
	})
	t.Run("cancel", func(t *testing.T) {
		s := newSup(t)
		w, target := Spawn(s, &watcher{}), Spawn(s, &counter{})
		for range 1000 {
			Watch(w, target, record)()
		}
		cancel := Watch(w, target, record)
		cancel()
		cancel()
		if n := hookCount(target); n != 0 {
			t.Fatalf("%d watches left in target after cancel", n)
		}
		target.Stop()
		target.Wait()
		if got := noticesOf(t, w); len(got) != 0 {
			t.Fatalf("notices = %v, want none after cancel", got)
		}
	})
	t.Run("cancel while queued", func(t *testing.T) {
		s := newSup(t)
		w, target := Spawn(s, &watcher{}), Spawn(s, &counter{})
		release := block(t, w)
		cancel := Watch(w, target, record)
		target.Stop()
		target.Wait()
		if n := queued(w); n != 1 {
			t.Fatalf("%d messages queued in w, want the notice", n)
		}
		cancel()
		release()
		if got := noticesOf(t, w); len(got) != 0 {
			t.Fatalf("notices = %v, want none after cancel", got)
		}
	})
	t.Run("watcher stopped or itself", func(t *testing.T) {
		s := newSup(t)
		w, target := Spawn(s, &watcher{}), Spawn(s, &counter{})
		Watch(w, target, record)
		Watch(w, w, record)
		w.Stop()
		w.Wait()
		target.Stop()
		target.Wait()
		if len(w.state.notices) != 0 {
			t.Fatalf("a stopped watcher got %v", w.state.notices)
		}
	})
}

func TestWatchRacesEnd(t *testing.T) {
	// Watches made while the target ends are each delivered once: by the target's end, or
	// by Watch itself once it has.
	s := newSup(t)
	w, target := Spawn(s, &watcher{}), Spawn(s, &counter{})
	const n = 200
	var wg sync.WaitGroup
	for i := range n {
		if i == n/2 {
			target.Stop()
		}
		wg.Go(func() { Watch(w, target, record) })
	}
	wg.Wait()
	target.Wait()
	if got := noticesOf(t, w); len(got) != n {
		t.Fatalf("%d notices for %d watches", len(got), n)
	}
}

// StopNow.

func TestStopNowFromOutside(t *testing.T) {
	s := newSup(t)
	h := &hooked{}
	r := Spawn(s, h)
	client := Spawn(s, &node{})
	ran := 0 // written by messages; read after Wait
	inc := func(*hooked) { ran++ }
	release0 := block(t, r)
	// Message 1 blocks too; the three Asks, the Request and five Sends queued behind it
	// are taken in the same batch when release0 lets the activation go on.
	in1, rel1 := make(chan struct{}), make(chan struct{})
	r.Send(func(*hooked) { close(in1); <-rel1 })
	askErrs := make(chan error, 3)
	for range 3 {
		go func() {
			_, err := Ask(context.Background(), r, func(*hooked) (int, error) { ran += 100; return 0, nil })
			askErrs <- err
		}()
	}
	waitQueued(t, r, 4)
	replied := make(chan error, 1)
	if err := Request(context.Background(), r, func(*hooked) (int, error) { ran += 100; return 0, nil },
		client, func(_ *node, _ int, err error) { replied <- err }); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		r.Send(inc)
	}
	release0()
	<-in1
	if n := queued(r); n != 0 {
		t.Fatalf("%d messages left in the queue, want all in the batch", n)
	}
	// And four more in the queue proper.
	for range 4 {
		r.Send(inc)
	}
	if n := r.StopNow(); n != 3+1+5+4 {
		t.Fatalf("StopNow dropped %d, want 13 (9 of the batch, 4 queued, not the running one)", n)
	}
	// Released at once: message 1 is still running.
	for range 3 {
		if err := <-askErrs; !errors.Is(err, ErrStopped) {
			t.Fatalf("Ask dropped by StopNow = %v, want ErrStopped", err)
		}
	}
	if err := <-replied; !errors.Is(err, ErrStopped) {
		t.Fatalf("Request dropped by StopNow replied %v, want ErrStopped", err)
	}
	if err := r.Send(inc); !errors.Is(err, ErrStopped) {
		t.Fatalf("Send after StopNow = %v, want ErrStopped", err)
	}
	if n := r.StopNow(); n != 0 {
		t.Fatalf("second StopNow dropped %d, want 0", n)
	}
	close(rel1)
	if err := r.Wait(); err != nil {
		t.Fatalf("Wait = %v, want nil", err)
	}
	if ran != 0 {
		t.Fatalf("dropped messages ran (%d)", ran)
	}
	if !h.stopped {
		t.Fatal("OnStop did not run")
	}
	if n := r.StopNow(); n != 0 {
		t.Fatalf("StopNow after the end dropped %d, want 0", n)
	}
}

func TestStopNowFromInside(t *testing.T) {
	for _, bound := range []int{0, 4} {
		t.Run(fmt.Sprintf("bound=%d", bound), func(t *testing.T) {
			s := newSup(t)
			h := &hooked{}
			var opts []Option
			if bound > 0 {
				opts = append(opts, WithMailboxSize(bound))
			}
			r := Spawn(s, h, opts...)
			release := block(t, r)
			var dropped int
			var sendErr error
			ranAfter, ranToEnd := false, false
			r.Send(func(h *hooked) {
				dropped = h.Self().StopNow()
				sendErr = h.Self().Enqueue(func(*hooked) { ranAfter = true })
				ranToEnd = true // the message that called StopNow runs to its end
			})
			for range 3 {
				r.Send(func(*hooked) { ranAfter = true })
			}
			release()
			if err := r.Wait(); err != nil {
				t.Fatalf("Wait = %v, want nil", err)
			}
			if dropped != 3 || ranAfter || !ranToEnd || !errors.Is(sendErr, ErrStopped) || !h.stopped {
				t.Fatalf("dropped %d (want 3), a later message ran: %v, ran to its end: %v, Enqueue after = %v, OnStop ran: %v",
					dropped, ranAfter, ranToEnd, sendErr, h.stopped)
			}
		})
	}
}

func TestStopNowIdle(t *testing.T) {
	s := newSup(t)
	h := &hooked{}
	r := Spawn(s, h)
	get(t, r, func(*hooked) int { return 0 })
	if n := r.StopNow(); n != 0 {
		t.Fatalf("StopNow on an idle actor dropped %d", n)
	}
	if err := r.Wait(); err != nil || !h.stopped {
		t.Fatalf("Wait = %v, OnStop ran: %v; want nil, true", err, h.stopped)
	}
	plain := Spawn(s, &counter{})
	if n := plain.StopNow(); n != 0 {
		t.Fatalf("StopNow dropped %d", n)
	}
	if err := plain.Wait(); err != nil {
		t.Fatal(err)
	}
}

func TestStopNowAfterStop(t *testing.T) {
	s := newSup(t)
	r := Spawn(s, &counter{})
	release := block(t, r)
	for range 5 {
		r.Send(func(c *counter) { c.n++ })
	}
	r.Stop()
	if n := r.StopNow(); n != 5 {
		t.Fatalf("StopNow during a graceful stop dropped %d, want 5", n)
	}
	release()
	if err := r.Wait(); err != nil || r.state.n != 0 {
		t.Fatalf("Wait = %v, ran %d; want nil, 0", err, r.state.n)
	}
}

func TestStopNowThenFailure(t *testing.T) {
	// StopNow does not hide a failure of the message that is running.
	s := NewSupervisor(context.Background())
	r := Spawn(s, &counter{})
	r.Send(func(c *counter) {
		c.Self().StopNow()
		panic("after StopNow")
	})
	var pe *PanicError
	if err := r.Wait(); !errors.As(err, &pe) {
		t.Fatalf("Wait = %v, want the *PanicError", err)
	}
	s.Wait()
}

func TestStopNowCountsExactly(t *testing.T) {
	// Senders race with StopNow (from outside, from inside a message, and beside Stop):
	// every accepted message either runs or is counted, never both, never neither.
	for _, bound := range []int{0, 8} {
		for _, from := range []string{"outside", "inside", "with Stop"} {
			t.Run(fmt.Sprintf("bound=%d/%s", bound, from), func(t *testing.T) {
				for range 20 {
					stopNowRound(t, bound, from)
				}
			})
		}
	}
}

func stopNowRound(t *testing.T, bound int, from string) {
	s := NewSupervisor(context.Background())
	defer s.Wait()
	defer s.Stop()
	var opts []Option
	if bound > 0 {
		opts = append(opts, WithMailboxSize(bound))
	}
	r := Spawn(s, &counter{}, opts...)
	const senders, each = 4, 300
	var accepted, ran, dropped atomic.Int64
	msg := func(*counter) { ran.Add(1) }
	var wg sync.WaitGroup
	go1 := make(chan struct{})
	for g := range senders {
		wg.Go(func() {
			for i := range each {
				if g == 0 && i == each/3 {
					close(go1)
				}
				// Enqueue, so that a bounded mailbox fills up and the activation
				// works one message at a time.
				if r.Enqueue(msg) == nil {
					accepted.Add(1)
				}
			}
		})
	}
	<-go1
	switch from {
	case "outside":
		dropped.Add(int64(r.StopNow()))
	case "inside":
		if r.Enqueue(func(c *counter) { ran.Add(1); dropped.Add(int64(c.Self().StopNow())) }) == nil {
			accepted.Add(1)
		}
	case "with Stop":
		var sw sync.WaitGroup
		sw.Go(r.Stop)
		sw.Go(func() { dropped.Add(int64(r.StopNow())) })
		sw.Wait()
	}
	wg.Wait()
	if err := r.Wait(); err != nil {
		t.Fatalf("Wait = %v", err)
	}
	if a, got := accepted.Load(), ran.Load()+dropped.Load(); a != got {
		t.Fatalf("accepted %d, ran %d + dropped %d = %d", a, ran.Load(), dropped.Load(), got)
	}
}

func TestStopNowRacesFailure(t *testing.T) {
	// A failure and StopNow both drop messages; whichever takes one, its Ask returns at
	// once, and nothing runs twice.
	for range 50 {
		s := NewSupervisor(context.Background())
		r := Spawn(s, &counter{})
		const n = 200
		errs := make(chan error, n)
		var ranTwice atomic.Bool
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				ran := false
				_, err := Ask(context.Background(), r, func(*counter) (int, error) {
					if ran {
						ranTwice.Store(true)
					}
					ran = true
					if i == n/2 {
						panic("boom")
					}
					return 0, nil
				})
				errs <- err
			})
		}
		r.StopNow()
		wg.Wait()
		close(errs)
		for err := range errs {
			var pe *PanicError
			if err != nil && !errors.Is(err, ErrStopped) && !errors.As(err, &pe) {
				t.Fatalf("Ask = %v", err)
			}
		}
		if ranTwice.Load() {
			t.Fatal("a message ran twice")
		}
		r.Wait()
		s.Stop() // StopNow may have come before the panic, which then never ran
		s.Wait()
	}
}

// Regression tests for the second review.

func TestWatchByStoppingWatcherRegistersNothing(t *testing.T) {
	s := newSup(t)
	target := Spawn(s, &counter{})
	w := Spawn(s, &counter{})
	w.Stop()
	w.Wait()
	Watch(w, target, func(*counter, error) { t.Error("a stopped watcher was told") })
	stopped := NewSupervisor(context.Background())
	stopped.Stop()
	Watch(Spawn(stopped, &counter{}), target, func(*counter, error) { t.Error("a stopped watcher was told") })
	stopped.Wait()
	if n := hookCount(target); n != 0 {
		t.Fatalf("target holds %d watches of stopped watchers, want 0", n)
	}
}

func TestStopNowThenPanicRestarts(t *testing.T) {
	// A message that calls StopNow and then panics, under WithRestart: the panic is
	// survived like any other (OnStart runs again, as WithRestart says), nothing queued
	// runs, OnStop runs, and Wait returns nil.
	s := newSup(t)
	h := &hooked{}
	r := Spawn(s, h, WithRestart(5, time.Hour))
	release := block(t, r)
	r.Send(func(h *hooked) {
		h.Self().StopNow()
		panic("after StopNow")
	})
	ranQueued := false
	r.Send(func(*hooked) { ranQueued = true })
	release()
	if err := r.Wait(); err != nil {
		t.Fatalf("Wait = %v, want nil (the panic was survived)", err)
	}
	if h.started != 2 || !h.stopped || ranQueued {
		t.Fatalf("OnStart ran %d times, OnStop ran %v, queued message ran %v; want 2, true, false",
			h.started, h.stopped, ranQueued)
	}
}

func TestRequestErr(t *testing.T) {
	s := newSup(t)
	a, b := Spawn(s, &node{}), Spawn(s, &node{})
	ctx := context.Background()
	want := errors.New("refused")
	err := RequestErr(ctx, b, func(bn *node) error { bn.served++; return want }, a,
		func(an *node, err error) { an.replies = append(an.replies, fmt.Sprint(err)) })
	if err != nil {
		t.Fatalf("RequestErr = %v", err)
	}
	get(t, b, func(*node) int { return 0 }) // b has run fn and queued the reply on a
	if got := repliesOf(t, a); !slices.Equal(got, []string{"refused"}) {
		t.Fatalf("replies = %q, want [refused]", got)
	}
	if err := RequestErr[node, node](ctx, b, nil, a, func(*node, error) {}); !errors.Is(err, ErrNilMessage) {
		t.Errorf("RequestErr(nil fn) = %v, want ErrNilMessage", err)
	}
	if err := RequestErr[node, node](ctx, b, func(*node) error { return nil }, a, nil); !errors.Is(err, ErrNilMessage) {
		t.Errorf("RequestErr(nil onReply) = %v, want ErrNilMessage", err)
	}
	b.Stop()
	if err := RequestErr(ctx, b, func(*node) error { return nil }, a, func(*node, error) {}); !errors.Is(err, ErrStopped) {
		t.Errorf("RequestErr to a stopped actor = %v, want ErrStopped", err)
	}
}
