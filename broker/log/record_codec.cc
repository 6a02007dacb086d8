#include "broker/log/record_codec.h"

#include <bit>
#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <variant>

namespace databroker::log {
namespace {

constexpr unsigned char kTagDouble = 0;
constexpr unsigned char kTagBool = 1;
constexpr unsigned char kTagString = 2;
constexpr unsigned char kTagMask = 0x03;
constexpr unsigned char kKnownBit = 0x04;
constexpr unsigned char kHasLocation = 0x01;
constexpr unsigned char kHasAlt = 0x02;
// The smallest encoding of one measurement: empty name, header, one payload byte (a bool or an
// empty string). Caps the count a decoder believes before it has the bytes.
constexpr std::size_t kMinValueSize = 3;

void put_varint(std::string& out, std::uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

std::uint64_t zigzag(std::int64_t v) {
  return (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
}

std::int64_t unzigzag(std::uint64_t v) {
  return static_cast<std::int64_t>(v >> 1) ^ -static_cast<std::int64_t>(v & 1);
}

void put_string(std::string& out, std::string_view s) {
  put_varint(out, s.size());
  out.append(s);
}

void put_double(std::string& out, double d) {
  auto bits = std::bit_cast<std::uint64_t>(d);
  for (int i = 0; i < 8; ++i) {
    out.push_back(static_cast<char>(bits & 0xff));
    bits >>= 8;
  }
}

// A cursor over untrusted bytes. Every read checks the bounds and returns nothing on failure;
// the first failure is reported with its offset.
class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}

  std::size_t offset() const { return pos_; }
  std::size_t remaining() const { return in_.size() - pos_; }

  std::optional<unsigned char> byte() {
    if (remaining() < 1) {
      return std::nullopt;
    }
    return static_cast<unsigned char>(in_[pos_++]);
  }

  std::optional<std::uint64_t> varint() {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      auto b = byte();
      if (!b) {
        return std::nullopt;
      }
      // The tenth byte may only carry the top bit of a 64-bit value.
      if (shift == 63 && *b > 1) {
        return std::nullopt;
      }
      v |= static_cast<std::uint64_t>(*b & 0x7f) << shift;
      if ((*b & 0x80) == 0) {
        return v;
      }
    }
    return std::nullopt;
  }

  std::optional<std::int64_t> signed_varint() {
    auto v = varint();
    if (!v) {
      return std::nullopt;
    }
    return unzigzag(*v);
  }

  std::optional<std::string> string() {
    auto size = varint();
    if (!size || *size > remaining()) {
      return std::nullopt;
    }
    std::string s(in_.substr(pos_, static_cast<std::size_t>(*size)));
    pos_ += static_cast<std::size_t>(*size);
    return s;
  }

  // Nothing when truncated or not finite: the broker never stores NaN or infinities, so one in
  // a record is damage.
  std::optional<double> float64() {
    if (remaining() < 8) {
      return std::nullopt;
    }
    std::uint64_t bits = 0;
    for (int i = 7; i >= 0; --i) {
      bits = (bits << 8) | static_cast<unsigned char>(in_[pos_ + static_cast<std::size_t>(i)]);
    }
    pos_ += 8;
    const double value = std::bit_cast<double>(bits);
    if (!std::isfinite(value)) return std::nullopt;
    return value;
  }

 private:
  std::string_view in_;
  std::size_t pos_ = 0;
};

core::Result<core::Reading> corrupt(const Reader& r, std::string_view what) {
  return core::fail(
      core::ErrorCode::Corruption,
      "bad log record at byte " + std::to_string(r.offset()) + ": " + std::string(what));
}

}  // namespace

std::string encode_record(const core::Reading& reading) {
  std::string out;
  out.reserve(32 + reading.sensor_id.size() + reading.kind.size() + 24 * reading.values.size());
  out.push_back(static_cast<char>(kRecordVersion));
  put_varint(out, reading.seq);
  put_varint(out, zigzag(reading.ts));
  put_varint(out, zigzag(reading.received_at));
  put_string(out, reading.sensor_id);
  put_string(out, reading.kind);
  put_varint(out, reading.values.size());
  for (const core::Measurement& m : reading.values) {
    put_string(out, m.name);
    const unsigned char known = m.known ? kKnownBit : 0;
    std::visit(
        [&](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, double>) {
            out.push_back(static_cast<char>(kTagDouble | known));
            put_double(out, v);
          } else if constexpr (std::is_same_v<T, bool>) {
            out.push_back(static_cast<char>(kTagBool | known));
            out.push_back(v ? '\1' : '\0');
          } else {
            out.push_back(static_cast<char>(kTagString | known));
            put_string(out, v);
          }
        },
        m.value);
  }
  if (!reading.location) {
    out.push_back('\0');
  } else {
    const core::Location& loc = *reading.location;
    out.push_back(static_cast<char>(kHasLocation | (loc.alt ? kHasAlt : 0)));
    put_double(out, loc.lat);
    put_double(out, loc.lon);
    if (loc.alt) {
      put_double(out, *loc.alt);
    }
  }
  return out;
}

core::Result<core::Reading> decode_record(std::string_view bytes) {
  Reader r(bytes);
  auto version = r.byte();
  if (!version) {
    return corrupt(r, "empty");
  }
  if (*version != kRecordVersion) {
    return corrupt(r, "unknown record version " + std::to_string(*version));
  }

  core::Reading reading;
  auto seq = r.varint();
  auto ts = seq ? r.signed_varint() : std::nullopt;
  auto received_at = ts ? r.signed_varint() : std::nullopt;
  if (!received_at) {
    return corrupt(r, "truncated header");
  }
  reading.seq = *seq;
  reading.ts = *ts;
  reading.received_at = *received_at;

  auto sensor_id = r.string();
  if (!sensor_id) {
    return corrupt(r, "bad sensor id");
  }
  reading.sensor_id = std::move(*sensor_id);
  auto kind = r.string();
  if (!kind) {
    return corrupt(r, "bad kind");
  }
  reading.kind = std::move(*kind);

  auto count = r.varint();
  if (!count || *count > r.remaining() / kMinValueSize) {
    return corrupt(r, "bad value count");
  }
  reading.values.reserve(static_cast<std::size_t>(*count));
  for (std::uint64_t i = 0; i < *count; ++i) {
    core::Measurement m;
    auto name = r.string();
    if (!name) {
      return corrupt(r, "bad value name");
    }
    m.name = std::move(*name);
    auto header = r.byte();
    if (!header || (*header & ~(kTagMask | kKnownBit)) != 0) {
      return corrupt(r, "bad value header");
    }
    m.known = (*header & kKnownBit) != 0;
    switch (*header & kTagMask) {
      case kTagDouble: {
        auto d = r.float64();
        if (!d) {
          return corrupt(r, "truncated or non-finite number");
        }
        m.value = *d;
        break;
      }
      case kTagBool: {
        auto b = r.byte();
        if (!b || *b > 1) {
          return corrupt(r, "bad boolean");
        }
        m.value = *b == 1;
        break;
      }
      case kTagString: {
        auto s = r.string();
        if (!s) {
          return corrupt(r, "bad string value");
        }
        m.value = std::move(*s);
        break;
      }
      default:
        return corrupt(r, "unknown value tag");
    }
    reading.values.push_back(std::move(m));
  }

  auto flags = r.byte();
  if (!flags || (*flags != 0 && *flags != kHasLocation && *flags != (kHasLocation | kHasAlt))) {
    return corrupt(r, "bad location flags");
  }
  if (*flags != 0) {
    core::Location loc;
    auto lat = r.float64();
    auto lon = lat ? r.float64() : std::nullopt;
    if (!lon) {
      return corrupt(r, "truncated or non-finite location");
    }
    loc.lat = *lat;
    loc.lon = *lon;
    if ((*flags & kHasAlt) != 0) {
      auto alt = r.float64();
      if (!alt) {
        return corrupt(r, "truncated or non-finite altitude");
      }
      loc.alt = *alt;
    }
    reading.location = loc;
  }
  if (r.remaining() != 0) {
    return corrupt(r, "trailing bytes");
  }
  return reading;
}

}  // namespace databroker::log
