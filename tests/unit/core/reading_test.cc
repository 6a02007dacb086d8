#include "broker/core/reading.h"

#include <catch2/catch.hpp>

using namespace databroker::core;

TEST_CASE("sensor ids follow [A-Za-z0-9._:-]{1,128}", "[core][reading]") {
  CHECK(is_valid_sensor_id("gent-aq-001"));
  CHECK(is_valid_sensor_id("eui:70B3D57ED005A1B2"));
  CHECK(is_valid_sensor_id("a.b_c"));
  CHECK(is_valid_sensor_id(std::string(128, 'x')));
  CHECK_FALSE(is_valid_sensor_id(""));
  CHECK_FALSE(is_valid_sensor_id(std::string(129, 'x')));
  for (const char* bad : {"a/b", "a b", "a+b", "a#", "é", "a\nb", "../x", "a%2F"}) {
    INFO(bad);
    CHECK_FALSE(is_valid_sensor_id(bad));
  }
  CHECK_FALSE(is_valid_sensor_id(std::string_view("a\0b", 3)));
}

TEST_CASE("kind names are lower-case identifiers", "[core][reading]") {
  CHECK(is_valid_kind_name("air_quality"));
  CHECK(is_valid_kind_name("k2"));
  CHECK_FALSE(is_valid_kind_name("2k"));
  CHECK_FALSE(is_valid_kind_name("Air"));
  CHECK_FALSE(is_valid_kind_name("a-b"));
  CHECK_FALSE(is_valid_kind_name(""));
}

TEST_CASE("a reading finds its measurements by name", "[core][reading]") {
  Reading r;
  r.values = {{"pm25", 12.5, true}, {"tilted", true, true}};
  REQUIRE(r.find("pm25"));
  CHECK(std::get<double>(r.find("pm25")->value) == 12.5);
  CHECK_FALSE(r.find("no2"));
}
