#include "broker/core/ingest_source.h"

namespace databroker::core {

namespace {

std::vector<std::string_view> split_levels(std::string_view text) {
  std::vector<std::string_view> levels;
  std::size_t start = 0;
  while (true) {
    auto slash = text.find('/', start);
    levels.push_back(text.substr(start, slash == std::string_view::npos ? slash : slash - start));
    if (slash == std::string_view::npos) return levels;
    start = slash + 1;
  }
}

}  // namespace

std::string_view to_string(SourceFormat format) {
  switch (format) {
    case SourceFormat::Native:
      return "native";
    case SourceFormat::Senml:
      return "senml";
    case SourceFormat::Tts:
      return "tts";
    case SourceFormat::ChirpStack:
      return "chirpstack";
  }
  return "native";
}

bool is_network_server(SourceFormat format) {
  return format == SourceFormat::Tts || format == SourceFormat::ChirpStack;
}

Result<TopicPattern> TopicPattern::parse(std::string_view text) {
  auto problem = [&](std::string reason) {
    return fail(ErrorCode::InvalidArgument, "'" + std::string(text) + "': " + std::move(reason));
  };
  if (text.empty()) return problem("a topic must not be empty");
  TopicPattern pattern;
  pattern.text_ = std::string(text);
  auto levels = split_levels(text);
  for (std::size_t i = 0; i < levels.size(); ++i) {
    std::string_view level = levels[i];
    const int index = static_cast<int>(i);
    if (level.empty()) return problem("a topic must not have empty levels");
    if (level == "{kind}" || level == "{sensor_id}") {
      int& slot = level == "{kind}" ? pattern.kind_level_ : pattern.sensor_level_;
      if (slot >= 0) return problem(std::string(level) + " appears twice");
      slot = index;
      pattern.levels_.emplace_back("+");
      continue;
    }
    if (level == "#" && i + 1 != levels.size()) return problem("'#' must be the last level");
    if (level != "+" && level != "#") {
      if (level.find_first_of("+#") != std::string_view::npos) {
        return problem("the wildcards + and # must fill a whole level");
      }
      if (level.find_first_of("{}") != std::string_view::npos) {
        return problem("unknown placeholder '" + std::string(level) +
                       "' (known: {kind}, {sensor_id})");
      }
    }
    pattern.levels_.emplace_back(level);
  }
  for (std::size_t i = 0; i < pattern.levels_.size(); ++i) {
    if (i > 0) pattern.filter_ += '/';
    pattern.filter_ += pattern.levels_[i];
  }
  return pattern;
}

std::optional<TopicPattern::Match> TopicPattern::match(std::string_view topic) const {
  auto levels = split_levels(topic);
  Match match;
  for (std::size_t i = 0; i < levels_.size(); ++i) {
    if (levels_[i] == "#") return match;
    if (i >= levels.size()) return std::nullopt;
    if (levels_[i] == "+") {
      if (static_cast<int>(i) == kind_level_) match.kind = levels[i];
      if (static_cast<int>(i) == sensor_level_) match.sensor_id = levels[i];
      continue;
    }
    if (levels_[i] != levels[i]) return std::nullopt;
  }
  if (levels.size() != levels_.size()) return std::nullopt;
  return match;
}

bool mqtt_filters_overlap(std::string_view a, std::string_view b) {
  auto x = split_levels(a), y = split_levels(b);
  for (std::size_t i = 0;; ++i) {
    if (i == x.size() || i == y.size()) {
      // "a/#" also matches "a": the parent level of a multi-level wildcard.
      if (x.size() == y.size()) return true;
      const auto& longer = x.size() > y.size() ? x : y;
      return longer.size() == i + 1 && longer[i] == "#";
    }
    if (x[i] == "#" || y[i] == "#") return true;
    if (x[i] == "+" || y[i] == "+") continue;
    if (x[i] != y[i]) return false;
  }
}

}  // namespace databroker::core
