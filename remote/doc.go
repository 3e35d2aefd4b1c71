// Package remote calls actors in other processes over NATS.
package remote
