#include "policies/view.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <sstream>
#include <utility>
#include <vector>

namespace databroker::policies {

namespace {

constexpr double kMetresPerDegree = 111'320.0;
constexpr int kMaxDecimals = 6;
constexpr double kMaxCellMetres = 100'000.0;

double round_to(double value, int decimals) {
  // Clamped, so that a hand-built view can never ask for more precision than the value has.
  decimals = std::clamp(decimals, 0, kMaxDecimals);
  const double scale = std::pow(10.0, decimals);
  const double scaled = value * scale;
  if (!std::isfinite(scaled)) {
    return value;  // so large that rounding to `decimals` cannot change it
  }
  const double rounded = std::round(scaled) / scale;
  // -0 would print as "-0" and tell a consumer the value was a small negative one.
  return rounded == 0.0 ? 0.0 : rounded;
}

// Centre of the cell of `step` holding `value`, cells counted from `origin`.
double cell_centre(double value, double origin, double step) {
  return origin + (std::floor((value - origin) / step) + 0.5) * step;
}

core::Location snap(const core::Location& location, double metres) {
  if (!(metres > 0.0)) {
    // A view built by hand with no usable cell size: the coarsest answer, never the exact one.
    metres = kMaxCellMetres;
  }
  metres = std::min(metres, kMaxCellMetres);
  const double lat_step = metres / kMetresPerDegree;
  const double lat = std::clamp(cell_centre(location.lat, 0.0, lat_step), -90.0, 90.0);
  const double cos_lat = std::cos(lat * std::numbers::pi / 180.0);
  double lon = 0.0;
  if (cos_lat > 1e-9) {
    const double lon_step = metres / (kMetresPerDegree * cos_lat);
    if (lon_step < 360.0) {
      lon = std::clamp(cell_centre(location.lon, -180.0, lon_step), -180.0, 180.0);
    }
  }
  return core::Location{lat, lon, std::nullopt};
}

template <class Set>
std::string join(const Set& items) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) {
      out += ", ";
    }
    out += item;
  }
  return out;
}

}  // namespace

bool View::is_identity() const {
  return drop.empty() && drop_metadata.empty() && !drop_location && !round_location &&
         !snap_location_m && round_values.empty();
}

std::optional<core::Location> view_location(const std::optional<core::Location>& location,
                                            const View& view) {
  if (!location || view.drop_location || view.drop_metadata.contains("location")) {
    return std::nullopt;
  }
  if (view.snap_location_m) {
    core::Location out = snap(*location, *view.snap_location_m);
    // Both set (a hand-built view): rounding the centre only coarsens further.
    if (view.round_location) {
      out.lat = round_to(out.lat, *view.round_location);
      out.lon = round_to(out.lon, *view.round_location);
    }
    return out;
  }
  if (view.round_location) {
    return core::Location{round_to(location->lat, *view.round_location),
                          round_to(location->lon, *view.round_location), std::nullopt};
  }
  return location;
}

core::Reading apply_view(const core::Reading& reading, const View& view) {
  if (view.is_identity()) {
    return reading;
  }
  core::Reading out;
  out.sensor_id = reading.sensor_id;
  out.kind = reading.kind;
  out.ts = reading.ts;
  out.received_at = reading.received_at;
  out.seq = reading.seq;
  out.values.reserve(reading.values.size());
  const auto all = view.round_values.find("*");
  for (const auto& m : reading.values) {
    if (view.drop.contains(m.name)) {
      continue;
    }
    core::Measurement copy = m;
    if (auto* number = std::get_if<double>(&copy.value)) {
      auto it = view.round_values.find(m.name);
      if (it == view.round_values.end()) {
        it = all;
      }
      if (it != view.round_values.end()) {
        *number = round_to(*number, it->second);
      }
    }
    out.values.push_back(std::move(copy));
  }
  out.location = view_location(reading.location, view);
  return out;
}

std::string describe(const View& view) {
  if (view.is_identity()) {
    return "raw";
  }
  std::vector<std::string> parts;
  if (!view.drop.empty()) {
    parts.push_back("drop " + join(view.drop));
  }
  if (!view.drop_metadata.empty()) {
    parts.push_back("drop metadata " + join(view.drop_metadata));
  }
  if (view.drop_location) {
    parts.push_back("no location");
  } else if (view.snap_location_m) {
    std::ostringstream text;
    text << "snap location to a " << *view.snap_location_m << " m grid";
    parts.push_back(text.str());
  } else if (view.round_location) {
    parts.push_back("round location to " + std::to_string(*view.round_location) + " decimals");
  }
  for (const auto& [name, decimals] : view.round_values) {
    parts.push_back("round " + (name == "*" ? std::string("every value") : name) + " to " +
                    std::to_string(decimals) + " decimals");
  }
  std::string out;
  for (const auto& part : parts) {
    if (!out.empty()) {
      out += "; ";
    }
    out += part;
  }
  return out;
}

}  // namespace databroker::policies
