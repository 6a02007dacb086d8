// Helpers for the log's integration tests: a storage in a fresh temp dir, readings to append,
// and unwrapping of Results that fails the test with the error's message.
#pragma once

#include <catch2/catch.hpp>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "broker/log/reading_log.h"
#include "tests/support/temp_dir.h"

namespace databroker::log::test {

template <class T>
T value_of(core::Result<T> result) {
  if (!result) {
    FAIL(core::to_string(result.error().code) << ": " << result.error().message);
  }
  return std::move(*result);
}

inline void require_ok(const core::Status& status) {
  if (!status) {
    FAIL(core::to_string(status.error().code) << ": " << status.error().message);
  }
}

inline Reading reading(std::string sensor_id, TimestampMs ts, double pm25 = 1.0) {
  Reading r;
  r.sensor_id = std::move(sensor_id);
  r.kind = "air_quality";
  r.ts = ts;
  r.values = {{"pm25", pm25, true}};
  return r;
}

// Appends copies of `readings` and returns them as stored (with seq and received_at).
inline std::vector<Reading> append(ReadingLog& log, std::vector<Reading> readings,
                                   TimestampMs received_at = 1'795'000'000'000) {
  (void)value_of(log.append(std::span<Reading>(readings), received_at));
  return readings;
}

inline std::vector<Seq> seqs_of(const std::vector<Reading>& readings) {
  std::vector<Seq> seqs;
  for (const Reading& r : readings) {
    seqs.push_back(r.seq);
  }
  return seqs;
}

struct LogFixture {
  testing::TempDir dir;
  LogOptions options{dir.file("db"), Durability::Sync};
  std::unique_ptr<Storage> storage = value_of(open_rocksdb_storage(options));

  ReadingLog& log() { return storage->log(); }
  MetaStore& meta() { return storage->meta(); }
  void reopen() {
    storage.reset();
    storage = value_of(open_rocksdb_storage(options));
  }
};

}  // namespace databroker::log::test
