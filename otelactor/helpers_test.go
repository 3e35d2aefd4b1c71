package otelactor_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pactor-go/actor"
	"github.com/pactor-go/actor/otelactor"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// long bounds the waits that are expected to succeed at once: far beyond anything a loaded
// two-core machine needs, so that it is never what a test measures.
const long = 30 * time.Second

// meter is an SDK meter provider whose metrics a test collects when it chooses.
type meter struct {
	t      testing.TB
	reader *sdkmetric.ManualReader
	mp     *sdkmetric.MeterProvider
}

func newMeter(t testing.TB) *meter {
	t.Helper()
	reader := sdkmetric.NewManualReader()
	m := &meter{t: t, reader: reader, mp: sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))}
	t.Cleanup(func() {
		if err := m.mp.Shutdown(context.Background()); err != nil {
			t.Errorf("MeterProvider.Shutdown: %v", err)
		}
	})
	return m
}

// observer returns a new Observer on m, closed when the test ends.
func (m *meter) observer(opts ...otelactor.Option) *otelactor.Observer {
	m.t.Helper()
	o, err := otelactor.NewObserver(m.mp, opts...)
	if err != nil {
		m.t.Fatalf("NewObserver: %v", err)
	}
	m.t.Cleanup(func() {
		if err := o.Close(); err != nil {
			m.t.Errorf("Observer.Close: %v", err)
		}
	})
	return o
}

// collect reads every metric now.
func (m *meter) collect() metrics {
	m.t.Helper()
	var rm metricdata.ResourceMetrics
	if err := m.reader.Collect(context.Background(), &rm); err != nil {
		m.t.Fatalf("Collect: %v", err)
	}
	return metrics{m.t, rm}
}

// metrics is one collection.
type metrics struct {
	t  testing.TB
	rm metricdata.ResourceMetrics
}

// find returns the data of the instrument called name, or nil.
func (ms metrics) find(name string) *metricdata.Metrics {
	for _, sm := range ms.rm.ScopeMetrics {
		for i := range sm.Metrics {
			if sm.Metrics[i].Name == name {
				return &sm.Metrics[i]
			}
		}
	}
	return nil
}

// value returns the value of the point of instrument name whose attributes are exactly
// kvs, and whether there is one. Histograms give their count.
func (ms metrics) value(name string, kvs ...attribute.KeyValue) (float64, bool) {
	m := ms.find(name)
	if m == nil {
		return 0, false
	}
	set := attribute.NewSet(kvs...)
	switch d := m.Data.(type) {
	case metricdata.Sum[int64]:
		for _, p := range d.DataPoints {
			if p.Attributes.Equals(&set) {
				return float64(p.Value), true
			}
		}
	case metricdata.Sum[float64]:
		for _, p := range d.DataPoints {
			if p.Attributes.Equals(&set) {
				return p.Value, true
			}
		}
	case metricdata.Histogram[float64]:
		for _, p := range d.DataPoints {
			if p.Attributes.Equals(&set) {
				return float64(p.Count), true
			}
		}
	default:
		ms.t.Fatalf("%s: unexpected data %T", name, m.Data)
	}
	return 0, false
}

// want checks that instrument name has the value want for the attributes kvs.
func (ms metrics) want(name string, want float64, kvs ...attribute.KeyValue) {
	ms.t.Helper()
	got, ok := ms.value(name, kvs...)
	if !ok {
		ms.t.Errorf("%s%v: no point, want %v", name, kvs, want)
		return
	}
	if got != want {
		ms.t.Errorf("%s%v = %v, want %v", name, kvs, got, want)
	}
}

// absent checks that instrument name has no point for the attributes kvs.
func (ms metrics) absent(name string, kvs ...attribute.KeyValue) {
	ms.t.Helper()
	if got, ok := ms.value(name, kvs...); ok {
		ms.t.Errorf("%s%v = %v, want no point", name, kvs, got)
	}
}

// attrs returns the attributes of a series about actors of type typ under sup.
func attrs(typ, sup string, more ...attribute.KeyValue) []attribute.KeyValue {
	return append([]attribute.KeyValue{otelactor.TypeKey.String(typ), otelactor.SupervisorKey.String(sup)}, more...)
}

// Worker is the test actor. Its messages are funcs the tests write; hold blocks it.
type Worker struct{ n int }

func incr(w *Worker) { w.n++ }

// hold sends r a message that blocks until the returned release is called, and returns
// once that message runs: from then on, what is sent to r waits in its mailbox.
func hold(t testing.TB, r *actor.Ref[Worker]) (release func()) {
	t.Helper()
	running, gate := make(chan struct{}), make(chan struct{})
	if err := r.Send(func(*Worker) { close(running); <-gate }); err != nil {
		t.Fatalf("Send: %v", err)
	}
	<-running
	return func() { close(gate) }
}

// send sends r n increments and fails the test on the first error.
func send(t testing.TB, r *actor.Ref[Worker], n int) {
	t.Helper()
	for range n {
		if err := r.Send(incr); err != nil {
			t.Fatalf("Send: %v", err)
		}
	}
}

// stop stops sup, waits for it, and checks that it ends with wantErr (errors.Is), or nil.
func stop(t testing.TB, sup *actor.Supervisor, wantErr error) {
	t.Helper()
	sup.Stop()
	if err := sup.Wait(); !errors.Is(err, wantErr) || (wantErr == nil && err != nil) {
		t.Fatalf("Supervisor.Wait = %v, want %v", err, wantErr)
	}
}
