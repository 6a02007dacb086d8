// The policy: which streams are open, shared or closed, who may see them, and through which view.
//
// A data steward writes the policy as YAML (docs/policy.md). `compile_policy` validates the whole
// document (every problem with its line) and compiles it into an immutable `Policy`. Rules are
// tried in order and the first whose match holds decides a stream's class; a stream no rule
// matches is Closed, so a missing rule can hide data but never expose it.
//
// Access for a caller follows from the decision:
//   - a profile with the `internal` right sees every stream, raw (no view);
//   - Open streams are seen by everyone through the rule's open view;
//   - Shared streams are seen by the profiles of the rule's grants that are in force at `now`
//     (from ≤ now < until), each through its grant's view; nobody else sees them;
//   - Closed streams are seen by internal profiles only.
// A grant past its end stops by itself: access takes the time as an argument, so no reload is
// needed.
//
// Decisions and accesses point into the Policy that made them (its rules, grants and views):
// keep the Policy (or the PolicySnapshot holding it, policies/engine.h) alive while using them.
//
// Pure: no I/O, no clock, no globals. A Policy is immutable and safe to share between threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <utility>
#include <vector>

#include "broker/core/reading.h"
#include "broker/core/result.h"
#include "policies/catalog.h"
#include "policies/view.h"

namespace databroker::policies {

enum class StreamClass { Open, Shared, Closed };
std::string_view to_string(StreamClass c);  // "open", "shared", "closed"

// The name of the anonymous profile. It can hold no grant: it sees open data only.
inline constexpr std::string_view kPublicProfile = "public";

// What the policy may match on: the registry's facts about one stream (its sensor). An absent
// zone or owner is the empty string, which only a glob such as "*" matches.
struct StreamFacts {
  std::string id;
  std::string kind;
  std::string zone;
  std::vector<std::string> tags;
  std::string owner;

  bool operator==(const StreamFacts&) const = default;
};

// A rule's match: every given criterion must hold (AND); a list means any of its entries (OR).
// An empty list is "not given". Globs use `*` (any run of characters, also none) and `?` (one
// character), matched against the whole value. A Match with no criterion matches every stream.
struct Match {
  std::vector<std::string> kinds;
  std::vector<std::string> sensors;  // globs on the stream id
  std::vector<std::string> zones;    // globs
  std::vector<std::string> tags;     // the stream has at least one of these tags
  std::vector<std::string> owners;

  bool is_empty() const;
  bool matches(const StreamFacts& stream) const;
};

struct Grant {
  std::string profile;
  std::string purpose;
  std::string legal_basis;
  core::TimestampMs from = INT64_MIN;  // inclusive
  core::TimestampMs until =
      INT64_MAX;  // exclusive; `until: 2027-06-30` means through that day (UTC)
  View view;
  int line = 0;

  bool is_in_force(core::TimestampMs now) const { return from <= now && now < until; }
};

struct Rule {
  std::string name;
  std::string description;  // free text for people; no effect
  int line = 0;
  Match match;
  StreamClass stream_class = StreamClass::Closed;
  View open_view;                                      // for Open rules
  std::vector<Grant> grants;                           // for Shared rules, in document order
  std::optional<std::chrono::milliseconds> retention;  // none: kept as storage.retention says
  // Open rules when the policy has a catalogue: how the rule's streams appear in it (the rule's
  // `dataset:` block with defaults filled in). None for other rules and without a catalogue.
  std::optional<DatasetInfo> dataset;
};

// The caller, as the policy needs it. `profile` is "public" for a caller without a key.
struct Caller {
  std::string_view profile;
  bool internal = false;
};

// The outcome for one caller and one stream.
struct Access {
  bool visible = false;
  const View* view = nullptr;    // null with visible: raw (internal callers)
  const Grant* grant = nullptr;  // the grant that gave access to a Shared stream
};

// Where a decision came from: the rule that matched, or none (default closed).
struct Decision {
  StreamClass stream_class = StreamClass::Closed;
  const Rule* rule = nullptr;  // null: no rule matched

  // The rule's retention; none when no rule matched or the rule sets none.
  std::optional<std::chrono::milliseconds> retention() const {
    return rule ? rule->retention : std::nullopt;
  }
};

struct PolicyProblem {
  int line = 0;  // 1-based; 0 when the problem has no place
  std::string message;
  bool is_warning = false;
  // "file:line: error: message" ("file: error: message" without a line).
  std::string to_string(std::string_view file) const;
};

class Policy;

// A compiled policy, or every problem found (errors and warnings, ordered by line).
using CompileResult = tl::expected<std::shared_ptr<const Policy>, std::vector<PolicyProblem>>;

class Policy {
 public:
  // The policy without rules: every stream closed (what is in force before a policy is loaded).
  static std::shared_ptr<const Policy> empty();

  const std::vector<Rule>& rules() const { return rules_; }
  // A content hash of the source text (FNV-1a 64, 16 lowercase hex digits), naming this version.
  const std::string& version() const { return version_; }
  // Rules that can never match (shadowed by an earlier rule), with their lines.
  const std::vector<PolicyProblem>& warnings() const { return warnings_; }
  // The DCAT-AP catalogue block; none when the document has no `catalog:`.
  const std::optional<CatalogInfo>& catalog() const { return catalog_; }

  // First match wins; no match is Closed. A rule scan: callers cache per stream (PolicyEngine).
  Decision decide(const StreamFacts& stream) const;

  // What `caller` may see of a stream with `decision` at `now`: internal callers see it raw;
  // otherwise an Open stream through the open view, a Shared stream through the first grant (in
  // document order) to `caller.profile` in force at `now`, and nothing else. `decision` must come
  // from this policy (checked: a decision of another version is an impossible state).
  Access access(const Decision& decision, const Caller& caller, core::TimestampMs now) const;

  // Every grant of `profile` in this policy (in force or not), with the rule that holds it, in
  // document order.
  std::vector<std::pair<const Rule*, const Grant*>> grants_of(std::string_view profile) const;

 private:
  friend CompileResult compile_policy(std::string_view, const std::set<std::string, std::less<>>&,
                                      const std::set<std::string, std::less<>>&);
  std::vector<Rule> rules_;
  std::string version_;
  std::vector<PolicyProblem> warnings_;
  std::optional<CatalogInfo> catalog_;
};

// Parses and validates a policy document. `profiles` are the profile names the configuration
// declares (grants may only name those, never "public"), `kinds` the known kind names.
// Errors: YAML syntax, unknown or duplicate keys, wrong types, a missing required key, unknown
// profiles or kinds, bad dates (YYYY-MM-DD, real dates), a grant whose period is empty (from
// after until), bad globs, malformed durations, values out of range, a shared rule without
// grants, grants or an open view on a rule whose class does not use them, conflicting view
// options, duplicate rule names, an empty list as a criterion (it would match nothing).
// Warnings: a rule that can never match because one earlier rule matches every stream it
// matches (detected conservatively: no false warnings, some shadowing left undetected).
// Thread-safe; takes no locks.
CompileResult compile_policy(std::string_view yaml_text,
                             const std::set<std::string, std::less<>>& profiles,
                             const std::set<std::string, std::less<>>& kinds);

// `*` and `?` glob over the whole text.
bool glob_match(std::string_view pattern, std::string_view text);

// True when every text `inner` matches is matched by `outer` as well, decided for simple shapes
// only (equal patterns, "*", "prefix*" and "*suffix" outers); false when unsure.
bool glob_covers(std::string_view outer, std::string_view inner);

// Why the policy decides as it does for one stream and one caller: the deciding rule, the class,
// the grant and view that apply, and for each earlier rule which criterion did not match.
struct Explanation {
  Decision decision;
  Access access;
  std::vector<std::string> steps;  // one sentence per rule tried, in order
  std::string outcome;             // what the caller sees, and why
};
Explanation explain(const Policy& policy, const StreamFacts& stream, const Caller& caller,
                    core::TimestampMs now);

}  // namespace databroker::policies
