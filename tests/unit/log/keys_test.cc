#include "broker/log/keys.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace databroker::log {
namespace {

using core::Seq;
using core::TimestampMs;

constexpr TimestampMs kMinTs = std::numeric_limits<TimestampMs>::min();
constexpr TimestampMs kMaxTs = std::numeric_limits<TimestampMs>::max();
constexpr Seq kMaxSeq = std::numeric_limits<Seq>::max();

// True when `key` falls in the by_stream range of `sensor_id` as the log scans it.
bool in_stream_range(const std::string& key, const std::string& sensor_id) {
  return key >= stream_prefix(sensor_id) && key < stream_prefix_end(sensor_id);
}

TEST_CASE("big-endian seq keys sort in numeric order", "[log][keys]") {
  std::vector<Seq> seqs = {0,     1,     2,          127,        128,         255,    256,
                           65535, 65536, 1ull << 32, 1ull << 63, kMaxSeq - 1, kMaxSeq};
  std::mt19937_64 random(42);
  for (int i = 0; i < 500; ++i) {
    seqs.push_back(random() >> (random() % 64));
  }
  std::vector<std::string> keys;
  for (Seq seq : seqs) {
    keys.push_back(encode_seq_key(seq));
    REQUIRE(keys.back().size() == kSeqKeySize);
    REQUIRE(decode_seq_key(keys.back()) == seq);
  }
  std::sort(seqs.begin(), seqs.end());
  std::sort(keys.begin(), keys.end());  // std::string compares bytes as unsigned, like RocksDB
  for (std::size_t i = 0; i < seqs.size(); ++i) {
    REQUIRE(decode_seq_key(keys[i]) == seqs[i]);
  }
}

TEST_CASE("a seq key of the wrong size does not decode", "[log][keys]") {
  CHECK_FALSE(decode_seq_key("").has_value());
  CHECK_FALSE(decode_seq_key("1234567").has_value());
  CHECK_FALSE(decode_seq_key("123456789").has_value());
}

TEST_CASE("stream keys order negative and positive timestamps by time, then by seq",
          "[log][keys]") {
  const std::vector<std::pair<TimestampMs, Seq>> ordered = {
      {kMinTs, 0},
      {kMinTs, 7},
      {-1'000'000, 3},
      {-256, 1},
      {-1, 9},
      {-1, 10},
      {0, 1},
      {1, 0},
      {255, 4},
      {256, 2},
      {1'795'000'000'000, 1},
      {1'795'000'000'000, kMaxSeq},
      {kMaxTs, 0},
      {kMaxTs, kMaxSeq},
  };
  for (std::size_t i = 0; i + 1 < ordered.size(); ++i) {
    const auto& [ts_a, seq_a] = ordered[i];
    const auto& [ts_b, seq_b] = ordered[i + 1];
    INFO("(" << ts_a << ", " << seq_a << ") < (" << ts_b << ", " << seq_b << ")");
    CHECK(encode_stream_key("s", ts_a, seq_a) < encode_stream_key("s", ts_b, seq_b));
  }
}

TEST_CASE("stream keys decode to their timestamp and seq", "[log][keys]") {
  const std::string prefix = stream_prefix("air:1");
  for (TimestampMs ts : {kMinTs, TimestampMs{-5}, TimestampMs{0}, TimestampMs{5}, kMaxTs}) {
    for (Seq seq : {Seq{0}, Seq{1}, kMaxSeq}) {
      const std::string key = encode_stream_key("air:1", ts, seq);
      CHECK(key.size() == prefix.size() + kStreamKeyTailSize);
      CHECK(decode_stream_key(key, prefix.size()) == StreamKey{ts, seq});
    }
  }
  const std::string key = encode_stream_key("air:1", 1, 2);
  CHECK_FALSE(decode_stream_key(key, prefix.size() + 1).has_value());
  CHECK_FALSE(decode_stream_key(key, 0).has_value());
  CHECK_FALSE(decode_stream_key(key.substr(0, key.size() - 1), prefix.size()).has_value());
}

TEST_CASE("a sensor's stream range holds none of another sensor's keys", "[log][keys]") {
  // Ids that share a beginning with "a" and sort just around it, including every separator
  // character allowed in sensor ids.
  const std::vector<std::string> ids = {"a",  "a:b", "a.b", "a-", "a_", "a0",
                                        "ab", "A",   "b",   "aa", "a:", "a::"};
  const std::vector<TimestampMs> times = {kMinTs, -1, 0, 1, kMaxTs};
  const std::vector<Seq> seqs = {0, 1, kMaxSeq};
  for (const std::string& owner : ids) {
    for (TimestampMs ts : times) {
      for (Seq seq : seqs) {
        const std::string key = encode_stream_key(owner, ts, seq);
        for (const std::string& other : ids) {
          INFO("key of " << owner << " against range of " << other);
          CHECK(in_stream_range(key, other) == (owner == other));
        }
      }
    }
  }
}

TEST_CASE("a meta namespace's range holds none of another namespace's keys", "[log][keys]") {
  const std::vector<std::string> namespaces = {"s", "s:x", "sensors", "s.", "t"};
  const std::vector<std::string> keys = {"", "a", std::string("\0\xff", 2), "\xff\xff"};
  for (const std::string& owner : namespaces) {
    for (const std::string& key : keys) {
      const std::string encoded = encode_meta_key(owner, key);
      for (const std::string& other : namespaces) {
        INFO("key of " << owner << " against namespace " << other);
        const bool inside = encoded >= meta_prefix(other) && encoded < meta_prefix_end(other);
        CHECK(inside == (owner == other));
      }
    }
  }
}

TEST_CASE("names with NUL or nothing in them are not key-safe", "[log][keys]") {
  CHECK(is_key_safe_name("air-quality:42"));
  CHECK_FALSE(is_key_safe_name(""));
  CHECK_FALSE(is_key_safe_name(std::string("a\0b", 3)));
}

}  // namespace
}  // namespace databroker::log
