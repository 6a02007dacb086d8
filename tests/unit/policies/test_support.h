// Shared helpers of the policy engine's unit tests.
#pragma once

#include <catch2/catch.hpp>
#include <memory>
#include <set>
#include <string>
#include <string_view>

#include "policies/policy.h"

namespace databroker::policies::testing {

using NameSet = std::set<std::string, std::less<>>;

inline const NameSet& builtin_kinds() {
  static const NameSet kKinds = {"air_quality", "noise", "waste_bin", "parking"};
  return kKinds;
}

inline const NameSet& test_profiles() {
  static const NameSet kProfiles = {"city-dashboard",   "sensor-gateway",   "ops",
                                    "mobility-partner", "waste-contractor", "university"};
  return kProfiles;
}

// Compiles `yaml` and fails the test, printing every problem, unless it compiles.
inline std::shared_ptr<const Policy> compile_ok(std::string_view yaml,
                                                const NameSet& profiles = test_profiles(),
                                                const NameSet& kinds = builtin_kinds()) {
  auto compiled = compile_policy(yaml, profiles, kinds);
  if (!compiled) {
    for (const auto& p : compiled.error()) {
      UNSCOPED_INFO(p.to_string("policy.yaml"));
    }
  }
  REQUIRE(compiled.has_value());
  return *compiled;
}

// Compiles `yaml` and returns its problems; fails the test if it compiles.
inline std::vector<PolicyProblem> compile_problems(std::string_view yaml,
                                                   const NameSet& profiles = test_profiles(),
                                                   const NameSet& kinds = builtin_kinds()) {
  auto compiled = compile_policy(yaml, profiles, kinds);
  REQUIRE_FALSE(compiled.has_value());
  for (const auto& p : compiled.error()) {
    UNSCOPED_INFO(p.to_string("policy.yaml"));
  }
  return compiled.error();
}

inline bool contains(std::string_view text, std::string_view part) {
  return text.find(part) != std::string_view::npos;
}

}  // namespace databroker::policies::testing
