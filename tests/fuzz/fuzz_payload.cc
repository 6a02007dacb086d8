// Payload codecs on hostile bytes: every decoder a sensor's payload can reach (native JSON as
// one reading, an array and a cross-sensor batch; SenML; The Things Stack and ChirpStack uplinks
// through the example configuration's sources), then validation. Whatever decodes must encode
// to valid JSON and survive the log's record codec unchanged: a difference aborts.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string_view>
#include <vector>

#include "adapters/codecs/native_json.h"
#include "adapters/codecs/senml.h"
#include "adapters/codecs/source_decoder.h"
#include "broker/config/config.h"
#include "broker/core/kinds.h"
#include "broker/ingest/validation.h"
#include "broker/log/record_codec.h"

namespace {

using namespace databroker;

constexpr core::TimestampMs kNow = 1'795'000'000'000;

struct Setup {
  core::KindCatalog kinds = core::KindCatalog::with_builtins();
  std::vector<core::IngestSource> sources;
  ingest::Validator validator{kinds, ingest::ValidationRules{}, nullptr};

  Setup() {
    auto config =
        config::load_config(std::string(DATABROKER_SOURCE_DIR) + "/deploy/databroker.example.yaml",
                            [](std::string_view) { return std::nullopt; });
    if (!config) {
      std::fprintf(stderr, "fuzz_payload: the example configuration does not load\n");
      std::abort();
    }
    sources = config->ingest.sources;
    sources.push_back(core::IngestSource{.name = "native"});
  }
};

void check_round_trips(std::vector<core::Reading>& readings, const Setup& setup) {
  std::vector<core::FieldError> errors;
  core::Seq seq = 1;
  for (core::Reading& reading : readings) {
    (void)setup.validator.check(reading, kNow, "", errors);
    reading.seq = seq++;
    reading.received_at = kNow;
    auto decoded = log::decode_record(log::encode_record(reading));
    if (!decoded || !(*decoded == reading)) {
      std::fprintf(stderr, "the record codec changed a reading of %s\n", reading.sensor_id.c_str());
      std::abort();
    }
    std::string json;
    codecs::append_reading_json(json, reading);
    if (nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false).is_discarded()) {
      std::fprintf(stderr, "the JSON encoder wrote invalid JSON: %s\n", json.c_str());
      std::abort();
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const Setup setup;
  const std::string_view payload(reinterpret_cast<const char*>(data), size);
  constexpr std::size_t kMax = 1000;

  for (const codecs::NativeTarget target :
       {codecs::NativeTarget{"n-1", "noise"}, codecs::NativeTarget{"", ""}}) {
    for (const bool allow_array : {false, true}) {
      if (auto readings = codecs::decode_native(payload, target, kNow, allow_array, kMax)) {
        check_round_trips(*readings, setup);
      }
    }
  }
  const codecs::KindLookup kind_of = [](std::string_view id) -> std::optional<std::string> {
    if (id.starts_with("air")) return "air_quality";
    return std::nullopt;
  };
  if (auto readings = codecs::decode_senml(payload, {"", ""}, setup.kinds, kind_of, kNow, kMax)) {
    check_round_trips(*readings, setup);
  }
  for (const auto& source : setup.sources) {
    for (const codecs::DecodeTarget target :
         {codecs::DecodeTarget{"", ""}, codecs::DecodeTarget{"dev-1", "waste_bin"}}) {
      if (auto readings = codecs::decode_for_source(source, payload, target, setup.kinds, kind_of,
                                                    kNow, kMax)) {
        check_round_trips(*readings, setup);
      }
    }
  }
  return 0;
}
