#include "broker/core/logging.h"

#include <catch2/catch.hpp>

using namespace databroker::core;

TEST_CASE("JSON escaping covers quotes, backslashes and control characters", "[core][logging]") {
  std::string out;
  append_json_escaped(out, std::string_view("a\"b\\c\n\x01", 7));
  CHECK(out == "a\\\"b\\\\c\\n\\u0001");
}

TEST_CASE("log levels parse from their names", "[core][logging]") {
  LogLevel level = LogLevel::Info;
  CHECK(parse_log_level("debug", level));
  CHECK(level == LogLevel::Debug);
  CHECK(parse_log_level("warning", level));
  CHECK(level == LogLevel::Warn);
  CHECK_FALSE(parse_log_level("loud", level));
}
