// Package otelactor exports what happens to actors as OpenTelemetry metrics, and traces
// calls to them.
package otelactor
