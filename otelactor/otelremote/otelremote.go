// Package otelremote traces the calls of [github.com/pactor-go/actor/remote] with
// OpenTelemetry: [ClientHook] starts a client span for each call and sends its W3C trace
// context in the request's NATS headers, and [RequestHook] starts the server's span as
// its child, so that a trace goes on from the caller's process into the actor that
// serves it.
//
// It is a package of its own so that a program that imports otelactor for its metrics
// does not link NATS.
//
//	tp := otel.GetTracerProvider()
//	client := remote.NewClient(nc, remote.WithCallHook(otelremote.ClientHook(tp)))
//	srv, err := remote.NewServer(sup, nc, "counter", "1.0.0", remote.WithRequestHook(otelremote.RequestHook(tp)))
//
// A [remote.HandleContext] handler receives the server span's context, and can pass it on
// (to [github.com/pactor-go/actor/otelactor.Ask], say) to continue the trace.
package otelremote

import (
	"context"
	"errors"
	"net/http"

	"github.com/nats-io/nats.go"
	"github.com/pactor-go/actor/otelactor"
	"github.com/pactor-go/actor/otelactor/internal/span"
	"github.com/pactor-go/actor/remote"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// The attributes of the spans, from OpenTelemetry's RPC conventions. There is no
// registered rpc.system.name for NATS request/reply, so it names the protocol that the
// remote module speaks over it.
var (
	rpcSystem = attribute.String("rpc.system.name", "pactor.remote")
	rpcMethod = attribute.Key("rpc.method")
)

// Option configures [ClientHook] and [RequestHook]. Options are made by [WithPropagator].
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	prop propagation.TextMapPropagator
}

func newConfig(op string, tp trace.TracerProvider, opts []Option) config {
	if tp == nil {
		panic("otelremote: " + op + ": nil TracerProvider")
	}
	c := config{prop: propagation.TraceContext{}}
	for _, o := range opts {
		if o == nil {
			panic("otelremote: " + op + ": nil Option")
		}
		o.apply(&c)
	}
	return c
}

// WithPropagator sets how the trace context travels in the request's headers. The default
// is [propagation.TraceContext], the W3C traceparent and tracestate headers; use a
// composite propagator to add baggage, say, and the same on both sides. It panics if p is
// nil.
func WithPropagator(p propagation.TextMapPropagator) Option {
	if p == nil {
		panic("otelremote: WithPropagator: nil TextMapPropagator")
	}
	return optionFunc(func(c *config) { c.prop = p })
}

// ClientHook returns a [remote.ClientHook] for [remote.WithCallHook] that traces each call:
// it starts a span of kind client named after the endpoint's subject, as a child of the
// call's context, writes the span's context into the request's headers, and ends the span
// when the call returns, with the error Call returns (status Error, the error recorded,
// and error.type: see [ErrorType]). The tracer is tp's, named [otelactor.ScopeName]. It
// panics if tp is nil.
func ClientHook(tp trace.TracerProvider, opts ...Option) remote.ClientHook {
	cfg := newConfig("ClientHook", tp, opts)
	tracer := tp.Tracer(otelactor.ScopeName)
	return func(ctx context.Context, subject string, h nats.Header) func(error) {
		ctx, s := tracer.Start(ctx, subject, trace.WithSpanKind(trace.SpanKindClient),
			trace.WithAttributes(rpcSystem, rpcMethod.String(subject)))
		cfg.prop.Inject(ctx, propagation.HeaderCarrier(http.Header(h)))
		return func(err error) { span.End(s, err, ErrorType) }
	}
}

// RequestHook returns a [remote.RequestHook] for [remote.WithRequestHook] that traces each
// request the server takes: it reads the caller's trace context from the headers, starts a
// span of kind server named after the subject, as its child, and gives the actor's request
// the span's context; the span ends with the error the server sends back, as ClientHook's
// does. A request without trace context starts a new trace. It panics if tp is nil.
func RequestHook(tp trace.TracerProvider, opts ...Option) remote.RequestHook {
	cfg := newConfig("RequestHook", tp, opts)
	tracer := tp.Tracer(otelactor.ScopeName)
	return func(ctx context.Context, subject string, h nats.Header) (context.Context, func(error)) {
		ctx = cfg.prop.Extract(ctx, propagation.HeaderCarrier(http.Header(h)))
		ctx, s := tracer.Start(ctx, subject, trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(rpcSystem, rpcMethod.String(subject)))
		return ctx, func(err error) { span.End(s, err, ErrorType) }
	}
}

// ErrorType is the error.type the hooks give a failed call: a short name for the errors of
// the remote package ("no_responders", "bad_request", "bad_response", "handler",
// "server_stopped"), then for those of the actor package and of contexts ("stopped",
// "mailbox_full", "panic", "goexit", "deadline_exceeded", "canceled"), and "_OTHER" for
// the rest.
func ErrorType(err error) string {
	switch {
	case errors.Is(err, remote.ErrNoResponders):
		return "no_responders"
	case errors.Is(err, remote.ErrBadRequest):
		return "bad_request"
	case errors.Is(err, remote.ErrBadResponse):
		return "bad_response"
	case errors.Is(err, remote.ErrServerStopped):
		return "server_stopped"
	}
	if t := span.ErrorType(err); t != "_OTHER" {
		return t
	}
	if errors.Is(err, remote.ErrHandler) {
		return "handler"
	}
	return "_OTHER"
}
