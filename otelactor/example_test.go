package otelactor_test

import (
	"context"
	"fmt"

	"github.com/pactor-go/actor"
	"github.com/pactor-go/actor/otelactor"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// Counter is the actor of the examples.
type Counter struct{ n int }

// ExampleNewObserver counts what a supervision tree runs and reads it back through the
// SDK's manual reader, as an exporter would.
func ExampleNewObserver() {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())
	obs, err := otelactor.NewObserver(mp)
	if err != nil {
		panic(err)
	}
	defer obs.Close()

	sup := actor.NewSupervisor(context.Background(), actor.WithObserver(obs), actor.WithSupervisorName("main"))
	c := actor.Spawn(sup, &Counter{})
	for range 3 {
		_ = c.Send(func(c *Counter) { c.n++ })
	}
	sup.Stop()
	_ = sup.Wait() // every message has been counted when Wait returns

	var rm metricdata.ResourceMetrics
	_ = reader.Collect(context.Background(), &rm)
	for _, m := range rm.ScopeMetrics[0].Metrics {
		if m.Name == "actor.processed.messages" {
			for _, p := range m.Data.(metricdata.Sum[int64]).DataPoints {
				typ, _ := p.Attributes.Value(otelactor.TypeKey)
				sup, _ := p.Attributes.Value(otelactor.SupervisorKey)
				fmt.Printf("%s %s/%s: %d\n", m.Name, sup.AsString(), typ.AsString(), p.Value)
			}
		}
	}
	// Output: actor.processed.messages main/Counter: 3
}

// ExampleAsk runs an Ask in a span, a child of the caller's.
func ExampleAsk() {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	defer tp.Shutdown(context.Background())
	tracer := otelactor.Tracer(tp)

	sup := actor.NewSupervisor(context.Background(), actor.WithSupervisorName("main"))
	c := actor.Spawn(sup, &Counter{n: 41}, actor.WithName("counter"))
	ctx, parent := tracer.Start(context.Background(), "handle request")
	n, err := otelactor.Ask(ctx, tracer, c, func(c *Counter) (int, error) { c.n++; return c.n, nil })
	parent.End()
	sup.Stop()
	_ = sup.Wait()

	fmt.Println(n, err)
	for _, s := range exp.GetSpans() {
		fmt.Printf("%q, child of the caller's span: %v\n", s.Name, s.Parent.SpanID() == parent.SpanContext().SpanID())
	}
	// Output:
	// 42 <nil>
	// "Ask Counter", child of the caller's span: true
	// "handle request", child of the caller's span: false
}
