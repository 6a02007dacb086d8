// Declared ingest sources: where payloads of a non-native format arrive and how they become
// readings.
//
// A source names a format (native, SenML, The Things Stack v3 uplink, ChirpStack v4 `up` event),
// an MQTT topic pattern and/or an HTTP endpoint (POST /v1/ingest/{name}), the kind of its
// sensors, how the sensor id is taken from a network-server envelope, and the declarative
// mapping from a decoded payload's fields to the kind's measurements. The configuration loader
// builds and checks them (broker/config); the codecs apply them (adapters/codecs).
//
// Plain values; built once at start and shared as const between threads.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/core/result.h"

namespace databroker::core {

enum class SourceFormat { Native, Senml, Tts, ChirpStack };

std::string_view to_string(SourceFormat format);
// The network-server envelopes: sensor id, kind and mapping come from the source, not the topic.
bool is_network_server(SourceFormat format);

// Which envelope field names the sensor: the device id (TTS `end_device_ids.device_id`,
// ChirpStack `deviceInfo.deviceName`) or the DevEUI (lower-cased, since TTS writes it upper case
// and ChirpStack lower case).
enum class SensorIdRule { DeviceId, DevEui };

// Distance from the sensor down to the contents → fill level:
// fill = clamp((depth − distance) / (depth − blind_zone), 0, 1). The depth comes from the device
// tag `bin_depth_tag` (ChirpStack `deviceInfo.tags`) when set and present, else `bin_depth_mm`.
struct FillFromDistance {
  double bin_depth_mm = 1200;
  double blind_zone_mm = 200;
  std::string bin_depth_tag;
};

// One decoded field → one measurement. The value is read as a number (a JSON number, or a
// string such as "830 mm" whose unit wins over `unit`), multiplied by `scale`, `offset` added,
// and converted from `unit` (empty: already the measurement's unit) to the measurement's unit;
// or it is a boolean for a boolean measurement.
struct FieldMapping {
  std::string from;  // key in the decoded payload; dots step into nested objects
  std::string to;    // a measurement of the source's kind
  std::string unit;
  double scale = 1;
  double offset = 0;
  std::optional<FillFromDistance> fill;
};

// An MQTT topic with placeholders: `{kind}` and `{sensor_id}` stand for one level each and are
// captured; `+` and a final `#` are ordinary wildcards. `senml/{kind}/{sensor_id}` subscribes to
// `senml/+/+`.
class TopicPattern {
 public:
  // InvalidArgument with the reason for an empty pattern, an empty level, an unknown or repeated
  // placeholder, a wildcard inside a level, or `#` before the last level.
  static Result<TopicPattern> parse(std::string_view text);

  const std::string& text() const { return text_; }
  const std::string& filter() const { return filter_; }
  bool captures_kind() const { return kind_level_ >= 0; }
  bool captures_sensor_id() const { return sensor_level_ >= 0; }

  struct Match {
    std::string_view kind;       // empty when the pattern has no {kind}
    std::string_view sensor_id;  // empty when the pattern has no {sensor_id}
  };
  // Whether `topic` matches; the captures point into `topic`.
  std::optional<Match> match(std::string_view topic) const;

 private:
  std::string text_;
  std::string filter_;
  std::vector<std::string> levels_;  // of the filter
  int kind_level_ = -1;
  int sensor_level_ = -1;
};

// Whether some topic matches both MQTT filters (then a message would be decoded twice, or by
// the wrong codec).
bool mqtt_filters_overlap(std::string_view a, std::string_view b);

struct IngestSource {
  std::string name;
  SourceFormat format = SourceFormat::Native;
  std::optional<TopicPattern> mqtt_topic;
  bool http = false;
  std::string kind;  // empty: from the topic's {kind}, or from the registry (SenML over HTTP)
  SensorIdRule sensor_id = SensorIdRule::DeviceId;
  std::vector<FieldMapping> mapping;
};

}  // namespace databroker::core
