package actor

import (
	"context"
	"testing"
	"time"
)

// Benchmarks for the interaction patterns, each beside the hand-written equivalent as
// sibling impl= sub-benchmarks, so that `benchstat -col /impl` shows the ratio (see
// bench_test.go for the conventions).

// benchSignal is the state of the actor in these benchmarks: its messages report on done.
type benchSignal struct{ done chan struct{} }

func benchSignalled(s *benchSignal) { s.done <- struct{}{} }

func newBenchSignal(b *testing.B) (*Ref[benchSignal], chan struct{}, func()) {
	sup := NewSupervisor(context.Background())
	done := make(chan struct{})
	r := Spawn(sup, &benchSignal{done: done})
	return r, done, func() {
		sup.Stop()
		benchCheck(b, "close", sup.Wait())
	}
}

// BenchmarkAfter measures a timer that fires at once and runs its message on the actor,
// waited for: After(0, msg) against time.AfterFunc(0, ...) whose callback sends msg.
func BenchmarkAfter(b *testing.B) {
	b.Run("impl=after", func(b *testing.B) {
		r, done, stop := newBenchSignal(b)
		b.ReportAllocs()
		for b.Loop() {
			r.After(0, benchSignalled)
			<-done
		}
		stop()
	})
	b.Run("impl=afterfunc", func(b *testing.B) {
		r, done, stop := newBenchSignal(b)
		send := func() { _ = r.Enqueue(benchSignalled) }
		b.ReportAllocs()
		for b.Loop() {
			time.AfterFunc(0, send)
			<-done
		}
		stop()
	})
}

// BenchmarkAfterCancel measures arming a timer and cancelling it before it fires, the
// common life of a timeout: After and its cancel against time.AfterFunc and Stop.
func BenchmarkAfterCancel(b *testing.B) {
	b.Run("impl=after", func(b *testing.B) {
		r, _, stop := newBenchSignal(b)
		b.ReportAllocs()
		for b.Loop() {
			if !r.After(time.Hour, benchSignalled)() {
				b.Fatal("cancel = false")
			}
		}
		stop()
	})
	b.Run("impl=afterfunc", func(b *testing.B) {
		r, _, stop := newBenchSignal(b)
		send := func() { _ = r.Enqueue(benchSignalled) }
		b.ReportAllocs()
		for b.Loop() {
			if !time.AfterFunc(time.Hour, send).Stop() {
				b.Fatal("Stop = false")
			}
		}
		stop()
	})
}

// BenchmarkEvery measures what one tick of an Every costs over a plain Enqueue: the
// timer's callback (re-arming, the coalescing check, queueing) and the tick's run, waited
// for. The callback is called directly, so that the figure is not the period.
func BenchmarkEvery(b *testing.B) {
	b.Run("impl=every", func(b *testing.B) {
		r, done, stop := newBenchSignal(b)
		r.Every(time.Hour, benchSignalled)
		tm := timersOf(r)[0]
		b.ReportAllocs()
		for b.Loop() {
			tm.fire()
			<-done
		}
		stop()
	})
	b.Run("impl=enqueue", func(b *testing.B) {
		r, done, stop := newBenchSignal(b)
		b.ReportAllocs()
		for b.Loop() {
			if err := r.Enqueue(benchSignalled); err != nil {
				b.Fatal(err)
			}
			<-done
		}
		stop()
	})
}

// BenchmarkRequest measures a round trip from a caller to an idle actor and back: Request,
// with the reply delivered to a second actor that signals the caller, against Ask. With
// ctx=cancel the context can end, so Request registers (and releases) a context.AfterFunc
// and Ask selects on its Done.
func BenchmarkRequest(b *testing.B) {
	for _, cancellable := range []bool{false, true} {
		name := "ctx=background"
		if cancellable {
			name = "ctx=cancel"
		}
		b.Run(name, func(b *testing.B) {
			ctx := context.Background()
			if cancellable {
				var cancel context.CancelFunc
				ctx, cancel = context.WithCancel(ctx)
				defer cancel()
			}
			b.Run("impl=request", func(b *testing.B) {
				box := newBenchActorBox()
				done := make(chan struct{})
				client := Spawn(box.sup, &benchSignal{done: done})
				onReply := func(s *benchSignal, _ int, err error) {
					if err != nil {
						b.Error(err)
					}
					s.done <- struct{}{}
				}
				b.ReportAllocs()
				for b.Loop() {
					if err := Request(ctx, box.ref, benchGet, client, onReply); err != nil {
						b.Fatal(err)
					}
					<-done
				}
				benchCheck(b, "close", box.close())
			})
			b.Run("impl=ask", func(b *testing.B) {
				box := newBenchActorBox()
				b.ReportAllocs()
				for b.Loop() {
					if _, err := Ask(ctx, box.ref, benchGet); err != nil {
						b.Fatal(err)
					}
				}
				benchCheck(b, "close", box.close())
			})
		})
	}
}
