// MQTT publishers of the load generator, and the two ways a run ends: when databroker has
// stored every message (read from its /metrics), or when a plain MQTT subscriber has received
// every message (the ceiling: Mosquitto relaying from the same publishers to one subscriber).
#pragma once

#include "tools/common/options.h"

namespace databroker::loadgen {

int run_mqtt(const tools::Options& options);

}  // namespace databroker::loadgen
