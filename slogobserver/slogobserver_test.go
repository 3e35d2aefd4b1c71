package slogobserver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pactor-go/actor"
	"github.com/pactor-go/actor/slogobserver"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// logBuf is a concurrency-safe buffer of JSON log lines.
type logBuf struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuf) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuf) lines(t *testing.T) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(b.buf.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

func newLogger(b *logBuf, level slog.Level) *slog.Logger {
	return slog.New(slog.NewJSONHandler(b, &slog.HandlerOptions{Level: level}))
}

type worker struct{}

func TestFailuresRestartsAndGiveUps(t *testing.T) {
	var b logBuf
	obs := slogobserver.New(newLogger(&b, slog.LevelInfo))
	s := actor.NewSupervisor(context.Background(), actor.WithObserver(obs), actor.WithIntensity(1, time.Hour),
		actor.WithSupervisorName("root"))
	w := actor.SpawnFunc(s, func() (*worker, error) { return &worker{}, nil }, actor.WithName("w"))
	actor.Ask(context.Background(), w, func(*worker) (int, error) { panic("first") })
	actor.Ask(context.Background(), w, func(*worker) (int, error) { return 0, nil }) // restarted
	actor.Ask(context.Background(), w, func(*worker) (int, error) { panic("second") })
	if err := s.Wait(); err == nil {
		t.Fatal("Supervisor.Wait = nil, want the give-up")
	}
	var failed, restarted, gaveUp int
	for _, l := range b.lines(t) {
		switch l["msg"] {
		case "actor failed":
			failed++
			if l["level"] != "ERROR" {
				t.Errorf("actor failed at %v, want ERROR", l["level"])
			}
			errAttr, _ := l["err"].(map[string]any)
			if errAttr == nil || !strings.Contains(errAttr["stack"].(string), "TestFailuresRestartsAndGiveUps") {
				t.Errorf("failure line without the stack as its own attribute: %v", l)
			}
			if a, _ := l["actor"].(map[string]any); a == nil || a["name"] != "w" || a["type"] != "worker" || a["supervisor"] != "root" {
				t.Errorf("failure line does not say which actor: %v", l)
			}
		case "actor restarted":
			restarted++
			if l["level"] != "WARN" {
				t.Errorf("restart at %v, want WARN", l["level"])
			}
		case "supervisor gave up":
			gaveUp++
			if l["level"] != "ERROR" {
				t.Errorf("give-up at %v, want ERROR", l["level"])
			}
		}
	}
	if failed != 2 || restarted != 1 || gaveUp != 1 {
		t.Errorf("lines: %d failed, %d restarted, %d gave up; want 2, 1, 1", failed, restarted, gaveUp)
	}
}

// TestRefusedAreAggregated sends many messages to a stopped actor: the log gets a handful of
// Debug lines whose counts add up to every refusal, not a line per message.
func TestRefusedAreAggregated(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var b logBuf
		obs := slogobserver.New(newLogger(&b, slog.LevelDebug), slogobserver.WithInterval(time.Second))
		s := actor.NewSupervisor(context.Background(), actor.WithObserver(obs))
		w := actor.Spawn(s, &worker{})
		w.Stop()
		w.Wait()
		const n = 10_000
		for i := range n {
			if err := w.Send(func(*worker) {}); !errors.Is(err, actor.ErrStopped) {
				t.Fatalf("Send %d to a stopped actor = %v", i, err)
			}
			if i == n/2 {
				time.Sleep(time.Second) // a second line, after an interval
			}
		}
		time.Sleep(2 * time.Second) // the timer logs what is left, though no event comes
		s.Stop()
		s.Wait()
		total, lines := 0, 0
		for _, l := range b.lines(t) {
			if l["msg"] == "sends refused" {
				lines++
				total += int(l["count"].(float64))
				if l["level"] != "DEBUG" || l["err"] != actor.ErrStopped.Error() {
					t.Errorf("refusal line %v, want DEBUG with the error", l)
				}
			}
		}
		// Over three seconds at one line per second at most, plus the flush of what is
		// left after each: a handful of lines, not one per refusal.
		if total != n || lines > 8 {
			t.Errorf("%d lines counting %d refusals, want at most 8 lines counting %d", lines, total, n)
		}
	})
}

func TestDroppedCountedAtEnd(t *testing.T) {
	var b logBuf
	obs := slogobserver.New(newLogger(&b, slog.LevelDebug), slogobserver.WithInterval(time.Hour))
	s := actor.NewSupervisor(context.Background(), actor.WithObserver(obs))
	defer func() { s.Stop(); s.Wait() }()
	w := actor.Spawn(s, &worker{})
	started, rel := make(chan struct{}), make(chan struct{})
	w.Send(func(*worker) { close(started); <-rel })
	<-started
	for range 7 {
		w.Send(func(*worker) {})
	}
	// Two drops: the first is logged at once, the rest when the actor ends.
	w.StopNow()
	close(rel)
	w.Wait()
	total := 0
	for _, l := range b.lines(t) {
		if l["msg"] == "messages dropped" {
			if l["reason"] != "stop_now" {
				t.Errorf("drop line %v, want reason stop_now", l)
			}
			total += int(l["count"].(float64))
		}
	}
	if total != 7 {
		t.Errorf("dropped counts add up to %d, want 7", total)
	}
}

func TestDebugOffCountsNothing(t *testing.T) {
	var b logBuf
	obs := slogobserver.New(newLogger(&b, slog.LevelInfo))
	s := actor.NewSupervisor(context.Background(), actor.WithObserver(obs))
	w := actor.Spawn(s, &worker{})
	w.Stop()
	w.Wait()
	for range 100 {
		w.Send(func(*worker) {})
	}
	s.Stop()
	s.Wait()
	if lines := b.lines(t); len(lines) != 0 {
		t.Errorf("at Info, %d lines were logged for refusals and clean ends: %v", len(lines), lines)
	}
}

func TestBadInput(t *testing.T) {
	for name, f := range map[string]func(){
		"slogobserver: New: nil Logger":                  func() { slogobserver.New(nil) },
		"slogobserver: WithInterval: d must be positive": func() { slogobserver.WithInterval(0) },
	} {
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(r.(string), name) {
					t.Errorf("panic = %v, want %q", r, name)
				}
			}()
			f()
		}()
	}
}
