// RecentReadings: the bounded ring of the newest committed readings, with per-view encodings.
#include "broker/hub/recent_readings.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <set>

#include "policies/policy.h"

namespace databroker::hub {
namespace {

std::vector<core::Reading> readings(core::Seq first, std::size_t count) {
  std::vector<core::Reading> out;
  for (std::size_t i = 0; i < count; ++i) {
    core::Reading r;
    r.sensor_id = "s-" + std::to_string(i % 3);
    r.kind = "noise";
    r.seq = first + i;
    r.values.push_back({"laeq", 50.0 + static_cast<double>(i), true});
    r.values.push_back({"battery", 90.0, true});
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<core::Seq> seqs(const std::vector<std::shared_ptr<const RecentEntry>>& entries) {
  std::vector<core::Seq> out;
  for (const auto& e : entries) out.push_back(e->reading().seq);
  return out;
}

// Encodes "seq:measurement names", so a test can tell which view an encoding went through.
std::atomic<int> encodings{0};
std::string encode(const core::Reading& r) {
  ++encodings;
  std::string out = std::to_string(r.seq) + ":";
  for (const auto& m : r.values) out += m.name + ",";
  return out;
}

TEST_CASE("the ring serves everything after a cursor it covers, and nothing older", "[hub]") {
  RecentReadings ring(8, encode);
  CHECK_FALSE(ring.since(0, 10));  // empty: read the log
  auto batch = readings(1, 5);
  ring.append(batch);
  CHECK(ring.first_seq() == 1);
  CHECK(ring.last_seq() == 5);
  CHECK(seqs(*ring.since(0, 10)) == std::vector<core::Seq>{1, 2, 3, 4, 5});
  CHECK(seqs(*ring.since(3, 10)) == std::vector<core::Seq>{4, 5});
  CHECK(seqs(*ring.since(1, 2)) == std::vector<core::Seq>{2, 3});
  CHECK(ring.since(5, 10)->empty());
  CHECK(ring.since(9, 10)->empty());  // ahead of the head: nothing yet
}

TEST_CASE("entries of one stream share a stream slot that no other stream has", "[hub]") {
  RecentReadings ring(16, encode);
  auto batch = readings(1, 6);  // sensors s-0, s-1, s-2, s-0, s-1, s-2
  ring.append(batch);
  const auto entries = *ring.since(0, 16);
  CHECK(entries[0]->stream_slot() == entries[3]->stream_slot());
  CHECK(entries[1]->stream_slot() == entries[4]->stream_slot());
  CHECK(entries[0]->stream_slot() != entries[1]->stream_slot());
  CHECK(entries[1]->stream_slot() != entries[2]->stream_slot());
  CHECK(entries[0]->stream_slot() != 0);
}

TEST_CASE("the ring keeps only its capacity and says when a cursor fell off it", "[hub]") {
  RecentReadings ring(4, encode);
  for (core::Seq first = 1; first <= 10; first += 2) {
    auto batch = readings(first, 2);
    ring.append(batch);
  }
  CHECK(ring.last_seq() == 10);
  CHECK(ring.first_seq() == 7);
  CHECK(seqs(*ring.since(6, 10)) == std::vector<core::Seq>{7, 8, 9, 10});
  CHECK_FALSE(ring.since(5, 10));  // seq 6 is gone: the follower must read the log
}

TEST_CASE("a gap in the seqs restarts the ring rather than claim seqs it lacks", "[hub]") {
  RecentReadings ring(8, encode);
  auto first = readings(1, 3);
  ring.append(first);
  auto later = readings(10, 2);
  ring.append(later);
  CHECK(ring.first_seq() == 10);
  CHECK_FALSE(ring.since(3, 10));
  CHECK(seqs(*ring.since(9, 10)) == std::vector<core::Seq>{10, 11});
}

TEST_CASE("an entry is encoded once per view and shared", "[hub]") {
  RecentReadings ring(8, encode);
  auto batch = readings(1, 1);
  ring.append(batch);
  const auto entry = ring.since(0, 1)->front();
  auto policy = policies::compile_policy(R"(
rules:
  - name: noise is open
    match: {kind: noise}
    class: open
    open_view: {drop: [battery]}
)",
                                         {"public"}, {"noise"});
  REQUIRE(policy);
  const policies::View* view = &(*policy)->rules().front().open_view;

  encodings = 0;
  const auto raw1 = entry->encoded(*policy, nullptr);
  const auto raw2 = entry->encoded(*policy, nullptr);
  const auto viewed1 = entry->encoded(*policy, view);
  const auto viewed2 = entry->encoded(*policy, view);
  CHECK(encodings == 2);
  CHECK(raw1 == raw2);  // the same shared string
  CHECK(viewed1 == viewed2);
  CHECK(*raw1 == "1:laeq,battery,");
  CHECK(*viewed1 == "1:laeq,");
}

}  // namespace
}  // namespace databroker::hub
