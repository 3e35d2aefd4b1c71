package remote_test

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/pactor-go/actor"
	"github.com/pactor-go/actor/remote"
	"github.com/pactor-go/actor/remote/embedded"
)

// Item is the benchmarks' request and response: small, like most calls.
type Item struct {
	ID   int    `json:"id"`
	Name string `json:"name"`
}

// Echo is the served actor: it hands the request back.
type Echo struct{ calls int }

func (e *Echo) echo(it Item) (Item, error) { e.calls++; return it, nil }

// bytesCodec is the trivial codec: the request and response are []byte, passed through.
type bytesCodec struct{}

func (bytesCodec) Marshal(v any) ([]byte, error) { return v.([]byte), nil }
func (bytesCodec) Unmarshal(data []byte, v any) error {
	*v.(*[]byte) = data
	return nil
}

// benchNode serves an echo endpoint (remote) and a raw NATS echo on one connection, which
// the callers use too, so that both sides of each comparison share everything but the
// layer being measured. With tcp the connection goes through a loopback socket, as it
// would between processes; otherwise it is in-process.
func benchNode(b *testing.B, tcp bool) *nats.Conn {
	var nc *nats.Conn
	if tcp {
		ns := startNATS(b, embedded.Loopback())
		var err error
		if nc, err = nats.Connect(ns.URL()); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(nc.Close)
	} else {
		nc = connect(b, startNATS(b))
	}
	sup := actor.NewSupervisor(context.Background())
	srv, err := remote.NewServer(sup, nc, "bench", "1.0.0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = srv.Stop(); sup.Stop(); _ = sup.Wait() })
	ref := actor.Spawn(sup, &Echo{})
	if err := remote.Handle(srv, echoEP, ref, (*Echo).echo); err != nil {
		b.Fatal(err)
	}
	if err := remote.Handle(srv, echoBytesEP, ref, func(_ *Echo, p []byte) ([]byte, error) { return p, nil }); err != nil {
		b.Fatal(err)
	}
	if _, err := nc.Subscribe("bench.raw", func(m *nats.Msg) { _ = m.Respond(m.Data) }); err != nil {
		b.Fatal(err)
	}
	if err := nc.Flush(); err != nil {
		b.Fatal(err)
	}
	return nc
}

var (
	echoEP      = remote.NewEndpoint[Item, Item]("bench.echo")
	echoBytesEP = remote.NewEndpoint[[]byte, []byte]("bench.bytes", remote.WithCodec(bytesCodec{}))
	benchItem   = Item{ID: 42, Name: "a small request"}
)

// BenchmarkRoundTrip compares a remote call (JSON both ways, the deadline header,
// actor.Request, the reply) with a raw NATS request/reply of the same JSON bytes on the
// same connection, which a subscription answers from its callback (impl=raw), and with
// that raw request carrying the deadline header a remote call carries (impl=rawhdr), which
// tells how much of the difference NATS headers alone cost. callers=N runs N concurrent
// callers; transport=tcp goes through a loopback socket, as between processes.
func BenchmarkRoundTrip(b *testing.B) {
	raw, _ := json.Marshal(benchItem)
	for _, tcp := range []bool{false, true} {
		transport := map[bool]string{false: "inproc", true: "tcp"}[tcp]
		for _, callers := range []int{1, 16} {
			b.Run(fmt.Sprintf("transport=%s/callers=%d", transport, callers), func(b *testing.B) {
				b.Run("impl=raw", func(b *testing.B) {
					nc := benchNode(b, tcp)
					run(b, callers, func(ctx context.Context) error {
						_, err := nc.RequestWithContext(ctx, "bench.raw", raw)
						return err
					})
				})
				b.Run("impl=rawhdr", func(b *testing.B) {
					nc := benchNode(b, tcp)
					run(b, callers, func(ctx context.Context) error {
						d, _ := ctx.Deadline()
						m := &nats.Msg{Subject: "bench.raw", Data: raw, Header: nats.Header{
							"Pactor-Timeout": {strconv.FormatInt(int64(time.Until(d)), 10)},
						}}
						_, err := nc.RequestMsgWithContext(ctx, m)
						return err
					})
				})
				b.Run("impl=remote", func(b *testing.B) {
					c := remote.NewClient(benchNode(b, tcp))
					run(b, callers, func(ctx context.Context) error {
						_, err := echoEP.Call(ctx, c, benchItem)
						return err
					})
				})
			})
		}
	}
}

// BenchmarkCodec compares the JSON codec with a trivial one that passes []byte through, in
// a whole remote call.
func BenchmarkCodec(b *testing.B) {
	raw, _ := json.Marshal(benchItem)
	b.Run("codec=json", func(b *testing.B) {
		c := remote.NewClient(benchNode(b, false))
		run(b, 1, func(ctx context.Context) error {
			_, err := echoEP.Call(ctx, c, benchItem)
			return err
		})
	})
	b.Run("codec=bytes", func(b *testing.B) {
		c := remote.NewClient(benchNode(b, false))
		run(b, 1, func(ctx context.Context) error {
			_, err := echoBytesEP.Call(ctx, c, raw)
			return err
		})
	})
}

// run calls call b.N times from callers goroutines, with a deadline as callers have.
func run(b *testing.B, callers int, call func(context.Context) error) {
	ctx, cancel := context.WithTimeout(context.Background(), long)
	defer cancel()
	b.ReportAllocs()
	if callers == 1 {
		for b.Loop() {
			if err := call(ctx); err != nil {
				b.Fatal(err)
			}
		}
		return
	}
	b.SetParallelism((callers + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := call(ctx); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
