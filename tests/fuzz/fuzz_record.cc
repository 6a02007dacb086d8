// The log's record decoder on damaged bytes (a torn or corrupted value as RocksDB could return
// it): decode_record answers Corruption or a reading, never crashes; a reading it returns
// encodes back to bytes that decode to the same reading.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "broker/log/record_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace databroker;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto reading = log::decode_record(bytes);
  if (!reading) return 0;
  auto again = log::decode_record(log::encode_record(*reading));
  if (!again || !(*again == *reading)) {
    std::fprintf(stderr, "a decoded record does not survive encode and decode\n");
    std::abort();
  }
  return 0;
}
