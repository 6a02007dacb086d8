// Exponential backoff between webhook attempts: doubling from min, capped at max, jittered down
// by at most a quarter, never below min, and no overflow however long the failures last.
#include "adapters/webhook/backoff.h"

#include <catch2/catch.hpp>
#include <random>

namespace databroker::webhook {
namespace {

using std::chrono::milliseconds;

TEST_CASE("the delay doubles from backoff_min with each failure", "[webhook][backoff]") {
  const milliseconds min(1000), max(300'000);
  CHECK(backoff_delay(1, min, max, 0.0) == milliseconds(1000));
  CHECK(backoff_delay(2, min, max, 0.0) == milliseconds(2000));
  CHECK(backoff_delay(3, min, max, 0.0) == milliseconds(4000));
  CHECK(backoff_delay(9, min, max, 0.0) == milliseconds(256'000));
}

TEST_CASE("the delay stops growing at backoff_max", "[webhook][backoff]") {
  const milliseconds min(1000), max(300'000);
  CHECK(backoff_delay(10, min, max, 0.0) == max);
  CHECK(backoff_delay(64, min, max, 0.0) == max);
  CHECK(backoff_delay(1'000'000'000'000ULL, min, max, 0.0) == max);
  CHECK(backoff_delay(UINT64_MAX, milliseconds(1), milliseconds(INT64_MAX), 0.0) ==
        milliseconds(INT64_MAX));
}

TEST_CASE("zero failures waits backoff_min", "[webhook][backoff]") {
  CHECK(backoff_delay(0, milliseconds(250), milliseconds(5000), 0.0) == milliseconds(250));
}

TEST_CASE("jitter shortens a delay by at most a quarter and never below min",
          "[webhook][backoff]") {
  const milliseconds min(100), max(60'000);
  std::mt19937 random(4);  // seeded: a failure reproduces
  std::uniform_real_distribution<double> jitter(0.0, 1.0);
  for (std::uint64_t failures = 1; failures < 40; ++failures) {
    const milliseconds plain = backoff_delay(failures, min, max, 0.0);
    for (int i = 0; i < 50; ++i) {
      const milliseconds d = backoff_delay(failures, min, max, jitter(random));
      CHECK(d <= plain);
      CHECK(d >= min);
      CHECK(d.count() >= plain.count() - plain.count() / 4);
    }
  }
  CHECK(backoff_delay(5, min, max, 0.999) < backoff_delay(5, min, max, 0.0));
}

TEST_CASE("a max below min is treated as min", "[webhook][backoff]") {
  CHECK(backoff_delay(5, milliseconds(500), milliseconds(100), 0.0) == milliseconds(500));
}

}  // namespace
}  // namespace databroker::webhook
