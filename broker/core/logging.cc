#include "broker/core/logging.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>

#include "broker/core/time.h"

namespace databroker::core {

namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::Info)};
std::atomic<bool> g_json{false};

std::string_view level_name(LogLevel level) {
  switch (level) {
    case LogLevel::Debug:
      return "debug";
    case LogLevel::Info:
      return "info";
    case LogLevel::Warn:
      return "warn";
    case LogLevel::Error:
      return "error";
  }
  return "info";
}
}  // namespace

void set_log_level(LogLevel level) { g_level = static_cast<int>(level); }
void set_log_json(bool json) { g_json = json; }

bool parse_log_level(std::string_view text, LogLevel& out) {
  if (text == "debug")
    out = LogLevel::Debug;
  else if (text == "info")
    out = LogLevel::Info;
  else if (text == "warn" || text == "warning")
    out = LogLevel::Warn;
  else if (text == "error")
    out = LogLevel::Error;
  else
    return false;
  return true;
}

void append_json_escaped(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 0xf];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
}

void log_line(LogLevel level, std::string_view component, std::string_view message) {
  if (static_cast<int>(level) < g_level.load(std::memory_order_relaxed)) return;
  std::string line;
  line.reserve(64 + message.size());
  auto now = format_rfc3339(SystemClock{}.now_ms());
  if (g_json.load(std::memory_order_relaxed)) {
    line += "{\"time\":\"";
    line += now;
    line += "\",\"level\":\"";
    line += level_name(level);
    line += "\",\"component\":\"";
    append_json_escaped(line, component);
    line += "\",\"message\":\"";
    append_json_escaped(line, message);
    line += "\"}\n";
  } else {
    line += now;
    line += ' ';
    line += level_name(level);
    line += ' ';
    line += component;
    line += ": ";
    // Control characters from hostile input must not forge log lines.
    for (char c : message) line += (static_cast<unsigned char>(c) < 0x20) ? ' ' : c;
    line += '\n';
  }
  // One write per line so concurrent lines do not interleave; nothing to do if stderr is gone.
  ssize_t written = ::write(STDERR_FILENO, line.data(), line.size());
  (void)written;
}

void RateLimitedLog::warn(std::string_view component, std::string_view key,
                          std::string_view message) {
  auto now = std::chrono::steady_clock::now();
  std::uint64_t suppressed = 0;
  {
    std::lock_guard lock(mutex_);
    auto it = buckets_.find(key);
    if (it == buckets_.end()) {
      std::string bucket_key = buckets_.size() < max_keys_ ? std::string(key) : "*";
      it = buckets_.try_emplace(std::move(bucket_key)).first;
    }
    Bucket& bucket = it->second;
    if (bucket.last != std::chrono::steady_clock::time_point{} && now - bucket.last < interval_) {
      ++bucket.suppressed;
      return;
    }
    bucket.last = now;
    suppressed = bucket.suppressed;
    bucket.suppressed = 0;
  }
  if (suppressed == 0) {
    log_warn(component, message);
  } else {
    log_warn(component,
             std::string(message) + " (" + std::to_string(suppressed) + " similar suppressed)");
  }
}

}  // namespace databroker::core
