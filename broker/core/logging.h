// The logging facade: one line per event on stderr, readable text by default or JSON lines.
//
// Call sites pass a component name and a message; fields that may carry secrets never reach
// here (keys are logged by id only, query strings are stripped of access_token before logging).
// `RateLimitedLog` collapses repeated warnings (e.g. one misbehaving sensor) into one line per
// interval with a count of what was suppressed.
//
// Threading: all functions are safe from any thread; each line is written with one write(2).
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace databroker::core {

enum class LogLevel { Debug = 0, Info = 1, Warn = 2, Error = 3 };

// Process-wide settings, set once at start before threads exist.
void set_log_level(LogLevel level);
void set_log_json(bool json);
bool parse_log_level(std::string_view text, LogLevel& out);

void log_line(LogLevel level, std::string_view component, std::string_view message);

inline void log_debug(std::string_view component, std::string_view message) {
  log_line(LogLevel::Debug, component, message);
}
inline void log_info(std::string_view component, std::string_view message) {
  log_line(LogLevel::Info, component, message);
}
inline void log_warn(std::string_view component, std::string_view message) {
  log_line(LogLevel::Warn, component, message);
}
inline void log_error(std::string_view component, std::string_view message) {
  log_line(LogLevel::Error, component, message);
}

// Emits at most one line per key per interval; the next emitted line says how many were
// suppressed meanwhile. Keys are bounded: past `max_keys` distinct keys, all share one bucket.
class RateLimitedLog {
 public:
  explicit RateLimitedLog(std::chrono::milliseconds interval, std::size_t max_keys = 1024)
      : interval_(interval), max_keys_(max_keys) {}

  void warn(std::string_view component, std::string_view key, std::string_view message);

 private:
  struct Bucket {
    std::chrono::steady_clock::time_point last{};
    std::uint64_t suppressed = 0;
  };
  const std::chrono::milliseconds interval_;
  const std::size_t max_keys_;
  std::mutex mutex_;  // guards buckets_
  std::map<std::string, Bucket, std::less<>> buckets_;
};

// Escapes a string for inclusion in a JSON string literal (without the quotes).
void append_json_escaped(std::string& out, std::string_view text);

}  // namespace databroker::core
