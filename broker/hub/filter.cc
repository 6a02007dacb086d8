#include "broker/hub/filter.h"

#include <algorithm>

#include "policies/policy.h"

namespace databroker::hub {

namespace {

constexpr std::size_t kMaxEntryLength = 128;

bool any_glob_matches(const std::vector<std::string>& patterns, std::string_view text) {
  return std::any_of(patterns.begin(), patterns.end(), [&](const std::string& pattern) {
    return policies::glob_match(pattern, text);
  });
}

bool is_stream_pattern(std::string_view text) {
  if (text.empty() || text.size() > kMaxEntryLength) return false;
  return std::all_of(text.begin(), text.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == ':' || c == '-' || c == '*' || c == '?';
  });
}

bool is_zone_pattern(std::string_view text) {
  if (text.empty() || text.size() > kMaxEntryLength) return false;
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return static_cast<unsigned char>(c) >= 0x20 && c != 0x7f; });
}

}  // namespace

bool SubscriptionFilter::matches(const registry::SensorInfo& sensor) const {
  if (!kinds.empty() && std::find(kinds.begin(), kinds.end(), sensor.kind) == kinds.end()) {
    return false;
  }
  if (!streams.empty() && !any_glob_matches(streams, sensor.id)) return false;
  if (!zones.empty() && !any_glob_matches(zones, sensor.zone)) return false;
  return true;
}

core::Status validate_filter(const SubscriptionFilter& filter,
                             const std::function<bool(std::string_view)>& is_known_kind) {
  std::vector<core::FieldError> errors;
  const auto check_size = [&](const std::vector<std::string>& list, const char* field) {
    if (list.size() > kMaxFilterEntries) {
      errors.push_back(
          {field, "too_many_entries", "at most " + std::to_string(kMaxFilterEntries) + " entries"});
      return false;
    }
    return true;
  };
  if (check_size(filter.kinds, "kind")) {
    for (const auto& kind : filter.kinds) {
      if (!is_known_kind(kind)) {
        errors.push_back(
            {"kind", "unknown_kind", "no kind named '" + kind.substr(0, kMaxEntryLength) + "'"});
      }
    }
  }
  if (check_size(filter.streams, "stream")) {
    for (const auto& stream : filter.streams) {
      if (!is_stream_pattern(stream)) {
        errors.push_back({"stream", "invalid_sensor_id",
                          "not a sensor id or a glob of one (letters, digits, . _ : - * ?; at "
                          "most 128)"});
      }
    }
  }
  if (check_size(filter.zones, "zone")) {
    for (const auto& zone : filter.zones) {
      if (!is_zone_pattern(zone)) {
        errors.push_back({"zone", "invalid_zone",
                          "not a zone or a glob of one (at most 128 "
                          "printable characters)"});
      }
    }
  }
  if (!errors.empty()) {
    return tl::unexpected(core::Error{core::ErrorCode::InvalidArgument,
                                      "invalid subscription filter", std::move(errors)});
  }
  return {};
}

std::vector<std::string> split_list(std::string_view text) {
  std::vector<std::string> out;
  while (!text.empty()) {
    const auto comma = text.find(',');
    const std::string_view item = text.substr(0, comma);
    if (!item.empty()) out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

}  // namespace databroker::hub
