// Package span ends the spans of otelactor and otelremote in one way: the outcome as the
// span's status, the error as an exception (with a panic's own stack), and error.type.
package span

import (
	"context"
	"errors"

	"github.com/pactor-go/actor"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// ErrorTypeKey is OpenTelemetry's error.type.
const ErrorTypeKey attribute.Key = "error.type"

// End ends s with the outcome err. errType names err for error.type; if it returns "",
// ErrorType does.
func End(s trace.Span, err error, errType func(error) string) {
	if err != nil {
		var opts []trace.EventOption
		var pe *actor.PanicError
		if errors.As(err, &pe) {
			// RecordError's own stack option would give this goroutine's stack, not the
			// panicking one's.
			opts = append(opts, trace.WithAttributes(attribute.String("exception.stacktrace", string(pe.Stack))))
		}
		s.RecordError(err, opts...)
		s.SetStatus(codes.Error, err.Error())
		t := ""
		if errType != nil {
			t = errType(err)
		}
		if t == "" {
			t = ErrorType(err)
		}
		s.SetAttributes(ErrorTypeKey.String(t))
	}
	s.End()
}

// ErrorType is error.type for the errors of the actor package and of contexts, and
// OpenTelemetry's "_OTHER" for the rest, whose text is in the span's status and exception:
// error.type must stay low in cardinality.
func ErrorType(err error) string {
	var pe *actor.PanicError
	switch {
	case errors.Is(err, actor.ErrStopped):
		return "stopped"
	case errors.Is(err, actor.ErrMailboxFull):
		return "mailbox_full"
	case errors.As(err, &pe):
		return "panic"
	case errors.Is(err, actor.ErrGoexit):
		return "goexit"
	case errors.Is(err, context.DeadlineExceeded):
		return "deadline_exceeded"
	case errors.Is(err, context.Canceled):
		return "canceled"
	}
	return "_OTHER"
}
