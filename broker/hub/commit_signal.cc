#include "broker/hub/commit_signal.h"

#include <algorithm>
#include <utility>

#include "broker/core/check.h"

namespace databroker::hub {

CommitSignal::Subscription::Subscription(Subscription&& other) noexcept
    : signal_(std::exchange(other.signal_, nullptr)), id_(other.id_) {}

CommitSignal::Subscription& CommitSignal::Subscription::operator=(Subscription&& other) noexcept {
  if (this != &other) {
    reset();
    signal_ = std::exchange(other.signal_, nullptr);
    id_ = other.id_;
  }
  return *this;
}

CommitSignal::Subscription::~Subscription() { reset(); }

void CommitSignal::Subscription::reset() {
  if (signal_ == nullptr) return;
  std::exchange(signal_, nullptr)->unsubscribe(id_);
}

CommitSignal::Subscription CommitSignal::subscribe(Callback callback) {
  DATABROKER_CHECK(callback != nullptr, "a commit signal subscriber needs a callback");
  std::lock_guard lock(mutex_);
  const std::uint64_t id = next_id_++;
  callbacks_.emplace(id, std::move(callback));
  return Subscription(this, id);
}

void CommitSignal::publish(core::Seq last_seq) {
  // The callbacks run under the mutex so that an unsubscribe returning means "never again",
  // which lets a subscriber free what its callback points to right after.
  std::lock_guard lock(mutex_);
  last_published_ = std::max(last_published_, last_seq);
  for (const auto& [id, callback] : callbacks_) callback(last_seq);
}

core::Seq CommitSignal::last_published() const {
  std::lock_guard lock(mutex_);
  return last_published_;
}

std::size_t CommitSignal::subscriber_count() const {
  std::lock_guard lock(mutex_);
  return callbacks_.size();
}

void CommitSignal::unsubscribe(std::uint64_t id) {
  std::lock_guard lock(mutex_);
  callbacks_.erase(id);
}

}  // namespace databroker::hub
