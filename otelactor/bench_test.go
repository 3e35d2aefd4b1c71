package otelactor_test

import (
	"context"
	"runtime"
	"testing"

	"github.com/pactor-go/actor"
	"github.com/pactor-go/actor/otelactor"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// The benchmarks run the root module's BenchmarkSend (one producer), BenchmarkAsk and
// BenchmarkSpawnStop as sibling sub-benchmarks: obs=none is a tree without an observer,
// obs=otel one with an Observer on the SDK's meter provider (a manual reader that nobody
// reads, so the figures are the events' cost, not an exporter's), and obs=otel+duration
// the same with WithMessageDuration. `benchstat -col /obs` shows the ratios from one run.

// benchObservers makes the supervisor options of each sub-benchmark.
var benchObservers = []struct {
	name string
	opts func(b *testing.B) []actor.SupervisorOption
}{
	{"obs=none", func(*testing.B) []actor.SupervisorOption { return nil }},
	{"obs=otel", func(b *testing.B) []actor.SupervisorOption {
		return []actor.SupervisorOption{actor.WithObserver(benchObserver(b))}
	}},
	{"obs=otel+duration", func(b *testing.B) []actor.SupervisorOption {
		return []actor.SupervisorOption{actor.WithObserver(benchObserver(b, otelactor.WithMessageDuration()))}
	}},
}

func benchObserver(b *testing.B, opts ...otelactor.Option) *otelactor.Observer {
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	b.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	o, err := otelactor.NewObserver(mp, opts...)
	if err != nil {
		b.Fatal(err)
	}
	return o
}

// BenchmarkSend: b.N one-way messages from one producer, timed until the last has run.
func BenchmarkSend(b *testing.B) {
	for _, ob := range benchObservers {
		b.Run(ob.name, func(b *testing.B) {
			sup := actor.NewSupervisor(context.Background(), ob.opts(b)...)
			r := actor.Spawn(sup, &Worker{})
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if err := r.Send(incr); err != nil {
					b.Fatal(err)
				}
			}
			n, err := actor.Ask(context.Background(), r, getN)
			b.StopTimer()
			if err != nil || n != b.N {
				b.Fatalf("Ask = %d, %v after %d sends", n, err, b.N)
			}
			sup.Stop()
			_ = sup.Wait()
		})
	}
}

// BenchmarkAsk: a round trip to an idle actor; each is a batch of one message.
func BenchmarkAsk(b *testing.B) {
	for _, ob := range benchObservers {
		b.Run(ob.name, func(b *testing.B) {
			sup := actor.NewSupervisor(context.Background(), ob.opts(b)...)
			r := actor.Spawn(sup, &Worker{})
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := actor.Ask(ctx, r, getN); err != nil {
					b.Fatal(err)
				}
			}
			sup.Stop()
			_ = sup.Wait()
		})
	}
}

// BenchmarkSpawnStop: a short-lived actor, spawned, sent one message, stopped and joined:
// the Observer's cost per actor (its place among the live actors, and its series).
func BenchmarkSpawnStop(b *testing.B) {
	for _, ob := range benchObservers[:2] {
		b.Run(ob.name, func(b *testing.B) {
			sup := actor.NewSupervisor(context.Background(), ob.opts(b)...)
			b.ReportAllocs()
			for b.Loop() {
				r := actor.Spawn(sup, &Worker{})
				if err := r.Send(incr); err != nil {
					b.Fatal(err)
				}
				r.Stop()
				if err := r.Wait(); err != nil {
					b.Fatal(err)
				}
			}
			sup.Stop()
			_ = sup.Wait()
		})
	}
}

// BenchmarkObserve: one event handed to Observe directly, on a live actor: what the
// actor's goroutine pays per batch (ran) or per refused send.
func BenchmarkObserve(b *testing.B) {
	sup := actor.NewSupervisor(context.Background())
	r := actor.Spawn(sup, &Worker{})
	defer func() { sup.Stop(); _ = sup.Wait() }()
	for _, c := range []struct {
		name string
		opts []otelactor.Option
		ev   actor.Event
	}{
		{"event=ran", nil, actor.Event{Kind: actor.EventRan, Count: 1, Busy: 100}},
		{"event=ran+duration", []otelactor.Option{otelactor.WithMessageDuration()}, actor.Event{Kind: actor.EventRan, Count: 1, Busy: 100}},
		{"event=refused", nil, actor.Event{Kind: actor.EventRefused, Count: 1, Err: actor.ErrMailboxFull}},
	} {
		b.Run(c.name, func(b *testing.B) {
			o := benchObserver(b, c.opts...)
			base := actor.Event{Kind: actor.EventSpawned, Actor: r, Type: "Worker", Supervisor: sup}
			o.Observe(base)
			ev := c.ev
			ev.Actor, ev.Type, ev.Supervisor = r, "Worker", sup
			b.ReportAllocs()
			for b.Loop() {
				o.Observe(ev)
			}
		})
	}
}

// BenchmarkCollect: one collection by the SDK's reader, with 1000 live actors of 10 types'
// worth of series (here one type under 10 supervisors): the callback's cost, per actor.
func BenchmarkCollect(b *testing.B) {
	const actors, sups = 1000, 10
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer func() { _ = mp.Shutdown(context.Background()) }()
	o, err := otelactor.NewObserver(mp)
	if err != nil {
		b.Fatal(err)
	}
	root := actor.NewSupervisor(context.Background(), actor.WithObserver(o))
	for i := range actors {
		if i < sups {
			root.NewChild()
		}
	}
	for range actors {
		actor.Spawn(root, &Worker{})
	}
	var rm metricdata.ResourceMetrics
	b.ReportAllocs()
	for b.Loop() {
		if err := reader.Collect(context.Background(), &rm); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/actors, "ns/actor")
	root.Stop()
	_ = root.Wait()
}

// BenchmarkIdle: what an idle actor costs in memory with and without the Observer, which
// keeps each live actor in its map.
func BenchmarkIdle(b *testing.B) {
	const n = 10000
	for _, ob := range benchObservers[:2] {
		b.Run(ob.name, func(b *testing.B) {
			for b.Loop() {
				sup := actor.NewSupervisor(context.Background(), ob.opts(b)...)
				before := heap()
				refs := make([]*actor.Ref[Worker], n)
				for i := range refs {
					refs[i] = actor.Spawn(sup, &Worker{})
				}
				after := heap()
				b.ReportMetric(float64(after-before)/n, "B/actor")
				runtime.KeepAlive(refs)
				sup.Stop()
				_ = sup.Wait()
			}
		})
	}
}

func heap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkTracedAsk: Ask through otelactor.Ask with a nil tracer (the core's Ask), the
// API's no-op tracer, and the SDK's, sampling every span and exporting none.
func BenchmarkTracedAsk(b *testing.B) {
	sup := actor.NewSupervisor(context.Background())
	r := actor.Spawn(sup, &Worker{})
	defer func() { sup.Stop(); _ = sup.Wait() }()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	for _, c := range []struct {
		name   string
		tracer trace.Tracer
	}{
		{"tracer=nil", nil},
		{"tracer=noop", otelactor.Tracer(tracenoop.NewTracerProvider())},
		{"tracer=sdk", otelactor.Tracer(tp)},
	} {
		b.Run(c.name, func(b *testing.B) {
			tracer := c.tracer
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := otelactor.Ask(ctx, tracer, r, getN); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
