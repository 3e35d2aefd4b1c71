package embedded

import (
	"errors"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// startTimeout bounds how long Start waits for the server to accept connections. It is long
// because a shared two-core machine can stall a goroutine for seconds; a healthy start takes
// a few milliseconds.
const startTimeout = 10 * time.Second

// Option configures a [Server] at [Start]. Options are made by [Loopback].
type Option interface{ apply(*config) }

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	loopback bool
}

// Loopback makes the server listen on 127.0.0.1, on a port the system picks, so that other
// processes on this machine can connect to [Server.URL]. Without it the server has no
// listener and only [Server.Connect] reaches it.
func Loopback() Option { return optionFunc(func(c *config) { c.loopback = true }) }

// Server is a NATS server running in this process. It comes only from [Start]; its methods
// are safe to call from any goroutine.
type Server struct {
	ns  *server.Server
	url string // "" without Loopback

	mu    sync.Mutex
	conns map[*nats.Conn]struct{} // guarded by mu; made by Connect and not seen closed
	down  bool                    // guarded by mu; set once by Shutdown
}

// Start starts a server and returns once it accepts connections. It fails if the server
// cannot be configured or does not become ready within ten seconds.
func Start(opts ...Option) (*Server, error) {
	var cfg config
	for _, o := range opts {
		if o == nil {
			panic("embedded: Start: nil Option")
		}
		o.apply(&cfg)
	}
	so := &server.Options{
		ServerName: "embedded",
		NoLog:      true,
		NoSigs:     true, // a library must not take over the program's signals
		DontListen: !cfg.loopback,
	}
	if cfg.loopback {
		so.Host, so.Port = "127.0.0.1", server.RANDOM_PORT
	}
	ns, err := server.NewServer(so)
	if err != nil {
		return nil, err
	}
	ns.Start()
	if !ns.ReadyForConnections(startTimeout) {
		ns.Shutdown()
		ns.WaitForShutdown()
		return nil, errors.New("embedded: the NATS server did not become ready")
	}
	s := &Server{ns: ns, conns: make(map[*nats.Conn]struct{})}
	if cfg.loopback {
		s.url = ns.ClientURL()
	}
	return s, nil
}

// URL returns the address other processes on this machine connect to, such as
// nats://127.0.0.1:37421, or "" if the server was started without [Loopback].
func (s *Server) URL() string { return s.url }

// Connect returns a connection to the server over an in-memory pipe, with the given nats
// options added. It works with or without [Loopback]. The caller should close or drain it
// before calling [Server.Shutdown]; Shutdown closes it otherwise. After Shutdown it fails.
func (s *Server) Connect(opts ...nats.Option) (*nats.Conn, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		return nil, nats.ErrConnectionClosed
	}
	// Ours go last, so that the caller cannot point the connection elsewhere. The
	// ClosedHandler that forgets the connection is chained to any the caller set.
	var no nats.Options
	for _, o := range opts {
		if err := o(&no); err != nil {
			return nil, err
		}
	}
	userClosed := no.ClosedCB
	opts = append(opts, nats.InProcessServer(s.ns), nats.ClosedHandler(func(c *nats.Conn) {
		s.forget(c)
		if userClosed != nil {
			userClosed(c)
		}
	}))
	nc, err := nats.Connect("", opts...)
	if err != nil {
		return nil, err
	}
	s.conns[nc] = struct{}{}
	return nc, nil
}

func (s *Server) forget(nc *nats.Conn) {
	s.mu.Lock()
	delete(s.conns, nc)
	s.mu.Unlock()
}

// Shutdown closes every connection made by [Server.Connect] that is still open, then shuts
// the server down and returns once it has stopped. Connections from other processes are
// cut. Calling it again does nothing.
func (s *Server) Shutdown() {
	s.mu.Lock()
	if s.down {
		s.mu.Unlock()
		return
	}
	s.down = true
	conns := make([]*nats.Conn, 0, len(s.conns))
	for nc := range s.conns {
		conns = append(conns, nc)
	}
	s.mu.Unlock()
	// Closed before the server goes, so that none of them starts reconnecting.
	for _, nc := range conns {
		nc.Close()
	}
	s.ns.Shutdown()
	s.ns.WaitForShutdown()
}
