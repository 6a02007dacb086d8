// LoRaWAN network-server uplinks → one reading: The Things Stack v3 `ApplicationUp` with an
// `uplink_message` (MQTT `v3/{app}@{tenant}/devices/{device}/up`, and the webhook body), and
// ChirpStack v4 `up` events (MQTT `application/{app}/device/{dev_eui}/event/up`, and the HTTP
// integration's `?event=up` body).
//
// The sensor id is the device id (TTS `end_device_ids.device_id`, ChirpStack
// `deviceInfo.deviceName`) or the DevEUI, lower-cased, as the source says. The observation time
// is a decoded `time`/`timestamp` (RFC 3339) when the device sends one, else TTS
// `uplink_message.rx_metadata[0].time`, `uplink_message.received_at`, `received_at`, or
// ChirpStack `time`; else the receive time. TTS `uplink_message.locations.user` gives the
// location.
//
// The decoded payload (`decoded_payload` / `object`, present only when the network server runs
// a payload formatter) is read through the source's field mapping (ingest_source.h): numbers
// and strings with units ("830 mm", "19 ℃") are converted to the measurement's unit or refused
// with a reason (not_a_number, unknown_unit, unit_mismatch, wrong_type, invalid_tag). Unknown
// envelope keys and unmapped decoded fields are ignored, since both servers add fields over
// time. A missing decoded payload is `missing_decoded_payload`.
//
// Thread-safe (one simdjson parser per thread).
#pragma once

#include <string_view>
#include <vector>

#include "broker/core/ingest_source.h"
#include "broker/core/kinds.h"
#include "broker/core/reading.h"
#include "broker/core/result.h"

namespace databroker::codecs {

// `source.format` is Tts or ChirpStack. `kind` is the source's kind (or the topic's {kind});
// InvalidArgument with every problem, fields named by their JSON path.
core::Result<std::vector<core::Reading>> decode_uplink(std::string_view payload,
                                                       const core::IngestSource& source,
                                                       std::string_view kind,
                                                       const core::KindCatalog& kinds,
                                                       core::TimestampMs now);

}  // namespace databroker::codecs
