package actor_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/pactor-go/actor"
)

// Account's methods below are plain methods: the actor runs them one at a time, so they
// need no lock. Account itself is declared in example_test.go.

// ErrInsufficientFunds is what Withdraw returns for more than the balance.
var ErrInsufficientFunds = errors.New("insufficient funds")

// Deposit adds n to the balance.
func (a *Account) Deposit(n int) error {
	if n <= 0 {
		return fmt.Errorf("deposit %d: not a positive amount", n)
	}
	a.balance += n
	return nil
}

// Withdraw takes n from the balance.
func (a *Account) Withdraw(n int) error {
	if n > a.balance {
		return fmt.Errorf("withdraw %d from %d: %w", n, a.balance, ErrInsufficientFunds)
	}
	a.balance -= n
	return nil
}

// ChargeFee takes the monthly fee of 5. It returns nothing, so it can be sent without
// waiting for it.
func (a *Account) ChargeFee() { a.balance -= 5 }

// Balance returns the balance. The error is always nil; it is there so that
// (*Account).Balance is a func(*Account) (int, error), which is what Ask takes.
func (a *Account) Balance() (int, error) { return a.balance, nil }

// Close agrees to close the account only once it is empty.
func (a *Account) Close() error {
	if a.balance != 0 {
		return fmt.Errorf("close: the balance is %d, not 0", a.balance)
	}
	return nil
}

// AccountRef is a typed proxy for an Account actor, the Go form of pactor's proxy: its
// methods mirror Account's, and each one sends the call to the actor. Methods whose caller
// needs the outcome wait for it with Ask or AskErr, and return the method's error or why it
// did not run (ErrStopped, ctx's error); methods with nothing to report use Send and
// return only whether the actor accepted the call. Callers never see the *Account.
type AccountRef struct{ ref *actor.Ref[Account] }

// SpawnAccount starts an Account actor under sup and returns its proxy.
func SpawnAccount(sup *actor.Supervisor, balance int) AccountRef {
	return AccountRef{actor.Spawn(sup, &Account{balance: balance})}
}

// Deposit adds n to the account's balance and waits until it has.
func (a AccountRef) Deposit(ctx context.Context, n int) error {
	return actor.AskErr(ctx, a.ref, func(acct *Account) error { return acct.Deposit(n) })
}

// Withdraw takes n from the account's balance and waits until it has.
func (a AccountRef) Withdraw(ctx context.Context, n int) error {
	return actor.AskErr(ctx, a.ref, func(acct *Account) error { return acct.Withdraw(n) })
}

// ChargeFee queues the monthly fee and returns without waiting for it.
func (a AccountRef) ChargeFee() error { return a.ref.Send((*Account).ChargeFee) }

// Balance returns the account's balance, after every call queued before it.
func (a AccountRef) Balance(ctx context.Context) (int, error) {
	return actor.Ask(ctx, a.ref, (*Account).Balance)
}

// Close closes the account if it is empty, and then stops its actor, as pactor's close
// does; calls after that return actor.ErrStopped.
func (a AccountRef) Close(ctx context.Context) error {
	if err := actor.AskErr(ctx, a.ref, (*Account).Close); err != nil {
		return err
	}
	a.ref.Stop()
	return nil
}

// Example_proxy shows the Go form of pactor's proxy: a small typed wrapper, AccountRef,
// whose methods mirror the actor's and send each call to it. The caller writes
// acct.Deposit(ctx, 100) and gets Account.Deposit's error back, as with a local object,
// while the account's state stays on the actor's goroutine.
func Example_proxy() {
	ctx := context.Background()
	sup := actor.NewSupervisor(ctx)
	acct := SpawnAccount(sup, 0)

	fmt.Println(acct.Deposit(ctx, 100))
	err := acct.Withdraw(ctx, 500)
	fmt.Println(err, errors.Is(err, ErrInsufficientFunds)) // the method's own error
	fmt.Println(acct.ChargeFee())                          // accepted, runs later
	fmt.Println(acct.Balance(ctx))                         // runs after the fee
	fmt.Println(acct.Close(ctx))
	fmt.Println(acct.Withdraw(ctx, 95))
	fmt.Println(acct.Close(ctx))
	fmt.Println(acct.Deposit(ctx, 1)) // the actor has stopped

	sup.Stop()
	fmt.Println(sup.Wait())
	// Output:
	// <nil>
	// withdraw 500 from 100: insufficient funds true
	// <nil>
	// 95 <nil>
	// close: the balance is 95, not 0
	// <nil>
	// <nil>
	// actor: stopped
	// <nil>
}

// Example_methodExpressions shows methods as messages. A method expression turns a method
// into a function of its receiver: (*Account).Balance is a func(*Account) (int, error),
// what Ask takes; (*Account).Close is a func(*Account) error, what AskErr takes; and
// (*Account).ChargeFee is a func(*Account), what Send takes. No closure is needed unless
// the method has arguments.
func Example_methodExpressions() {
	ctx := context.Background()
	sup := actor.NewSupervisor(ctx)
	acct := actor.Spawn(sup, &Account{balance: 50})

	fmt.Println(acct.Send((*Account).ChargeFee))
	fmt.Println(actor.Ask(ctx, acct, (*Account).Balance))
	fmt.Println(actor.AskErr(ctx, acct, (*Account).Close))
	fmt.Println(actor.AskErr(ctx, acct, func(a *Account) error { return a.Withdraw(45) }))
	fmt.Println(actor.AskErr(ctx, acct, (*Account).Close))

	sup.Stop()
	fmt.Println(sup.Wait())
	// Output:
	// <nil>
	// 45 <nil>
	// close: the balance is 45, not 0
	// <nil>
	// <nil>
	// <nil>
}
