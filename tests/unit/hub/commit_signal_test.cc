#include "broker/hub/commit_signal.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <thread>
#include <vector>

using namespace databroker;

TEST_CASE("publish calls every subscriber with the last seq", "[hub]") {
  hub::CommitSignal signal;
  std::vector<core::Seq> first;
  std::vector<core::Seq> second;
  auto a = signal.subscribe([&](core::Seq seq) { first.push_back(seq); });
  auto b = signal.subscribe([&](core::Seq seq) { second.push_back(seq); });
  CHECK(signal.subscriber_count() == 2);
  signal.publish(3);
  signal.publish(7);
  CHECK(first == std::vector<core::Seq>{3, 7});
  CHECK(second == std::vector<core::Seq>{3, 7});
  CHECK(signal.last_published() == 7);
}

TEST_CASE("a destroyed subscription is called no more", "[hub]") {
  hub::CommitSignal signal;
  int calls = 0;
  {
    auto subscription = signal.subscribe([&](core::Seq) { ++calls; });
    signal.publish(1);
  }
  signal.publish(2);
  CHECK(calls == 1);
  CHECK(signal.subscriber_count() == 0);
}

TEST_CASE("a moved subscription stays registered once", "[hub]") {
  hub::CommitSignal signal;
  int calls = 0;
  hub::CommitSignal::Subscription kept;
  CHECK_FALSE(kept.is_active());
  {
    auto subscription = signal.subscribe([&](core::Seq) { ++calls; });
    kept = std::move(subscription);
  }
  CHECK(kept.is_active());
  signal.publish(1);
  CHECK(calls == 1);
  kept.reset();
  kept.reset();
  signal.publish(2);
  CHECK(calls == 1);
  CHECK(signal.subscriber_count() == 0);
}

TEST_CASE("unsubscribing while another thread publishes never calls a dead callback", "[hub]") {
  hub::CommitSignal signal;
  std::atomic<bool> done{false};
  std::thread publisher([&] {
    core::Seq seq = 0;
    while (!done.load()) signal.publish(++seq);
  });
  while (signal.last_published() == 0) std::this_thread::yield();  // the race is on
  for (int i = 0; i < 2000; ++i) {
    auto alive = std::make_unique<std::atomic<int>>(0);
    auto subscription = signal.subscribe([counter = alive.get()](core::Seq) { ++*counter; });
    subscription.reset();
    alive.reset();  // the callback must not run after reset() returned
  }
  done = true;
  publisher.join();
  CHECK(signal.subscriber_count() == 0);
}
