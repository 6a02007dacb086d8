// HTTP clients of the load generator: batch ingest over keep-alive connections, and REST
// reads with per-request latency.
#pragma once

#include "tools/common/options.h"

namespace databroker::loadgen {

int run_http_ingest(const tools::Options& options);
int run_read(const tools::Options& options);

}  // namespace databroker::loadgen
