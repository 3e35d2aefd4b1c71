package actor

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
)

var (
	// ErrStopped is returned by [Ref.Send], [Ref.SendContext], [Ref.Enqueue], [Ask] and
	// [Request] once the actor has been told to stop or has ended, and by [Ask] (or given as
	// [Request]'s reply) for a call that the actor dropped, by [Ref.StopNow] or because it
	// failed before running it. [Ref.Wait] returns it for a Ref that [Spawn] made on a
	// supervisor that was already stopped, and [Watch] reports it for such a Ref.
	ErrStopped = errors.New("actor: stopped")

	// ErrMailboxFull is returned by [Ref.Send] and [Request] when the actor was spawned with
	// [WithMailboxSize] and that many messages already wait in its mailbox.
	ErrMailboxFull = errors.New("actor: mailbox full")

	// ErrNilMessage is returned by the send methods of [Ref] for a nil message, by [Ask] for
	// a nil function, and by [Request] for a nil function or reply handler. Nothing is
	// queued.
	ErrNilMessage = errors.New("actor: nil message")

	// ErrGoexit is the failure of an actor whose message, OnStart or OnStop hook called
	// [runtime.Goexit] (as t.FailNow does). The goroutine that ran the actor is gone, so the
	// actor fails even with [WithRestart]; [Ref.Wait] and [Supervisor.Wait] return an error
	// that wraps ErrGoexit, and an [Ask] whose function called Goexit returns it.
	ErrGoexit = errors.New("actor: runtime.Goexit called")
)

// PanicError is the error of a message, OnStart or OnStop hook that panicked. It is built on
// the actor's own goroutine when the panic is recovered, so Stack is the panicking
// goroutine's stack. [Ask] returns it to the caller whose function panicked; [Ref.Wait] and
// [Supervisor.Wait] return it when the panic made the actor fail.
type PanicError struct {
	// Value is the value passed to panic. A panic(nil) arrives as a *runtime.PanicNilError.
	Value any
	// Stack is the output of [debug.Stack] at recovery, without its "goroutine N" line.
	Stack []byte

	actor string // the actor's name, for Error
}

var (
	_ error          = (*PanicError)(nil)
	_ fmt.Formatter  = (*PanicError)(nil)
	_ slog.LogValuer = (*PanicError)(nil)
)

func newPanicError(actor string, v any) *PanicError {
	stack := debug.Stack()
	// The first line names the goroutine, which is about to end (or to run other
	// messages): drop it rather than let it mislead.
	if i := bytes.IndexByte(stack, '\n'); i >= 0 {
		stack = stack[i+1:]
	}
	return &PanicError{Value: v, Stack: stack, actor: actor}
}

// Error names the actor and the panic value, on one line: "actor NAME panicked: VALUE". The
// stack is in Stack; formatting the error with %+v prints it too.
func (e *PanicError) Error() string {
	return fmt.Sprintf("actor %s panicked: %v", e.actor, e.Value)
}

// Format prints Error, and with %+v also the stack, after a blank line.
func (e *PanicError) Format(f fmt.State, verb rune) {
	switch {
	case verb == 'v' && f.Flag('+'):
		fmt.Fprintf(f, "%s\n\n%s", e.Error(), e.Stack)
	case verb == 'q':
		fmt.Fprintf(f, "%q", e.Error())
	default:
		io.WriteString(f, e.Error())
	}
}

// LogValue makes a PanicError log as a group of the actor's name, the panic value and the
// stack, each an attribute of its own, so that a log line stays one line.
func (e *PanicError) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("actor", e.actor),
		slog.String("panic", fmt.Sprint(e.Value)),
		slog.String("stack", string(e.Stack)),
	)
}

// Unwrap returns Value when it is an error, so that [errors.Is] and [errors.As] see through a
// panic(err); otherwise it returns nil.
func (e *PanicError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}
