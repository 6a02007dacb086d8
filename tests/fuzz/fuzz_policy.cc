// The policy loader on hostile YAML: compile_policy must answer every document with a compiled
// policy or problems with line numbers, never crash, hang or throw; what compiles is asked to
// explain a decision for a few streams and callers.
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "broker/core/kinds.h"
#include "policies/policy.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace databroker;
  static const std::set<std::string, std::less<>> profiles = {
      "public", "city-dashboard", "mobility-partner", "waste-contractor", "ops"};
  static const std::set<std::string, std::less<>> kinds = [] {
    std::set<std::string, std::less<>> names;
    for (const auto& name : core::KindCatalog::with_builtins().names()) names.insert(name);
    return names;
  }();
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto compiled = policies::compile_policy(text, profiles, kinds);
  if (!compiled) {
    for (const auto& problem : compiled.error()) (void)problem.to_string("fuzz.yaml");
    return 0;
  }
  const policies::StreamFacts streams[] = {
      {"gent-aq-1", "air_quality", "centrum", {"low-emission-zone"}, "Stad Gent"},
      {"gent-noise-1", "noise", "overpoort", {"nightlife"}, ""},
      {"gent-park-1", "parking", "centrum-noord", {}, "mobility department"},
      {"gent-bin-1", "waste_bin", "", {"IVAGO"}, "IVAGO"},
  };
  for (const auto& stream : streams) {
    for (const policies::Caller caller :
         {policies::Caller{"public", false}, policies::Caller{"mobility-partner", false},
          policies::Caller{"city-dashboard", true}}) {
      (void)policies::explain(**compiled, stream, caller, 1'795'000'000'000);
    }
  }
  return 0;
}
