// Package embedded runs a NATS server inside the process, for tests and for programs that
// live on one machine. It is a package of its own so that a binary that only calls
// [github.com/pactor-go/actor/remote] does not link the NATS server (about 25 MB and a
// minute of cold build on two cores): only the programs that import embedded pay for it.
//
// By default the server opens no listener at all. [Server.Connect] hands out in-process
// connections, over an in-memory pipe, so tests need no port and no network. With
// [Loopback], it also listens on 127.0.0.1 on a free port, and [Server.URL] is the address to
// give to other processes on the same machine. It never listens on any other address.
//
// The server installs no signal handlers and logs nothing. Close it last: stop the remote
// servers, stop and wait for the supervisors, drain or close the connections, then call
// [Server.Shutdown], which closes any connection made by Connect that is still open before
// it shuts the server down, since a client whose server vanishes keeps goroutines alive
// trying to reconnect.
package embedded
