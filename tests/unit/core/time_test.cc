#include "broker/core/time.h"

#include <catch2/catch.hpp>

using databroker::core::format_rfc3339;
using databroker::core::parse_rfc3339;

TEST_CASE("RFC 3339 timestamps parse to epoch milliseconds", "[core][time]") {
  CHECK(parse_rfc3339("1970-01-01T00:00:00Z") == 0);
  CHECK(parse_rfc3339("2026-11-28T10:15:00Z") == 1'795'860'900'000);
  CHECK(parse_rfc3339("2026-11-28T10:15:00.123Z") == 1'795'860'900'123);
  CHECK(parse_rfc3339("2026-11-28T10:15:00.1Z") == 1'795'860'900'100);
  CHECK(parse_rfc3339("2026-11-28T10:15:00.123456789Z") == 1'795'860'900'123);
  CHECK(parse_rfc3339("2026-11-28t10:15:00z") == 1'795'860'900'000);
  CHECK(parse_rfc3339("2026-11-28 10:15:00Z") == 1'795'860'900'000);
}

TEST_CASE("RFC 3339 offsets are applied", "[core][time]") {
  CHECK(parse_rfc3339("2026-11-28T11:15:00+01:00") == parse_rfc3339("2026-11-28T10:15:00Z"));
  CHECK(parse_rfc3339("2026-11-28T05:15:00-05:00") == parse_rfc3339("2026-11-28T10:15:00Z"));
}

TEST_CASE("malformed or impossible timestamps are refused", "[core][time]") {
  for (const char* bad :
       {"", "2026-11-28", "2026-11-28T10:15:00", "2026-11-28T10:15Z", "2026-02-30T00:00:00Z",
        "2026-13-01T00:00:00Z", "2026-11-28T24:00:00Z", "2026-11-28T10:60:00Z",
        "1969-12-31T23:59:59Z", "2026-11-28T10:15:00.Z", "2026-11-28T10:15:00ZZ",
        "２026-11-28T10:15:00Z", "2026-11-28T10:15:00+0100", "2026-11-28T10:15:00+25:00",
        "abcdefghijklmnopqrstu"}) {
    INFO(bad);
    CHECK_FALSE(parse_rfc3339(bad).has_value());
  }
}

TEST_CASE("timestamps format as UTC with milliseconds and read back", "[core][time]") {
  CHECK(format_rfc3339(0) == "1970-01-01T00:00:00.000Z");
  CHECK(format_rfc3339(1'795'860'900'123) == "2026-11-28T10:15:00.123Z");
  for (long long ms :
       {0LL, 1LL, 999LL, 951'782'400'000LL, 1'795'860'900'123LL, 253'402'300'799'999LL}) {
    CHECK(parse_rfc3339(format_rfc3339(ms)) == ms);
  }
}
