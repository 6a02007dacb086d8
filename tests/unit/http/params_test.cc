#include "adapters/http/params.h"

#include <catch2/catch.hpp>
#include <random>

#include "broker/core/time.h"

namespace databroker::http {
namespace {

TEST_CASE("a target splits into decoded segments and query parameters", "[http][params]") {
  const auto target =
      parse_target("/v1/streams/a%3Ab/readings?from=2026-11-28T10:00:00%2B01:00&limit=5");
  REQUIRE(target);
  CHECK(target->segments == std::vector<std::string>{"v1", "streams", "a:b", "readings"});
  REQUIRE(target->query.size() == 2);
  CHECK(target->query[0] == NameValue{"from", "2026-11-28T10:00:00+01:00"});
  CHECK(target->query[1] == NameValue{"limit", "5"});
}

TEST_CASE("a literal plus in the query stays a plus", "[http][params]") {
  const auto target = parse_target("/v1/x?from=2026-11-28T10:00:00+01:00");
  REQUIRE(target);
  CHECK(target->query[0].second == "2026-11-28T10:00:00+01:00");
}

TEST_CASE("a repeated query parameter is rejected", "[http][params]") {
  const auto target = parse_target("/v1/readings?limit=5&limit=6");
  REQUIRE_FALSE(target);
  CHECK(target.error().code == core::ErrorCode::InvalidArgument);
  REQUIRE(target.error().details.size() == 1);
  CHECK(target.error().details[0].field == "limit");
  CHECK(target.error().details[0].reason == "duplicate");
}

TEST_CASE("a target that is not origin-form is rejected", "[http][params]") {
  CHECK_FALSE(parse_target("http://example.com/v1/streams"));
  CHECK_FALSE(parse_target("v1/streams"));
  CHECK_FALSE(parse_target("/v1/streams?x=%zz"));
}

TEST_CASE("limit defaults, caps and rejects", "[http][params]") {
  std::vector<core::FieldError> errors;
  CHECK(parse_limit(std::nullopt, 100, 1000, errors) == 100u);
  CHECK(parse_limit(std::nullopt, 100, 50, errors) == 50u);
  CHECK(parse_limit("7", 100, 1000, errors) == 7u);
  CHECK(parse_limit("5000", 100, 1000, errors) == 1000u);
  CHECK(parse_limit("99999999999999999999999", 100, 1000, errors) == 1000u);
  CHECK(errors.empty());
  for (const char* bad : {"0", "-1", "abc", "", "1.5", " 3", "3 ", "+3", "0x10"}) {
    errors.clear();
    CAPTURE(bad);
    CHECK_FALSE(parse_limit(std::string_view(bad), 100, 1000, errors));
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].field == "limit");
  }
}

TEST_CASE("time parameters accept RFC 3339 and epoch milliseconds", "[http][params]") {
  std::vector<core::FieldError> errors;
  CHECK(parse_time_param("from", "2026-11-28T10:15:00Z", errors) ==
        core::parse_rfc3339("2026-11-28T10:15:00Z"));
  CHECK(parse_time_param("from", "2026-11-28T11:15:00+01:00", errors) ==
        core::parse_rfc3339("2026-11-28T10:15:00Z"));
  CHECK(parse_time_param("from", "1795000000000", errors) == 1'795'000'000'000);
  CHECK(parse_time_param("from", "0", errors) == 0);
  CHECK(errors.empty());
  for (const char* bad : {"yesterday", "2026-02-30T00:00:00Z", "-5", "1.5", "",
                          "99999999999999999999", "253402300800000"}) {
    errors.clear();
    CAPTURE(bad);
    CHECK_FALSE(parse_time_param("to", bad, errors));
    REQUIRE(errors.size() == 1);
    CHECK(errors[0].field == "to");
  }
}

TEST_CASE("seq parameters are unsigned integers", "[http][params]") {
  std::vector<core::FieldError> errors;
  CHECK(parse_seq_param("after_seq", "0", errors) == 0u);
  CHECK(parse_seq_param("after_seq", "18446744073709551615", errors) == UINT64_MAX);
  CHECK(errors.empty());
  for (const char* bad : {"-1", "18446744073709551616", "x", "", "1e3"}) {
    errors.clear();
    CAPTURE(bad);
    CHECK_FALSE(parse_seq_param("after_seq", bad, errors));
    CHECK(errors.size() == 1);
  }
}

TEST_CASE("base64url round-trips every length", "[http][params]") {
  std::string bytes;
  for (int i = 0; i < 40; ++i) {
    const auto text = base64url_encode(bytes);
    CHECK(text.find_first_of("+/=") == std::string::npos);
    CHECK(base64url_decode(text) == bytes);
    bytes.push_back(static_cast<char>(i * 37 + 200));
  }
  CHECK_FALSE(base64url_decode("a"));     // impossible length
  CHECK_FALSE(base64url_decode("ab+c"));  // standard alphabet
  CHECK_FALSE(base64url_decode("ab=="));  // padding
  CHECK_FALSE(base64url_decode("AB"));    // non-zero leftover bits
}

TEST_CASE("a cursor round-trips its stream position", "[http][params][cursor]") {
  for (const log::StreamPosition position :
       {log::StreamPosition{0, 1}, log::StreamPosition{1'795'000'000'123, 42},
        log::StreamPosition{-5, UINT64_MAX}, log::StreamPosition{INT64_MAX, 7}}) {
    const auto cursor = encode_cursor("air-1", position);
    CHECK(cursor.size() == 28);
    CHECK(decode_cursor("air-1", cursor) == position);
  }
}

TEST_CASE("a cursor of another stream is rejected", "[http][params][cursor]") {
  const auto cursor = encode_cursor("air-1", {1'795'000'000'000, 9});
  CHECK_FALSE(decode_cursor("air-2", cursor));
}

TEST_CASE("a tampered cursor is rejected", "[http][params][cursor]") {
  const std::string cursor = encode_cursor("air-1", {1'795'000'000'000, 9});
  static constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  // Every single-character change.
  for (std::size_t i = 0; i < cursor.size(); ++i) {
    for (const char c : kAlphabet) {
      if (c == cursor[i]) continue;
      std::string tampered = cursor;
      tampered[i] = c;
      CAPTURE(tampered);
      CHECK_FALSE(decode_cursor("air-1", tampered));
    }
  }
  CHECK_FALSE(decode_cursor("air-1", cursor.substr(0, 27)));
  CHECK_FALSE(decode_cursor("air-1", cursor + "A"));
  CHECK_FALSE(decode_cursor("air-1", ""));
  CHECK_FALSE(decode_cursor("air-1", "not a cursor at all!"));
}

TEST_CASE("random text is never a cursor", "[http][params][cursor]") {
  std::mt19937 random(20261128);
  std::uniform_int_distribution<int> byte(0, 255);
  for (int i = 0; i < 2000; ++i) {
    std::string bytes(21, '\0');
    for (char& c : bytes) c = static_cast<char>(byte(random));
    CHECK_FALSE(decode_cursor("air-1", base64url_encode(bytes)));
  }
}

TEST_CASE("access tokens are redacted from logged targets", "[http][params]") {
  CHECK(redact_target("/v1/subscribe?kind=noise&access_token=dbk_secret&x=1") ==
        "/v1/subscribe?kind=noise&access_token=[redacted]&x=1");
  CHECK(redact_target("/v1/ws?access%5Ftoken=dbk_secret") == "/v1/ws?access%5Ftoken=[redacted]");
  CHECK(redact_target("/v1/ws?access_token") == "/v1/ws?access_token=[redacted]");
  CHECK(redact_target("/v1/streams?limit=5") == "/v1/streams?limit=5");
  CHECK(redact_target("/v1/streams") == "/v1/streams");
}

TEST_CASE("only application/json counts as JSON", "[http][params]") {
  CHECK(is_json_media_type("application/json"));
  CHECK(is_json_media_type("Application/JSON; charset=utf-8"));
  CHECK(is_json_media_type(" application/json ;charset=UTF-8"));
  CHECK_FALSE(is_json_media_type(""));
  CHECK_FALSE(is_json_media_type("text/plain"));
  CHECK_FALSE(is_json_media_type("application/jsonx"));
  CHECK_FALSE(is_json_media_type("application/x-www-form-urlencoded"));
}

}  // namespace
}  // namespace databroker::http
