// The readings the load generator sends: the same bytes whether they go to databroker or to a
// ceiling (Mosquitto relaying to a plain subscriber, a server answering 204).
#pragma once

#include <cstdio>
#include <string>

#include "broker/core/time.h"

namespace databroker::loadgen {

// The sensor id of the i-th load sensor: load-000042. Fixed width, so ids sort like numbers
// and every payload of a run has the same size.
inline std::string sensor_id(long i) {
  char id[32];
  std::snprintf(id, sizeof id, "load-%06ld", i);
  return id;
}

// A native air-quality reading of about 200 bytes (the size the ceilings are quoted for):
// all six measurements, battery, rssi and a location. `n` varies the values.
inline std::string air_quality_payload(core::TimestampMs ts, long n) {
  char out[256];
  const double pm25 = 5 + static_cast<double>(n % 400) / 10.0;
  std::snprintf(out, sizeof out,
                "{\"ts\":%lld,\"values\":{\"pm25\":%.1f,\"pm10\":%.1f,\"no2\":%.1f,\"o3\":%.1f,"
                "\"temperature\":%.1f,\"humidity\":%.1f,\"battery\":87,\"rssi\":-97},"
                "\"location\":{\"lat\":50.87959,\"lon\":4.70093}}",
                static_cast<long long>(ts), pm25, pm25 * 1.6, 20 + pm25 / 2, 60 - pm25 / 3,
                10 + static_cast<double>(n % 100) / 10.0, 50 + static_cast<double>(n % 400) / 10.0);
  return out;
}

// A native noise reading; with `with_target` it also names its sensor and kind, as the
// cross-stream batch route POST /v1/readings needs.
inline std::string noise_reading(const std::string& sensor, double laeq, core::TimestampMs ts,
                                 bool with_target) {
  std::string out = "{";
  if (with_target) out += "\"sensor\":\"" + sensor + "\",\"kind\":\"noise\",";
  out += "\"ts\":" + std::to_string(ts) + ",\"values\":{\"laeq\":" + std::to_string(laeq) +
         ",\"lamax\":" + std::to_string(laeq + 12.5) + ",\"battery\":87}}";
  return out;
}

}  // namespace databroker::loadgen
