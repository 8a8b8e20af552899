// Package brokerconn holds the settings of an authenticated, encrypted
// connection to a Kafka cluster or a NATS server, and turns them into the
// client options of franz-go (kgo.Opt) and nats.go (nats.Option).
//
// The sidecar (package sidecar), the studio's replay engine (studio/replay)
// and the collector's Kafka ingest buffer all connect to brokers, so the
// one place that reads SASL mechanisms, credentials files and TLS files is
// here, in the agent library: it imports only the standard library and the
// two client libraries the agent already depends on, so the agent module
// gains no dependency, and the studio and the collector, which import
// packages of the agent anyway (replay publishes through it), use it
// without importing each other.
//
// Secrets never appear in what this package prints: String methods show
// [set] for a password or token, and RedactURL removes the credentials of
// a URL before it is logged or put in an error.
package brokerconn
