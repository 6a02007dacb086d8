#include "broker/log/keys.h"

#include <cstdint>

namespace databroker::log {
namespace {

constexpr std::uint64_t kSignBit = std::uint64_t{1} << 63;

void append_be64(std::string& out, std::uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>((v >> shift) & 0xff));
  }
}

std::uint64_t read_be64(std::string_view in) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8; ++i) {
    v = (v << 8) | static_cast<unsigned char>(in[i]);
  }
  return v;
}

}  // namespace

std::string encode_seq_key(core::Seq seq) {
  std::string key;
  key.reserve(kSeqKeySize);
  append_be64(key, seq);
  return key;
}

std::optional<core::Seq> decode_seq_key(std::string_view key) {
  if (key.size() != kSeqKeySize) {
    return std::nullopt;
  }
  return read_be64(key);
}

bool is_key_safe_name(std::string_view id) {
  return !id.empty() && id.find('\0') == std::string_view::npos;
}

std::string stream_prefix(std::string_view sensor_id) {
  std::string prefix;
  prefix.reserve(sensor_id.size() + 1 + kStreamKeyTailSize);
  prefix.append(sensor_id);
  prefix.push_back('\0');
  return prefix;
}

std::string stream_prefix_end(std::string_view sensor_id) {
  std::string end(sensor_id);
  end.push_back('\1');
  return end;
}

void append_stream_key_tail(std::string& prefix, core::TimestampMs ts, core::Seq seq) {
  // Two's complement with the sign bit flipped is an order-preserving map to unsigned.
  append_be64(prefix, static_cast<std::uint64_t>(ts) ^ kSignBit);
  append_be64(prefix, seq);
}

std::string encode_stream_key(std::string_view sensor_id, core::TimestampMs ts, core::Seq seq) {
  std::string key = stream_prefix(sensor_id);
  append_stream_key_tail(key, ts, seq);
  return key;
}

std::optional<StreamKey> decode_stream_key(std::string_view key, std::size_t prefix_size) {
  if (prefix_size == 0 || key.size() != prefix_size + kStreamKeyTailSize ||
      key[prefix_size - 1] != '\0') {
    return std::nullopt;
  }
  std::string_view tail = key.substr(prefix_size);
  return StreamKey{static_cast<core::TimestampMs>(read_be64(tail) ^ kSignBit),
                   read_be64(tail.substr(8))};
}

std::string meta_prefix(std::string_view ns) {
  std::string prefix(ns);
  prefix.push_back('\0');
  return prefix;
}

std::string meta_prefix_end(std::string_view ns) {
  std::string end(ns);
  end.push_back('\1');
  return end;
}

std::string encode_meta_key(std::string_view ns, std::string_view key) {
  std::string out;
  out.reserve(ns.size() + 1 + key.size());
  out.append(ns);
  out.push_back('\0');
  out.append(key);
  return out;
}

}  // namespace databroker::log
