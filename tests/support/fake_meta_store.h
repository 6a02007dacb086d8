// An in-memory MetaStore for unit tests: records per namespace, ordered by key like the real
// one, with a switch that makes writes fail (disk full) and a count of successful writes, so a
// test can tell whether something was (re)written.
//
// Thread-safe.
#pragma once

#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "broker/log/reading_log.h"

namespace databroker::testing {

class FakeMetaStore final : public log::MetaStore {
 public:
  core::Status put(std::string_view ns, std::string_view key, std::string_view value) override {
    std::lock_guard lock(mutex_);
    if (fail_writes_) {
      return core::fail(core::ErrorCode::Unavailable, "no space left on device (fake)");
    }
    ++writes_;
    records_[std::string(ns)][std::string(key)] = std::string(value);
    return core::ok();
  }

  core::Result<std::optional<std::string>> get(std::string_view ns,
                                               std::string_view key) const override {
    std::lock_guard lock(mutex_);
    auto space = records_.find(ns);
    if (space == records_.end()) {
      return std::optional<std::string>();
    }
    auto it = space->second.find(key);
    if (it == space->second.end()) {
      return std::optional<std::string>();
    }
    return std::optional<std::string>(it->second);
  }

  core::Status erase(std::string_view ns, std::string_view key) override {
    std::lock_guard lock(mutex_);
    if (fail_writes_) {
      return core::fail(core::ErrorCode::Unavailable, "no space left on device (fake)");
    }
    ++writes_;
    auto space = records_.find(ns);
    if (space != records_.end()) {
      auto it = space->second.find(key);
      if (it != space->second.end()) {
        space->second.erase(it);
      }
    }
    return core::ok();
  }

  core::Result<std::vector<std::pair<std::string, std::string>>> scan(
      std::string_view ns) const override {
    std::lock_guard lock(mutex_);
    std::vector<std::pair<std::string, std::string>> out;
    auto space = records_.find(ns);
    if (space != records_.end()) {
      out.assign(space->second.begin(), space->second.end());
    }
    return out;
  }

  // While set, put and erase fail with Unavailable and store nothing.
  void fail_writes(bool fail) {
    std::lock_guard lock(mutex_);
    fail_writes_ = fail;
  }

  // Successful puts and erases so far.
  std::size_t writes() const {
    std::lock_guard lock(mutex_);
    return writes_;
  }

 private:
  using Namespace = std::map<std::string, std::string, std::less<>>;
  mutable std::mutex mutex_;  // guards everything below
  std::map<std::string, Namespace, std::less<>> records_;
  bool fail_writes_ = false;
  std::size_t writes_ = 0;
};

}  // namespace databroker::testing
