// Package interop proves lineage from instrumentations Causeway did not
// write, run for real: Node.js services on kafkajs traced by the official
// @opentelemetry/instrumentation-kafkajs (testdata/kafkajs), and Go
// services on franz-go traced only by its kotel plugin, in both of
// kotel's modes, each chain against kfake and a studio with its
// in-process collector. The package has tests only; the fixtures that
// stand in for libraries that cannot run here are in ../testdata.
package interop
