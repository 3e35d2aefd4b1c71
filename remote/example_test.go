package remote_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/pactor-go/actor"
	"github.com/pactor-go/actor/remote"
	"github.com/pactor-go/actor/remote/embedded"
)

// The declarations both sides share: in a real program, a package that the server and its
// callers import.

// Deposit asks an account to add Amount.
type Deposit struct{ Amount int }

// Withdraw asks an account to take Amount away.
type Withdraw struct{ Amount int }

// Balance is what an account reports.
type Balance struct{ Total int }

// ErrInsufficient is an account's domain error; registering it on the endpoint keeps it
// matchable by callers.
var ErrInsufficient = errors.New("account: insufficient funds")

var (
	deposit  = remote.NewEndpoint[Deposit, Balance]("bank.deposit")
	withdraw = remote.NewEndpoint[Withdraw, Balance]("bank.withdraw", remote.WithErrors(ErrInsufficient))
)

// Account is the actor behind both endpoints.
type Account struct{ total int }

func (a *Account) Deposit(d Deposit) (Balance, error) {
	a.total += d.Amount
	return Balance{a.total}, nil
}

func (a *Account) Withdraw(w Withdraw) (Balance, error) {
	if w.Amount > a.total {
		return Balance{a.total}, fmt.Errorf("withdraw %d from %d: %w", w.Amount, a.total, ErrInsufficient)
	}
	a.total -= w.Amount
	return Balance{a.total}, nil
}

// ExampleHandle serves an actor on two endpoints and calls them, all in one process, over
// an embedded NATS server that has no listener. Across processes only the connection
// changes: see the package doc.
func ExampleHandle() {
	ctx := context.Background()
	ns, err := embedded.Start()
	if err != nil {
		panic(err)
	}
	nc, err := ns.Connect()
	if err != nil {
		panic(err)
	}

	// The serving side.
	sup := actor.NewSupervisor(ctx)
	srv, err := remote.NewServer(sup, nc, "bank", "1.0.0")
	if err != nil {
		panic(err)
	}
	account := actor.Spawn(sup, &Account{})
	if err := remote.Handle(srv, deposit, account, (*Account).Deposit); err != nil {
		panic(err)
	}
	if err := remote.Handle(srv, withdraw, account, (*Account).Withdraw); err != nil {
		panic(err)
	}

	// The calling side (usually another process, with a connection of its own).
	c := remote.NewClient(nc)
	b, err := deposit.Call(ctx, c, Deposit{Amount: 100})
	fmt.Println("deposit:", b.Total, err)
	b, err = withdraw.Call(ctx, c, Withdraw{Amount: 30})
	fmt.Println("withdraw:", b.Total, err)
	_, err = withdraw.Call(ctx, c, Withdraw{Amount: 500})
	fmt.Println("too much:", errors.Is(err, ErrInsufficient), errors.Is(err, remote.ErrHandler))

	// Shut down in order: no new requests, the actors finish, the connection, the server.
	_ = srv.Stop()
	sup.Stop()
	_ = sup.Wait()
	nc.Close()
	ns.Shutdown()

	// Output:
	// deposit: 100 <nil>
	// withdraw: 70 <nil>
	// too much: true true
}

// ExampleEndpoint_Call_noResponders shows that a call nobody serves fails at once, and the
// request ran nowhere.
func ExampleEndpoint_Call_noResponders() {
	ns, err := embedded.Start()
	if err != nil {
		panic(err)
	}
	defer ns.Shutdown()
	nc, err := ns.Connect()
	if err != nil {
		panic(err)
	}
	defer nc.Close()

	_, err = deposit.Call(context.Background(), remote.NewClient(nc), Deposit{Amount: 1})
	fmt.Println(errors.Is(err, remote.ErrNoResponders))
	fmt.Println(err)
	// Output:
	// true
	// remote: bank.deposit: no responders
}
