#include <catch2/catch.hpp>
#include <string>

#include "broker/core/time.h"
#include "policies/policy.h"
#include "tests/unit/policies/test_support.h"

namespace databroker::policies {
namespace {

using testing::compile_ok;
using testing::contains;

constexpr const char* kPolicy =
    "rules:\n"
    "  - name: noise near homes stays closed\n"  // line 2
    "    match: {kind: noise, tags: [residential]}\n"
    "    class: closed\n"
    "  - name: air quality is open\n"  // line 5
    "    match: {kind: air_quality}\n"
    "    class: open\n"
    "    open_view: {round_location: 3}\n"
    "  - name: centre parking for the partner\n"  // line 9
    "    match: {kind: parking, zone: \"centrum*\", owner: [Mobiliteitsbedrijf Gent]}\n"
    "    class: shared\n"
    "    grants:\n"
    "      - profile: mobility-partner\n"  // line 13
    "        purpose: evaluation of the circulation plan\n"
    "        legal_basis: agreement 2026/114\n"
    "        from: 2026-01-01\n"
    "        until: 2027-06-30\n"
    "        view: {drop: [rssi, battery]}\n";

core::TimestampMs at(const char* text) { return *core::parse_rfc3339(text); }

const StreamFacts kGarage{
    "park-p7", "parking", "centrum-noord", {"garage"}, "Mobiliteitsbedrijf Gent"};

TEST_CASE("explain names the deciding rule and why each earlier rule did not match",
          "[policies][explain]") {
  auto policy = compile_ok(kPolicy);
  const Explanation e =
      explain(*policy, kGarage, Caller{"mobility-partner", false}, at("2026-06-01T00:00:00Z"));
  REQUIRE(e.decision.rule == &policy->rules()[2]);
  CHECK(e.decision.stream_class == StreamClass::Shared);
  CHECK(e.access.visible);
  REQUIRE(e.steps.size() == 3);
  CHECK(contains(e.steps[0], "rule 'noise near homes stays closed' (line 2) does not match"));
  CHECK(contains(e.steps[0], "kind 'parking' is not one of 'noise'"));
  CHECK(contains(e.steps[0], "tags 'garage' include none of 'residential'"));
  CHECK(contains(e.steps[1], "rule 'air quality is open' (line 5) does not match"));
  CHECK(contains(e.steps[1], "kind 'parking' is not one of 'air_quality'"));
  CHECK(contains(e.steps[2], "rule 'centre parking for the partner' (line 9) matches"));
  CHECK(contains(e.steps[2], "zone 'centrum-noord' matches 'centrum*'"));
  CHECK(contains(e.steps[2], "decides: shared"));
  CHECK(contains(e.outcome, "grant on line 13"));
  CHECK(contains(e.outcome, "evaluation of the circulation plan"));
  CHECK(contains(e.outcome, "agreement 2026/114"));
  CHECK(contains(e.outcome, "until 2027-06-30"));
  CHECK(contains(e.outcome, "drop battery, rssi"));
}

TEST_CASE("explain says why a partner does not see a shared stream", "[policies][explain]") {
  auto policy = compile_ok(kPolicy);
  const auto expired =
      explain(*policy, kGarage, Caller{"mobility-partner", false}, at("2027-07-01T00:00:00Z"));
  CHECK_FALSE(expired.access.visible);
  CHECK(contains(expired.outcome, "has ended"));
  const auto early =
      explain(*policy, kGarage, Caller{"mobility-partner", false}, at("2025-12-31T23:00:00Z"));
  CHECK_FALSE(early.access.visible);
  CHECK(contains(early.outcome, "has not started yet"));
  const auto other =
      explain(*policy, kGarage, Caller{"waste-contractor", false}, at("2026-06-01T00:00:00Z"));
  CHECK_FALSE(other.access.visible);
  CHECK(contains(other.outcome, "holds no grant in this rule"));
  CHECK(contains(other.outcome, "'mobility-partner'"));
  const auto internal =
      explain(*policy, kGarage, Caller{"city-dashboard", true}, at("2026-06-01T00:00:00Z"));
  CHECK(internal.access.visible);
  CHECK(internal.access.view == nullptr);
  CHECK(contains(internal.outcome, "internal"));
}

TEST_CASE("explain reports the default closed when no rule matches", "[policies][explain]") {
  auto policy = compile_ok(kPolicy);
  const StreamFacts bin{"bin-1", "waste_bin", "", {}, ""};
  const auto e = explain(*policy, bin, Caller{"public", false}, 0);
  CHECK(e.decision.rule == nullptr);
  CHECK(e.decision.stream_class == StreamClass::Closed);
  CHECK_FALSE(e.access.visible);
  REQUIRE(e.steps.size() == 4);
  CHECK(contains(e.steps[2], "the stream has no zone, which matches none of 'centrum*'"));
  CHECK(contains(e.steps[2], "the stream has no owner"));
  CHECK(contains(e.steps[3], "no rule matches"));
  CHECK(contains(e.outcome, "closed"));
}

TEST_CASE("explain of an open stream names the open view", "[policies][explain]") {
  auto policy = compile_ok(kPolicy);
  const StreamFacts aq{"aq-1", "air_quality", "centrum", {}, "Stad Gent"};
  const auto e = explain(*policy, aq, Caller{"public", false}, 0);
  CHECK(e.decision.rule == &policy->rules()[1]);
  CHECK(e.access.visible);
  CHECK(contains(e.steps[1], "matches (kind 'air_quality' is one of 'air_quality')"));
  CHECK(contains(e.outcome, "open"));
  CHECK(contains(e.outcome, "round location to 3 decimals"));
}

TEST_CASE("explain of a rule with an empty match says it matches every stream",
          "[policies][explain]") {
  auto policy = compile_ok("rules:\n  - {name: all closed, match: {}, class: closed}\n");
  const auto e = explain(*policy, StreamFacts{"x", "noise", "", {}, ""}, Caller{"ops", false}, 0);
  REQUIRE(e.steps.size() == 1);
  CHECK(contains(e.steps[0], "matches every stream"));
  CHECK(contains(e.outcome, "only internal profiles"));
}

}  // namespace
}  // namespace databroker::policies
