package slogobserver_test

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/pactor-go/actor"
	"github.com/pactor-go/actor/slogobserver"
)

// Example logs a worker's failure, its restart from fresh state, and its supervisor giving
// up at the next failure. The handler drops the time and the stack to keep the output
// stable; a real one keeps both.
func Example() {
	h := slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey || a.Key == "stack" {
				return slog.Attr{}
			}
			return a
		},
	})
	sup := actor.NewSupervisor(context.Background(),
		actor.WithSupervisorName("root"), actor.WithIntensity(1, time.Minute),
		actor.WithObserver(slogobserver.New(slog.New(h))))
	w := actor.SpawnFunc(sup, func() (*worker, error) { return &worker{}, nil }, actor.WithName("worker"))
	ctx := context.Background()
	actor.Ask(ctx, w, func(*worker) (int, error) { panic("disk full") })
	actor.Ask(ctx, w, func(*worker) (int, error) { return 0, nil })
	actor.Ask(ctx, w, func(*worker) (int, error) { panic("disk still full") })
	sup.Wait()
	// Output:
	// level=ERROR msg="actor failed" actor.name=worker actor.type=worker actor.supervisor=root err.actor=worker err.panic="disk full"
	// level=WARN msg="actor restarted" actor.name=worker actor.type=worker actor.supervisor=root cause.actor=worker cause.panic="disk full"
	// level=ERROR msg="actor failed" actor.name=worker actor.type=worker actor.supervisor=root err.actor=worker err.panic="disk still full"
	// level=ERROR msg="supervisor gave up" supervisor.name=root err="supervisor root gave up: actor worker panicked: disk still full"
}
