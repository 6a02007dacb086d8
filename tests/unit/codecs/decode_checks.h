// What the ingest codec tests share: the reference fixtures, the built-in kinds, and the two
// questions every table asks of a decode result.
#pragma once

#include <catch2/catch.hpp>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "broker/core/kinds.h"
#include "broker/core/reading.h"
#include "broker/core/result.h"

namespace databroker::codec_tests {

// 2026-11-28T10:15:00Z, the receive time the reference examples assume.
constexpr core::TimestampMs kNow = 1'795'860'900'000;

inline std::string read_fixture(const std::string& name) {
  std::ifstream in(std::string(DATABROKER_SOURCE_DIR) + "/tests/data/formats/" + name);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline const core::KindCatalog& builtin_kinds() {
  static const core::KindCatalog kinds = core::KindCatalog::with_builtins();
  return kinds;
}

inline double number(const core::Reading& reading, std::string_view name) {
  const auto* m = reading.find(name);
  REQUIRE(m);
  return std::get<double>(m->value);
}

// "field:reason" of the first problem.
inline std::string first_problem(const core::Result<std::vector<core::Reading>>& result) {
  REQUIRE_FALSE(result);
  REQUIRE_FALSE(result.error().details.empty());
  const auto& d = result.error().details.front();
  return d.field + ":" + d.reason;
}

}  // namespace databroker::codec_tests
