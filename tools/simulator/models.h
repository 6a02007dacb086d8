// The simulator's value models: what a city sensor of each kind would measure at a given time.
//
// Values are time-correlated: daily cycles (rush hours for NO2 and noise, an afternoon O3 peak, a
// cooler and more humid night, bins filling faster by day, car parks filling in the morning),
// per-sensor offsets drawn from the seed, and bounded random walks (Ornstein-Uhlenbeck processes,
// which revert to their mean, so nothing drifts away over a long run). Every value stays inside
// the kind's valid range (broker/core/kinds.cc) and the plausible ranges of the data-formats
// reference §5.
//
// The daily cycles follow Belgian standard time (UTC+1) all year; summer time and seasons are
// not modelled.
//
// A model is a deterministic function of its seed and the sequence of times it is asked about.
// Not thread-safe: one model per sensor, driven by one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <random>
#include <vector>

#include "broker/core/reading.h"

namespace databroker::simulator {

// Uniform and normal draws from a std::mt19937_64, whose sequence the standard fixes, with our
// own transforms (the standard distributions differ between library implementations), so a seed
// gives the same run on every platform.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : engine_(seed) {}
  std::uint64_t bits() { return engine_(); }
  double uniform();  // [0, 1)
  double uniform(double low, double high) { return low + (high - low) * uniform(); }
  double normal();  // mean 0, standard deviation 1
  bool chance(double probability) { return uniform() < probability; }

 private:
  std::mt19937_64 engine_;
};

// A seed for item `index` derived from a run's seed (splitmix64), so sensors get independent
// streams and adding a sensor does not change the others.
std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t index);

// A mean-reverting random walk around 0 with stationary standard deviation `sigma` and
// correlation time `tau_hours`; exact for any step length.
class Walk {
 public:
  Walk(double sigma, double tau_hours) : sigma_(sigma), tau_hours_(tau_hours) {}
  double value() const { return value_; }
  // Starts from a draw of the stationary distribution.
  void reset(Rng& rng) { value_ = sigma_ * rng.normal(); }
  double step(Rng& rng, double hours);

 private:
  double sigma_;
  double tau_hours_;
  double value_ = 0;
};

// Hour of the day in [0, 24), Belgian standard time.
double local_hour(core::TimestampMs t);
// Road traffic intensity by hour: about 0.15 at night, peaks near 1 at 08:00 and 17:30.
double traffic_profile(double hour);
// Photochemistry by hour: 0 at night, 1 around 15:00 (ozone lags the sun).
double ozone_profile(double hour);
// Air temperature swing by hour: −1 at 03:00, +1 at 15:00.
double temperature_profile(double hour);
// Share of spots taken in a city-centre car park by hour: low at night, filling 07:00–10:00,
// emptying 17:00–20:00.
double parking_demand(double hour);

class ValueModel {
 public:
  virtual ~ValueModel() = default;
  // The measurements at simulated time `t`, in the kind's vocabulary (kinds.cc names, units),
  // rounded as a sensor would report them. `t` must not decrease from one call to the next.
  virtual std::vector<core::Measurement> sample(core::TimestampMs t) = 0;
};

enum class ModelKind { AirQuality, Noise, WasteBin, ParkingSpot, Garage };

std::unique_ptr<ValueModel> make_model(ModelKind kind, std::uint64_t seed);

// The value of measurement `name`, when present and numeric (booleans count 0/1).
std::optional<double> number_of(const std::vector<core::Measurement>& values,
                                std::string_view name);

}  // namespace databroker::simulator
