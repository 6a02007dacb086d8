#include "adapters/http/auth.h"

#include <catch2/catch.hpp>

namespace databroker::http {
namespace {

TEST_CASE("a bearer key is taken from Authorization", "[http][auth]") {
  CHECK(presented_key("Bearer dbk_abc_def", "") == std::string_view("dbk_abc_def"));
  CHECK(presented_key("bearer   dbk_abc_def ", "") == std::string_view("dbk_abc_def"));
  // Authorization wins over X-API-Key.
  CHECK(presented_key("Bearer one", "two") == std::string_view("one"));
}

TEST_CASE("X-API-Key is used without Authorization", "[http][auth]") {
  CHECK(presented_key("", "dbk_abc_def") == std::string_view("dbk_abc_def"));
  CHECK(presented_key("", "") == std::string_view(""));
}

TEST_CASE("an Authorization header that is not a bearer key is unauthenticated", "[http][auth]") {
  for (const char* bad : {"Basic dXNlcjpwYXNz", "Bearer", "Bearer   ", "dbk_abc_def", "Token x"}) {
    CAPTURE(bad);
    const auto key = presented_key(bad, "");
    REQUIRE_FALSE(key);
    CHECK(key.error().code == core::ErrorCode::Unauthenticated);
  }
}

TEST_CASE("rights: anonymous is 401, a key without the right is 403", "[http][auth]") {
  access::Profile public_profile;
  public_profile.name = "public";
  access::Profile gateway;
  gateway.name = "gateway";
  gateway.ingest = true;
  access::Profile ops;
  ops.name = "ops";
  ops.admin = true;

  const access::Identity anonymous{&public_profile, ""};
  const auto refused = require_right(anonymous, Right::Ingest);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == core::ErrorCode::Unauthenticated);

  const access::Identity gateway_key{&gateway, "k1"};
  CHECK(require_right(gateway_key, Right::Ingest));
  const auto denied = require_right(gateway_key, Right::Admin);
  REQUIRE_FALSE(denied);
  CHECK(denied.error().code == core::ErrorCode::PermissionDenied);

  const access::Identity ops_key{&ops, "k2"};
  CHECK(require_right(ops_key, Right::Admin));
  CHECK_FALSE(require_right(ops_key, Right::Internal));
}

}  // namespace
}  // namespace databroker::http
