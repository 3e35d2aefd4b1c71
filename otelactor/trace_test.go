package otelactor_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pactor-go/actor"
	"github.com/pactor-go/actor/otelactor"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// tracing is an SDK tracer provider that exports each span to memory as it ends.
type tracing struct {
	exp    *tracetest.InMemoryExporter
	tp     *sdktrace.TracerProvider
	tracer trace.Tracer
}

func newTracing(t testing.TB) *tracing {
	exp := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	return &tracing{exp: exp, tp: tp, tracer: otelactor.Tracer(tp)}
}

// span returns the one ended span called name.
func (tr *tracing) span(t testing.TB, name string) tracetest.SpanStub {
	t.Helper()
	var found []tracetest.SpanStub
	for _, s := range tr.exp.GetSpans() {
		if s.Name == name {
			found = append(found, s)
		}
	}
	if len(found) != 1 {
		t.Fatalf("%d spans called %q, want 1 (all: %v)", len(found), name, tr.exp.GetSpans())
	}
	return found[0]
}

// attr returns the value of span attribute k, or "".
func attr(s tracetest.SpanStub, k attribute.Key) string {
	for _, kv := range s.Attributes {
		if kv.Key == k {
			return kv.Value.String()
		}
	}
	return ""
}

func hasEvent(s tracetest.SpanStub, name string) bool {
	for _, e := range s.Events {
		if e.Name == name {
			return true
		}
	}
	return false
}

// checkCall checks a call's span: its parent, its attributes, its start event, and its
// outcome (errType "" for a success).
func checkCall(t *testing.T, s tracetest.SpanStub, parent trace.SpanContext, name string, started bool, errType string) {
	t.Helper()
	if s.Parent.SpanID() != parent.SpanID() || s.SpanContext.TraceID() != parent.TraceID() {
		t.Errorf("span %s: parent %v in trace %v, want %v in %v", s.Name, s.Parent.SpanID(), s.SpanContext.TraceID(), parent.SpanID(), parent.TraceID())
	}
	if s.SpanKind != trace.SpanKindInternal {
		t.Errorf("span %s: kind %v, want internal", s.Name, s.SpanKind)
	}
	if got := attr(s, otelactor.TypeKey); got != "Worker" {
		t.Errorf("span %s: actor.type %q, want Worker", s.Name, got)
	}
	if got := attr(s, otelactor.NameKey); got != name {
		t.Errorf("span %s: actor.name %q, want %q", s.Name, got, name)
	}
	if got := attr(s, otelactor.SupervisorKey); got != "main" {
		t.Errorf("span %s: actor.supervisor %q, want main", s.Name, got)
	}
	if got := hasEvent(s, "start"); got != started {
		t.Errorf("span %s: start event %v, want %v", s.Name, got, started)
	}
	if errType == "" {
		if s.Status.Code != codes.Unset || attr(s, otelactor.ErrorTypeKey) != "" {
			t.Errorf("span %s: status %v, error.type %q; want a success", s.Name, s.Status, attr(s, otelactor.ErrorTypeKey))
		}
		return
	}
	if s.Status.Code != codes.Error || s.Status.Description == "" {
		t.Errorf("span %s: status %v, want Error with a description", s.Name, s.Status)
	}
	if got := attr(s, otelactor.ErrorTypeKey); got != errType {
		t.Errorf("span %s: error.type %q, want %q", s.Name, got, errType)
	}
	if !hasEvent(s, "exception") {
		t.Errorf("span %s: no exception event", s.Name)
	}
}

// TestAskSpan: Ask's span is a child of the caller's, and records the outcome.
func TestAskSpan(t *testing.T) {
	tr := newTracing(t)
	sup := actor.NewSupervisor(context.Background(), actor.WithSupervisorName("main"))
	r := actor.Spawn(sup, &Worker{}, actor.WithName("w"), actor.WithRestart(5, time.Hour))
	ctx, parent := tr.tracer.Start(context.Background(), "parent")
	pc := parent.SpanContext()

	if n, err := otelactor.Ask(ctx, tr.tracer, r, func(w *Worker) (int, error) { w.n = 7; return w.n, nil }); n != 7 || err != nil {
		t.Fatalf("Ask = %d, %v; want 7, nil", n, err)
	}
	checkCall(t, tr.span(t, "Ask Worker"), pc, "w", true, "")
	tr.exp.Reset()

	errDomain := errors.New("no such thing")
	if err := otelactor.AskErr(ctx, tr.tracer, r, func(*Worker) error { return errDomain }); err != errDomain {
		t.Fatalf("AskErr = %v, want %v", err, errDomain)
	}
	checkCall(t, tr.span(t, "Ask Worker"), pc, "w", true, "_OTHER")
	tr.exp.Reset()

	var pe *actor.PanicError
	if _, err := otelactor.Ask(ctx, tr.tracer, r, func(*Worker) (int, error) { panic("boom") }); !errors.As(err, &pe) {
		t.Fatalf("Ask = %v, want a *PanicError", err)
	}
	s := tr.span(t, "Ask Worker")
	checkCall(t, s, pc, "w", true, "panic")
	for _, e := range s.Events {
		if e.Name == "exception" {
			found := false
			for _, kv := range e.Attributes {
				found = found || kv.Key == "exception.stacktrace" && strings.Contains(kv.Value.AsString(), "trace_test.go")
			}
			if !found {
				t.Errorf("exception event %v: no exception.stacktrace with the panic's stack", e.Attributes)
			}
		}
	}
	tr.exp.Reset()

	r.Stop()
	if err := r.Wait(); err != nil {
		t.Fatalf("Wait = %v", err)
	}
	if _, err := otelactor.Ask(ctx, tr.tracer, r, getN); !errors.Is(err, actor.ErrStopped) {
		t.Fatalf("Ask on a stopped actor = %v, want ErrStopped", err)
	}
	checkCall(t, tr.span(t, "Ask Worker"), pc, "w", false, "stopped")
	parent.End()
	stop(t, sup, nil)
}

// Inbox receives the replies of Request in TestRequestSpan and hands them to the test.
type Inbox struct{ got chan<- error }

// TestRequestSpan: Request's span ends when the reply arrives, before onReply runs, with
// the reply's outcome; a Request refused at once ends it at once.
func TestRequestSpan(t *testing.T) {
	tr := newTracing(t)
	sup := actor.NewSupervisor(context.Background(), actor.WithSupervisorName("main"))
	got := make(chan error, 1)
	inbox := actor.Spawn(sup, &Inbox{got: got})
	r := actor.Spawn(sup, &Worker{}, actor.WithName("w"))
	ctx, parent := tr.tracer.Start(context.Background(), "parent")
	pc := parent.SpanContext()

	err := otelactor.Request(ctx, tr.tracer, r, getN, inbox, func(in *Inbox, n int, err error) {
		if len(tr.exp.GetSpans()) != 1 {
			t.Errorf("in onReply: %d spans ended, want the request's", len(tr.exp.GetSpans()))
		}
		in.got <- err
	})
	if err != nil {
		t.Fatalf("Request = %v", err)
	}
	if err := <-got; err != nil {
		t.Fatalf("reply: %v", err)
	}
	checkCall(t, tr.span(t, "Request Worker"), pc, "w", true, "")
	tr.exp.Reset()

	errDomain := errors.New("no")
	err = otelactor.RequestErr(ctx, tr.tracer, r, func(*Worker) error { return errDomain }, inbox, func(in *Inbox, err error) { in.got <- err })
	if err != nil {
		t.Fatalf("RequestErr = %v", err)
	}
	if err := <-got; err != errDomain {
		t.Fatalf("reply: %v, want %v", err, errDomain)
	}
	checkCall(t, tr.span(t, "Request Worker"), pc, "w", true, "_OTHER")
	tr.exp.Reset()

	r.Stop()
	if err := r.Wait(); err != nil {
		t.Fatalf("Wait = %v", err)
	}
	err = otelactor.Request(ctx, tr.tracer, r, getN, inbox, func(*Inbox, int, error) { t.Error("a reply to a refused Request") })
	if !errors.Is(err, actor.ErrStopped) {
		t.Fatalf("Request to a stopped actor = %v, want ErrStopped", err)
	}
	checkCall(t, tr.span(t, "Request Worker"), pc, "w", false, "stopped")
	parent.End()
	stop(t, sup, nil)
}

// TestNilTracer: with a nil tracer the helpers are the actor package's calls, allocation
// for allocation.
func TestNilTracer(t *testing.T) {
	sup := actor.NewSupervisor(context.Background())
	r := actor.Spawn(sup, &Worker{})
	ctx := context.Background()
	plain := testing.AllocsPerRun(100, func() { _, _ = actor.Ask(ctx, r, getN) })
	traced := testing.AllocsPerRun(100, func() { _, _ = otelactor.Ask(ctx, nil, r, getN) })
	if traced != plain {
		t.Errorf("Ask with a nil tracer: %v allocs, actor.Ask: %v", traced, plain)
	}
	if err := otelactor.AskErr(ctx, nil, r, incrErr); err != nil {
		t.Errorf("AskErr = %v", err)
	}
	if err := otelactor.AskErr(ctx, nil, r, nil); !errors.Is(err, actor.ErrNilMessage) {
		t.Errorf("AskErr(nil fn) = %v, want ErrNilMessage", err)
	}
	if _, err := otelactor.Ask[Worker, int](ctx, newTracing(t).tracer, r, nil); !errors.Is(err, actor.ErrNilMessage) {
		t.Errorf("traced Ask(nil fn) = %v, want ErrNilMessage", err)
	}
	if err := otelactor.Request[Worker, int, Worker](ctx, newTracing(t).tracer, r, getN, r, nil); !errors.Is(err, actor.ErrNilMessage) {
		t.Errorf("traced Request(nil onReply) = %v, want ErrNilMessage", err)
	}
	stop(t, sup, nil)
}

func incrErr(w *Worker) error { w.n++; return nil }
