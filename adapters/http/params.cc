#include "adapters/http/params.h"

#include <algorithm>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>
#include <cctype>
#include <charconv>
#include <cstdint>

#include "broker/core/time.h"

namespace databroker::http {

namespace {

constexpr char kBase64Url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr unsigned char kCursorVersion = 1;
constexpr std::size_t kCursorBytes = 1 + 8 + 8 + 4;
// 9999-12-31T23:59:59.999Z, the last instant core::format_rfc3339 can write.
constexpr core::TimestampMs kMaxEpochMs = 253'402'300'799'999;

void put_u64(std::string& out, std::uint64_t value) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(value >> shift));
}

std::uint64_t get_u64(std::string_view in) {
  std::uint64_t value = 0;
  for (int i = 0; i < 8; ++i) value = (value << 8) | static_cast<unsigned char>(in[i]);
  return value;
}

std::uint32_t fnv1a(std::string_view a, std::string_view b) {
  std::uint32_t hash = 2166136261u;
  for (const std::string_view part : {a, b}) {
    for (const unsigned char c : part) {
      hash ^= c;
      hash *= 16777619u;
    }
  }
  return hash;
}

bool all_digits(std::string_view text) {
  return !text.empty() &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 &&
        hex_value(text[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2])));
      i += 2;
    } else {
      out.push_back(text[i]);
    }
  }
  return out;
}

}  // namespace

std::string shorten(std::string_view text) {
  // Echo enough of a bad value to recognise it, not a whole pasted document.
  constexpr std::size_t kMax = 64;
  return text.size() <= kMax ? std::string(text) : std::string(text.substr(0, kMax)) + "...";
}

core::Result<ParsedTarget> parse_target(std::string_view target) {
  auto parsed =
      boost::urls::parse_origin_form(boost::urls::string_view(target.data(), target.size()));
  if (!parsed) {
    return core::fail(core::ErrorCode::InvalidArgument, "malformed request target");
  }
  const boost::urls::url_view& url = *parsed;
  ParsedTarget out;
  for (const auto segment : url.segments()) out.segments.push_back(segment);
  std::vector<core::FieldError> errors;
  for (const auto param : url.params(boost::urls::encoding_opts(false))) {
    std::string key = param.key;
    const bool duplicate = std::any_of(out.query.begin(), out.query.end(),
                                       [&](const NameValue& seen) { return seen.first == key; });
    if (duplicate) {
      if (std::none_of(errors.begin(), errors.end(),
                       [&](const core::FieldError& e) { return e.field == key; })) {
        errors.push_back({key, "duplicate", "the parameter '" + shorten(key) + "' is given twice"});
      }
      continue;
    }
    out.query.emplace_back(std::move(key), param.has_value ? std::string(param.value) : "");
  }
  if (!errors.empty()) {
    return core::fail(core::ErrorCode::InvalidArgument, "invalid query parameters",
                      std::move(errors));
  }
  return out;
}

std::optional<std::size_t> parse_limit(std::optional<std::string_view> text,
                                       std::size_t default_limit, std::size_t cap,
                                       std::vector<core::FieldError>& errors) {
  if (!text) return std::min(default_limit, cap);
  std::uint64_t value = 0;
  const auto* end = text->data() + text->size();
  const auto [ptr, ec] = std::from_chars(text->data(), end, value);
  if (!all_digits(*text) || ec == std::errc::invalid_argument || ptr != end) {
    errors.push_back({"limit", "malformed", "limit must be a positive integer"});
    return std::nullopt;
  }
  if (ec == std::errc::result_out_of_range) return cap;  // absurdly large: capped like any other
  if (value == 0) {
    errors.push_back({"limit", "out_of_range", "limit must be at least 1"});
    return std::nullopt;
  }
  return static_cast<std::size_t>(std::min<std::uint64_t>(value, cap));
}

std::optional<core::TimestampMs> parse_time_param(std::string_view field, std::string_view text,
                                                  std::vector<core::FieldError>& errors) {
  if (all_digits(text)) {
    core::TimestampMs value = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || value > kMaxEpochMs) {
      errors.push_back(
          {std::string(field), "out_of_range", std::string(field) + " is beyond the year 9999"});
      return std::nullopt;
    }
    return value;
  }
  if (auto parsed = core::parse_rfc3339(text)) return parsed;
  errors.push_back({std::string(field), "malformed",
                    std::string(field) + " must be an RFC 3339 time or epoch milliseconds, not '" +
                        shorten(text) + "'"});
  return std::nullopt;
}

std::optional<core::Seq> parse_seq_param(std::string_view field, std::string_view text,
                                         std::vector<core::FieldError>& errors) {
  core::Seq value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (!all_digits(text) || ec != std::errc() || ptr != text.data() + text.size()) {
    errors.push_back(
        {std::string(field), "malformed", std::string(field) + " must be an unsigned integer"});
    return std::nullopt;
  }
  return value;
}

std::string base64url_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t n = (static_cast<unsigned char>(bytes[i]) << 16) |
                            (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                            static_cast<unsigned char>(bytes[i + 2]);
    out.push_back(kBase64Url[(n >> 18) & 63]);
    out.push_back(kBase64Url[(n >> 12) & 63]);
    out.push_back(kBase64Url[(n >> 6) & 63]);
    out.push_back(kBase64Url[n & 63]);
  }
  const std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    std::uint32_t n = static_cast<unsigned char>(bytes[i]) << 16;
    if (rest == 2) n |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    out.push_back(kBase64Url[(n >> 18) & 63]);
    out.push_back(kBase64Url[(n >> 12) & 63]);
    if (rest == 2) out.push_back(kBase64Url[(n >> 6) & 63]);
  }
  return out;
}

std::optional<std::string> base64url_decode(std::string_view text) {
  if (text.size() % 4 == 1) return std::nullopt;
  auto value_of = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
  };
  std::string out;
  std::uint32_t buffer = 0;
  int bits = 0;
  for (const char c : text) {
    const int v = value_of(c);
    if (v < 0) return std::nullopt;
    buffer = (buffer << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xFF));
    }
  }
  // Leftover bits must be zero, or two texts would decode to the same bytes.
  if (bits > 0 && (buffer & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

std::string encode_cursor(std::string_view sensor_id, const log::StreamPosition& position) {
  std::string bytes;
  bytes.reserve(kCursorBytes);
  bytes.push_back(static_cast<char>(kCursorVersion));
  put_u64(bytes, static_cast<std::uint64_t>(position.ts));
  put_u64(bytes, position.seq);
  const std::uint32_t check = fnv1a(bytes, sensor_id);
  for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back(static_cast<char>(check >> shift));
  return base64url_encode(bytes);
}

std::optional<log::StreamPosition> decode_cursor(std::string_view sensor_id,
                                                 std::string_view text) {
  const auto bytes = base64url_decode(text);
  if (!bytes || bytes->size() != kCursorBytes) return std::nullopt;
  if (static_cast<unsigned char>((*bytes)[0]) != kCursorVersion) return std::nullopt;
  const std::string_view view(*bytes);
  std::uint32_t check = 0;
  for (int i = 17; i < 21; ++i) check = (check << 8) | static_cast<unsigned char>(view[i]);
  if (check != fnv1a(view.substr(0, 17), sensor_id)) return std::nullopt;
  log::StreamPosition position;
  position.ts = static_cast<core::TimestampMs>(get_u64(view.substr(1, 8)));
  position.seq = get_u64(view.substr(9, 8));
  if (position.seq == 0) return std::nullopt;
  return position;
}

std::string redact_target(std::string_view target) {
  const auto question = target.find('?');
  if (question == std::string_view::npos) return std::string(target);
  std::string out(target.substr(0, question + 1));
  std::string_view query = target.substr(question + 1);
  bool first = true;
  while (true) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const auto eq = pair.find('=');
    const std::string key = percent_decode(pair.substr(0, eq));
    if (!first) out.push_back('&');
    first = false;
    if (key == "access_token") {
      out.append(pair.substr(0, eq));
      out.append("=[redacted]");
    } else {
      out.append(pair);
    }
    if (amp == std::string_view::npos) break;
    query = query.substr(amp + 1);
  }
  return out;
}

namespace {

bool is_media_type(std::string_view content_type, std::string_view wanted) {
  std::string_view type = content_type.substr(0, content_type.find(';'));
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.remove_suffix(1);
  while (!type.empty() && (type.front() == ' ' || type.front() == '\t')) type.remove_prefix(1);
  return type.size() == wanted.size() &&
         std::equal(type.begin(), type.end(), wanted.begin(), [](char a, char b) {
           return std::tolower(static_cast<unsigned char>(a)) == b;
         });
}

}  // namespace

bool is_json_media_type(std::string_view content_type) {
  return is_media_type(content_type, "application/json");
}

bool is_senml_media_type(std::string_view content_type) {
  return is_media_type(content_type, "application/senml+json");
}

}  // namespace databroker::http
