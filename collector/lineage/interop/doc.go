// Package interop proves lineage from instrumentations Causeway did not
// write, run for real: Node.js services on kafkajs and on amqplib traced
// by the official OpenTelemetry instrumentations (testdata/node, against
// kfake and a private RabbitMQ), and Go services on franz-go traced only
// by its kotel plugin, in both of kotel's modes, each chain sending its
// spans to a studio with its in-process collector. The package has tests only; the fixtures that
// stand in for libraries that cannot run here are in ../testdata.
package interop
