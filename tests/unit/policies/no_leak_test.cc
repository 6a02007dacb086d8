// The randomised no-leak test: many generated policies, streams, callers and times, each decided
// by the engine (from the YAML it compiles) and by a small reference model written here from the
// generator's own structures. Any disagreement fails the test and prints the seed and the case.
//
// The model shares no code with the engine: its own glob matcher (dynamic programming rather
// than backtracking), its own calendar (day numbers, no RFC 3339 parsing), its own view record.
// Set DATABROKER_TEST_SEED to replay a failing run.
#include <algorithm>
#include <array>
#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "policies/engine.h"
#include "policies/policy.h"
#include "policies/view.h"

namespace databroker::policies {
namespace {

constexpr std::uint64_t kDefaultSeed = 20'261'128;
constexpr int kPolicies = 1000;
constexpr int kCasesPerPolicy = 128;  // 128,000 cases per run
constexpr std::int64_t kDayMs = 86'400'000;

const std::vector<std::string> kKinds = {"air_quality", "noise", "waste_bin", "parking"};
const std::vector<std::string> kProfiles = {"partner-a", "partner-b", "partner-c", "dashboard"};
const std::set<std::string> kInternal = {"dashboard"};
const std::vector<std::string> kCallers = {"public", "partner-a", "partner-b", "partner-c",
                                           "dashboard"};
const std::vector<std::string> kZones = {
    "", "centrum", "centrum-noord", "centrum-zuid", "oud-centrum", "dampoort", "ledeberg"};
const std::vector<std::string> kZoneGlobs = {"centrum", "centrum*", "centrum-*", "*centrum",
                                             "*",       "?ampoort", "ledeberg",  "*-noord",
                                             "c*m",     "oud-*",    "*-*"};
const std::vector<std::string> kSensorIds = {"aq-1",     "aq-12",    "noise-1",   "bin-7",
                                             "park-p7",  "park-p12", "test-aq-1", "x.y:z-1",
                                             "aq-1-tmp", "noise-tmp"};
const std::vector<std::string> kSensorGlobs = {"aq-*",    "*-1",   "park-p?",     "park-p*",
                                               "test-*",  "*-tmp", "*",           "aq-1",
                                               "x.y:z-?", "*a*",   "?\?\?\?\?-*", "*1*"};
const std::vector<std::string> kTags = {"t1", "t2", "t3", "t4"};
const std::vector<std::string> kOwners = {"stad", "ivago", "mob"};
const std::vector<std::string> kMeasurements = {"pm25", "no2", "rssi", "battery", "laeq"};
const std::vector<std::string> kMetadata = {"name", "zone", "tags", "owner", "steward", "location"};

// ---- the reference model ------------------------------------------------------------------

struct ModelView {
  std::set<std::string> drop;
  std::set<std::string> drop_metadata;
  bool drop_location = false;
  std::optional<int> round_location;
  std::optional<int> snap_location_m;
  std::map<std::string, int> round_values;
};

struct ModelGrant {
  std::string profile;
  std::optional<std::int64_t> from_day;  // days since 1970-01-01
  std::int64_t until_day = 0;            // inclusive
  ModelView view;
};

enum class ModelClass { Open, Shared, Closed };

struct ModelRule {
  std::vector<std::string> kinds, sensors, zones, tags, owners;
  ModelClass cls = ModelClass::Closed;
  ModelView open_view;
  std::vector<ModelGrant> grants;
};

struct ModelStream {
  std::string id, kind, zone, owner;
  std::vector<std::string> tags;
};

bool model_glob(const std::string& pattern, const std::string& text) {
  // row[j] after pattern[0, i): whether that prefix matches text[0, j). Generated texts are short.
  constexpr std::size_t kMax = 64;
  if (text.size() >= kMax) {
    return false;
  }
  std::array<bool, kMax> row{};
  row[0] = true;
  for (const char p : pattern) {
    std::array<bool, kMax> next{};
    for (std::size_t j = 0; j <= text.size(); ++j) {
      if (p == '*') {
        next[j] = row[j] || (j > 0 && next[j - 1]);
      } else if (j > 0) {
        next[j] = row[j - 1] && (p == '?' || p == text[j - 1]);
      }
    }
    row = next;
  }
  return row[text.size()];
}

bool model_in(const std::vector<std::string>& list, const std::string& value) {
  for (const auto& item : list) {
    if (item == value) {
      return true;
    }
  }
  return false;
}

bool model_matches(const ModelRule& rule, const ModelStream& s) {
  if (!rule.kinds.empty() && !model_in(rule.kinds, s.kind)) {
    return false;
  }
  if (!rule.sensors.empty()) {
    bool any = false;
    for (const auto& g : rule.sensors) {
      any = any || model_glob(g, s.id);
    }
    if (!any) {
      return false;
    }
  }
  if (!rule.zones.empty()) {
    bool any = false;
    for (const auto& g : rule.zones) {
      any = any || model_glob(g, s.zone);
    }
    if (!any) {
      return false;
    }
  }
  if (!rule.tags.empty()) {
    bool any = false;
    for (const auto& t : s.tags) {
      any = any || model_in(rule.tags, t);
    }
    if (!any) {
      return false;
    }
  }
  return rule.owners.empty() || model_in(rule.owners, s.owner);
}

struct ModelOutcome {
  int rule = -1;  // -1: default closed
  ModelClass cls = ModelClass::Closed;
  bool visible = false;
  bool raw = false;
  int grant = -1;
  const ModelView* view = nullptr;
};

ModelOutcome model_decide(const std::vector<ModelRule>& rules, const ModelStream& s,
                          const std::string& caller, std::int64_t now_ms) {
  ModelOutcome out;
  for (std::size_t i = 0; i < rules.size(); ++i) {
    if (model_matches(rules[i], s)) {
      out.rule = static_cast<int>(i);
      out.cls = rules[i].cls;
      break;
    }
  }
  if (kInternal.contains(caller)) {
    out.visible = true;
    out.raw = true;
    return out;
  }
  if (out.rule < 0) {
    return out;
  }
  const ModelRule& rule = rules[static_cast<std::size_t>(out.rule)];
  if (rule.cls == ModelClass::Open) {
    out.visible = true;
    out.view = &rule.open_view;
  } else if (rule.cls == ModelClass::Shared) {
    for (std::size_t g = 0; g < rule.grants.size(); ++g) {
      const ModelGrant& grant = rule.grants[g];
      const std::int64_t start = grant.from_day ? *grant.from_day * kDayMs : INT64_MIN;
      const std::int64_t end = (grant.until_day + 1) * kDayMs;
      if (grant.profile == caller && start <= now_ms && now_ms < end) {
        out.visible = true;
        out.grant = static_cast<int>(g);
        out.view = &grant.view;
        break;
      }
    }
  }
  return out;
}

// ---- generation ---------------------------------------------------------------------------

// Proleptic Gregorian calendar, days since 1970-01-01 to YYYY-MM-DD (H. Hinnant's algorithm).
std::string format_day(std::int64_t days) {
  days += 719'468;
  const std::int64_t era = (days >= 0 ? days : days - 146'096) / 146'097;
  const std::int64_t doe = days - era * 146'097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36'524 - doe / 146'096) / 365;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  const std::int64_t d = doy - (153 * mp + 2) / 5 + 1;
  const std::int64_t m = mp < 10 ? mp + 3 : mp - 9;
  const std::int64_t y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  char buffer[80];
  std::snprintf(buffer, sizeof buffer, "%04lld-%02lld-%02lld", static_cast<long long>(y),
                static_cast<long long>(m), static_cast<long long>(d));
  return buffer;
}

constexpr std::int64_t kFirstDay = 20'605;  // 2026-06-01

class Generator {
 public:
  explicit Generator(std::uint64_t seed) : rng_(seed) {}

  int below(int n) { return static_cast<int>(rng_() % static_cast<std::uint64_t>(n)); }
  bool chance(int percent) { return below(100) < percent; }

  template <class T>
  const T& pick(const std::vector<T>& from) {
    return from[static_cast<std::size_t>(below(static_cast<int>(from.size())))];
  }

  std::vector<std::string> some(const std::vector<std::string>& from) {
    std::vector<std::string> out;
    const int n = 1 + below(3);
    for (int i = 0; i < n; ++i) {
      out.push_back(pick(from));
    }
    return out;
  }

  ModelView view() {
    ModelView v;
    for (const auto& m : kMeasurements) {
      if (chance(25)) {
        v.drop.insert(m);
      }
      if (chance(10)) {
        v.round_values[m] = below(7);
      }
    }
    if (chance(10)) {
      v.round_values["*"] = below(7);
    }
    for (const auto& f : kMetadata) {
      if (chance(12)) {
        v.drop_metadata.insert(f);
      }
    }
    const int location = below(4);
    if (location == 1) {
      v.drop_location = true;
    } else if (!v.drop_metadata.contains("location")) {
      if (location == 2) {
        v.round_location = below(7);
      } else if (location == 3) {
        v.snap_location_m = 1 + below(5000);
      }
    }
    return v;
  }

  std::vector<ModelRule> policy() {
    std::vector<ModelRule> rules(static_cast<std::size_t>(below(7)));
    for (auto& r : rules) {
      if (chance(45)) {
        r.kinds = some(kKinds);
      }
      if (chance(25)) {
        r.sensors = some(kSensorGlobs);
      }
      if (chance(30)) {
        r.zones = some(kZoneGlobs);
      }
      if (chance(25)) {
        r.tags = some(kTags);
      }
      if (chance(20)) {
        r.owners = some(kOwners);
      }
      r.cls = static_cast<ModelClass>(below(3));
      if (r.cls == ModelClass::Open && chance(70)) {
        r.open_view = view();
      }
      if (r.cls == ModelClass::Shared) {
        const int n = 1 + below(3);
        for (int g = 0; g < n; ++g) {
          ModelGrant grant;
          grant.profile = pick(kProfiles);
          std::int64_t start = kFirstDay + below(30);
          if (chance(60)) {
            grant.from_day = start;
          }
          grant.until_day = start + below(15);
          if (chance(60)) {
            grant.view = view();
          }
          r.grants.push_back(std::move(grant));
        }
      }
    }
    return rules;
  }

  ModelStream stream() {
    ModelStream s;
    if (chance(70)) {
      s.id = pick(kSensorIds);
    } else {
      static const std::string kAlphabet = "ap-1.:2tmxq";
      const int n = 1 + below(9);
      for (int i = 0; i < n; ++i) {
        s.id += kAlphabet[static_cast<std::size_t>(below(static_cast<int>(kAlphabet.size())))];
      }
    }
    s.kind = pick(kKinds);
    s.zone = pick(kZones);
    for (const auto& t : kTags) {
      if (chance(30)) {
        s.tags.push_back(t);
      }
    }
    s.owner = chance(25) ? "" : pick(kOwners);
    return s;
  }

  std::int64_t time() {
    const std::int64_t day = kFirstDay - 2 + below(50);
    static const std::vector<std::int64_t> kOffsets = {0, 1, kDayMs / 2, kDayMs - 1};
    const std::int64_t offset = chance(60) ? pick(kOffsets) : below(static_cast<int>(kDayMs));
    return day * kDayMs + offset;
  }

 private:
  std::mt19937_64 rng_;
};

// ---- YAML rendering -----------------------------------------------------------------------

std::string yaml_list(const std::vector<std::string>& items) {
  std::string out = "[";
  for (std::size_t i = 0; i < items.size(); ++i) {
    out += (i ? ", \"" : "\"") + items[i] + "\"";
  }
  return out + "]";
}

std::string yaml_view(const ModelView& v) {
  std::vector<std::string> parts;
  if (!v.drop.empty()) {
    parts.push_back("drop: " + yaml_list({v.drop.begin(), v.drop.end()}));
  }
  if (!v.drop_metadata.empty()) {
    parts.push_back("drop_metadata: " +
                    yaml_list({v.drop_metadata.begin(), v.drop_metadata.end()}));
  }
  if (v.drop_location) {
    parts.push_back("drop_location: true");
  }
  if (v.round_location) {
    parts.push_back("round_location: " + std::to_string(*v.round_location));
  }
  if (v.snap_location_m) {
    parts.push_back("snap_location_m: " + std::to_string(*v.snap_location_m));
  }
  if (!v.round_values.empty()) {
    std::string map = "round_values: {";
    bool first = true;
    for (const auto& [name, decimals] : v.round_values) {
      map += (first ? "\"" : ", \"") + name + "\": " + std::to_string(decimals);
      first = false;
    }
    parts.push_back(map + "}");
  }
  std::string out = "{";
  for (std::size_t i = 0; i < parts.size(); ++i) {
    out += (i ? ", " : "") + parts[i];
  }
  return out + "}";
}

std::string yaml_policy(const std::vector<ModelRule>& rules) {
  std::ostringstream out;
  out << "rules:\n";
  for (std::size_t i = 0; i < rules.size(); ++i) {
    const ModelRule& r = rules[i];
    out << "  - name: rule " << i << "\n    match: {";
    std::vector<std::string> criteria;
    if (!r.kinds.empty()) {
      criteria.push_back("kind: " + yaml_list(r.kinds));
    }
    if (!r.sensors.empty()) {
      criteria.push_back("sensor: " + yaml_list(r.sensors));
    }
    if (!r.zones.empty()) {
      criteria.push_back("zone: " + yaml_list(r.zones));
    }
    if (!r.tags.empty()) {
      criteria.push_back("tags: " + yaml_list(r.tags));
    }
    if (!r.owners.empty()) {
      criteria.push_back("owner: " + yaml_list(r.owners));
    }
    for (std::size_t c = 0; c < criteria.size(); ++c) {
      out << (c ? ", " : "") << criteria[c];
    }
    out << "}\n    class: "
        << (r.cls == ModelClass::Open     ? "open"
            : r.cls == ModelClass::Shared ? "shared"
                                          : "closed")
        << "\n";
    if (r.cls == ModelClass::Open) {
      out << "    open_view: " << yaml_view(r.open_view) << "\n";
    }
    if (r.cls == ModelClass::Shared) {
      out << "    grants:\n";
      for (const auto& g : r.grants) {
        out << "      - {profile: " << g.profile << ", purpose: p, legal_basis: b";
        if (g.from_day) {
          out << ", from: " << format_day(*g.from_day);
        }
        out << ", until: " << format_day(g.until_day) << ", view: " << yaml_view(g.view) << "}\n";
      }
    }
  }
  return out.str();
}

// ---- comparison ---------------------------------------------------------------------------

StreamClass to_engine(ModelClass c) {
  switch (c) {
    case ModelClass::Open:
      return StreamClass::Open;
    case ModelClass::Shared:
      return StreamClass::Shared;
    case ModelClass::Closed:
      break;
  }
  return StreamClass::Closed;
}

View expected_view(const ModelView& m) {
  View v;
  v.drop.insert(m.drop.begin(), m.drop.end());
  v.drop_metadata.insert(m.drop_metadata.begin(), m.drop_metadata.end());
  v.drop_location = m.drop_location || m.drop_metadata.contains("location");
  v.round_location = m.round_location;
  if (m.snap_location_m) {
    v.snap_location_m = static_cast<double>(*m.snap_location_m);
  }
  v.round_values.insert(m.round_values.begin(), m.round_values.end());
  return v;
}

std::string describe_case(const ModelStream& s, const std::string& caller, std::int64_t now,
                          const ModelOutcome& expected, const Decision& decision,
                          const Access& access, const Policy& policy) {
  std::ostringstream out;
  out << "stream {id: " << s.id << ", kind: " << s.kind << ", zone: '" << s.zone
      << "', tags: " << yaml_list(s.tags) << ", owner: '" << s.owner << "'}, caller " << caller
      << ", now " << now << " (" << format_day(now / kDayMs) << " +" << now % kDayMs << " ms)\n"
      << "expected: rule " << expected.rule << ", visible " << expected.visible << ", grant "
      << expected.grant << "\n"
      << "engine:   rule " << (decision.rule ? decision.rule - policy.rules().data() : -1) << " ("
      << to_string(decision.stream_class) << "), visible " << access.visible << ", view "
      << (access.view ? describe(*access.view) : std::string("none")) << "\n";
  return out.str();
}

std::uint64_t seed_from_environment() {
  const char* text = std::getenv("DATABROKER_TEST_SEED");
  if (text == nullptr || *text == '\0') {
    return kDefaultSeed;
  }
  return std::strtoull(text, nullptr, 0);
}

TEST_CASE("randomised policies never let a caller see more than the reference model allows",
          "[policies][no-leak]") {
  const std::uint64_t seed = seed_from_environment();
  INFO("seed " << seed << " (replay with DATABROKER_TEST_SEED=" << seed << ")");
  Generator gen(seed);
  const std::set<std::string, std::less<>> profiles(kProfiles.begin(), kProfiles.end());
  const std::set<std::string, std::less<>> kinds(kKinds.begin(), kKinds.end());

  long cases = 0;
  long disagreements = 0;
  long visible_cases = 0;
  long shadow_warnings = 0;
  std::string first_failure;
  auto fail = [&](const std::string& text) {
    if (++disagreements == 1) {
      first_failure = text;
    }
  };

  for (int p = 0; p < kPolicies; ++p) {
    const std::vector<ModelRule> rules = gen.policy();
    const std::string yaml = yaml_policy(rules);
    auto compiled = compile_policy(yaml, profiles, kinds);
    if (!compiled) {
      std::string problems;
      for (const auto& problem : compiled.error()) {
        problems += problem.to_string("generated.yaml") + "\n";
      }
      fail("policy " + std::to_string(p) + " does not compile:\n" + yaml + problems);
      continue;
    }
    const Policy& policy = **compiled;
    PolicySnapshot snapshot(*compiled, 0, 16);  // small, so the bound is exercised too
    // Rules warned about as shadowed must never decide (the warning is never wrong).
    std::set<int> shadowed;
    for (const auto& warning : policy.warnings()) {
      for (std::size_t i = 0; i < policy.rules().size(); ++i) {
        if (policy.rules()[i].line == warning.line) {
          shadowed.insert(static_cast<int>(i));
        }
      }
    }
    shadow_warnings += static_cast<long>(shadowed.size());
    for (int c = 0; c < kCasesPerPolicy; ++c, ++cases) {
      const ModelStream s = gen.stream();
      const std::string& caller = gen.pick(kCallers);
      const std::int64_t now = gen.time();
      const ModelOutcome expected = model_decide(rules, s, caller, now);

      const StreamFacts facts{s.id, s.kind, s.zone, s.tags, s.owner};
      const Caller who{caller, kInternal.contains(caller)};
      const Decision decision = policy.decide(facts);
      const Access access = policy.access(decision, who, now);
      const Decision cached = snapshot.decide(facts);
      const Access cached_access = snapshot.access(facts, who, now);

      const int rule = decision.rule ? static_cast<int>(decision.rule - policy.rules().data()) : -1;
      bool agree = rule == expected.rule && access.visible == expected.visible &&
                   cached.rule == decision.rule && cached_access.visible == access.visible &&
                   cached_access.view == access.view;
      if (agree && rule >= 0) {
        agree = decision.stream_class == to_engine(expected.cls);
      }
      if (agree && expected.visible) {
        ++visible_cases;
        if (expected.raw) {
          agree = access.view == nullptr;
        } else {
          agree = access.view != nullptr && *access.view == expected_view(*expected.view);
          if (agree && expected.grant >= 0) {
            agree = access.grant == &policy.rules()[static_cast<std::size_t>(rule)]
                                         .grants[static_cast<std::size_t>(expected.grant)];
          }
          if (agree) {
            // What actually leaves: never a dropped measurement, never a dropped location.
            core::Reading r;
            r.sensor_id = s.id;
            r.kind = s.kind;
            for (const auto& m : kMeasurements) {
              r.values.push_back(core::Measurement{m, 12.3456789, true});
            }
            r.location = core::Location{51.0545231, 3.7215347, 9.0};
            const core::Reading out = apply_view(r, *access.view);
            for (const auto& m : out.values) {
              agree = agree && !expected.view->drop.contains(m.name);
            }
            if (expected.view->drop_location || expected.view->drop_metadata.contains("location")) {
              agree = agree && !out.location.has_value();
            }
          }
        }
      }
      if (agree && shadowed.contains(expected.rule)) {
        agree = false;  // a rule warned about as shadowed decided this stream
      }
      if (agree && c % 16 == 0) {
        agree = explain(policy, facts, who, now).decision.rule == decision.rule;
      }
      if (!agree) {
        fail("policy " + std::to_string(p) + ":\n" + yaml +
             describe_case(s, caller, now, expected, decision, access, policy));
      }
    }
  }
  INFO("cases " << cases << ", visible " << visible_cases << ", shadow warnings " << shadow_warnings
                << ", disagreements " << disagreements);
  INFO("first disagreement:\n" << first_failure);
  CHECK(cases >= 100'000);
  // Both outcomes are well represented, or the comparison would prove little.
  CHECK(visible_cases > cases / 5);
  CHECK(cases - visible_cases > cases / 5);
  CHECK(shadow_warnings > 0);
  REQUIRE(disagreements == 0);
}

}  // namespace
}  // namespace databroker::policies
