#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "broker/log/reading_log.h"
#include "tests/integration/log/log_fixture.h"

namespace databroker::log::test {
namespace {

using Records = std::vector<std::pair<std::string, std::string>>;

TEST_CASE("meta put, get and erase one record", "[log][meta]") {
  LogFixture f;
  CHECK(value_of(f.meta().get("sensors", "a")) == std::nullopt);
  require_ok(f.meta().put("sensors", "a", "first"));
  CHECK(value_of(f.meta().get("sensors", "a")) == "first");
  require_ok(f.meta().put("sensors", "a", "second"));
  CHECK(value_of(f.meta().get("sensors", "a")) == "second");
  require_ok(f.meta().erase("sensors", "a"));
  CHECK(value_of(f.meta().get("sensors", "a")) == std::nullopt);
  require_ok(f.meta().erase("sensors", "never-there"));
}

TEST_CASE("meta scan lists one namespace ordered by key", "[log][meta]") {
  LogFixture f;
  const std::string binary("k\0\xff", 3);
  require_ok(f.meta().put("sensors", "b", "2"));
  require_ok(f.meta().put("sensors", "a", "1"));
  require_ok(f.meta().put("sensors", binary, std::string("v\0", 2)));
  require_ok(f.meta().put("sensors", "", "empty key"));
  // Neighbouring namespaces that a careless prefix scan would mix in.
  require_ok(f.meta().put("sensors:x", "a", "other"));
  require_ok(f.meta().put("sensor", "a", "other"));
  require_ok(f.meta().put("sensorsx", "a", "other"));

  CHECK(value_of(f.meta().scan("sensors")) ==
        Records{{"", "empty key"}, {"a", "1"}, {"b", "2"}, {binary, std::string("v\0", 2)}});
  CHECK(value_of(f.meta().scan("sensors:x")) == Records{{"a", "other"}});
  CHECK(value_of(f.meta().get("sensor", "a")) == "other");
  CHECK(value_of(f.meta().scan("nothing-here")).empty());
}

TEST_CASE("meta records survive a reopen", "[log][meta]") {
  LogFixture f;
  require_ok(f.meta().put("keys", "k1", "hash"));
  f.reopen();
  CHECK(value_of(f.meta().get("keys", "k1")) == "hash");
}

TEST_CASE("a meta namespace that is empty or holds NUL is InvalidArgument", "[log][meta]") {
  LogFixture f;
  for (const std::string& ns : {std::string(), std::string("a\0b", 3)}) {
    auto put = f.meta().put(ns, "k", "v");
    REQUIRE_FALSE(put.has_value());
    CHECK(put.error().code == core::ErrorCode::InvalidArgument);
    CHECK_FALSE(f.meta().get(ns, "k").has_value());
    CHECK_FALSE(f.meta().erase(ns, "k").has_value());
    CHECK_FALSE(f.meta().scan(ns).has_value());
  }
}

TEST_CASE("meta records stay out of the reading log", "[log][meta]") {
  LogFixture f;
  require_ok(f.meta().put("sensors", "a", "x"));
  f.reopen();
  CHECK(f.log().last_seq() == 0);
  CHECK(value_of(f.log().read_since(0, 10, {}, 10)).readings.empty());
}

}  // namespace
}  // namespace databroker::log::test
