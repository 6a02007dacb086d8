// The signature receivers verify: HMAC-SHA256 over "timestamp.body", hex, "sha256=" prefix.
#include "adapters/webhook/signature.h"

#include <catch2/catch.hpp>

namespace databroker::webhook {
namespace {

TEST_CASE("HMAC-SHA256 matches the RFC 4231 test vectors", "[webhook][signature]") {
  // RFC 4231 test case 2.
  CHECK(hmac_sha256_hex("Jefe", "what do ya want for nothing?") ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // RFC 4231 test case 1: key 0x0b × 20, data "Hi There".
  CHECK(hmac_sha256_hex(std::string(20, '\x0b'), "Hi There") ==
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

TEST_CASE("a delivery signs the timestamp, a dot and the body", "[webhook][signature]") {
  const std::string secret = "whsec_0123456789abcdef";
  const std::string body = R"({"webhook":"wh_a","events":[]})";
  const std::string signature = sign_delivery(secret, 1795000000, body);
  CHECK(signature == "sha256=" + hmac_sha256_hex(secret, "1795000000." + body));
  CHECK(signature.size() == 7 + 64);
  CHECK(verify_delivery(secret, "1795000000", body, signature));
}

TEST_CASE("a signature fails for another body, timestamp, secret or a truncated value",
          "[webhook][signature]") {
  const std::string secret = "whsec_0123456789abcdef";
  const std::string body = R"({"events":[{"seq":1}]})";
  const std::string signature = sign_delivery(secret, 1795000000, body);
  CHECK_FALSE(verify_delivery(secret, "1795000000", R"({"events":[{"seq":2}]})", signature));
  CHECK_FALSE(verify_delivery(secret, "1795000001", body, signature));
  CHECK_FALSE(verify_delivery("whsec_0123456789abcdeF", "1795000000", body, signature));
  CHECK_FALSE(verify_delivery(secret, "1795000000", body, signature.substr(0, 70)));
  CHECK_FALSE(verify_delivery(secret, "1795000000", body, signature.substr(7)));
  CHECK_FALSE(verify_delivery(secret, "1795000000", body, ""));
}

TEST_CASE("the signature covers every byte of the body, NUL and non-ASCII included",
          "[webhook][signature]") {
  const std::string body = std::string("{\"a\":\"\xc3\xa9\"}") + std::string(1, '\0');
  const std::string signature = sign_delivery("k-0123456789abcdef", 7, body);
  CHECK(verify_delivery("k-0123456789abcdef", "7", body, signature));
  CHECK_FALSE(
      verify_delivery("k-0123456789abcdef", "7", body.substr(0, body.size() - 1), signature));
}

TEST_CASE("the example of docs/subscribing.md verifies", "[webhook][signature]") {
  CHECK(sign_delivery("whsec_test", 1795000000,
                      R"({"webhook":"wh_x","delivery":"wh_x.1-1","events":[]})") ==
        "sha256=c90d53babd10b0fb5f26e2859a87cec2cda395c82d3247cd598e0ccf0d1ab21c");
}

}  // namespace
}  // namespace databroker::webhook
