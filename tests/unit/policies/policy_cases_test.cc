// The policy case tables: every tests/data/policies/*.cases.yaml names a policy file, a few
// streams and profiles, and one case per line (stream, profile, time → visible, class, rule,
// view, grant). A new case needs no C++; the columns are described in gent.cases.yaml.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "broker/core/time.h"
#include "policies/engine.h"
#include "policies/policy.h"
#include "policies/policy_file.h"
#include "tests/unit/policies/test_support.h"

namespace databroker::policies {
namespace {

namespace fs = std::filesystem;

constexpr const char* kDataDir = DATABROKER_SOURCE_DIR "/tests/data/policies";

int line_of(const YAML::Node& node) { return node.Mark().is_null() ? 0 : node.Mark().line + 1; }

std::vector<std::string> strings(const YAML::Node& node) {
  std::vector<std::string> out;
  if (!node) {
    return out;
  }
  if (node.IsScalar()) {
    out.push_back(node.as<std::string>());
    return out;
  }
  for (const auto& item : node) {
    out.push_back(item.as<std::string>());
  }
  return out;
}

void require_keys(const YAML::Node& map, std::initializer_list<std::string_view> known,
                  const std::string& where) {
  REQUIRE(map.IsMap());
  for (const auto& entry : map) {
    const std::string key = entry.first.as<std::string>();
    INFO(where << ": key '" << key << "'");
    CHECK(std::find(known.begin(), known.end(), key) != known.end());
  }
}

// The expected view, read here rather than by the engine's own parser.
View expected_view(const YAML::Node& node, const std::string& where) {
  require_keys(node,
               {"drop", "drop_metadata", "drop_location", "round_location", "snap_location_m",
                "round_values"},
               where);
  View view;
  for (const auto& name : strings(node["drop"])) {
    view.drop.insert(name);
  }
  for (const auto& name : strings(node["drop_metadata"])) {
    view.drop_metadata.insert(name);
  }
  if (node["drop_location"]) {
    view.drop_location = node["drop_location"].as<bool>();
  }
  if (node["round_location"]) {
    view.round_location = node["round_location"].as<int>();
  }
  if (node["snap_location_m"]) {
    view.snap_location_m = node["snap_location_m"].as<double>();
  }
  if (node["round_values"]) {
    for (const auto& entry : node["round_values"]) {
      view.round_values[entry.first.as<std::string>()] = entry.second.as<int>();
    }
  }
  return view;
}

core::TimestampMs parse_at(const std::string& text) {
  auto ms = core::parse_rfc3339(text.size() == 10 ? text + "T00:00:00Z" : text);
  INFO("at: " << text);
  REQUIRE(ms.has_value());
  return *ms;
}

// Runs one table; returns how many cases it held.
int run_case_file(const fs::path& file) {
  const std::string name = file.filename().string();
  const YAML::Node doc = YAML::LoadFile(file.string());
  require_keys(doc, {"policy", "kinds", "profiles", "streams", "cases"}, name);

  testing::NameSet kinds = testing::builtin_kinds();
  if (doc["kinds"]) {
    kinds.clear();
    for (const auto& kind : strings(doc["kinds"])) {
      kinds.insert(kind);
    }
  }
  testing::NameSet profiles;
  std::map<std::string, bool> internal_profiles;
  for (const auto& entry : doc["profiles"]) {
    const std::string profile = entry.first.as<std::string>();
    profiles.insert(profile);
    internal_profiles[profile] = entry.second["internal"] && entry.second["internal"].as<bool>();
  }

  const fs::path policy_path = file.parent_path() / doc["policy"].as<std::string>();
  auto loaded = load_policy_file(policy_path.string(), profiles, kinds);
  if (!loaded) {
    for (const auto& p : loaded.error()) {
      UNSCOPED_INFO(p.to_string(policy_path.string()));
    }
  }
  INFO(name << ": policy " << policy_path.string());
  REQUIRE(loaded.has_value());
  const std::shared_ptr<const Policy> policy = *loaded;
  for (const auto& w : policy->warnings()) {
    UNSCOPED_INFO(w.to_string(policy_path.string()));
  }
  CHECK(policy->warnings().empty());

  std::map<std::string, StreamFacts> streams;
  for (const auto& entry : doc["streams"]) {
    const std::string id = entry.first.as<std::string>();
    require_keys(entry.second, {"kind", "zone", "tags", "owner"}, name + " stream " + id);
    StreamFacts facts;
    facts.id = id;
    facts.kind = entry.second["kind"].as<std::string>();
    facts.zone = entry.second["zone"] ? entry.second["zone"].as<std::string>() : "";
    facts.tags = strings(entry.second["tags"]);
    facts.owner = entry.second["owner"] ? entry.second["owner"].as<std::string>() : "";
    streams.emplace(id, std::move(facts));
  }

  PolicySnapshot snapshot(policy, 0);
  int count = 0;
  for (const auto& c : doc["cases"]) {
    ++count;
    const std::string where = name + ":" + std::to_string(line_of(c));
    INFO("case " << where);
    require_keys(
        c, {"stream", "profile", "internal", "at", "visible", "class", "rule", "view", "grant"},
        where);
    for (const char* required : {"stream", "profile", "at", "visible", "class", "rule"}) {
      INFO("required column " << required);
      REQUIRE(c[required]);
    }
    const std::string stream_id = c["stream"].as<std::string>();
    REQUIRE(streams.contains(stream_id));
    const StreamFacts& facts = streams.at(stream_id);
    const std::string profile = c["profile"].as<std::string>();
    REQUIRE((profile == kPublicProfile || profiles.contains(profile)));
    const bool internal = c["internal"] ? c["internal"].as<bool>() : internal_profiles[profile];
    const Caller caller{profile, internal};
    const core::TimestampMs at = parse_at(c["at"].as<std::string>());

    const Decision decision = policy->decide(facts);
    const Access access = policy->access(decision, caller, at);

    CHECK(to_string(decision.stream_class) == c["class"].as<std::string>());
    CHECK((decision.rule ? decision.rule->name : std::string("none")) ==
          c["rule"].as<std::string>());
    CHECK(access.visible == c["visible"].as<bool>());

    // The cached path and the explanation agree with the rule scan.
    for (int pass = 0; pass < 2; ++pass) {
      const Decision cached = snapshot.decide(facts);
      CHECK(cached.rule == decision.rule);
      CHECK(cached.stream_class == decision.stream_class);
    }
    const Access cached_access = snapshot.access(facts, caller, at);
    CHECK(cached_access.visible == access.visible);
    CHECK(cached_access.view == access.view);
    CHECK(explain(*policy, facts, caller, at).decision.rule == decision.rule);

    if (access.visible) {
      INFO("a visible case states its view");
      REQUIRE(c["view"]);
      if (c["view"].IsScalar() && c["view"].as<std::string>() == "raw") {
        CHECK(access.view == nullptr);
      } else {
        REQUIRE(access.view != nullptr);
        CHECK(*access.view == expected_view(c["view"], where));
      }
    } else {
      CHECK(access.view == nullptr);
      CHECK(access.grant == nullptr);
    }
    if (c["grant"]) {
      REQUIRE(access.grant != nullptr);
      CHECK(access.grant->purpose == c["grant"].as<std::string>());
    } else if (access.visible && !internal && decision.stream_class == StreamClass::Shared) {
      CHECK(access.grant != nullptr);
    }
  }
  return count;
}

TEST_CASE("the policy case tables in tests/data/policies hold", "[policies]") {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(kDataDir)) {
    if (entry.path().string().ends_with(".cases.yaml")) {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  REQUIRE(files.size() >= 3);
  int total = 0;
  for (const auto& file : files) {
    total += run_case_file(file);
  }
  INFO("cases run: " << total);
  CHECK(total >= 40);
}

}  // namespace
}  // namespace databroker::policies
