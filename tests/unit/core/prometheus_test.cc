#include "broker/core/prometheus.h"

#include <catch2/catch.hpp>

using databroker::core::Histogram;
using databroker::core::PrometheusText;

TEST_CASE("a histogram counts each observation in the first bucket whose bound it does not exceed",
          "[core][metrics]") {
  Histogram<3> h({0.001, 0.01, 0.1});
  h.observe(0.0005);
  h.observe(0.001);  // on the bound: le="0.001"
  h.observe(0.05);
  h.observe(3);  // above every bound: only +Inf
  CHECK(h.cumulative(0) == 2);
  CHECK(h.cumulative(1) == 2);
  CHECK(h.cumulative(2) == 3);
  CHECK(h.count() == 4);
  CHECK(h.sum() == Approx(3.0515));
}

TEST_CASE("a histogram renders cumulative buckets, +Inf, sum and count with its labels",
          "[core][metrics]") {
  Histogram<2> h({1, 16});
  h.observe(1);
  h.observe(10);
  h.observe(100);
  PrometheusText text;
  text.family("x_readings", "histogram", "Readings per x.");
  text.histogram("x_readings", "", h);
  text.histogram("x_readings", R"(path="mqtt")", h);
  CHECK(text.take() ==
        "# HELP x_readings Readings per x.\n"
        "# TYPE x_readings histogram\n"
        "x_readings_bucket{le=\"1\"} 1\n"
        "x_readings_bucket{le=\"16\"} 2\n"
        "x_readings_bucket{le=\"+Inf\"} 3\n"
        "x_readings_sum 111\n"
        "x_readings_count 3\n"
        "x_readings_bucket{path=\"mqtt\",le=\"1\"} 1\n"
        "x_readings_bucket{path=\"mqtt\",le=\"16\"} 2\n"
        "x_readings_bucket{path=\"mqtt\",le=\"+Inf\"} 3\n"
        "x_readings_sum{path=\"mqtt\"} 111\n"
        "x_readings_count{path=\"mqtt\"} 3\n");
}

TEST_CASE("an empty histogram renders zeros", "[core][metrics]") {
  Histogram<1> h({0.5});
  PrometheusText text;
  text.histogram("y_seconds", "", h);
  CHECK(text.take() ==
        "y_seconds_bucket{le=\"0.5\"} 0\ny_seconds_bucket{le=\"+Inf\"} 0\ny_seconds_sum 0\n"
        "y_seconds_count 0\n");
}
