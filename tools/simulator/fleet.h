// The simulated fleet: which sensors exist, where they stand, in which format each one speaks.
//
// A sensor's id, place, DevEUI and bin depth depend only on its kind and its number, never on the
// seed or the number of sensors, so the declarations in deploy/sensors.example.yaml stay true for
// every run; the seed decides the values (tools/simulator/models.h). Sensors are spread over the
// kinds the chosen format can carry (the ingest contract, see tools/simulator/README.md):
// native and SenML carry all four, The Things Stack air quality and waste bins, ChirpStack
// parking spots and waste bins; `mixed` spreads each kind over every format that carries it.
//
// Not thread-safe: a sensor is sampled by one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/core/reading.h"
#include "tools/simulator/models.h"

namespace databroker::simulator {

enum class Format { Native, Senml, Tts, Chirpstack };

std::string_view to_string(Format format);
// "native", "senml", "tts", "chirpstack"; nothing for anything else.
std::optional<Format> parse_format(std::string_view text);

struct SensorInfo {
  std::string id;    // also the TTS device id and the ChirpStack device name
  std::string kind;  // air_quality, noise, waste_bin, parking
  ModelKind model = ModelKind::AirQuality;
  Format format = Format::Native;
  // The ingest source of the contract: "native", "senml", "tts-waste", "tts-air",
  // "chirpstack-parking" or "chirpstack-waste".
  std::string source;
  std::string name;  // a label for people
  core::Location location;
  std::string dev_eui;   // 16 lower-case hex digits
  std::string dev_addr;  // 8 lower-case hex digits
  // Waste bins: the depth the ChirpStack tag binDepthMm tells; the TTS source assumes 1200.
  int bin_depth_mm = 1200;
  // Air quality over SenML: concentrations in the primary unit kg/m3 rather than ug/m3 (bver 26).
  bool senml_primary_units = false;
};

// What the radio layer adds to an uplink: frame counter, signal, gateway, ids.
struct Radio {
  std::uint32_t f_cnt = 0;
  int rssi = -100;
  double snr = 0;
  int spreading_factor = 9;
  int gateway = 0;  // index into the gateways of payloads.cc
  std::uint32_t frequency_hz = 868100000;
  std::uint64_t random = 0;  // bits for deduplication, correlation and uplink ids
};

struct Sample {
  // Sensor id, kind, observation time, the model's values and the sensor's location.
  core::Reading reading;
  Radio radio;
};

class SimSensor {
 public:
  SimSensor(SensorInfo info, std::uint64_t run_seed);

  const SensorInfo& info() const { return info_; }
  // The sensor's observation at simulated time `t` (not earlier than the previous call's).
  Sample sample(core::TimestampMs t);

 private:
  SensorInfo info_;
  std::unique_ptr<ValueModel> model_;
  Rng radio_rng_;
  std::uint32_t f_cnt_;
};

// The fleet as entries of a sensors file (deploy/sensors.example.yaml): id, kind, name,
// location, zone, tags (`simulated`, and `garage`, `on-street` or `street-bin` by type), owner
// and steward, so the policy can tell garages from street spots.
std::string declarations_yaml(const std::vector<SimSensor>& fleet);

// `count` sensors for `format` (nothing: mixed), values seeded by `seed`.
std::vector<SimSensor> make_fleet(std::size_t count, std::optional<Format> format,
                                  std::uint64_t seed);

}  // namespace databroker::simulator
