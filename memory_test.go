package actor

// Memory under load: a producer that outruns its consumer fills an unbounded mailbox with
// everything it sends, while WithMailboxSize holds the heap flat by making SendContext wait.
// TestMemoryBoundedUnderLoad asserts the flat heap; BenchmarkUnboundedGrowth shows both, so
// that users see why the bound exists:
//
//	go test -run '^$' -bench UnboundedGrowth -benchtime 1x .

import (
	"context"
	"crypto/sha256"
	"runtime"
	"testing"
)

const (
	ttMemMessages = 200_000
	ttMemPayload  = 1024 // bytes carried by each message: 200 MB in all
	ttMemBound    = 64
	// ttMemLimit is the most the heap may grow by with a bounded mailbox: far above the
	// ~64 messages it holds plus garbage not yet collected, far below the 150 MB that an
	// unbounded mailbox could hold.
	ttMemLimit = 64 << 20
)

// ttSink is the slow consumer: each message makes it hash its payload four times, which
// takes several times longer than making and sending it, with or without -race (the hash
// is assembly, which the race detector does not slow down).
type ttSink struct {
	n   int
	sum int
}

// ttMemLoad sends n messages of ttMemPayload bytes with SendContext from one goroutine to
// a new actor with opts, and returns the most the heap grew by while it did, sampled every
// 4,096 messages (and once the producer is done). It checks that every message ran.
func ttMemLoad(tb testing.TB, n int, opts ...Option) (peak uint64) {
	tb.Helper()
	ctx := context.Background()
	s := NewSupervisor(ctx)
	defer func() {
		s.Stop()
		if err := s.Wait(); err != nil {
			tb.Errorf("Supervisor.Wait = %v, want nil", err)
		}
	}()
	r := Spawn(s, &ttSink{}, opts...)

	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	sample := func() {
		runtime.ReadMemStats(&ms)
		if ms.HeapAlloc > base {
			peak = max(peak, ms.HeapAlloc-base)
		}
	}
	for i := range n {
		payload := make([]byte, ttMemPayload)
		payload[i%ttMemPayload] = byte(i)
		err := r.SendContext(ctx, func(k *ttSink) {
			for range 4 {
				sum := sha256.Sum256(payload)
				k.sum += int(sum[0])
			}
			k.n++
		})
		if err != nil {
			tb.Fatalf("SendContext %d = %v, want nil", i, err)
		}
		if i%4096 == 0 {
			sample()
		}
	}
	sample()
	got, err := Ask(ctx, r, func(k *ttSink) (int, error) { return k.n, nil })
	if err != nil || got != n {
		tb.Fatalf("Ask after %d sends = %d, %v; want %d, nil", n, got, err, n)
	}
	return peak
}

func TestMemoryBoundedUnderLoad(t *testing.T) {
	peak := ttMemLoad(t, ttMemMessages, WithMailboxSize(ttMemBound))
	t.Logf("%d messages of %d bytes through a mailbox of %d: heap grew by at most %.1f MiB",
		ttMemMessages, ttMemPayload, ttMemBound, float64(peak)/(1<<20))
	if peak > ttMemLimit {
		t.Fatalf("heap grew by %.1f MiB under SendContext into a mailbox of %d, want at most %d MiB",
			float64(peak)/(1<<20), ttMemBound, ttMemLimit>>20)
	}
}

// BenchmarkUnboundedGrowth runs the load of TestMemoryBoundedUnderLoad (its ns/op is the
// time for all of it) into a bounded and an unbounded mailbox, and reports the most the heap
// grew by as peak-heap-MB.
func BenchmarkUnboundedGrowth(b *testing.B) {
	n := ttMemMessages
	if benchRace() {
		n /= 4 // CI runs every benchmark once under -race; keep it under a second
	}
	for _, c := range []struct {
		name string
		opts []Option
	}{
		{"mailbox=bounded", []Option{WithMailboxSize(ttMemBound)}},
		{"mailbox=unbounded", nil},
	} {
		b.Run(c.name, func(b *testing.B) {
			var peak uint64
			for b.Loop() {
				peak = max(peak, ttMemLoad(b, n, c.opts...))
			}
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
		})
	}
}

// TestMemoryReturnedAfterBurst checks that an actor gives back its mailbox's memory once a
// burst has drained: the queue is a chain of segments that go back to a pool as they
// drain, and the pool is emptied by the collector, so an idle actor that once held 2^18
// messages holds no more than a fresh one.
func TestMemoryReturnedAfterBurst(t *testing.T) {
	const burst = 1 << 18 // at 16 bytes a message: 4 MiB of mailbox
	ctx := context.Background()
	s := NewSupervisor(ctx)
	defer func() {
		s.Stop()
		if err := s.Wait(); err != nil {
			t.Errorf("Supervisor.Wait = %v, want nil", err)
		}
	}()
	// heap collects until the heap stops shrinking (sync.Pool keeps what it holds for one
	// collection more, and a collection already under way may count as one), at most ten
	// times, and returns the live heap.
	heap := func() uint64 {
		var ms runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms)
		for range 10 {
			last := ms.HeapAlloc
			runtime.GC()
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc >= last {
				break
			}
		}
		return ms.HeapAlloc
	}
	r := Spawn(s, &ttSink{})
	// One message run, so that the fresh actor's reading includes what its first
	// activation leaves behind (its labels), as the one after the burst does.
	if _, err := Ask(ctx, r, func(k *ttSink) (int, error) { return k.n, nil }); err != nil {
		t.Fatal(err)
	}
	before := heap()

	started, release := make(chan struct{}), make(chan struct{})
	r.Send(func(*ttSink) { close(started); <-release })
	<-started
	msg := func(k *ttSink) { k.n++ } // one closure for all: the burst is the mailbox's
	for range burst {
		if err := r.Send(msg); err != nil {
			t.Fatal(err)
		}
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	peak := ms.HeapAlloc
	close(release)
	n, err := Ask(ctx, r, func(k *ttSink) (int, error) { return k.n, nil })
	if err != nil || n != burst {
		t.Fatalf("after the burst: Ask = %d, %v; want %d, nil", n, err, burst)
	}
	// The batch that held the burst goes back to the pool when the next one is taken:
	// one more round trip, in a batch of its own, makes sure it has.
	if _, err := Ask(ctx, r, func(k *ttSink) (int, error) { return k.n, nil }); err != nil {
		t.Fatal(err)
	}
	after := heap()
	grown := int64(after) - int64(before)
	t.Logf("heap: %d B before the burst, %d B at its peak, %d B after (%+d B)", before, peak, after, grown)
	if peak < before+burst*16 {
		t.Fatalf("the burst did not fill the mailbox: heap at its peak %d B, before %d B", peak, before)
	}
	if grown > 16<<10 {
		t.Fatalf("an idle actor kept %d B after a burst of %d messages; want at most 16 KiB", grown, burst)
	}
	runtime.KeepAlive(r)
}
