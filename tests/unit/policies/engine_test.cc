#include "policies/engine.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tests/unit/policies/test_support.h"

namespace databroker::policies {
namespace {

using testing::compile_ok;

constexpr const char* kAllOpen =
    "rules:\n"
    "  - {name: everything open, match: {}, class: open}\n";
constexpr const char* kNoiseOpen =
    "rules:\n"
    "  - {name: noise open, match: {kind: noise}, class: open}\n"
    "  - {name: rest closed, match: {}, class: closed}\n";

StreamFacts noise(std::string id) { return StreamFacts{std::move(id), "noise", "centrum", {}, ""}; }
StreamFacts bin(std::string id) {
  return StreamFacts{std::move(id), "waste_bin", "centrum", {}, ""};
}

TEST_CASE("a new engine closes every stream until a policy is installed", "[policies][engine]") {
  PolicyEngine engine;
  auto snapshot = engine.snapshot();
  REQUIRE(snapshot);
  CHECK(snapshot->loaded_at() == 0);
  CHECK(snapshot->policy().rules().empty());
  CHECK(snapshot->decide(noise("n1")).stream_class == StreamClass::Closed);
  CHECK_FALSE(snapshot->access(noise("n1"), Caller{"public", false}, 1).visible);
  CHECK(snapshot->access(noise("n1"), Caller{"city-dashboard", true}, 1).visible);
}

TEST_CASE("install swaps the policy in force, and earlier snapshots keep theirs",
          "[policies][engine]") {
  auto open = compile_ok(kAllOpen);
  auto noise_only = compile_ok(kNoiseOpen);
  PolicyEngine engine(open, 1000);
  auto before = engine.snapshot();
  CHECK(before->version() == open->version());
  CHECK(before->loaded_at() == 1000);
  CHECK(before->decide(bin("b1")).stream_class == StreamClass::Open);

  auto installed = engine.install(noise_only, 2000);
  auto after = engine.snapshot();
  CHECK(after == installed);
  CHECK(after->version() == noise_only->version());
  CHECK(after->loaded_at() == 2000);
  CHECK(after->decide(bin("b1")).stream_class == StreamClass::Closed);
  CHECK(after->decide(noise("n1")).stream_class == StreamClass::Open);

  // The old snapshot is untouched: a request that started before the reload finishes with it.
  CHECK(before->version() == open->version());
  CHECK(before->decide(bin("b1")).stream_class == StreamClass::Open);
  CHECK(before->access(bin("b1"), Caller{"public", false}, 0).visible);
}

TEST_CASE("decisions are cached per stream and give the rule scan's answer", "[policies][engine]") {
  auto policy = compile_ok(kNoiseOpen);
  PolicySnapshot snapshot(policy, 0);
  CHECK(snapshot.cached_streams() == 0);
  const Decision first = snapshot.decide(noise("n1"));
  CHECK(snapshot.cached_streams() == 1);
  const Decision again = snapshot.decide(noise("n1"));
  CHECK(snapshot.cached_streams() == 1);
  CHECK(first.rule == again.rule);
  CHECK(first.rule == policy->decide(noise("n1")).rule);
  CHECK(first.rule == &policy->rules()[0]);
  snapshot.decide(bin("b1"));
  CHECK(snapshot.cached_streams() == 2);
}

TEST_CASE("a cached stream whose facts changed is decided again", "[policies][engine]") {
  auto policy = compile_ok(kNoiseOpen);
  PolicySnapshot snapshot(policy, 0);
  CHECK(snapshot.decide(noise("s1")).stream_class == StreamClass::Open);
  // The same id, now declared as a bin: the cached "open" must not survive.
  CHECK(snapshot.decide(bin("s1")).stream_class == StreamClass::Closed);
  CHECK(snapshot.decide(bin("s1")).stream_class == StreamClass::Closed);
  CHECK(snapshot.cached_streams() == 1);
}

TEST_CASE("the decision cache is bounded", "[policies][engine]") {
  auto policy = compile_ok(kNoiseOpen);
  PolicySnapshot snapshot(policy, 0, 100);
  for (int i = 0; i < 1000; ++i) {
    const auto facts = noise("n" + std::to_string(i));
    CHECK(snapshot.decide(facts).rule == &policy->rules()[0]);
    CHECK(snapshot.cached_streams() <= 100 + 15);  // one shard may take its entry when full
  }
}

TEST_CASE("readers and an installer run concurrently and never see a mixed version",
          "[policies][engine]") {
  auto open = compile_ok(kAllOpen);
  auto noise_only = compile_ok(kNoiseOpen);
  PolicyEngine engine(open, 0, 64);
  constexpr int kInstalls = 2000;
  constexpr int kReaders = 3;
  std::atomic<bool> done{false};
  std::atomic<long> checks{0};
  std::atomic<long> failures{0};

  std::vector<std::thread> readers;
  for (int t = 0; t < kReaders; ++t) {
    readers.emplace_back([&, t] {
      long i = 0;
      // At least one pass after the installer finished, so every reader sees the last version.
      bool last_pass = false;
      while (!last_pass) {
        last_pass = done.load();
        auto snapshot = engine.snapshot();
        const bool all_open = snapshot->version() == open->version();
        for (int k = 0; k < 50; ++k, ++i) {
          const auto facts = (i % 2 == 0) ? bin("b" + std::to_string((i + t) % 200))
                                          : noise("n" + std::to_string((i + t) % 200));
          const Decision d = snapshot->decide(facts);
          const bool open_expected = all_open || facts.kind == "noise";
          const Access a = snapshot->access(facts, Caller{"public", false}, 0);
          if ((d.stream_class == StreamClass::Open) != open_expected ||
              a.visible != open_expected || d.rule != snapshot->policy().decide(facts).rule) {
            failures.fetch_add(1);
          }
          checks.fetch_add(1);
        }
      }
    });
  }
  for (int i = 0; i < kInstalls; ++i) {
    engine.install(i % 2 == 0 ? noise_only : open, i);
  }
  done = true;
  for (auto& reader : readers) {
    reader.join();
  }
  CHECK(failures.load() == 0);
  CHECK(checks.load() >= kReaders * 50);
  CHECK(engine.snapshot()->version() == open->version());  // the last install (i odd) wins
  CHECK(engine.snapshot()->loaded_at() == kInstalls - 1);
}

}  // namespace
}  // namespace databroker::policies
