#include "policies/policy.h"

#include <algorithm>

#include "broker/core/check.h"
#include "broker/core/time.h"

namespace databroker::policies {

namespace {

bool is_utf8_continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// The index after the character starting at `i`: `?` stands for one character, not one byte.
std::size_t next_char(std::string_view text, std::size_t i) {
  ++i;
  while (i < text.size() && is_utf8_continuation(text[i])) {
    ++i;
  }
  return i;
}

bool contains(const std::vector<std::string>& list, std::string_view value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

bool any_glob(const std::vector<std::string>& globs, std::string_view value) {
  return std::any_of(globs.begin(), globs.end(),
                     [&](const std::string& glob) { return glob_match(glob, value); });
}

bool any_tag(const std::vector<std::string>& wanted, const std::vector<std::string>& tags) {
  return std::any_of(tags.begin(), tags.end(),
                     [&](const std::string& tag) { return contains(wanted, tag); });
}

std::string quoted_list(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) {
      out += ", ";
    }
    out += "'" + item + "'";
  }
  return out;
}

std::string quoted(std::string_view text) { return "'" + std::string(text) + "'"; }

std::string rule_label(const Rule& rule) {
  return "rule " + quoted(rule.name) + " (line " + std::to_string(rule.line) + ")";
}

std::string format_day(core::TimestampMs ms) { return core::format_rfc3339(ms).substr(0, 10); }

// "from 2026-01-01 until 2027-06-30" with the inclusive last day.
std::string describe_period(const Grant& grant) {
  std::string out;
  if (grant.from != INT64_MIN) {
    out += "from " + format_day(grant.from) + " ";
  }
  out += grant.until == INT64_MAX ? "without end" : "until " + format_day(grant.until - 1);
  return out;
}

// One sentence per criterion, split into those that hold and those that do not.
struct CriteriaReport {
  std::vector<std::string> holding;
  std::vector<std::string> failing;
};

CriteriaReport check_criteria(const Match& match, const StreamFacts& stream) {
  CriteriaReport report;
  auto add = [&](bool holds, std::string yes, std::string no) {
    if (holds) {
      report.holding.push_back(std::move(yes));
    } else {
      report.failing.push_back(std::move(no));
    }
  };
  if (!match.kinds.empty()) {
    const std::string list = quoted_list(match.kinds);
    add(contains(match.kinds, stream.kind), "kind " + quoted(stream.kind) + " is one of " + list,
        "kind " + quoted(stream.kind) + " is not one of " + list);
  }
  if (!match.sensors.empty()) {
    const std::string list = quoted_list(match.sensors);
    add(any_glob(match.sensors, stream.id), "sensor " + quoted(stream.id) + " matches " + list,
        "sensor " + quoted(stream.id) + " matches none of " + list);
  }
  if (!match.zones.empty()) {
    const std::string list = quoted_list(match.zones);
    const std::string zone = stream.zone.empty() ? std::string("the stream has no zone, which")
                                                 : "zone " + quoted(stream.zone);
    add(any_glob(match.zones, stream.zone), zone + " matches " + list,
        zone + " matches none of " + list);
  }
  if (!match.tags.empty()) {
    const std::string list = quoted_list(match.tags);
    const std::string tags = stream.tags.empty() ? std::string("the stream has no tags, so none")
                                                 : "tags " + quoted_list(stream.tags);
    add(any_tag(match.tags, stream.tags), tags + " include one of " + list,
        stream.tags.empty() ? tags + " of " + list : tags + " include none of " + list);
  }
  if (!match.owners.empty()) {
    const std::string list = quoted_list(match.owners);
    const std::string owner = stream.owner.empty() ? std::string("the stream has no owner, so")
                                                   : "owner " + quoted(stream.owner);
    add(contains(match.owners, stream.owner), owner + " is one of " + list,
        stream.owner.empty() ? owner + " not one of " + list : owner + " is not one of " + list);
  }
  return report;
}

std::string join_sentences(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& part : parts) {
    if (!out.empty()) {
      out += "; ";
    }
    out += part;
  }
  return out;
}

std::string explain_access(const Decision& decision, const Access& access, const Caller& caller,
                           core::TimestampMs now) {
  const std::string who = "profile " + quoted(caller.profile);
  if (caller.internal) {
    return who + " is internal: it sees every stream, raw";
  }
  switch (decision.stream_class) {
    case StreamClass::Open:
      return "the stream is open: every caller sees it, through the open view (" +
             describe(*access.view) + ")";
    case StreamClass::Closed:
      return decision.rule ? "the stream is closed: only internal profiles see it"
                           : "no rule matches, so the stream is closed: only internal profiles "
                             "see it";
    case StreamClass::Shared:
      break;
  }
  if (access.visible) {
    const Grant& g = *access.grant;
    return "the stream is shared and " + who + " holds the grant on line " +
           std::to_string(g.line) + " (purpose: " + g.purpose + "; legal basis: " + g.legal_basis +
           "; " + describe_period(g) + "), in force now: it sees the stream through the view (" +
           describe(*access.view) + ")";
  }
  std::vector<std::string> reasons;
  for (const Grant& g : decision.rule->grants) {
    if (g.profile != caller.profile) {
      continue;
    }
    reasons.push_back("the grant on line " + std::to_string(g.line) + " " +
                      (now < g.from ? "has not started yet" : "has ended") + " (" +
                      describe_period(g) + ")");
  }
  if (reasons.empty()) {
    std::vector<std::string> holders;
    for (const Grant& g : decision.rule->grants) {
      if (!contains(holders, g.profile)) {
        holders.push_back(g.profile);
      }
    }
    return "the stream is shared, and " + who + " holds no grant in this rule (grants go to " +
           quoted_list(holders) + "): it does not see the stream";
  }
  return "the stream is shared, but no grant of " + who +
         " is in force: " + join_sentences(reasons) + "; it does not see the stream";
}

}  // namespace

std::string_view to_string(StreamClass c) {
  switch (c) {
    case StreamClass::Open:
      return "open";
    case StreamClass::Shared:
      return "shared";
    case StreamClass::Closed:
      return "closed";
  }
  return "closed";
}

bool glob_match(std::string_view pattern, std::string_view text) {
  // Greedy with one backtrack point: the last `*` seen. Linear in practice, never exponential.
  std::size_t p = 0;
  std::size_t t = 0;
  std::size_t star = std::string_view::npos;
  std::size_t mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '?') {
      ++p;
      t = next_char(text, t);
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      mark = next_char(text, mark);
      t = mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') {
    ++p;
  }
  return p == pattern.size();
}

bool glob_covers(std::string_view outer, std::string_view inner) {
  if (outer == inner) {
    return true;
  }
  if (outer.find('?') != std::string_view::npos) {
    return false;
  }
  const std::size_t stars = static_cast<std::size_t>(std::count(outer.begin(), outer.end(), '*'));
  if (stars == outer.size()) {
    return stars > 0;  // "*" matches everything
  }
  if (stars != 1) {
    return false;
  }
  if (outer.back() == '*') {
    // Every text `inner` matches starts with its literal prefix.
    const std::string_view prefix = outer.substr(0, outer.size() - 1);
    const std::string_view literal = inner.substr(0, inner.find_first_of("*?"));
    return literal.starts_with(prefix);
  }
  if (outer.front() == '*') {
    const std::string_view suffix = outer.substr(1);
    const std::size_t last = inner.find_last_of("*?");
    const std::string_view literal =
        last == std::string_view::npos ? inner : inner.substr(last + 1);
    return literal.ends_with(suffix);
  }
  return false;
}

bool Match::is_empty() const {
  return kinds.empty() && sensors.empty() && zones.empty() && tags.empty() && owners.empty();
}

bool Match::matches(const StreamFacts& stream) const {
  return (kinds.empty() || contains(kinds, stream.kind)) &&
         (sensors.empty() || any_glob(sensors, stream.id)) &&
         (zones.empty() || any_glob(zones, stream.zone)) &&
         (tags.empty() || any_tag(tags, stream.tags)) &&
         (owners.empty() || contains(owners, stream.owner));
}

std::string PolicyProblem::to_string(std::string_view file) const {
  std::string out(file);
  if (line > 0) {
    out += ":" + std::to_string(line);
  }
  out += is_warning ? ": warning: " : ": error: ";
  out += message;
  return out;
}

std::shared_ptr<const Policy> Policy::empty() {
  static const std::shared_ptr<const Policy> kEmpty = [] {
    auto compiled = compile_policy("rules: []\n", {}, {});
    DATABROKER_CHECK(compiled.has_value(), "the empty policy compiles");
    return *compiled;
  }();
  return kEmpty;
}

Decision Policy::decide(const StreamFacts& stream) const {
  for (const Rule& rule : rules_) {
    if (rule.match.matches(stream)) {
      return Decision{rule.stream_class, &rule};
    }
  }
  return Decision{StreamClass::Closed, nullptr};
}

Access Policy::access(const Decision& decision, const Caller& caller, core::TimestampMs now) const {
  DATABROKER_CHECK(decision.rule == nullptr || (decision.rule >= rules_.data() &&
                                                decision.rule < rules_.data() + rules_.size()),
                   "a decision is used with the policy version that made it");
  if (caller.internal) {
    return Access{true, nullptr, nullptr};
  }
  if (decision.rule == nullptr || decision.stream_class != decision.rule->stream_class) {
    return Access{};  // default closed; a hand-made decision never opens anything
  }
  switch (decision.stream_class) {
    case StreamClass::Open:
      return Access{true, &decision.rule->open_view, nullptr};
    case StreamClass::Shared:
      for (const Grant& grant : decision.rule->grants) {
        if (grant.profile == caller.profile && grant.is_in_force(now)) {
          return Access{true, &grant.view, &grant};
        }
      }
      return Access{};
    case StreamClass::Closed:
      return Access{};
  }
  return Access{};
}

std::vector<std::pair<const Rule*, const Grant*>> Policy::grants_of(
    std::string_view profile) const {
  std::vector<std::pair<const Rule*, const Grant*>> out;
  for (const Rule& rule : rules_) {
    for (const Grant& grant : rule.grants) {
      if (grant.profile == profile) {
        out.emplace_back(&rule, &grant);
      }
    }
  }
  return out;
}

Explanation explain(const Policy& policy, const StreamFacts& stream, const Caller& caller,
                    core::TimestampMs now) {
  Explanation out;
  for (const Rule& rule : policy.rules()) {
    const CriteriaReport report = check_criteria(rule.match, stream);
    if (!report.failing.empty()) {
      out.steps.push_back(rule_label(rule) + " does not match: " + join_sentences(report.failing));
      continue;
    }
    out.decision = Decision{rule.stream_class, &rule};
    if (report.holding.empty()) {
      out.steps.push_back(rule_label(rule) +
                          " matches every stream (it has no criteria) and decides: " +
                          std::string(to_string(rule.stream_class)));
    } else {
      out.steps.push_back(rule_label(rule) + " matches (" + join_sentences(report.holding) +
                          ") and decides: " + std::string(to_string(rule.stream_class)));
    }
    break;
  }
  if (out.decision.rule == nullptr) {
    out.steps.push_back("no rule matches: the stream is closed by default");
  }
  out.access = policy.access(out.decision, caller, now);
  out.outcome = explain_access(out.decision, out.access, caller, now);
  return out;
}

}  // namespace databroker::policies
