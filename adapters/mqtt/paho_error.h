// The one place where Paho's exceptions and return codes become core::Error, shared by the Paho
// files of this folder (paho_connection.cc, mqtt_ingest.cc, paho_publisher.cc). Private to
// adapters/mqtt: it includes Paho, so no header outside this folder may include it.
#pragma once

#include <mqtt/exception.h>
#include <mqtt/token.h>

#include <string>
#include <string_view>

#include "broker/core/result.h"

namespace databroker::mqtt {

// `operation: what` with a code by Paho's return code: InvalidArgument for bad arguments or
// options, Unavailable for everything else (connection, timeouts, disconnected).
core::Error to_error(const ::mqtt::exception& error, std::string_view operation);

// A failed Paho action, for logs: "MQTT error [-1]: TCP/TLS connect failure".
std::string describe_failure(const ::mqtt::token& token);

}  // namespace databroker::mqtt
