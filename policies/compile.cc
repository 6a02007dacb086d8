// compile_policy: the YAML policy document into a Policy. The only file of the policy engine that
// includes yaml-cpp; YAML exceptions are converted to problems here and never leave it.
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <optional>
#include <span>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "broker/core/text.h"
#include "broker/core/time.h"
#include "policies/policy.h"
#include "policies/yaml_document.h"

namespace databroker::policies {

namespace {

constexpr std::int64_t kDayMs = 86'400'000;
constexpr std::int64_t kMaxRetentionDays = 36'500;
constexpr int kMaxDecimals = 6;
constexpr double kMaxCellMetres = 100'000.0;
constexpr std::size_t kMaxGlobLength = 256;

struct RejectedKey {
  std::string_view key;
  std::string_view reason;
};

constexpr std::string_view kTopKeys[] = {"version", "rules", "catalog"};
constexpr std::string_view kCatalogKeys[] = {"base_url",  "title",   "description",
                                             "publisher", "contact", "license",
                                             "keywords",  "themes",  "language"};
constexpr std::string_view kAgentKeys[] = {"name", "email", "url"};
constexpr std::string_view kDatasetKeys[] = {"identifier", "title",  "description",
                                             "keywords",   "themes", "license"};
constexpr RejectedKey kTopRejected[] = {
    {"profiles",
     "profiles are declared in the configuration (databroker.yaml, section profiles); the policy "
     "only names them in grants"}};
constexpr std::string_view kRuleKeys[] = {"name",      "description", "match",     "class",
                                          "open_view", "grants",      "retention", "dataset"};
constexpr RejectedKey kRuleRejected[] = {
    {"view",
     "a rule has no `view`: an open rule has `open_view`, a shared rule a `view` per grant"},
    {"grant", "the key is `grants` (a list)"}};
constexpr std::string_view kMatchKeys[] = {"kind", "sensor", "zone", "tags", "owner"};
constexpr RejectedKey kMatchRejected[] = {{"kinds", "the key is `kind` (a name or a list)"},
                                          {"sensors", "the key is `sensor` (a glob or a list)"},
                                          {"zones", "the key is `zone` (a glob or a list)"},
                                          {"tag", "the key is `tags` (a tag or a list)"},
                                          {"owners", "the key is `owner` (a name or a list)"}};
constexpr std::string_view kGrantKeys[] = {"profile", "purpose", "legal_basis",
                                           "from",    "until",   "view"};
constexpr std::string_view kViewKeys[] = {"drop",           "drop_metadata",   "drop_location",
                                          "round_location", "snap_location_m", "round_values"};
constexpr std::pair<std::string_view, StreamClass> kClasses[] = {
    {"open", StreamClass::Open}, {"shared", StreamClass::Shared}, {"closed", StreamClass::Closed}};

int line_of(const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  return mark.is_null() ? 0 : mark.line + 1;
}

// yaml-cpp tags a quoted scalar "!" and a plain one "?". Numbers and booleans must be plain.
bool is_plain_scalar(const YAML::Node& node) { return node.IsScalar() && node.Tag() != "!"; }

std::string describe(const YAML::Node& node) {
  if (!node.IsDefined() || node.IsNull()) {
    return "nothing";
  }
  if (node.IsMap()) {
    return "a map";
  }
  if (node.IsSequence()) {
    return "a list";
  }
  if (!is_plain_scalar(node)) {
    return "the string \"" + node.Scalar() + "\"";
  }
  return "'" + node.Scalar() + "'";
}

std::string unknown_key_message(const std::string& name, const std::string& where,
                                std::span<const std::string_view> known) {
  if (auto meant = core::closest_word(name, known)) {
    return "unknown key '" + name + "' in " + where + " (did you mean '" + std::string(*meant) +
           "'?)";
  }
  return "unknown key '" + name + "' in " + where + " (known keys: " + core::join(known) + ")";
}

bool is_sensor_glob_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == ':' || c == '-' || c == '*' || c == '?';
}

// Spaces, controls and the characters RFC 3987 and Turtle's IRIREF exclude: a URI or e-mail
// address without them is safe in JSON-LD and Turtle alike.
bool is_iri_unsafe(char c) {
  return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f ||
         std::string_view("<>\"{}|^`\\").find(c) != std::string_view::npos;
}

std::uint64_t fnv1a64(std::string_view text) {
  std::uint64_t hash = 14'695'981'039'346'656'037ULL;
  for (char c : text) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1'099'511'628'211ULL;
  }
  return hash;
}

std::string hex16(std::uint64_t value) {
  char buffer[17];
  std::snprintf(buffer, sizeof buffer, "%016llx", static_cast<unsigned long long>(value));
  return buffer;
}

struct Field {
  YAML::Node value;
  int line = 0;  // the key's line: an empty value or a block starts elsewhere
};

// The entries of one YAML map after the known-key checks.
struct Fields {
  int line = 0;
  std::map<std::string, Field, std::less<>> entries;

  const Field* find(std::string_view key) const {
    auto it = entries.find(key);
    return it == entries.end() ? nullptr : &it->second;
  }
};

// True when every stream `inner` matches is matched by `outer` too; false when unsure.
bool list_covers(const std::vector<std::string>& outer, const std::vector<std::string>& inner) {
  if (outer.empty()) {
    return true;
  }
  if (inner.empty()) {
    return false;  // inner takes any value; outer only some
  }
  return std::all_of(inner.begin(), inner.end(), [&](const std::string& value) {
    return std::find(outer.begin(), outer.end(), value) != outer.end();
  });
}

bool globs_cover(const std::vector<std::string>& outer, const std::vector<std::string>& inner) {
  if (outer.empty()) {
    return true;
  }
  if (inner.empty()) {
    return false;
  }
  return std::all_of(inner.begin(), inner.end(), [&](const std::string& in) {
    return std::any_of(outer.begin(), outer.end(),
                       [&](const std::string& out) { return glob_covers(out, in); });
  });
}

bool match_covers(const Match& outer, const Match& inner) {
  return list_covers(outer.kinds, inner.kinds) && globs_cover(outer.sensors, inner.sensors) &&
         globs_cover(outer.zones, inner.zones) && list_covers(outer.tags, inner.tags) &&
         list_covers(outer.owners, inner.owners);
}

class Compiler {
 public:
  Compiler(const std::set<std::string, std::less<>>& profiles,
           const std::set<std::string, std::less<>>& kinds)
      : profiles_(profiles), kinds_(kinds) {}

  std::vector<PolicyProblem>& problems() { return problems_; }
  bool has_errors() const { return errors_ > 0; }

  void error(int line, std::string message) {
    ++errors_;
    problems_.push_back(PolicyProblem{line, std::move(message), false});
  }
  void warning(int line, std::string message) {
    problems_.push_back(PolicyProblem{line, std::move(message), true});
  }

  std::vector<Rule> compile(const YAML::Node& root) {
    std::vector<Rule> rules;
    if (root.IsNull()) {
      error(0, "the policy is empty: `rules:` is required (an empty list closes every stream)");
      return rules;
    }
    auto top = fields(root, line_of(root), "the policy", kTopKeys, kTopRejected);
    if (!top) {
      return rules;
    }
    if (const Field* version = top->find("version")) {
      if (!is_plain_scalar(version->value) || version->value.Scalar() != "1") {
        error(version->line, "version: expected 1 (the only version of the policy format), got " +
                                 describe(version->value));
      }
    }
    if (const Field* catalog = top->find("catalog")) {
      catalog_ = read_catalog(*catalog);
      has_catalog_block_ = true;
    }
    const Field* list = top->find("rules");
    if (!list) {
      error(top->line, "rules: is required (an empty list closes every stream)");
      return rules;
    }
    if (list->value.IsNull()) {
      return rules;
    }
    if (!list->value.IsSequence()) {
      error(list->line, "rules: expected a list of rules, got " + describe(list->value));
      return rules;
    }
    std::map<std::string, int, std::less<>> names;
    // Shadowing is judged between rules without errors only: a broken rule cannot be reasoned
    // about, and warnings about it would bury its errors.
    std::vector<bool> rule_ok;
    std::size_t index = 0;
    for (const auto& node : list->value) {
      ++index;
      const std::size_t errors_before = errors_;
      Rule rule;
      if (read_rule(node, index, rule)) {
        if (!rule.name.empty()) {
          auto [it, fresh] = names.emplace(rule.name, rule.line);
          if (!fresh) {
            error(rule.line, "rule '" + rule.name + "': duplicate rule name (first on line " +
                                 std::to_string(it->second) + ")");
          }
        }
        rules.push_back(std::move(rule));
        rule_ok.push_back(errors_ == errors_before);
      }
    }
    warn_shadowed(rules, rule_ok);
    check_dataset_identifiers(rules);
    return rules;
  }

  std::optional<CatalogInfo>& catalog() { return catalog_; }

 private:
  // Reports unknown, rejected and duplicate keys; nothing when `node` is not a map (reported).
  // A null value (`match:` alone) is an empty map.
  std::optional<Fields> fields(const YAML::Node& node, int line, const std::string& where,
                               std::span<const std::string_view> known,
                               std::span<const RejectedKey> rejected = {}) {
    Fields out;
    out.line = line;
    if (node.IsNull()) {
      return out;
    }
    if (!node.IsMap()) {
      error(line, where + ": expected a map, got " + describe(node));
      return std::nullopt;
    }
    for (const auto& entry : node) {
      const YAML::Node& key = entry.first;
      const int key_line = line_of(key);
      if (!key.IsScalar() || key.Scalar().empty()) {
        error(key_line, where + ": keys must be names, got " + describe(key));
        continue;
      }
      const std::string name = key.Scalar();
      if (const Field* first = out.find(name)) {
        error(key_line, where + ": duplicate key '" + name + "' (first on line " +
                            std::to_string(first->line) + ")");
        continue;
      }
      auto reject = std::find_if(rejected.begin(), rejected.end(),
                                 [&](const RejectedKey& r) { return r.key == name; });
      if (reject != rejected.end()) {
        error(key_line,
              "unknown key '" + name + "' in " + where + ": " + std::string(reject->reason));
        continue;
      }
      if (std::find(known.begin(), known.end(), name) == known.end()) {
        error(key_line, unknown_key_message(name, where, known));
        continue;
      }
      out.entries.emplace(name, Field{entry.second, key_line});
    }
    return out;
  }

  std::optional<std::string> read_text(const Field& field, const std::string& what,
                                       bool required_non_empty = true) {
    if (field.value.IsNull() && !required_non_empty) {
      return std::string();
    }
    if (!field.value.IsScalar()) {
      error(field.line, what + ": expected text, got " + describe(field.value));
      return std::nullopt;
    }
    if (required_non_empty && field.value.Scalar().empty()) {
      error(field.line, what + ": must not be empty");
      return std::nullopt;
    }
    return field.value.Scalar();
  }

  // A value or a list of values, each a non-empty scalar; `empty_list_matches_nothing` makes
  // `[]` an error (for match criteria, where it would silently match no stream).
  std::optional<std::vector<std::pair<std::string, int>>> read_list(
      const Field& field, const std::string& what, bool empty_list_matches_nothing) {
    std::vector<std::pair<std::string, int>> out;
    if (field.value.IsScalar()) {
      if (field.value.Scalar().empty()) {
        error(field.line, what + ": must not be empty");
        return std::nullopt;
      }
      out.emplace_back(field.value.Scalar(), field.line);
      return out;
    }
    if (!field.value.IsSequence()) {
      error(field.line, what + ": expected a value or a list, got " + describe(field.value));
      return std::nullopt;
    }
    if (field.value.size() == 0 && empty_list_matches_nothing) {
      error(field.line,
            what + ": an empty list matches no stream; leave the key out to match any value");
      return std::nullopt;
    }
    bool ok = true;
    for (const auto& item : field.value) {
      const int line = line_of(item) > 0 ? line_of(item) : field.line;
      if (!item.IsScalar() || item.Scalar().empty()) {
        error(line, what + ": expected a non-empty value, got " + describe(item));
        ok = false;
        continue;
      }
      out.emplace_back(item.Scalar(), line);
    }
    if (!ok) {
      return std::nullopt;
    }
    return out;
  }

  std::optional<bool> read_bool(const Field& field, const std::string& what) {
    std::optional<bool> value;
    if (is_plain_scalar(field.value)) {
      value = core::parse_strict_bool(field.value.Scalar());
    }
    if (!value) {
      error(field.line, what + ": expected true or false, got " + describe(field.value));
    }
    return value;
  }

  std::optional<int> read_decimals(const Field& field, const std::string& what) {
    std::optional<long long> value;
    if (is_plain_scalar(field.value)) {
      value = core::parse_integer(field.value.Scalar());
    }
    if (!value) {
      error(field.line, what + ": expected a number of decimals (an integer from 0 to " +
                            std::to_string(kMaxDecimals) + "), got " + describe(field.value));
      return std::nullopt;
    }
    if (*value < 0 || *value > kMaxDecimals) {
      error(field.line, what + ": " + std::to_string(*value) + " decimals is out of range (0 to " +
                            std::to_string(kMaxDecimals) + ")");
      return std::nullopt;
    }
    return static_cast<int>(*value);
  }

  // `YYYY-MM-DD`, a real date, as the epoch milliseconds of its start (UTC).
  // A day as YYYY-MM-DD (its start, UTC; `whole_day` set), or an exact instant in RFC 3339
  // (`2027-06-30T18:00:00+02:00`), for agreements that end at a given hour.
  std::optional<core::TimestampMs> read_date(const Field& field, const std::string& what,
                                             bool& whole_day) {
    static const std::string kExpected =
        "expected a date as YYYY-MM-DD or a time as RFC 3339 (2027-06-30T18:00:00Z)";
    if (!field.value.IsScalar()) {
      error(field.line, what + ": " + kExpected + ", got " + describe(field.value));
      return std::nullopt;
    }
    const std::string& text = field.value.Scalar();
    const bool shaped = text.size() == 10 && text[4] == '-' && text[7] == '-' &&
                        std::all_of(text.begin(), text.end(),
                                    [](char c) { return c == '-' || (c >= '0' && c <= '9'); });
    whole_day = shaped;
    if (!shaped) {
      if (text.size() > 10 && text[4] == '-' && text[7] == '-') {
        if (auto instant = core::parse_rfc3339(text)) return *instant;
        error(field.line, what + ": " + text + " is not a valid RFC 3339 time");
        return std::nullopt;
      }
      error(field.line, what + ": " + kExpected + ", got " + describe(field.value));
      return std::nullopt;
    }
    auto ms = core::parse_rfc3339(text + "T00:00:00Z");
    if (!ms) {
      error(field.line, what + ": " + text + " is not a date (or is before 1970)");
      return std::nullopt;
    }
    return *ms;
  }

  // `90d`, `12h`, `30m`, `45s`: a whole number above zero and a unit.
  std::optional<std::chrono::milliseconds> read_duration(const Field& field,
                                                         const std::string& what) {
    const std::string text = field.value.IsScalar() ? field.value.Scalar() : std::string();
    std::size_t digits = 0;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') {
      ++digits;
    }
    const std::string_view unit = std::string_view(text).substr(digits);
    std::int64_t scale = 0;
    if (unit == "s") {
      scale = 1000;
    } else if (unit == "m") {
      scale = 60'000;
    } else if (unit == "h") {
      scale = 3'600'000;
    } else if (unit == "d") {
      scale = kDayMs;
    }
    // At most 12 digits, so that the product below cannot overflow. A plain integer rather than
    // an optional: GCC 12 at -O3 reports a false maybe-uninitialized on the optional's value.
    long long number = 0;
    const bool parsed =
        field.value.IsScalar() && scale != 0 && digits > 0 && digits <= 12 &&
        std::from_chars(text.data(), text.data() + digits, number).ec == std::errc();
    if (!parsed) {
      error(field.line, what + ": expected a duration such as 90d, 12h, 30m or 45s, got " +
                            describe(field.value));
      return std::nullopt;
    }
    if (number <= 0 || number * scale > kMaxRetentionDays * kDayMs) {
      error(field.line, what + ": " + text + " is out of range (above 0s, at most " +
                            std::to_string(kMaxRetentionDays) + "d)");
      return std::nullopt;
    }
    return std::chrono::milliseconds(number * scale);
  }

  bool read_rule(const YAML::Node& node, std::size_t index, Rule& rule) {
    const int line = line_of(node);
    rule.line = line;
    std::string where = "rule " + std::to_string(index);
    if (!node.IsMap()) {
      error(line, where + ": expected a map with name, match and class, got " + describe(node));
      return false;
    }
    // Name the rule in later messages as soon as its name is known.
    for (const auto& entry : node) {
      if (entry.first.IsScalar() && entry.first.Scalar() == "name" && entry.second.IsScalar() &&
          !entry.second.Scalar().empty()) {
        where = "rule '" + entry.second.Scalar() + "'";
        break;
      }
    }
    auto f = fields(node, line, where, kRuleKeys, kRuleRejected);
    if (!f) {
      return false;
    }
    if (const Field* name = f->find("name")) {
      if (auto text = read_text(*name, where + ": name")) {
        rule.name = *text;
      }
    } else {
      error(line, where +
                      ": name: is required (it names the rule in warnings, audits and "
                      "explanations)");
    }
    if (const Field* description = f->find("description")) {
      if (auto text = read_text(*description, where + ": description", false)) {
        rule.description = *text;
      }
    }
    if (const Field* match = f->find("match")) {
      read_match(*match, where, rule.match);
    } else {
      error(line, where + ": match: is required (write `match: {}` to match every stream)");
    }
    std::optional<StreamClass> stream_class;
    if (const Field* c = f->find("class")) {
      for (const auto& [word, value] : kClasses) {
        if (c->value.IsScalar() && c->value.Scalar() == word) {
          stream_class = value;
        }
      }
      if (!stream_class) {
        error(c->line,
              where + ": class: expected open, shared or closed, got " + describe(c->value));
      }
    } else {
      error(line, where + ": class: is required (open, shared or closed)");
    }
    rule.stream_class = stream_class.value_or(StreamClass::Closed);

    const Field* open_view = f->find("open_view");
    const Field* grants = f->find("grants");
    if (open_view) {
      if (stream_class && *stream_class != StreamClass::Open) {
        error(open_view->line, where +
                                   ": open_view: only an open rule has an open view (this "
                                   "rule is " +
                                   std::string(to_string(*stream_class)) + ")");
      } else if (auto view = read_view(*open_view, where + ": open_view")) {
        rule.open_view = std::move(*view);
      }
    }
    if (grants) {
      if (stream_class && *stream_class != StreamClass::Shared) {
        error(grants->line, where + ": grants: only a shared rule has grants (this rule is " +
                                std::string(to_string(*stream_class)) + ")");
      } else {
        read_grants(*grants, where, rule.grants);
      }
    } else if (stream_class == StreamClass::Shared) {
      error(line, where +
                      ": a shared rule needs grants (who may see the streams, why, until "
                      "when); without any it would be closed");
    }
    if (const Field* retention = f->find("retention")) {
      if (auto value = read_duration(*retention, where + ": retention")) {
        rule.retention = *value;
      }
    }
    const Field* dataset = f->find("dataset");
    if (dataset && stream_class && *stream_class != StreamClass::Open) {
      error(dataset->line, where +
                               ": dataset: only an open rule is published in the catalogue "
                               "(this rule is " +
                               std::string(to_string(*stream_class)) + ")");
    } else if (dataset && !has_catalog_block_) {
      error(dataset->line, where +
                               ": dataset: needs the top-level `catalog:` block (publisher, "
                               "licence, public address)");
    } else if (stream_class == StreamClass::Open && has_catalog_block_) {
      // A broken catalog block is reported already; the dataset is still checked.
      DatasetInfo info = read_dataset(dataset, rule, where);
      if (catalog_) rule.dataset = std::move(info);
    }
    return true;
  }

  // A `mailto:`-less address with one '@' and something on both sides.
  std::optional<std::string> read_email(const Field& field, const std::string& what) {
    auto text = read_text(field, what);
    if (!text) return std::nullopt;
    const auto at = text->find('@');
    const bool ok = at != std::string::npos && at > 0 && at + 1 < text->size() &&
                    text->find('@', at + 1) == std::string::npos &&
                    std::none_of(text->begin(), text->end(), is_iri_unsafe);
    if (!ok) {
      error(field.line, what + ": '" + *text + "' is not an e-mail address");
      return std::nullopt;
    }
    return text;
  }

  // An absolute http(s) URI without spaces or the characters an IRI may not hold, so that it
  // is safe in JSON-LD and Turtle alike.
  std::optional<std::string> read_uri(const Field& field, const std::string& what) {
    auto text = read_text(field, what);
    if (!text) return std::nullopt;
    const std::string_view t = *text;
    const bool scheme =
        (t.starts_with("http://") && t.size() > 7) || (t.starts_with("https://") && t.size() > 8);
    const bool clean = std::none_of(t.begin(), t.end(), is_iri_unsafe);
    if (!scheme || !clean) {
      error(field.line,
            what + ": expected an http:// or https:// URI, got " + describe(field.value));
      return std::nullopt;
    }
    return text;
  }

  // Non-empty texts; `[]` or nothing is an error when `required`.
  std::optional<std::vector<std::string>> read_words(const Field& field, const std::string& what) {
    auto list = read_list(field, what, false);
    if (!list) return std::nullopt;
    if (list->empty()) {
      error(field.line, what + ": give at least one");
      return std::nullopt;
    }
    std::vector<std::string> out;
    for (auto& [value, line] : *list) out.push_back(std::move(value));
    return out;
  }

  std::optional<std::vector<std::string>> read_themes(const Field& field, const std::string& what) {
    auto list = read_list(field, what, false);
    if (!list) return std::nullopt;
    std::vector<std::string> out;
    bool ok = true;
    for (auto& [value, line] : *list) {
      if (std::find(std::begin(kDataThemes), std::end(kDataThemes), value) ==
          std::end(kDataThemes)) {
        const auto meant = core::closest_word(value, kDataThemes);
        error(line, what + ": '" + value + "' is not an EU data theme" +
                        (meant ? " (did you mean '" + std::string(*meant) + "'?)"
                               : " (known: " + core::join(kDataThemes) + ")"));
        ok = false;
        continue;
      }
      out.push_back(std::move(value));
    }
    if (!ok) return std::nullopt;
    return out;
  }

  std::optional<Agent> read_agent(const Field& field, const std::string& what, bool needs_name) {
    auto f = fields(field.value, field.line, what, kAgentKeys);
    if (!f) return std::nullopt;
    const std::size_t errors_before = errors_;
    Agent agent;
    if (const Field* name = f->find("name")) {
      if (auto text = read_text(*name, what + ".name")) agent.name = *text;
    } else if (needs_name) {
      error(field.line, what + ": name: is required");
    }
    if (const Field* email = f->find("email")) {
      if (auto text = read_email(*email, what + ".email")) agent.email = *text;
    }
    if (const Field* url = f->find("url")) {
      if (auto text = read_uri(*url, what + ".url")) agent.url = *text;
    }
    if (!f->find("email") && !f->find("url")) {
      error(field.line, what + ": give an email or a url (or both), so people can reach it");
    }
    if (errors_ != errors_before) return std::nullopt;
    return agent;
  }

  std::optional<CatalogInfo> read_catalog(const Field& field) {
    const std::string where = "catalog";
    auto f = fields(field.value, field.line, where, kCatalogKeys);
    if (!f) return std::nullopt;
    const std::size_t errors_before = errors_;
    CatalogInfo info;
    info.line = field.line;
    const auto required = [&](std::string_view key, std::string_view why) -> const Field* {
      const Field* found = f->find(key);
      if (!found) {
        error(field.line,
              where + ": " + std::string(key) + ": is required (" + std::string(why) + ")");
      }
      return found;
    };
    if (const Field* url = required("base_url", "the public address the catalogue links to")) {
      if (auto text = read_uri(*url, where + ".base_url")) {
        info.base_url = *text;
        while (info.base_url.ends_with('/')) info.base_url.pop_back();
        if (info.base_url.find_first_of("?#") != std::string::npos) {
          error(url->line, where + ".base_url: must not hold a query or a fragment");
        }
      }
    }
    if (const Field* title = required("title", "DCAT-AP: a catalogue has a title")) {
      if (auto text = read_text(*title, where + ".title")) info.title = *text;
    }
    if (const Field* text = required("description", "DCAT-AP: a catalogue has a description")) {
      if (auto value = read_text(*text, where + ".description")) info.description = *value;
    }
    if (const Field* publisher = required("publisher", "DCAT-AP: every dataset has one")) {
      if (auto agent = read_agent(*publisher, where + ".publisher", true)) {
        info.publisher = std::move(*agent);
      }
    }
    if (const Field* contact = f->find("contact")) {
      if (auto agent = read_agent(*contact, where + ".contact", false)) {
        info.contact = std::move(*agent);
      }
    } else {
      info.contact = info.publisher;
    }
    if (info.contact.name.empty()) info.contact.name = info.publisher.name;
    if (const Field* license =
            required("license", "data counts as open only with a licence given as a URI")) {
      if (auto text = read_uri(*license, where + ".license")) info.license = *text;
    }
    if (const Field* keywords = required("keywords", "Datavindplaats wants at least one")) {
      if (auto words = read_words(*keywords, where + ".keywords")) info.keywords = *words;
    }
    if (const Field* themes = f->find("themes")) {
      if (auto codes = read_themes(*themes, where + ".themes")) info.themes = *codes;
    }
    if (const Field* language = f->find("language")) {
      if (auto text = read_text(*language, where + ".language")) {
        const bool ok = text->size() <= 35 && std::all_of(text->begin(), text->end(), [](char c) {
                          return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                                 (c >= '0' && c <= '9') || c == '-';
                        });
        if (ok) {
          info.language = *text;
        } else {
          error(language->line,
                where + ".language: '" + *text + "' is not a language tag (nl, en)");
        }
      }
    }
    if (errors_ != errors_before) return std::nullopt;
    return info;
  }

  // `field` may be null: an open rule without a block gets every default.
  DatasetInfo read_dataset(const Field* field, const Rule& rule, const std::string& where) {
    DatasetInfo out;
    out.line = field ? field->line : rule.line;
    out.identifier = dataset_slug(rule.name);
    out.title = rule.name;
    out.description = rule.description.empty()
                          ? "Open sensor data published under the policy rule '" + rule.name + "'."
                          : rule.description;
    if (catalog_) {
      out.keywords = catalog_->keywords;
      out.license = catalog_->license;
    }
    if (field == nullptr) return out;
    auto f = fields(field->value, field->line, where + " dataset", kDatasetKeys);
    if (!f) return out;
    if (const Field* id = f->find("identifier")) {
      if (auto text = read_text(*id, where + ": dataset.identifier")) {
        const bool ok = text->size() <= 64 && std::all_of(text->begin(), text->end(), [](char c) {
                          return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
                        });
        if (ok) {
          out.identifier = *text;
        } else {
          error(id->line, where + ": dataset.identifier: '" + *text +
                              "' must be lower-case letters, digits and '-' (at most 64)");
        }
      }
    }
    if (const Field* title = f->find("title")) {
      if (auto text = read_text(*title, where + ": dataset.title")) out.title = *text;
    }
    if (const Field* text = f->find("description")) {
      if (auto value = read_text(*text, where + ": dataset.description")) out.description = *value;
    }
    if (const Field* keywords = f->find("keywords")) {
      if (auto words = read_words(*keywords, where + ": dataset.keywords")) out.keywords = *words;
    }
    if (const Field* themes = f->find("themes")) {
      if (auto codes = read_themes(*themes, where + ": dataset.themes")) out.themes = *codes;
    }
    if (const Field* license = f->find("license")) {
      if (auto text = read_uri(*license, where + ": dataset.license")) out.license = *text;
    }
    return out;
  }

  void check_dataset_identifiers(const std::vector<Rule>& rules) {
    std::map<std::string, const Rule*, std::less<>> seen;
    for (const Rule& rule : rules) {
      if (!rule.dataset) continue;
      auto [it, fresh] = seen.emplace(rule.dataset->identifier, &rule);
      if (!fresh) {
        error(rule.dataset->line, "rule '" + rule.name + "': dataset identifier '" +
                                      rule.dataset->identifier + "' is already used by rule '" +
                                      it->second->name + "' (line " +
                                      std::to_string(it->second->line) +
                                      "); give one of them `dataset: {identifier: …}`");
      }
    }
  }

  void read_match(const Field& field, const std::string& where, Match& match) {
    auto f = fields(field.value, field.line, where + " match", kMatchKeys, kMatchRejected);
    if (!f) {
      return;
    }
    if (const Field* kind = f->find("kind")) {
      if (auto list = read_list(*kind, where + ": match.kind", true)) {
        for (auto& [value, line] : *list) {
          if (!kinds_.contains(value)) {
            error(line, where + ": match.kind: unknown kind '" + value +
                            "' (known kinds: " + core::join(kinds_) + ")");
          }
          match.kinds.push_back(std::move(value));
        }
      }
    }
    if (const Field* sensor = f->find("sensor")) {
      if (auto list = read_list(*sensor, where + ": match.sensor", true)) {
        for (auto& [value, line] : *list) {
          if (value.size() > kMaxGlobLength ||
              !std::all_of(value.begin(), value.end(), is_sensor_glob_char)) {
            error(line, where + ": match.sensor: '" + value +
                            "' is not a sensor id glob (letters, digits, . _ : - and the "
                            "wildcards * and ?)");
          }
          match.sensors.push_back(std::move(value));
        }
      }
    }
    if (const Field* zone = f->find("zone")) {
      if (auto list = read_list(*zone, where + ": match.zone", true)) {
        for (auto& [value, line] : *list) {
          if (value.size() > kMaxGlobLength || std::any_of(value.begin(), value.end(), [](char c) {
                return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
              })) {
            error(line, where + ": match.zone: '" + value +
                            "' is not a zone glob (printable text with the wildcards * and ?)");
          }
          match.zones.push_back(std::move(value));
        }
      }
    }
    if (const Field* tags = f->find("tags")) {
      if (auto list = read_list(*tags, where + ": match.tags", true)) {
        for (auto& [value, line] : *list) {
          match.tags.push_back(std::move(value));
        }
      }
    }
    if (const Field* owner = f->find("owner")) {
      if (auto list = read_list(*owner, where + ": match.owner", true)) {
        for (auto& [value, line] : *list) {
          match.owners.push_back(std::move(value));
        }
      }
    }
  }

  void read_grants(const Field& field, const std::string& where, std::vector<Grant>& grants) {
    if (!field.value.IsSequence()) {
      error(field.line,
            where + ": grants: expected a list of grants, got " + describe(field.value));
      return;
    }
    if (field.value.size() == 0) {
      error(field.line, where +
                            ": grants: a shared rule needs at least one grant; without any "
                            "it would be closed");
      return;
    }
    std::size_t index = 0;
    for (const auto& node : field.value) {
      ++index;
      Grant grant;
      if (read_grant(node, where + ": grant " + std::to_string(index), grant)) {
        grants.push_back(std::move(grant));
      }
    }
  }

  bool read_grant(const YAML::Node& node, const std::string& where, Grant& grant) {
    grant.line = line_of(node);
    auto f = fields(node, grant.line, where, kGrantKeys);
    if (!f) {
      return false;
    }
    const std::size_t errors_before = errors_;
    if (const Field* profile = f->find("profile")) {
      if (auto name = read_text(*profile, where + ": profile")) {
        if (*name == kPublicProfile) {
          error(profile->line, where +
                                   ": profile: 'public' (anonymous callers) cannot hold a "
                                   "grant; make the rule open to publish the data");
        } else if (!profiles_.contains(*name)) {
          error(profile->line, where + ": profile: unknown profile '" + *name +
                                   "' (profiles in the configuration: " + core::join(profiles_) +
                                   ")");
        }
        grant.profile = *name;
      }
    } else {
      error(grant.line, where + ": profile: is required");
    }
    for (auto [key, out] :
         {std::pair{"purpose", &grant.purpose}, std::pair{"legal_basis", &grant.legal_basis}}) {
      if (const Field* text = f->find(key)) {
        if (auto value = read_text(*text, where + ": " + key)) {
          *out = *value;
        }
      } else {
        error(grant.line, where + ": " + key +
                              ": is required (it is shown to the partner and "
                              "kept in the audit trail)");
      }
    }
    std::optional<core::TimestampMs> from;
    bool whole_day = false;
    if (const Field* field = f->find("from")) {
      from = read_date(*field, where + ": from", whole_day);
    }
    std::optional<core::TimestampMs> until;
    if (const Field* field = f->find("until")) {
      until = read_date(*field, where + ": until", whole_day);
      if (until && whole_day) {
        until = *until + kDayMs;  // through that day
      }
    } else {
      error(grant.line, where +
                            ": until: is required (a grant ends; write the agreement's end "
                            "date as YYYY-MM-DD)");
    }
    if (from && until && *from >= *until) {
      error(f->find("from")->line, where + ": from " + f->find("from")->value.Scalar() +
                                       " is after until " + f->find("until")->value.Scalar() +
                                       ": the grant would never be in force");
    }
    if (from) {
      grant.from = *from;
    }
    if (until) {
      grant.until = *until;
    }
    if (const Field* view = f->find("view")) {
      if (auto value = read_view(*view, where + ": view")) {
        grant.view = std::move(*value);
      }
    }
    return errors_ == errors_before;
  }

  std::optional<View> read_view(const Field& field, const std::string& where) {
    const std::size_t errors_before = errors_;
    auto f = fields(field.value, field.line, where, kViewKeys);
    if (!f) {
      return std::nullopt;
    }
    View view;
    if (const Field* drop = f->find("drop")) {
      if (auto list = read_list(*drop, where + ".drop", false)) {
        for (auto& [name, line] : *list) {
          view.drop.insert(std::move(name));
        }
      }
    }
    if (const Field* drop = f->find("drop_metadata")) {
      if (auto list = read_list(*drop, where + ".drop_metadata", false)) {
        for (auto& [name, line] : *list) {
          if (std::find(std::begin(kMetadataFields), std::end(kMetadataFields), name) ==
              std::end(kMetadataFields)) {
            error(line, where + ".drop_metadata: unknown metadata field '" + name +
                            "' (known: " + core::join(kMetadataFields) + ")");
            continue;
          }
          view.drop_metadata.insert(std::move(name));
        }
      }
    }
    if (const Field* drop = f->find("drop_location")) {
      if (auto value = read_bool(*drop, where + ".drop_location")) {
        view.drop_location = *value;
      }
    }
    if (const Field* round = f->find("round_location")) {
      view.round_location = read_decimals(*round, where + ".round_location");
    }
    if (const Field* snap = f->find("snap_location_m")) {
      std::optional<double> metres;
      if (is_plain_scalar(snap->value)) {
        metres = core::parse_finite_number(snap->value.Scalar());
      }
      if (!metres) {
        error(snap->line, where + ".snap_location_m: expected a cell size in metres, got " +
                              describe(snap->value));
      } else if (*metres <= 0 || *metres > kMaxCellMetres) {
        error(snap->line, where + ".snap_location_m: " + snap->value.Scalar() +
                              " is out of range (above 0, at most 100000 metres)");
      } else {
        view.snap_location_m = metres;
      }
    }
    if (const Field* round = f->find("round_values")) {
      read_round_values(*round, where + ".round_values", view.round_values);
    }
    if (view.drop_metadata.contains("location")) {
      // A position hidden from metadata must not reappear in readings.
      view.drop_location = true;
    }
    if (view.round_location && view.snap_location_m) {
      error(field.line, where +
                            ": round_location and snap_location_m exclude each other; "
                            "choose one way to coarsen the location");
    }
    if (view.drop_location && (view.round_location || view.snap_location_m)) {
      error(field.line, where +
                            ": the location is dropped, so round_location or "
                            "snap_location_m would have no effect; remove one of them");
    }
    if (errors_ != errors_before) {
      return std::nullopt;
    }
    return view;
  }

  void read_round_values(const Field& field, const std::string& where,
                         std::map<std::string, int, std::less<>>& out) {
    if (field.value.IsNull()) {
      return;
    }
    if (!field.value.IsMap()) {
      error(field.line, where + ": expected a map of measurement (or \"*\") to decimals, got " +
                            describe(field.value));
      return;
    }
    for (const auto& entry : field.value) {
      const int line = line_of(entry.first);
      if (!entry.first.IsScalar() || entry.first.Scalar().empty()) {
        error(line,
              where + ": keys must be measurement names or \"*\", got " + describe(entry.first));
        continue;
      }
      const std::string name = entry.first.Scalar();
      if (out.contains(name)) {
        error(line, where + ": duplicate key '" + name + "'");
        continue;
      }
      if (auto decimals = read_decimals(Field{entry.second, line}, where + "." + name)) {
        out.emplace(name, *decimals);
      }
    }
  }

  void warn_shadowed(const std::vector<Rule>& rules, const std::vector<bool>& rule_ok) {
    for (std::size_t j = 0; j < rules.size(); ++j) {
      if (!rule_ok[j]) {
        continue;
      }
      for (std::size_t i = 0; i < j; ++i) {
        if (rule_ok[i] && match_covers(rules[i].match, rules[j].match)) {
          const std::string reason = rules[i].match.is_empty()
                                         ? " has an empty match: it matches every stream"
                                         : " comes first and matches every stream this one "
                                           "matches";
          warning(rules[j].line, "rule '" + rules[j].name + "' can never match: rule '" +
                                     rules[i].name + "' (line " + std::to_string(rules[i].line) +
                                     ")" + reason);
          break;
        }
      }
    }
  }

  const std::set<std::string, std::less<>>& profiles_;
  const std::set<std::string, std::less<>>& kinds_;
  std::vector<PolicyProblem> problems_;
  std::size_t errors_ = 0;
  std::optional<CatalogInfo> catalog_;
  bool has_catalog_block_ = false;  // even a broken one: its errors are reported already
};

}  // namespace

std::span<const std::string_view> default_themes_for_kind(std::string_view kind) {
  static constexpr std::string_view kEnvironment[] = {"ENVI"};
  static constexpr std::string_view kTransport[] = {"TRAN"};
  if (kind == "air_quality" || kind == "noise" || kind == "waste_bin") return kEnvironment;
  if (kind == "parking") return kTransport;
  return {};
}

std::string dataset_slug(std::string_view rule_name) {
  std::string out;
  bool gap = false;
  for (char c : rule_name) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum) {
      gap = true;
      continue;
    }
    if (gap && !out.empty()) out += '-';
    gap = false;
    out += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    if (out.size() >= 64) break;
  }
  return out.empty() ? "dataset" : out;
}

CompileResult compile_policy(std::string_view yaml_text,
                             const std::set<std::string, std::less<>>& profiles,
                             const std::set<std::string, std::less<>>& kinds) {
  Compiler compiler(profiles, kinds);
  std::vector<Rule> rules;
  try {
    YamlDocument document = load_yaml_document(yaml_text);
    if (document.second_document_line > 0) {
      compiler.error(document.second_document_line, "expected one YAML document, found more");
    }
    rules = compiler.compile(document.root);
  } catch (const YAML::Exception& e) {
    compiler.error(e.mark.is_null() ? 0 : e.mark.line + 1, "YAML syntax error: " + e.msg);
  }
  std::vector<PolicyProblem>& problems = compiler.problems();
  std::stable_sort(problems.begin(), problems.end(),
                   [](const PolicyProblem& a, const PolicyProblem& b) { return a.line < b.line; });
  if (compiler.has_errors()) {
    return tl::unexpected(std::move(problems));
  }
  auto policy = std::make_shared<Policy>();
  policy->rules_ = std::move(rules);
  policy->version_ = hex16(fnv1a64(yaml_text));
  policy->warnings_ = std::move(problems);
  policy->catalog_ = std::move(compiler.catalog());
  return std::shared_ptr<const Policy>(std::move(policy));
}

}  // namespace databroker::policies
