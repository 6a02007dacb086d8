#include "broker/access/identity.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace databroker::access {
namespace {

Profile profile(std::string name, bool ingest = false, bool internal = false, bool admin = false) {
  Profile p;
  p.name = std::move(name);
  p.ingest = ingest;
  p.internal = internal;
  p.admin = admin;
  return p;
}

TEST_CASE("public is always present and has no rights", "[access][profiles]") {
  for (const auto& declared :
       {std::vector<Profile>{}, std::vector<Profile>{profile("ops", false, false, true)}}) {
    auto set = ProfileSet::make(declared);
    REQUIRE(set);
    const Profile& anonymous = set->public_profile();
    CHECK(anonymous.name == kPublicProfile);
    CHECK_FALSE(anonymous.has_any_right());
    CHECK(set->find("public") == &anonymous);
  }
  ProfileSet default_set;
  CHECK(default_set.public_profile().name == kPublicProfile);
  CHECK_FALSE(default_set.public_profile().has_any_right());
  CHECK(default_set.all().size() == 1);
}

TEST_CASE("declaring public with any right is an error", "[access][profiles]") {
  for (const auto& bad : {profile("public", true), profile("public", false, true),
                          profile("public", false, false, true)}) {
    auto set = ProfileSet::make({bad});
    REQUIRE_FALSE(set);
    CHECK(set.error().code == core::ErrorCode::InvalidArgument);
    REQUIRE(set.error().details.size() == 1);
    CHECK(set.error().details[0].field == "profiles.public");
    CHECK(set.error().details[0].reason == "public_has_rights");
  }
}

TEST_CASE("declaring public without rights keeps its description", "[access][profiles]") {
  Profile anonymous = profile("public");
  anonymous.description = "citizens and open-data portals";
  auto set = ProfileSet::make({anonymous});
  REQUIRE(set);
  CHECK(set->public_profile().description == "citizens and open-data portals");
}

TEST_CASE("invalid profile names are errors", "[access][profiles]") {
  for (const std::string& bad :
       std::vector<std::string>{"", std::string(65, 'a'), "city dashboard", "city.dashboard",
                                "city:dashboard", "caf\xc3\xa9", "a/b", std::string("a\0b", 3)}) {
    CAPTURE(bad);
    CHECK_FALSE(is_valid_profile_name(bad));
    auto set = ProfileSet::make({profile(bad)});
    REQUIRE_FALSE(set);
    CHECK(set.error().code == core::ErrorCode::InvalidArgument);
    REQUIRE(set.error().details.size() == 1);
    CHECK(set.error().details[0].reason == "invalid_name");
  }
  for (const std::string& good : std::vector<std::string>{
           "a", std::string(64, 'z'), "city-dashboard", "mobility_partner_2", "OPS"}) {
    CAPTURE(good);
    CHECK(is_valid_profile_name(good));
    CHECK(ProfileSet::make({profile(good)}));
  }
}

TEST_CASE("a profile declared twice is an error", "[access][profiles]") {
  auto set = ProfileSet::make({profile("ops", false, false, true), profile("ops")});
  REQUIRE_FALSE(set);
  REQUIRE(set.error().details.size() == 1);
  CHECK(set.error().details[0].field == "profiles.ops");
  CHECK(set.error().details[0].reason == "duplicate");
}

TEST_CASE("every profile problem is reported at once", "[access][profiles]") {
  auto set = ProfileSet::make(
      {profile("bad name"), profile("public", true), profile("ok"), profile("ok")});
  REQUIRE_FALSE(set);
  CHECK(set.error().details.size() == 3);
}

TEST_CASE("profiles are found by name with their rights and listed in name order",
          "[access][profiles]") {
  auto set =
      ProfileSet::make({profile("ops", false, false, true), profile("city-dashboard", false, true),
                        profile("lorawan-gateway", true)});
  REQUIRE(set);
  const Profile* gateway = set->find("lorawan-gateway");
  REQUIRE(gateway != nullptr);
  CHECK(gateway->ingest);
  CHECK_FALSE(gateway->internal);
  CHECK_FALSE(gateway->admin);
  CHECK(set->find("nobody") == nullptr);
  CHECK(set->find("") == nullptr);

  std::vector<std::string> names;
  for (const auto& p : set->all()) {
    names.push_back(p.name);
  }
  CHECK(names == std::vector<std::string>{"city-dashboard", "lorawan-gateway", "ops", "public"});
}

TEST_CASE("profile pointers stay valid when the set is moved", "[access][profiles]") {
  auto made = ProfileSet::make({profile("ops", false, false, true)});
  REQUIRE(made);
  const Profile* ops = made->find("ops");
  ProfileSet moved = std::move(*made);
  CHECK(moved.find("ops") == ops);
  CHECK(ops->admin);
}

TEST_CASE("an identity without a key is anonymous", "[access][profiles]") {
  ProfileSet set;
  Identity anonymous{&set.public_profile(), ""};
  CHECK(anonymous.is_anonymous());
  Identity keyed{&set.public_profile(), "abcdefghijkl"};
  CHECK_FALSE(keyed.is_anonymous());
}

TEST_CASE("random profile sets never give public a right", "[access][profiles][random]") {
  std::mt19937 random(20261128);
  const std::string alphabet = "ab-_ .:";
  const std::vector<std::string> fixed = {"public", "ops", "a"};
  for (int round = 0; round < 2000; ++round) {
    std::vector<Profile> declared;
    const int count = static_cast<int>(random() % 5);
    for (int i = 0; i < count; ++i) {
      std::string name;
      if (random() % 2 == 0) {
        name = fixed[random() % fixed.size()];
      } else {
        const int length = static_cast<int>(random() % 4);
        for (int c = 0; c < length; ++c) {
          name.push_back(alphabet[random() % alphabet.size()]);
        }
      }
      declared.push_back(profile(name, random() % 4 == 0, random() % 4 == 0, random() % 4 == 0));
    }
    std::set<std::string> names;
    bool expect_ok = true;
    for (const auto& p : declared) {
      expect_ok = expect_ok && is_valid_profile_name(p.name) && names.insert(p.name).second &&
                  !(p.name == "public" && p.has_any_right());
    }
    auto set = ProfileSet::make(declared);
    REQUIRE(static_cast<bool>(set) == expect_ok);
    if (set) {
      CHECK_FALSE(set->public_profile().has_any_right());
      for (const auto& p : declared) {
        const Profile* found = set->find(p.name);
        REQUIRE(found != nullptr);
        CHECK(*found == p);
      }
    }
  }
}

}  // namespace
}  // namespace databroker::access
