#include "broker/core/kinds.h"

#include <catch2/catch.hpp>

using namespace databroker::core;

TEST_CASE("the four built-in kinds exist with their measurements", "[core][kinds]") {
  auto catalog = KindCatalog::with_builtins();
  CHECK(catalog.names() ==
        std::vector<std::string>{"air_quality", "noise", "parking", "waste_bin"});
  const SensorKind* air = catalog.find("air_quality");
  REQUIRE(air);
  for (auto name : {"pm25", "pm10", "no2", "o3", "temperature", "humidity", "battery", "rssi"}) {
    CHECK(air->find(name));
  }
  CHECK(air->find("pm25")->max == 2000);
  CHECK(catalog.find("noise")->find("laeq")->max == 160);
  CHECK(catalog.find("waste_bin")->find("temperature")->max == 150);
  CHECK(catalog.find("waste_bin")->find("tilted")->type == ValueType::Boolean);
  CHECK(catalog.find("parking")->find("free_spots")->type == ValueType::Integer);
  CHECK(catalog.find("parking")->find("occupied")->type == ValueType::Boolean);
  CHECK_FALSE(catalog.find("water_level"));
}

TEST_CASE("a configured kind gets battery and rssi and can replace a built-in", "[core][kinds]") {
  auto catalog = KindCatalog::with_builtins();
  REQUIRE(catalog.add(
      {"water_level", "river gauges", {{"level", "m", ValueType::Number, -5.0, 20.0}}}));
  const SensorKind* water = catalog.find("water_level");
  REQUIRE(water);
  CHECK(water->find("battery"));
  CHECK(water->find("rssi"));
  REQUIRE(catalog.add({"noise", "", {{"laeq", "dB(A)", ValueType::Number, 0.0, 200.0}}}));
  CHECK(catalog.find("noise")->find("laeq")->max == 200);
  CHECK_FALSE(catalog.find("noise")->find("lamax"));
}

TEST_CASE("invalid kind declarations are refused with a reason", "[core][kinds]") {
  auto catalog = KindCatalog::with_builtins();
  auto bad_name = catalog.add({"Water Level", "", {{"level", "m", ValueType::Number, {}, {}}}});
  REQUIRE_FALSE(bad_name);
  CHECK(bad_name.error().code == ErrorCode::InvalidArgument);
  CHECK_FALSE(catalog.add({"empty", "", {}}));
  CHECK_FALSE(catalog.add(
      {"dup", "", {{"a", "", ValueType::Number, {}, {}}, {"a", "", ValueType::Number, {}, {}}}}));
  auto inverted = catalog.add({"inv", "", {{"a", "", ValueType::Number, 5.0, 1.0}}});
  REQUIRE_FALSE(inverted);
  CHECK(inverted.error().message.find("min > max") != std::string::npos);
}
