// Validation: every kind of error and warning, with its line, all reported in one run.
//
// The documents in tests/data/policies/invalid/ mark each line that must get a problem with a
// trailing `# error: <text>` or `# warning: <text>` (several per line allowed). A marked line
// must get exactly those problems, each message containing its text; an unmarked line none.
#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "broker/core/time.h"
#include "policies/policy.h"
#include "policies/policy_file.h"
#include "tests/unit/policies/test_support.h"

namespace databroker::policies {
namespace {

using testing::compile_ok;
using testing::compile_problems;
using testing::contains;

constexpr const char* kInvalidDir = DATABROKER_SOURCE_DIR "/tests/data/policies/invalid";

struct Marker {
  int line = 0;
  bool is_warning = false;
  std::string text;
};

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  REQUIRE(in);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string trim(std::string text) {
  const auto first = text.find_first_not_of(' ');
  const auto last = text.find_last_not_of(' ');
  return first == std::string::npos ? "" : text.substr(first, last - first + 1);
}

std::vector<Marker> markers_of(const std::string& text) {
  std::vector<Marker> out;
  std::istringstream lines(text);
  std::string line;
  int number = 0;
  while (std::getline(lines, line)) {
    ++number;
    std::size_t at = 0;
    while (true) {
      const auto error = line.find("# error:", at);
      const auto warning = line.find("# warning:", at);
      const auto next = std::min(error, warning);
      if (next == std::string::npos) {
        break;
      }
      const bool is_warning = next == warning;
      const std::size_t start = next + (is_warning ? 10 : 8);
      const auto end = std::min(line.find("# error:", start), line.find("# warning:", start));
      out.push_back(Marker{number, is_warning,
                           trim(line.substr(start, end == std::string::npos ? end : end - start))});
      at = start;
    }
  }
  return out;
}

// Compares the problems of one document with its markers; returns the problems.
std::vector<PolicyProblem> check_against_markers(const std::string& file) {
  const std::string path = std::string(kInvalidDir) + "/" + file;
  const std::string text = read_file(path);
  const std::vector<Marker> markers = markers_of(text);
  auto compiled = compile_policy(text, testing::test_profiles(), testing::builtin_kinds());
  const std::vector<PolicyProblem> problems = compiled ? (*compiled)->warnings() : compiled.error();
  const bool has_error_markers =
      std::any_of(markers.begin(), markers.end(), [](const Marker& m) { return !m.is_warning; });
  INFO(file);
  CHECK(compiled.has_value() == !has_error_markers);
  for (const auto& p : problems) {
    UNSCOPED_INFO(p.to_string(file));
  }
  std::vector<bool> used(problems.size(), false);
  for (const auto& marker : markers) {
    INFO(file << ":" << marker.line << ": expected " << (marker.is_warning ? "warning" : "error")
              << " containing: " << marker.text);
    auto it = std::find_if(problems.begin(), problems.end(), [&](const PolicyProblem& p) {
      return !used[static_cast<std::size_t>(&p - problems.data())] && p.line == marker.line &&
             p.is_warning == marker.is_warning && contains(p.message, marker.text);
    });
    CHECK(it != problems.end());
    if (it != problems.end()) {
      used[static_cast<std::size_t>(it - problems.begin())] = true;
    }
  }
  for (std::size_t i = 0; i < problems.size(); ++i) {
    INFO("unexpected problem: " << problems[i].to_string(file));
    CHECK(used[i]);
  }
  return problems;
}

TEST_CASE("unknown keys and wrong types are errors with their lines, all at once", "[policies]") {
  const auto problems = check_against_markers("keys_and_types.yaml");
  CHECK(problems.size() >= 15);
}

TEST_CASE("unknown kinds and profiles, bad globs and bad dates are errors with their lines",
          "[policies]") {
  check_against_markers("references.yaml");
}

TEST_CASE("rules whose class, grants and views do not fit are errors with their lines",
          "[policies]") {
  check_against_markers("structure.yaml");
}

TEST_CASE("a rule shadowed by an earlier one is a warning, and the policy still compiles",
          "[policies]") {
  const auto problems = check_against_markers("shadowed.yaml");
  CHECK(problems.size() == 6);
}

TEST_CASE("wider or merely overlapping later rules get no shadowing warning", "[policies]") {
  const auto problems = check_against_markers("no_false_warnings.yaml");
  CHECK(problems.empty());
}

TEST_CASE("every shipped and tested policy document is free of warnings", "[policies]") {
  for (const char* file : {"gent.policy.yaml", "overlap.policy.yaml", "town.policy.yaml"}) {
    INFO(file);
    const std::string text =
        read_file(std::string(DATABROKER_SOURCE_DIR "/tests/data/policies/") + file);
    auto policy = compile_ok(
        text, testing::test_profiles(),
        {"air_quality", "noise", "waste_bin", "parking", "water_level", "traffic_count"});
    CHECK(policy->warnings().empty());
  }
  auto example = load_policy_file(
      DATABROKER_SOURCE_DIR "/deploy/policy.example.yaml",
      {"city-dashboard", "sensor-gateway", "ops", "mobility-partner", "waste-contractor"},
      testing::builtin_kinds());
  REQUIRE(example.has_value());
  CHECK((*example)->warnings().empty());
}

TEST_CASE("a YAML syntax error is reported with its line", "[policies]") {
  const auto problems = compile_problems("rules:\n  - name: x\n    match: {kind: [noise\n");
  REQUIRE(problems.size() == 1);
  CHECK(contains(problems[0].message, "YAML syntax error"));
  CHECK(problems[0].line >= 3);
}

TEST_CASE("the document must be one map with a rules list", "[policies]") {
  CHECK(contains(compile_problems("")[0].message, "`rules:` is required"));
  CHECK(contains(compile_problems("# only a comment\n")[0].message, "`rules:` is required"));
  CHECK(contains(compile_problems("version: 1\n")[0].message, "rules: is required"));
  CHECK(contains(compile_problems("- a list\n")[0].message, "expected a map"));
  CHECK(contains(compile_problems("rules: open\n")[0].message, "expected a list of rules"));
  const auto two = compile_problems("rules: []\n---\nrules: []\n");
  CHECK(contains(two[0].message, "expected one YAML document"));
  CHECK(two[0].line == 2);  // where the second document starts: its `---`
}

TEST_CASE("a line starting with a comma is refused, not a hang", "[policies]") {
  // yaml-cpp 0.7's LoadAll loops forever on the first two (jbeder/yaml-cpp#1040) and throws
  // std::bad_alloc on the others; a reload over HTTP or SIGHUP must answer with a problem.
  for (const char* text : {",\n", "# the city's policy\n, rules: []\n", ",a\n", "- a\n, b\n",
                           "rules:\n  - name: a\n, match: {kind: noise}\n"}) {
    CAPTURE(text);
    CHECK_FALSE(compile_problems(text).empty());  // refused with a reason, promptly
  }
}

TEST_CASE("an empty rules list compiles and closes every stream", "[policies]") {
  for (const char* text : {"rules: []\n", "rules:\n", "version: 1\nrules: []\n"}) {
    auto policy = compile_ok(text);
    CHECK(policy->rules().empty());
    const Decision d = policy->decide(StreamFacts{"s", "noise", "", {}, ""});
    CHECK(d.stream_class == StreamClass::Closed);
    CHECK(d.rule == nullptr);
  }
}

TEST_CASE("several errors are reported at once, ordered by line", "[policies]") {
  const auto problems = compile_problems(
      "rules:\n"
      "  - name: a\n"
      "    match: {kind: nois}\n"
      "    class: opne\n"
      "  - name: b\n"
      "    match: {zone: \"\"}\n"
      "    class: shared\n"
      "    retention: 3 weeks\n");
  REQUIRE(problems.size() == 5);
  CHECK(problems[0].line == 3);
  CHECK(problems[1].line == 4);
  CHECK(problems[2].line == 5);  // a shared rule needs grants
  CHECK(problems[3].line == 6);
  CHECK(problems[4].line == 8);
  CHECK(std::is_sorted(problems.begin(), problems.end(),
                       [](const auto& a, const auto& b) { return a.line < b.line; }));
}

TEST_CASE("a problem prints as file:line: error|warning: message", "[policies]") {
  CHECK(PolicyProblem{12, "boom", false}.to_string("p.yaml") == "p.yaml:12: error: boom");
  CHECK(PolicyProblem{3, "dead rule", true}.to_string("p.yaml") == "p.yaml:3: warning: dead rule");
  CHECK(PolicyProblem{0, "cannot read", false}.to_string("p.yaml") == "p.yaml: error: cannot read");
}

TEST_CASE("durations take d, h, m and s", "[policies]") {
  const auto retention = [](const std::string& value) {
    auto policy =
        compile_ok("rules:\n  - {name: r, match: {}, class: closed, retention: " + value + "}\n");
    return policy->rules().at(0).retention;
  };
  CHECK(retention("90d") == std::chrono::hours(24 * 90));
  CHECK(retention("12h") == std::chrono::hours(12));
  CHECK(retention("30m") == std::chrono::minutes(30));
  CHECK(retention("45s") == std::chrono::seconds(45));
  CHECK(retention("36500d") == std::chrono::hours(24 * 36500));
  for (const char* bad : {"90", "d", "-1d", "1.5d", "90D", "1y", "36501d", "999999999999999d",
                          "\"\"", "[90d]", "90 d"}) {
    INFO(bad);
    compile_problems(std::string("rules:\n  - {name: r, match: {}, class: closed, retention: ") +
                     bad + "}\n");
  }
}

TEST_CASE("grant dates are whole days in UTC with until inclusive, or exact RFC 3339 times",
          "[policies]") {
  auto policy = compile_ok(
      "rules:\n"
      "  - name: r\n"
      "    match: {}\n"
      "    class: shared\n"
      "    grants:\n"
      "      - {profile: university, purpose: p, legal_basis: b, from: 2024-02-29, until: "
      "2024-02-29}\n"
      "      - {profile: university, purpose: p, legal_basis: b, until: \"2027-06-30\"}\n");
  const Grant& leap = policy->rules()[0].grants[0];
  CHECK(leap.from == 1'709'164'800'000);
  CHECK(leap.until == 1'709'164'800'000 + 86'400'000);
  const Grant& open_start = policy->rules()[0].grants[1];
  CHECK(open_start.from == INT64_MIN);
  CHECK(open_start.until == 1'814'400'000'000);  // 2027-07-01T00:00:00Z
  for (const char* bad : {"2023-02-29", "2026-04-31", "2026-00-10", "1969-12-31", "2026-1-1",
                          "2026-01-01T25:00:00Z", "2026-01-01T00:00:00", "tomorrow", "20260101"}) {
    INFO(bad);
    compile_problems(
        std::string("rules:\n  - name: r\n    match: {}\n    class: shared\n    grants:\n"
                    "      - {profile: university, purpose: p, legal_basis: b, until: ") +
        bad + "}\n");
  }
}

TEST_CASE("the version is a content hash of the text", "[policies]") {
  const std::string text = "rules: []\n";
  auto a = compile_ok(text);
  auto b = compile_ok(text);
  auto c = compile_ok(text + "# a comment changes the version\n");
  CHECK(a->version() == b->version());
  CHECK(a->version() != c->version());
  CHECK(a->version().size() == 16);
  CHECK(std::all_of(a->version().begin(), a->version().end(),
                    [](char ch) { return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f'); }));
  CHECK(compile_policy("", {}, {}).error().size() == 1);
  CHECK(Policy::empty()->version().size() == 16);
}

TEST_CASE("a policy file that cannot be read is one problem without a line", "[policies]") {
  auto missing = load_policy_file("/nonexistent/policy.yaml", {}, testing::builtin_kinds());
  REQUIRE_FALSE(missing.has_value());
  REQUIRE(missing.error().size() == 1);
  CHECK(missing.error()[0].line == 0);
  CHECK(contains(missing.error()[0].message, "cannot read the policy file"));
  auto directory = load_policy_file(kInvalidDir, {}, testing::builtin_kinds());
  REQUIRE_FALSE(directory.has_value());
  CHECK(contains(directory.error()[0].message, "directory"));
}

TEST_CASE("grants may only name declared profiles, never public", "[policies]") {
  const std::string rule =
      "rules:\n  - name: r\n    match: {}\n    class: shared\n    grants:\n"
      "      - {profile: PROFILE, purpose: p, legal_basis: b, until: 2027-01-01}\n";
  auto with = [&](const std::string& profile) {
    std::string text = rule;
    text.replace(text.find("PROFILE"), 7, profile);
    return compile_policy(text, {"partner"}, testing::builtin_kinds());
  };
  CHECK(with("partner").has_value());
  CHECK_FALSE(with("Partner").has_value());
  CHECK_FALSE(with("public").has_value());
  CHECK_FALSE(with("other").has_value());
}

// The examples a steward copies from docs/policy.md must load as they are.
TEST_CASE("every policy example in docs/policy.md compiles without warnings", "[policies]") {
  const std::string text = read_file(DATABROKER_SOURCE_DIR "/docs/policy.md");
  int examples = 0;
  std::size_t at = 0;
  while ((at = text.find("```yaml\n", at)) != std::string::npos) {
    const std::size_t start = at + 8;
    const std::size_t end = text.find("```", start);
    REQUIRE(end != std::string::npos);
    const std::string block = text.substr(start, end - start);
    at = end + 3;
    if (!contains(block, "rules:")) {
      continue;
    }
    ++examples;
    INFO("example " << examples << ":\n" << block);
    auto policy = compile_ok(block);
    for (const auto& w : policy->warnings()) {
      UNSCOPED_INFO(w.to_string("docs/policy.md example"));
    }
    CHECK(policy->warnings().empty());
  }
  CHECK(examples >= 4);
}

}  // namespace
}  // namespace databroker::policies

TEST_CASE("a grant may end at an exact RFC 3339 time instead of a whole day", "[policies]") {
  const auto policy = databroker::policies::testing::compile_ok(R"(
rules:
  - name: parking
    match: {kind: parking}
    class: shared
    grants:
      - profile: mobility-partner
        purpose: pilot
        legal_basis: pilot agreement
        from: 2026-11-28T08:00:00Z
        until: 2026-11-28T18:00:00+01:00
)");
  const auto& grant = policy->rules().at(0).grants.at(0);
  CHECK(grant.from == *databroker::core::parse_rfc3339("2026-11-28T08:00:00Z"));
  CHECK(grant.until == *databroker::core::parse_rfc3339("2026-11-28T17:00:00Z"));
  CHECK(grant.is_in_force(*databroker::core::parse_rfc3339("2026-11-28T16:59:59.999Z")));
  CHECK_FALSE(grant.is_in_force(*databroker::core::parse_rfc3339("2026-11-28T17:00:00Z")));
}
