// SubscriptionFilter: which streams a subscriber asked for, and the checks of untrusted filters.
#include "broker/hub/filter.h"

#include <catch2/catch.hpp>

namespace databroker::hub {
namespace {

registry::SensorInfo sensor(std::string id, std::string kind, std::string zone) {
  registry::SensorInfo out;
  out.id = std::move(id);
  out.kind = std::move(kind);
  out.zone = std::move(zone);
  return out;
}

bool known(std::string_view kind) { return kind == "noise" || kind == "parking"; }

TEST_CASE("an empty filter matches every stream", "[hub]") {
  SubscriptionFilter filter;
  CHECK(filter.is_empty());
  CHECK(filter.matches(sensor("a", "noise", "")));
}

TEST_CASE("filter lists are ORs of globs, ANDed with each other", "[hub]") {
  SubscriptionFilter filter{{"noise", "parking"}, {"gent-*", "x?"}, {"centrum*"}};
  CHECK(filter.matches(sensor("gent-1", "noise", "centrum-noord")));
  CHECK(filter.matches(sensor("xy", "parking", "centrum")));
  CHECK_FALSE(filter.matches(sensor("gent-1", "air_quality", "centrum")));  // kind
  CHECK_FALSE(filter.matches(sensor("leuven-1", "noise", "centrum")));      // stream
  CHECK_FALSE(filter.matches(sensor("gent-1", "noise", "ledeberg")));       // zone
  CHECK_FALSE(filter.matches(sensor("gent-1", "noise", "")));  // no zone: only `*` matches
}

TEST_CASE("split_list drops empty entries", "[hub]") {
  CHECK(split_list("") == std::vector<std::string>{});
  CHECK(split_list("noise") == std::vector<std::string>{"noise"});
  CHECK(split_list("noise,,parking,") == std::vector<std::string>{"noise", "parking"});
}

TEST_CASE("hostile filters are refused with a reason per problem", "[hub]") {
  CHECK(validate_filter({{"noise"}, {"gent-*"}, {"centrum*"}}, known));
  auto bad = validate_filter({{"nois"}, {"a/b", std::string(200, 'a')}, {"\x01"}}, known);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code == core::ErrorCode::InvalidArgument);
  REQUIRE(bad.error().details.size() == 4);
  CHECK(bad.error().details[0].reason == "unknown_kind");
  CHECK(bad.error().details[1].reason == "invalid_sensor_id");
  CHECK(bad.error().details[2].reason == "invalid_sensor_id");
  CHECK(bad.error().details[3].reason == "invalid_zone");
  SubscriptionFilter many;
  many.streams.assign(kMaxFilterEntries + 1, "a");
  auto too_many = validate_filter(many, known);
  REQUIRE_FALSE(too_many);
  CHECK(too_many.error().details.front().reason == "too_many_entries");
}

}  // namespace
}  // namespace databroker::hub
