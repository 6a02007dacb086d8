#include "broker/core/text.h"

#include <catch2/catch.hpp>

using namespace databroker::core;

TEST_CASE("configuration scalars are read strictly", "[core][text]") {
  CHECK(parse_integer("8080") == 8080);
  CHECK(parse_integer("-3") == -3);
  for (const char* bad : {"", "8080 ", " 1", "0x1F", "1e3", "12a", "99999999999999999999"}) {
    INFO(bad);
    CHECK_FALSE(parse_integer(bad));
  }
  CHECK(parse_finite_number("+2.5") == 2.5);
  CHECK(parse_finite_number("-1e3") == -1000);
  for (const char* bad : {"", "inf", "nan", ".inf", "1e999", "1,5"}) {
    INFO(bad);
    CHECK_FALSE(parse_finite_number(bad));
  }
  CHECK(parse_strict_bool("True") == true);
  CHECK(parse_strict_bool("FALSE") == false);
  for (const char* bad : {"yes", "no", "on", "off", "1", "tru"}) {
    INFO(bad);
    CHECK_FALSE(parse_strict_bool(bad));
  }
}

TEST_CASE("a typo suggests the word meant, and a different word suggests nothing", "[core][text]") {
  constexpr std::string_view kKeys[] = {"port", "host", "threads", "max_connections"};
  CHECK(edit_distance("prot", "port") == 1);
  CHECK(edit_distance("", "abc") == 3);
  CHECK(closest_word("prot", kKeys) == "port");
  CHECK(closest_word("thraeds", kKeys) == "threads");
  CHECK(closest_word("max_conections", kKeys) == "max_connections");
  CHECK_FALSE(closest_word("listen", kKeys));
  CHECK(join(kKeys) == "port, host, threads, max_connections");
}
