// The broker process: owns every long-lived object, starts them in dependency order and stops
// them in reverse.
//
// Start: configuration → storage (RocksDB) → kinds, profiles, registry (latest cache rebuilt
// from the log) → key store → ingest pipeline → HTTP server → MQTT ingest → retention.
// Stop (SIGTERM/SIGINT): HTTP stops accepting and finishes in-flight requests, MQTT disconnects,
// the pipeline commits everything queued, the log is flushed; exit status 0.
//
// Threading: run_server() runs on the main thread, which waits for signals; everything else
// runs on threads owned by the components it starts.
#pragma once

#include <string>

#include "broker/config/config.h"

namespace databroker::server {

// Runs the broker until SIGTERM or SIGINT. Returns the process exit status.
int run_server(const config::Config& config);

}  // namespace databroker::server
