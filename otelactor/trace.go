package otelactor

import (
	"context"
	"reflect"

	"github.com/pactor-go/actor"
	"github.com/pactor-go/actor/otelactor/internal/span"
	"go.opentelemetry.io/otel/trace"
)

// Tracer returns the tracer of this module ([ScopeName]) from tp, for [Ask], [AskErr],
// [Request] and [RequestErr]: for example otelactor.Tracer(otel.GetTracerProvider()).
// Make it once and keep it. It panics if tp is nil.
func Tracer(tp trace.TracerProvider) trace.Tracer {
	if tp == nil {
		panic("otelactor: Tracer: nil TracerProvider")
	}
	return tp.Tracer(ScopeName)
}

// Ask is [actor.Ask] in a span: it starts a span named "Ask T" (T being the actor's state
// type) as a child of ctx's span, calls actor.Ask with the span's context, and ends the
// span when Ask returns, recording the outcome. It returns exactly what actor.Ask returns,
// and blocks as it does.
//
// The span has kind internal and the attributes actor.type, actor.name (the actor's name,
// [actor.Ref.String]) and actor.supervisor. If the span is recorded, an event "start"
// marks when fn started running on the actor, which splits the span into the time the call
// waited in the mailbox and the time fn ran. On an error the span's status is Error, the
// error is recorded as an exception (with the panic's stack as exception.stacktrace for a
// [*actor.PanicError]), and error.type says which error, as [ErrorTypeKey] describes.
//
// With a nil tracer it is actor.Ask and costs nothing more. Note that actor.name gives an
// unnamed actor its generated name, a small allocation the actor keeps. It panics if ctx or
// r is nil.
func Ask[T, R any](ctx context.Context, tracer trace.Tracer, r *actor.Ref[T], fn func(*T) (R, error)) (R, error) {
	if tracer == nil || fn == nil { // a nil fn gets actor.Ask's ErrNilMessage, untraced
		return actor.Ask(ctx, r, fn)
	}
	check("Ask", ctx, r)
	ctx, sp := start(ctx, tracer, "Ask", r)
	res, err := actor.Ask(ctx, r, marked(sp, fn))
	end(sp, err)
	return res, err
}

// AskErr is [actor.AskErr] in a span, as [Ask] is actor.Ask.
func AskErr[T any](ctx context.Context, tracer trace.Tracer, r *actor.Ref[T], fn func(*T) error) error {
	if fn == nil {
		return actor.AskErr(ctx, r, fn)
	}
	_, err := Ask(ctx, tracer, r, func(t *T) (struct{}, error) { return struct{}{}, fn(t) })
	return err
}

// Request is [actor.Request] in a span: it starts a span named "Request T" as a child of
// ctx's span, with the attributes and the "start" event of [Ask], and ends it when the
// reply reaches replyTo, just before onReply runs, recording the reply's error as Ask
// does; or at once, with the error, if Request returns one. It returns what actor.Request
// returns.
//
// A reply that never comes (replyTo stopped first, see actor.Request) leaves the span
// unended: it is never exported, and nothing else is kept for it. With a nil tracer it is
// actor.Request. It panics if ctx, r or replyTo is nil.
func Request[T, R, U any](ctx context.Context, tracer trace.Tracer, r *actor.Ref[T], fn func(*T) (R, error),
	replyTo *actor.Ref[U], onReply func(*U, R, error)) error {
	if tracer == nil || fn == nil || onReply == nil {
		return actor.Request(ctx, r, fn, replyTo, onReply)
	}
	check("Request", ctx, r)
	if replyTo == nil {
		panic("otelactor: Request: nil replyTo")
	}
	ctx, sp := start(ctx, tracer, "Request", r)
	err := actor.Request(ctx, r, marked(sp, fn), replyTo, func(u *U, res R, err error) {
		end(sp, err)
		onReply(u, res, err)
	})
	if err != nil {
		end(sp, err)
	}
	return err
}

// RequestErr is [actor.RequestErr] in a span, as [Request] is actor.Request.
func RequestErr[T, U any](ctx context.Context, tracer trace.Tracer, r *actor.Ref[T], fn func(*T) error,
	replyTo *actor.Ref[U], onReply func(*U, error)) error {
	if fn == nil || onReply == nil {
		return actor.RequestErr(ctx, r, fn, replyTo, onReply)
	}
	return Request(ctx, tracer, r, func(t *T) (struct{}, error) { return struct{}{}, fn(t) },
		replyTo, func(u *U, _ struct{}, err error) { onReply(u, err) })
}

// check panics, naming the call, for the nil arguments that would otherwise panic deep
// inside OpenTelemetry or the actor package.
func check[T any](op string, ctx context.Context, r *actor.Ref[T]) {
	if ctx == nil {
		panic("otelactor: " + op + ": nil Context")
	}
	if r == nil {
		panic("otelactor: " + op + ": nil Ref")
	}
}

// start starts the span of a call to r. The attributes are set after the start, and only
// on a span that is recorded: an unsampled call does not pay for the names (a sampler
// decides on the span name, which holds the type).
func start[T any](ctx context.Context, tracer trace.Tracer, op string, r *actor.Ref[T]) (context.Context, trace.Span) {
	typ := typeName[T]()
	ctx, s := tracer.Start(ctx, op+" "+typ, trace.WithSpanKind(trace.SpanKindInternal))
	if s.IsRecording() {
		s.SetAttributes(TypeKey.String(typ), NameKey.String(r.String()), SupervisorKey.String(r.Supervisor().String()))
	}
	return ctx, s
}

// marked wraps fn to mark the span when fn starts, if the span is recorded; an unsampled
// call costs no closure.
func marked[T, R any](s trace.Span, fn func(*T) (R, error)) func(*T) (R, error) {
	if !s.IsRecording() {
		return fn
	}
	return func(t *T) (R, error) {
		s.AddEvent("start")
		return fn(t)
	}
}

// end ends span with the outcome err.
func end(s trace.Span, err error) { span.End(s, err, nil) }

// typeName is T's name as the actor package reports it in [actor.Event] Type: "actor"
// for an unnamed type.
func typeName[T any]() string {
	if t := reflect.TypeFor[T]().Name(); t != "" {
		return t
	}
	return "actor"
}
