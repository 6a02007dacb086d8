#include "tools/simulator/models.h"

#include <catch2/catch.hpp>
#include <map>

#include "broker/core/kinds.h"
#include "broker/core/time.h"

using namespace databroker;
using namespace databroker::simulator;

namespace {

// Monday 2026-03-02 00:00 local time (UTC+1).
const core::TimestampMs kMonday = *core::parse_rfc3339("2026-03-01T23:00:00Z");
constexpr core::TimestampMs kMinute = 60'000;
constexpr core::TimestampMs kWeek = 7 * 24 * 60 * kMinute;

const char* kind_of(ModelKind model) {
  switch (model) {
    case ModelKind::AirQuality:
      return "air_quality";
    case ModelKind::Noise:
      return "noise";
    case ModelKind::WasteBin:
      return "waste_bin";
    case ModelKind::ParkingSpot:
    case ModelKind::Garage:
      return "parking";
  }
  return "";
}

// The mean of `name` by local hour over a week sampled every `step`, over `sensors` sensors.
std::map<int, double> hourly_mean(ModelKind model, const char* name, int sensors,
                                  core::TimestampMs step = 10 * kMinute) {
  std::map<int, double> sum, n;
  for (int s = 0; s < sensors; ++s) {
    auto m = make_model(model, derive_seed(42, static_cast<std::uint64_t>(s)));
    for (core::TimestampMs t = kMonday; t < kMonday + kWeek; t += step) {
      const int hour = static_cast<int>(local_hour(t));
      sum[hour] += *number_of(m->sample(t), name);
      n[hour] += 1;
    }
  }
  for (auto& [hour, total] : sum) total /= n[hour];
  return sum;
}

}  // namespace

TEST_CASE("the daily cycles follow Belgian standard time", "[simulator][models]") {
  CHECK(local_hour(*core::parse_rfc3339("2026-03-02T07:00:00Z")) == Approx(8.0));
  CHECK(local_hour(*core::parse_rfc3339("2026-07-01T23:30:00Z")) == Approx(0.5));
  CHECK(traffic_profile(8) > 2 * traffic_profile(3));
  CHECK(traffic_profile(17.5) > 2 * traffic_profile(3));
  CHECK(ozone_profile(15) > ozone_profile(8));
  CHECK(temperature_profile(15) == Approx(1));
  CHECK(temperature_profile(3) == Approx(-1));
  CHECK(parking_demand(11) > 0.8);
  CHECK(parking_demand(3) < 0.15);
  CHECK(parking_demand(21) < 0.4);
}

TEST_CASE("no model leaves its kind's valid range over a simulated week", "[simulator][models]") {
  const auto catalog = core::KindCatalog::with_builtins();
  auto model = GENERATE(ModelKind::AirQuality, ModelKind::Noise, ModelKind::WasteBin,
                        ModelKind::ParkingSpot, ModelKind::Garage);
  const core::SensorKind* kind = catalog.find(kind_of(model));
  REQUIRE(kind);
  for (std::uint64_t seed = 0; seed < 8; ++seed) {
    auto m = make_model(model, derive_seed(7, seed));
    for (core::TimestampMs t = kMonday; t < kMonday + kWeek; t += 5 * kMinute) {
      const auto values = m->sample(t);
      REQUIRE(!values.empty());
      for (const auto& v : values) {
        const core::MeasurementSpec* spec = kind->find(v.name);
        INFO(kind->name << "." << v.name << " at " << core::format_rfc3339(t));
        REQUIRE(spec);
        if (spec->type == core::ValueType::Boolean) {
          CHECK(std::holds_alternative<bool>(v.value));
          continue;
        }
        REQUIRE(std::holds_alternative<double>(v.value));
        const double x = std::get<double>(v.value);
        if (spec->min) CHECK(x >= *spec->min);
        if (spec->max) CHECK(x <= *spec->max);
        if (spec->type == core::ValueType::Integer) CHECK(x == std::round(x));
      }
      // The plausibility bounds of the reference (§5.1), tighter than the kinds' ranges.
      if (model == ModelKind::AirQuality) {
        CHECK(*number_of(values, "pm10") >= *number_of(values, "pm25"));
        CHECK(*number_of(values, "o3") <= 500);
        CHECK(*number_of(values, "temperature") >= -40);
        CHECK(*number_of(values, "temperature") <= 60);
      } else if (model == ModelKind::Noise) {
        CHECK(*number_of(values, "la90") <= *number_of(values, "laeq"));
        CHECK(*number_of(values, "laeq") <= *number_of(values, "lamax"));
        CHECK(*number_of(values, "la90") >= 20);
        CHECK(*number_of(values, "lamax") <= 140);
      } else if (model == ModelKind::Garage) {
        CHECK(*number_of(values, "free_spots") <= *number_of(values, "total_spots"));
      }
    }
  }
}

TEST_CASE("NO2 and noise peak in the rush hours, O3 in the afternoon", "[simulator][models]") {
  const auto no2 = hourly_mean(ModelKind::AirQuality, "no2", 6);
  CHECK(no2.at(8) > 1.5 * no2.at(3));
  CHECK(no2.at(17) > 1.5 * no2.at(3));
  const auto o3 = hourly_mean(ModelKind::AirQuality, "o3", 6);
  CHECK(o3.at(15) > o3.at(8));
  CHECK(o3.at(15) > o3.at(3));
  const auto laeq = hourly_mean(ModelKind::Noise, "laeq", 6);
  CHECK(laeq.at(8) > laeq.at(3) + 5);
  CHECK(laeq.at(17) > laeq.at(3) + 5);
}

TEST_CASE("nights are cooler and more humid than afternoons", "[simulator][models]") {
  const auto temperature = hourly_mean(ModelKind::AirQuality, "temperature", 6);
  CHECK(temperature.at(15) > temperature.at(3) + 4);
  const auto humidity = hourly_mean(ModelKind::AirQuality, "humidity", 6);
  CHECK(humidity.at(3) > humidity.at(15) + 10);
  const auto bin = hourly_mean(ModelKind::WasteBin, "temperature", 6);
  CHECK(bin.at(15) > bin.at(3) + 4);
}

TEST_CASE("bins fill faster by day and are emptied", "[simulator][models]") {
  for (std::uint64_t seed = 0; seed < 10; ++seed) {
    auto m = make_model(ModelKind::WasteBin, derive_seed(11, seed));
    double previous = *number_of(m->sample(kMonday), "fill_level");
    int emptied = 0;
    double day_rise = 0, night_rise = 0;
    for (core::TimestampMs t = kMonday + 10 * kMinute; t < kMonday + kWeek; t += 10 * kMinute) {
      const double fill = *number_of(m->sample(t), "fill_level");
      const double change = fill - previous;
      const double hour = local_hour(t);
      // A sharp fall is an emptying, not sensor noise; the noise of the rest cancels out.
      if (change < -25) {
        ++emptied;
      } else {
        (hour >= 8 && hour < 21 ? day_rise : night_rise) += change;
      }
      previous = fill;
    }
    INFO("seed " << seed);
    CHECK(emptied >= 2);
    CHECK(day_rise > 2 * night_rise);
  }
}

TEST_CASE("parking fills in the morning and empties in the evening", "[simulator][models]") {
  const auto occupied = hourly_mean(ModelKind::ParkingSpot, "occupied", 40);
  CHECK(occupied.at(11) > occupied.at(3) + 0.4);
  CHECK(occupied.at(11) > occupied.at(21) + 0.2);
  const auto free = hourly_mean(ModelKind::Garage, "free_spots", 10);
  CHECK(free.at(3) > 2 * free.at(11));
  CHECK(free.at(21) > free.at(11));
}

TEST_CASE("a seed reproduces a run and another seed changes it", "[simulator][models]") {
  auto a = make_model(ModelKind::AirQuality, 5);
  auto b = make_model(ModelKind::AirQuality, 5);
  auto c = make_model(ModelKind::AirQuality, 6);
  bool differs = false;
  for (core::TimestampMs t = kMonday; t < kMonday + 24 * 60 * kMinute; t += 30 * kMinute) {
    const auto va = a->sample(t);
    CHECK(va == b->sample(t));
    differs = differs || va != c->sample(t);
  }
  CHECK(differs);
}

TEST_CASE("values are correlated in time, not drawn afresh", "[simulator][models]") {
  // One minute apart, air quality changes little; a day's cycle moves it far more.
  auto m = make_model(ModelKind::AirQuality, 9);
  double small = 0, steps = 0;
  double previous = *number_of(m->sample(kMonday), "temperature");
  for (core::TimestampMs t = kMonday + kMinute; t < kMonday + 24 * 60 * kMinute; t += kMinute) {
    const double now = *number_of(m->sample(t), "temperature");
    small += std::abs(now - previous);
    steps += 1;
    previous = now;
  }
  CHECK(small / steps < 0.2);
}
