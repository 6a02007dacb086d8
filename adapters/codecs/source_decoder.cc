#include "adapters/codecs/source_decoder.h"

#include "adapters/codecs/native_json.h"
#include "adapters/codecs/uplink.h"

namespace databroker::codecs {

core::Result<std::vector<core::Reading>> decode_for_source(
    const core::IngestSource& source, std::string_view payload, const DecodeTarget& target,
    const core::KindCatalog& kinds, const KindLookup& kind_of, core::TimestampMs now,
    std::size_t max_readings) {
  const std::string_view kind = source.kind.empty() ? target.kind : std::string_view(source.kind);
  switch (source.format) {
    case core::SourceFormat::Native:
      return decode_native(payload, {target.sensor_id, kind}, now, /*allow_array=*/true,
                           max_readings);
    case core::SourceFormat::Senml:
      return decode_senml(payload, {target.sensor_id, kind}, kinds, kind_of, now, max_readings);
    case core::SourceFormat::Tts:
    case core::SourceFormat::ChirpStack:
      return decode_uplink(payload, source, kind, kinds, now);
  }
  return core::fail(core::ErrorCode::Internal, "unknown source format");
}

}  // namespace databroker::codecs
