// The policy's `catalog:` block and the `dataset:` blocks of open rules: defaults, and every
// mistake reported with its line.
#include <catch2/catch.hpp>

#include "tests/unit/policies/test_support.h"

namespace databroker::policies::testing {
namespace {

constexpr std::string_view kCatalog = R"(catalog:
  base_url: https://data.stad.be/
  title: Sensordata Stad
  description: Open sensordata van de stad
  publisher: {name: Stad, email: open@stad.be}
  license: http://data.vlaanderen.be/id/licentie/modellicentie-gratis-hergebruik/v1.0
  keywords: [sensoren, open data]
)";

// The line (1-based) and message of every error of `yaml`.
std::vector<std::pair<int, std::string>> errors_of(std::string_view yaml) {
  auto compiled = compile_policy(yaml, test_profiles(), builtin_kinds());
  REQUIRE_FALSE(compiled.has_value());
  std::vector<std::pair<int, std::string>> out;
  for (const auto& p : compiled.error()) {
    if (!p.is_warning) out.emplace_back(p.line, p.message);
  }
  return out;
}

TEST_CASE("open rules get datasets with defaults from the catalogue", "[policies][catalog]") {
  const auto policy = compile_ok(std::string(kCatalog) + R"(rules:
  - name: Air quality & noise!
    description: Luchtkwaliteit en geluid
    match: {kind: [air_quality, noise]}
    class: open
  - name: garages
    match: {kind: parking}
    class: open
    dataset:
      identifier: garages
      title: Bezetting parkeergarages
      keywords: parking
      themes: [TRAN, REGI]
  - name: bins
    match: {kind: waste_bin}
    class: closed
)");
  REQUIRE(policy->catalog());
  CHECK(policy->catalog()->base_url == "https://data.stad.be");
  CHECK(policy->catalog()->contact.email == "open@stad.be");  // the publisher's by default
  CHECK(policy->catalog()->language == "nl");
  const auto& first = policy->rules()[0].dataset;
  REQUIRE(first);
  CHECK(first->identifier == "air-quality-noise");
  CHECK(first->title == "Air quality & noise!");
  CHECK(first->description == "Luchtkwaliteit en geluid");
  CHECK(first->keywords == std::vector<std::string>{"sensoren", "open data"});
  CHECK(first->license == policy->catalog()->license);
  const auto& second = policy->rules()[1].dataset;
  REQUIRE(second);
  CHECK(second->identifier == "garages");
  CHECK(second->keywords == std::vector<std::string>{"parking"});
  CHECK(second->themes == std::vector<std::string>{"TRAN", "REGI"});
  CHECK_FALSE(policy->rules()[2].dataset);
}

TEST_CASE("without a catalog block there is no catalogue and no dataset", "[policies][catalog]") {
  const auto policy = compile_ok("rules:\n  - {name: a, match: {}, class: open}\n");
  CHECK_FALSE(policy->catalog());
  CHECK_FALSE(policy->rules()[0].dataset);
}

TEST_CASE("catalogue mistakes are reported with their lines", "[policies][catalog]") {
  const auto errors = errors_of(R"(catalog:
  base_url: ftp://data.stad.be
  title: T
  description: D
  publisher: {name: Stad}
  license: CC BY 4.0
  keywords: []
  themes: [ENVIRONMENT]
rules:
  - name: a
    match: {kind: parking}
    class: shared
    grants: [{profile: university, purpose: p, legal_basis: b, until: 2030-01-01}]
    dataset: {title: x}
  - name: b
    match: {kind: noise}
    class: open
    dataset: {identifier: Not_A_Slug, colour: red}
)");
  const auto has = [&](int line, std::string_view text) {
    return std::any_of(errors.begin(), errors.end(), [&](const auto& e) {
      return e.first == line && e.second.find(text) != std::string::npos;
    });
  };
  for (const auto& [line, message] : errors) UNSCOPED_INFO(line << ": " << message);
  CHECK(has(2, "catalog.base_url: expected an http:// or https:// URI"));
  CHECK(has(5, "catalog.publisher: give an email or a url"));
  CHECK(has(6, "catalog.license: expected an http:// or https:// URI"));
  CHECK(has(7, "catalog.keywords: give at least one"));
  CHECK(has(8, "'ENVIRONMENT' is not an EU data theme"));
  CHECK(has(14, "dataset: only an open rule is published"));
  CHECK(has(18, "unknown key 'colour'"));
}

TEST_CASE("two rules cannot publish the same dataset identifier", "[policies][catalog]") {
  const auto errors = errors_of(std::string(kCatalog) + R"(rules:
  - {name: noise, match: {kind: noise}, class: open}
  - name: other
    match: {kind: air_quality}
    class: open
    dataset: {identifier: noise}
)");
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].first == 13);
  CHECK(errors[0].second.find("dataset identifier 'noise' is already used by rule 'noise'") !=
        std::string::npos);
}

TEST_CASE("a dataset block needs the catalog block", "[policies][catalog]") {
  const auto errors =
      errors_of("rules:\n  - name: a\n    match: {}\n    class: open\n    dataset: {title: x}\n");
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].first == 5);
  CHECK(errors[0].second.find("needs the top-level `catalog:` block") != std::string::npos);
}

}  // namespace
}  // namespace databroker::policies::testing
