#include "broker/core/reading.h"

#include <algorithm>

namespace databroker::core {

const Measurement* Reading::find(std::string_view name) const {
  auto it = std::find_if(values.begin(), values.end(),
                         [&](const Measurement& m) { return m.name == name; });
  return it == values.end() ? nullptr : &*it;
}

bool is_valid_sensor_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == ':' || c == '-';
  });
}

bool is_valid_kind_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  if (name[0] < 'a' || name[0] > 'z') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

}  // namespace databroker::core
