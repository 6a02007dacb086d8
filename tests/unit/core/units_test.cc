#include "broker/core/units.h"

#include <catch2/catch.hpp>

#include "broker/core/ingest_source.h"

using namespace databroker::core;

TEST_CASE("units of one quantity convert and others are a mismatch", "[core][units]") {
  CHECK(*convert_unit(830, "mm", "m") == Approx(0.83));
  CHECK(*convert_unit(0.75, "/", "%") == Approx(75));
  CHECK(*convert_unit(1.2e-8, "kg/m3", "ug/m3") == Approx(12));
  CHECK(*convert_unit(293.15, "K", "Cel") == Approx(20));
  CHECK(*convert_unit(19, "℃", "Cel") == 19);
  CHECK(*convert_unit(5, "", "anything") == 5);
  CHECK(*convert_unit(7, "furlong", "furlong") == 7);
  CHECK(convert_unit(1, "mm", "Cel").error().reason == "unit_mismatch");
  CHECK(convert_unit(1, "furlong", "m").error().reason == "unknown_unit");
  CHECK(convert_unit(1, "m", "furlong").error().reason == "unit_mismatch");
  CHECK(units_convert("cm", "mm"));
  CHECK_FALSE(units_convert("dB", "%"));
}

TEST_CASE("vendor strings split into a number and a unit", "[core][units]") {
  auto level = parse_number_with_unit("2000 mm");
  REQUIRE(level);
  CHECK(level->value == 2000);
  CHECK(level->unit == "mm");
  CHECK(parse_number_with_unit(" -3.5e1dB ")->unit == "dB");
  CHECK(parse_number_with_unit("0 °")->unit == "°");
  CHECK(parse_number_with_unit("42")->unit.empty());
  CHECK_FALSE(parse_number_with_unit("warm"));
  CHECK_FALSE(parse_number_with_unit("inf mm"));
  CHECK_FALSE(parse_number_with_unit("nan"));
  CHECK_FALSE(parse_number_with_unit(""));
}

TEST_CASE("topic patterns capture kind and sensor id and become MQTT filters", "[core][topics]") {
  auto senml = TopicPattern::parse("senml/{kind}/{sensor_id}");
  REQUIRE(senml);
  CHECK(senml->filter() == "senml/+/+");
  auto match = senml->match("senml/noise/n-1");
  REQUIRE(match);
  CHECK(match->kind == "noise");
  CHECK(match->sensor_id == "n-1");
  CHECK_FALSE(senml->match("senml/noise"));
  CHECK_FALSE(senml->match("senml/noise/n-1/x"));
  CHECK_FALSE(senml->match("other/noise/n-1"));
  auto tts = TopicPattern::parse("v3/city-waste@demo/devices/+/up");
  REQUIRE(tts);
  CHECK(tts->match("v3/city-waste@demo/devices/bin-1/up"));
  CHECK_FALSE(tts->match("v3/city-waste@demo/devices/bin-1/join"));
  auto all = TopicPattern::parse("a/#");
  REQUIRE(all);
  CHECK(all->match("a"));
  CHECK(all->match("a/b/c"));
  for (const char* bad : {"", "a//b", "a/{kind}/{kind}", "a/{device}", "a/b+", "a/#/b"}) {
    INFO(bad);
    CHECK_FALSE(TopicPattern::parse(bad));
  }
}

TEST_CASE("overlapping MQTT filters are detected", "[core][topics]") {
  CHECK(mqtt_filters_overlap("sensors/+/+", "sensors/noise/+"));
  CHECK(mqtt_filters_overlap("a/#", "a"));
  CHECK(mqtt_filters_overlap("+/x", "y/+"));
  CHECK_FALSE(mqtt_filters_overlap("sensors/+/+", "senml/+/+"));
  CHECK_FALSE(mqtt_filters_overlap("a/+", "a/+/b"));
  CHECK_FALSE(mqtt_filters_overlap("v3/a@demo/devices/+/up", "v3/b@demo/devices/+/up"));
}
