#include "policies/view.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <numbers>
#include <random>
#include <string>
#include <vector>

namespace databroker::policies {
namespace {

using core::Location;
using core::Measurement;
using core::Reading;

Reading sample_reading() {
  Reading r;
  r.sensor_id = "gent-aq-korenmarkt";
  r.kind = "air_quality";
  r.ts = 1'795'860'900'000;
  r.received_at = 1'795'860'900'123;
  r.seq = 42;
  r.values = {Measurement{"pm25", 12.345, true}, Measurement{"no2", 31.0, true},
              Measurement{"rssi", -97.0, true},  Measurement{"battery", 88.5, true},
              Measurement{"tilted", true, true}, Measurement{"label", std::string("x"), false}};
  r.location = Location{51.054523, 3.721534, 9.5};
  return r;
}

std::vector<std::string> names(const Reading& r) {
  std::vector<std::string> out;
  for (const auto& m : r.values) {
    out.push_back(m.name);
  }
  return out;
}

double metres_between(const Location& a, const Location& b) {
  // Haversine on a sphere of the mean Earth radius.
  constexpr double kRadius = 6'371'008.8;
  const double rad = std::numbers::pi / 180.0;
  const double dlat = (b.lat - a.lat) * rad;
  const double dlon = (b.lon - a.lon) * rad;
  const double h =
      std::sin(dlat / 2) * std::sin(dlat / 2) +
      std::cos(a.lat * rad) * std::cos(b.lat * rad) * std::sin(dlon / 2) * std::sin(dlon / 2);
  return 2 * kRadius * std::asin(std::sqrt(h));
}

TEST_CASE("a view drops the measurements it names and keeps the order of the rest",
          "[policies][view]") {
  View view;
  view.drop = {"rssi", "battery"};
  const Reading out = apply_view(sample_reading(), view);
  CHECK(names(out) == std::vector<std::string>{"pm25", "no2", "tilted", "label"});
  CHECK(out.sensor_id == "gent-aq-korenmarkt");
  CHECK(out.seq == 42);
  CHECK(out.ts == 1'795'860'900'000);
  CHECK(out.location == sample_reading().location);
  CHECK(view.drops_measurement("rssi"));
  CHECK_FALSE(view.drops_measurement("pm25"));
}

TEST_CASE("round_location rounds latitude and longitude and removes the altitude",
          "[policies][view]") {
  View view;
  view.round_location = 3;
  const auto loc = view_location(Location{51.054523, 3.721534, 9.5}, view);
  REQUIRE(loc);
  CHECK(loc->lat == Approx(51.055).margin(1e-12));
  CHECK(loc->lon == Approx(3.722).margin(1e-12));
  CHECK_FALSE(loc->alt.has_value());
  view.round_location = 0;
  const auto whole = view_location(Location{-33.5, -70.6, std::nullopt}, view);
  REQUIRE(whole);
  CHECK(whole->lat == -34.0);  // half away from zero
  CHECK(whole->lon == -71.0);
}

TEST_CASE("snap_location_m moves a point to the centre of its grid cell", "[policies][view]") {
  View view;
  view.snap_location_m = 250;
  const Location point{51.05452, 3.72153, 9};
  const auto snapped = view_location(point, view);
  REQUIRE(snapped);
  // The cell, computed as docs/policy.md describes it.
  const double lat_step = 250.0 / 111'320.0;
  const double lat = (std::floor(point.lat / lat_step) + 0.5) * lat_step;
  const double lon_step = 250.0 / (111'320.0 * std::cos(lat * std::numbers::pi / 180.0));
  const double lon = -180.0 + (std::floor((point.lon + 180.0) / lon_step) + 0.5) * lon_step;
  CHECK(snapped->lat == Approx(lat).margin(1e-12));
  CHECK(snapped->lon == Approx(lon).margin(1e-12));
  CHECK_FALSE(snapped->alt.has_value());
  CHECK(metres_between(point, *snapped) <= 250.0);
  CHECK(metres_between(point, *snapped) > 0.0);
  // The centre is in its own cell, and a nearby point of the same cell lands on it too.
  CHECK(view_location(*snapped, view) == snapped);
  const Location neighbour{lat + lat_step * 0.3, lon - lon_step * 0.3, std::nullopt};
  CHECK(view_location(neighbour, view) == snapped);
}

TEST_CASE("a snapped point is always within the cell size of the original", "[policies][view]") {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> lat(-70.0, 70.0);
  std::uniform_real_distribution<double> lon(-180.0, 180.0);
  for (double metres : {1.0, 10.0, 100.0, 250.0, 1000.0, 25'000.0, 100'000.0}) {
    View view;
    view.snap_location_m = metres;
    for (int i = 0; i < 2000; ++i) {
      const Location point{lat(rng), lon(rng), std::nullopt};
      const auto snapped = view_location(point, view);
      REQUIRE(snapped);
      INFO(metres << " m: " << point.lat << "," << point.lon << " -> " << snapped->lat << ","
                  << snapped->lon);
      CHECK(metres_between(point, *snapped) <= metres);
      CHECK(view_location(*snapped, view) == snapped);
    }
  }
}

TEST_CASE("round_values rounds per name, with * for every other number", "[policies][view]") {
  View view;
  view.round_values = {{"*", 1}, {"pm25", 0}};
  const Reading out = apply_view(sample_reading(), view);
  REQUIRE(out.values.size() == 6);
  CHECK(std::get<double>(out.values[0].value) == 12.0);  // pm25, by name
  CHECK(std::get<double>(out.values[1].value) == 31.0);  // no2, by *
  CHECK(std::get<double>(out.values[2].value) == -97.0);
  CHECK(std::get<double>(out.values[3].value) == Approx(88.5));
  CHECK(std::get<bool>(out.values[4].value) == true);
  CHECK(std::get<std::string>(out.values[5].value) == "x");

  View by_name;
  by_name.round_values = {{"pm25", 1}};
  const Reading only = apply_view(sample_reading(), by_name);
  CHECK(std::get<double>(only.values[0].value) == Approx(12.3).margin(1e-12));
  CHECK(std::get<double>(only.values[3].value) == 88.5);  // not named: untouched
}

TEST_CASE("rounding never produces a negative zero", "[policies][view]") {
  View view;
  view.round_values = {{"*", 1}};
  Reading r;
  r.values = {Measurement{"t", -0.04, true}};
  const Reading out = apply_view(r, view);
  CHECK(std::get<double>(out.values[0].value) == 0.0);
  CHECK_FALSE(std::signbit(std::get<double>(out.values[0].value)));
}

TEST_CASE("drop_location and drop_metadata location remove the location", "[policies][view]") {
  View view;
  view.drop_location = true;
  CHECK_FALSE(view_location(Location{51, 3, 1}, view).has_value());
  CHECK_FALSE(apply_view(sample_reading(), view).location.has_value());
  CHECK(view.drops_metadata("location"));
  CHECK_FALSE(view.drops_metadata("zone"));

  View metadata;
  metadata.drop_metadata = {"location", "owner"};
  CHECK_FALSE(view_location(Location{51, 3, 1}, metadata).has_value());
  CHECK(metadata.drops_metadata("owner"));
  CHECK_FALSE(metadata.drops_metadata("name"));
}

TEST_CASE("the identity view changes nothing", "[policies][view]") {
  const View identity;
  CHECK(identity.is_identity());
  CHECK(apply_view(sample_reading(), identity) == sample_reading());
  CHECK(view_location(Location{51.054523, 3.721534, 9.5}, identity) ==
        Location{51.054523, 3.721534, 9.5});
  CHECK_FALSE(view_location(std::nullopt, identity).has_value());
  CHECK(describe(identity) == "raw");
  View other;
  other.round_location = 2;
  CHECK_FALSE(other.is_identity());
  CHECK(describe(other) == "round location to 2 decimals");
}

TEST_CASE("apply_view never adds a measurement or a location", "[policies][view]") {
  std::mt19937_64 rng(11);
  const std::vector<std::string> pool = {"pm25", "no2", "rssi", "battery", "laeq", "tilted"};
  auto coin = [&] { return rng() % 2 == 0; };
  for (int i = 0; i < 5000; ++i) {
    Reading r;
    for (const auto& name : pool) {
      if (coin()) {
        r.values.push_back(Measurement{name, static_cast<double>(rng() % 10'000) / 7.0, true});
      }
    }
    if (coin()) {
      r.location = Location{static_cast<double>(rng() % 180) - 90.0 + 0.123456,
                            static_cast<double>(rng() % 360) - 180.0 + 0.654321, std::nullopt};
    }
    View view;
    for (const auto& name : pool) {
      if (rng() % 4 == 0) {
        view.drop.insert(name);
      }
      if (rng() % 5 == 0) {
        view.round_values[name] = static_cast<int>(rng() % 7);
      }
    }
    switch (rng() % 4) {
      case 0:
        view.drop_location = true;
        break;
      case 1:
        view.round_location = static_cast<int>(rng() % 7);
        break;
      case 2:
        view.snap_location_m = 1.0 + static_cast<double>(rng() % 100'000);
        break;
      default:
        break;
    }
    const Reading out = apply_view(r, view);
    REQUIRE(out.values.size() <= r.values.size());
    std::size_t j = 0;
    for (const auto& m : out.values) {
      while (j < r.values.size() && r.values[j].name != m.name) {
        ++j;
      }
      REQUIRE(j < r.values.size());  // present in the original, in the same order
      CHECK_FALSE(view.drop.contains(m.name));
      ++j;
    }
    if (!r.location || view.drop_location) {
      CHECK_FALSE(out.location.has_value());
    }
  }
}

}  // namespace
}  // namespace databroker::policies
