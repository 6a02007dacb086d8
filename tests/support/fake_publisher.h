// An in-memory MessagePublisher for unit tests: records every publish and holds its completion
// until the test acknowledges or fails it, so a test decides when the "MQTT broker" has a
// message, when it is down (publish refused), and when a connection is lost (every outstanding
// completion fails, as the Paho publisher does).
//
// Completions run on the calling test thread, outside the fake's lock, never inside publish().
// Thread-safe.
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "adapters/mqtt/publisher.h"

namespace databroker::testing {

class FakePublisher final : public mqtt::MessagePublisher {
 public:
  struct Message {
    std::string topic;
    std::string payload;
    int qos = 0;
    bool retain = false;
  };

  core::Status start(ConnectionHandler on_connected) override {
    std::lock_guard lock(mutex_);
    on_connected_ = std::move(on_connected);
    ++starts_;
    return core::ok();
  }

  void stop() override {
    fail_outstanding();
    std::lock_guard lock(mutex_);
    on_connected_ = nullptr;
    ++stops_;
  }

  bool is_connected() const override {
    std::lock_guard lock(mutex_);
    return connected_;
  }

  core::Status publish(const std::string& topic, std::shared_ptr<const std::string> payload,
                       int qos, bool retain, Completion done) override {
    std::lock_guard lock(mutex_);
    if (!connected_) {
      return core::fail(core::ErrorCode::Unavailable, "not connected (fake)");
    }
    published_.push_back({topic, *payload, qos, retain});
    outstanding_.push_back(std::move(done));
    return core::ok();
  }

  // Going down fails every outstanding completion (a lost connection); coming back calls the
  // connection handler.
  void set_connected(bool connected) {
    ConnectionHandler handler;
    {
      std::lock_guard lock(mutex_);
      connected_ = connected;
      handler = on_connected_;
    }
    if (!connected) {
      fail_outstanding();
    } else if (handler) {
      handler();
    }
  }

  // Completes the `count` oldest outstanding publishes with success (all when larger); returns
  // how many were completed.
  std::size_t acknowledge(std::size_t count = SIZE_MAX) { return complete(count, core::ok()); }
  // Completes the oldest outstanding publish with a failure.
  std::size_t fail_next() {
    return complete(1, core::fail(core::ErrorCode::Unavailable, "publish failed (fake)"));
  }

  std::vector<Message> published() const {
    std::lock_guard lock(mutex_);
    return published_;
  }
  std::vector<std::string> topics() const {
    std::lock_guard lock(mutex_);
    std::vector<std::string> out;
    for (const auto& message : published_) out.push_back(message.topic);
    return out;
  }
  std::size_t published_count() const {
    std::lock_guard lock(mutex_);
    return published_.size();
  }
  std::size_t outstanding() const {
    std::lock_guard lock(mutex_);
    return outstanding_.size();
  }
  int starts() const {
    std::lock_guard lock(mutex_);
    return starts_;
  }
  int stops() const {
    std::lock_guard lock(mutex_);
    return stops_;
  }

 private:
  std::size_t complete(std::size_t count, const core::Status& outcome) {
    std::vector<Completion> done;
    {
      std::lock_guard lock(mutex_);
      while (!outstanding_.empty() && done.size() < count) {
        done.push_back(std::move(outstanding_.front()));
        outstanding_.pop_front();
      }
    }
    for (auto& completion : done) completion(outcome);
    return done.size();
  }
  void fail_outstanding() {
    complete(SIZE_MAX, core::fail(core::ErrorCode::Unavailable, "connection lost (fake)"));
  }

  mutable std::mutex mutex_;  // guards everything below
  ConnectionHandler on_connected_;
  bool connected_ = true;
  std::vector<Message> published_;
  std::deque<Completion> outstanding_;
  int starts_ = 0;
  int stops_ = 0;
};

}  // namespace databroker::testing
