#include "tools/simulator/models.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <optional>
#include <string_view>

namespace databroker::simulator {

double Rng::uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }

double Rng::normal() {
  // Box-Muller; 1 - uniform() is in (0, 1], so the logarithm is finite.
  const double u = 1.0 - uniform();
  const double v = uniform();
  return std::sqrt(-2.0 * std::log(u)) * std::cos(2.0 * std::numbers::pi * v);
}

std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t index) {
  std::uint64_t z = seed + 0x9e3779b97f4a7c15ULL * (index + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

double Walk::step(Rng& rng, double hours) {
  const double keep = std::exp(-hours / tau_hours_);
  value_ = value_ * keep + sigma_ * std::sqrt(1.0 - keep * keep) * rng.normal();
  return value_;
}

namespace {

constexpr double kHourMs = 3600.0 * 1000.0;
constexpr core::TimestampMs kLocalOffsetMs = 3600 * 1000;  // UTC+1
// Long gaps are integrated in steps of at most this, so fills and arrivals follow the hours.
constexpr double kMaxStepHours = 0.25;

double bump(double hour, double centre, double width) {
  const double d = (hour - centre) / width;
  return std::exp(-d * d);
}

double logistic(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// To a multiple of 1/`per_unit` (10: tenths), as the nearest double to the decimal, so 25.9
// prints as 25.9 and not 25.900000000000002.
double round_to(double value, double per_unit) { return std::round(value * per_unit) / per_unit; }

core::Measurement number(std::string name, double value) { return {std::move(name), value, true}; }
core::Measurement flag(std::string name, bool value) { return {std::move(name), value, true}; }

// Calls `advance(hours, hour_of_day)` in steps of at most kMaxStepHours from the last sampled
// time to `t`; returns false on the first call, which only records the time.
class Stepper {
 public:
  template <class Advance>
  bool run(core::TimestampMs t, Advance&& advance) {
    if (!last_) {
      last_ = t;
      return false;
    }
    double remaining = std::max<double>(0, static_cast<double>(t - *last_)) / kHourMs;
    double at = static_cast<double>(*last_);
    while (remaining > 0) {
      const double hours = std::min(remaining, kMaxStepHours);
      at += hours * kHourMs;
      advance(hours, local_hour(static_cast<core::TimestampMs>(at)));
      remaining -= hours;
    }
    last_ = t;
    return true;
  }
  std::optional<core::TimestampMs> last() const { return last_; }

 private:
  std::optional<core::TimestampMs> last_;
};

// The outdoor temperature of a site: its mean, the daily swing and a slow weather walk.
struct AirTemperature {
  double mean;
  double swing;
  Walk weather{1.8, 36};

  double at(double hour) const {
    return mean + swing * temperature_profile(hour) + weather.value();
  }
};

class AirQualityModel final : public ValueModel {
 public:
  explicit AirQualityModel(std::uint64_t seed)
      : rng_(seed),
        traffic_site_(rng_.uniform(0.5, 1.6)),
        pm25_base_(rng_.uniform(6, 12)),
        pm_ratio_(rng_.uniform(1.45, 1.9)),
        o3_base_(rng_.uniform(45, 70)),
        temperature_{rng_.uniform(8, 13), rng_.uniform(3.5, 5.5)},
        battery_(rng_.uniform(55, 100)) {
    for (Walk* w : {&no2_walk_, &pm_episode_, &pm10_walk_, &o3_walk_, &humidity_walk_,
                    &temperature_.weather}) {
      w->reset(rng_);
    }
  }

  std::vector<core::Measurement> sample(core::TimestampMs t) override {
    stepper_.run(t, [&](double hours, double) {
      for (Walk* w : {&no2_walk_, &pm_episode_, &pm10_walk_, &o3_walk_, &humidity_walk_,
                      &temperature_.weather}) {
        w->step(rng_, hours);
      }
      battery_ = std::max(5.0, battery_ - 0.002 * hours);
    });
    const double h = local_hour(t);
    const double traffic = traffic_profile(h);
    const double night = 0.5 * (1 - temperature_profile(h));  // 1 at 03:00: inversions trap PM
    const double no2 = std::clamp(6 + 32 * traffic_site_ * traffic + no2_walk_.value(), 1.0, 400.0);
    const double pm25 = std::clamp(
        pm25_base_ * (0.75 + 0.3 * traffic + 0.35 * night) + pm_episode_.value(), 0.5, 300.0);
    const double pm10 = std::clamp(pm25 * pm_ratio_ + pm10_walk_.value(), pm25, 500.0);
    const double o3 = std::clamp(
        o3_base_ * (0.3 + 0.95 * ozone_profile(h)) - 0.3 * no2 + o3_walk_.value(), 2.0, 240.0);
    const double temperature = std::clamp(temperature_.at(h), -40.0, 60.0);
    const double humidity =
        std::clamp(74 - 14 * temperature_profile(h) - 1.5 * temperature_.weather.value() +
                       humidity_walk_.value(),
                   15.0, 100.0);
    return {number("pm25", round_to(pm25, 10)),
            number("pm10", round_to(pm10, 10)),
            number("no2", round_to(no2, 10)),
            number("o3", round_to(o3, 10)),
            number("temperature", round_to(temperature, 10)),
            number("humidity", round_to(humidity, 2)),
            number("battery", std::round(battery_))};
  }

 private:
  Rng rng_;
  double traffic_site_;  // a street canyon near 1.6, a park near 0.5
  double pm25_base_;
  double pm_ratio_;
  double o3_base_;
  AirTemperature temperature_;
  double battery_;
  Walk no2_walk_{5, 3};
  Walk pm_episode_{3, 18};  // pollution episodes last days
  Walk pm10_walk_{1.5, 2};
  Walk o3_walk_{6, 4};
  Walk humidity_walk_{4, 6};
  Stepper stepper_;
};

class NoiseModel final : public ValueModel {
 public:
  explicit NoiseModel(std::uint64_t seed)
      : rng_(seed),
        day_level_(rng_.uniform(54, 68)),
        night_drop_(rng_.uniform(9, 15)),
        background_gap_(rng_.uniform(5, 9)),
        battery_(rng_.uniform(60, 100)) {
    walk_.reset(rng_);
  }

  std::vector<core::Measurement> sample(core::TimestampMs t) override {
    stepper_.run(t, [&](double hours, double) {
      walk_.step(rng_, hours);
      battery_ = std::max(5.0, battery_ - 0.002 * hours);
    });
    const double activity = std::min(1.0, traffic_profile(local_hour(t)));
    const double laeq =
        std::clamp(day_level_ - night_drop_ * (1 - activity) + walk_.value() + 0.8 * rng_.normal(),
                   30.0, 95.0);
    const double la90 =
        std::clamp(laeq - background_gap_ - std::abs(0.8 * rng_.normal()), 25.0, laeq);
    // Passing lorries and sirens: LAmax sits well above LAeq with a long upper tail.
    const double lamax = std::clamp(laeq + 7 - 6 * std::log(1 - rng_.uniform()), laeq, 125.0);
    return {number("laeq", round_to(laeq, 10)), number("lamax", round_to(lamax, 10)),
            number("la90", round_to(la90, 10)), number("battery", std::round(battery_))};
  }

 private:
  Rng rng_;
  double day_level_;
  double night_drop_;
  double background_gap_;
  double battery_;
  Walk walk_{1.5, 0.5};
  Stepper stepper_;
};

class WasteBinModel final : public ValueModel {
 public:
  explicit WasteBinModel(std::uint64_t seed)
      : rng_(seed),
        rate_(rng_.uniform(1.5, 4.5)),
        threshold_(rng_.uniform(80, 92)),
        collection_days_(2 + static_cast<int>(rng_.uniform(0, 3))),
        collection_phase_(static_cast<int>(rng_.uniform(0, 7))),
        temperature_{rng_.uniform(9, 13), rng_.uniform(4, 6.5)},
        fill_(rng_.uniform(0, 60)),
        battery_(rng_.uniform(40, 100)) {
    temperature_.weather.reset(rng_);
  }

  std::vector<core::Measurement> sample(core::TimestampMs t) override {
    const auto previous = stepper_.last();
    stepper_.run(t, [&](double hours, double hour) { advance(hours, hour); });
    if (!previous) collected_until_ = t;
    // A scheduled round empties the bin on its collection days at 06:00.
    for (std::int64_t day = previous ? local_day(*previous) : local_day(t) + 1; day <= local_day(t);
         ++day) {
      if ((day + collection_phase_) % collection_days_ != 0) continue;
      const core::TimestampMs round_at = day * 86'400'000 - kLocalOffsetMs + 6 * 3'600'000;
      if (round_at > collected_until_ && round_at <= t) {
        collected_until_ = round_at;
        if (fill_ > 15) empty();
      }
    }
    const double reported = std::clamp(fill_ + 0.8 * rng_.normal(), 0.0, 100.0);
    const double temperature = std::clamp(temperature_.at(local_hour(t)) + 1.5, -40.0, 125.0);
    return {number("fill_level", round_to(reported, 10)),
            number("temperature", round_to(temperature, 10)), flag("tilted", tilted_hours_ > 0),
            number("battery", std::round(battery_))};
  }

 private:
  static std::int64_t local_day(core::TimestampMs t) { return (t + kLocalOffsetMs) / 86'400'000; }

  void advance(double hours, double hour) {
    temperature_.weather.step(rng_, hours);
    battery_ = std::max(5.0, battery_ - 0.001 * hours);
    const bool daytime = hour >= 7 && hour < 22;
    fill_ = std::min(100.0, fill_ + rate_ * (daytime ? 1.0 : 0.2) * hours * rng_.uniform(0.5, 1.5));
    // A full bin is reported to the collection service, which sends a truck within hours by day.
    if (fill_ >= threshold_ && hour >= 6 && hour < 20 && rng_.chance(hours / 2.0)) empty();
    if (tilted_hours_ > 0) {
      tilted_hours_ = std::max(0.0, tilted_hours_ - hours);
    } else if (rng_.chance(0.0015 * hours)) {  // knocked over about once a month
      tilted_hours_ = rng_.uniform(1, 10);
    }
  }

  void empty() {
    fill_ = rng_.uniform(0, 4);
    tilted_hours_ = 0;  // the crew puts it back up
  }

  Rng rng_;
  double rate_;  // % per daytime hour
  double threshold_;
  int collection_days_;
  int collection_phase_;
  AirTemperature temperature_;
  double fill_;
  double battery_;
  double tilted_hours_ = 0;
  core::TimestampMs collected_until_ = 0;
  Stepper stepper_;
};

class ParkingSpotModel final : public ValueModel {
 public:
  explicit ParkingSpotModel(std::uint64_t seed)
      : rng_(seed),
        offset_(rng_.uniform(-0.08, 0.08)),
        leave_rate_(1.0 / rng_.uniform(0.75, 3.0)),
        battery_(rng_.uniform(50, 100)) {}

  std::vector<core::Measurement> sample(core::TimestampMs t) override {
    if (!stepper_.run(t, [&](double hours, double hour) { advance(hours, hour); })) {
      occupied_ = rng_.chance(demand(local_hour(t)));
    }
    return {flag("occupied", occupied_), number("battery", std::round(battery_))};
  }

 private:
  double demand(double hour) const {
    return std::clamp(parking_demand(hour) + offset_, 0.03, 0.97);
  }

  // A two-state chain whose arrivals balance departures at the hour's demand.
  void advance(double hours, double hour) {
    battery_ = std::max(5.0, battery_ - 0.001 * hours);
    const double p = demand(hour);
    const double rate = occupied_ ? leave_rate_ : leave_rate_ * p / (1 - p);
    if (rng_.chance(1 - std::exp(-rate * hours))) occupied_ = !occupied_;
  }

  Rng rng_;
  double offset_;
  double leave_rate_;  // per hour: a car stays 45 min to 3 h
  double battery_;
  bool occupied_ = false;
  Stepper stepper_;
};

class GarageModel final : public ValueModel {
 public:
  explicit GarageModel(std::uint64_t seed)
      : rng_(seed),
        total_(static_cast<int>(rng_.uniform(18, 65)) * 10),
        peak_(rng_.uniform(0.75, 0.97)) {
    walk_.reset(rng_);
  }

  std::vector<core::Measurement> sample(core::TimestampMs t) override {
    if (!stepper_.run(t, [&](double hours, double hour) { advance(hours, hour); })) {
      occupancy_ = target(local_hour(t));
    }
    const double taken = std::clamp(occupancy_ + walk_.value(), 0.0, 1.0);
    const int free = std::clamp(static_cast<int>(std::lround(total_ * (1 - taken))), 0, total_);
    return {number("free_spots", free), number("total_spots", total_)};
  }

 private:
  double target(double hour) const { return std::clamp(parking_demand(hour) * peak_, 0.02, 1.0); }

  void advance(double hours, double hour) {
    walk_.step(rng_, hours);
    occupancy_ += (target(hour) - occupancy_) * (1 - std::exp(-hours / 0.7));
  }

  Rng rng_;
  int total_;
  double peak_;
  double occupancy_ = 0;
  Walk walk_{0.03, 1};
  Stepper stepper_;
};

}  // namespace

double local_hour(core::TimestampMs t) {
  const core::TimestampMs day_ms = 86'400'000;
  const core::TimestampMs in_day = ((t + kLocalOffsetMs) % day_ms + day_ms) % day_ms;
  return static_cast<double>(in_day) / kHourMs;
}

// The profiles wrap around midnight by evaluating the bumps at h - 24 and h + 24 as well.
double traffic_profile(double hour) {
  double rush = 0;
  for (double shift : {-24.0, 0.0, 24.0}) {
    rush += bump(hour + shift, 8.0, 1.4) + 0.85 * bump(hour + shift, 17.5, 1.7) +
            0.45 * bump(hour + shift, 13.0, 3.5);
  }
  return 0.15 + 0.85 * std::min(1.0, rush);
}

double ozone_profile(double hour) {
  double sun = 0;
  for (double shift : {-24.0, 0.0, 24.0}) sun += bump(hour + shift, 15.0, 3.2);
  return std::min(1.0, sun);
}

double temperature_profile(double hour) {
  return std::cos(2 * std::numbers::pi * (hour - 15.0) / 24.0);
}

double parking_demand(double hour) {
  return 0.1 + 0.8 * logistic((hour - 8.3) / 0.6) * (1 - logistic((hour - 18.5) / 0.8));
}

std::unique_ptr<ValueModel> make_model(ModelKind kind, std::uint64_t seed) {
  switch (kind) {
    case ModelKind::AirQuality:
      return std::make_unique<AirQualityModel>(seed);
    case ModelKind::Noise:
      return std::make_unique<NoiseModel>(seed);
    case ModelKind::WasteBin:
      return std::make_unique<WasteBinModel>(seed);
    case ModelKind::ParkingSpot:
      return std::make_unique<ParkingSpotModel>(seed);
    case ModelKind::Garage:
      return std::make_unique<GarageModel>(seed);
  }
  return nullptr;
}

std::optional<double> number_of(const std::vector<core::Measurement>& values,
                                std::string_view name) {
  for (const auto& m : values) {
    if (m.name != name) continue;
    if (const double* d = std::get_if<double>(&m.value)) return *d;
    if (const bool* b = std::get_if<bool>(&m.value)) return *b ? 1.0 : 0.0;
  }
  return std::nullopt;
}

}  // namespace databroker::simulator
