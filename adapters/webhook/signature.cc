#include "adapters/webhook/signature.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "broker/core/check.h"

namespace databroker::webhook {

std::string hmac_sha256_hex(std::string_view key, std::string_view message) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  // HMAC() with a null output buffer would use a static one; ours is on the stack.
  const unsigned char* out =
      HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(message.data()), message.size(), digest, &length);
  DATABROKER_CHECK(out != nullptr && length == 32, "HMAC-SHA256 failed");
  constexpr std::string_view kHex = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * length);
  for (unsigned int i = 0; i < length; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 15];
  }
  return hex;
}

std::string sign_delivery(std::string_view secret, std::int64_t timestamp_s,
                          std::string_view body) {
  std::string message = std::to_string(timestamp_s);
  message += '.';
  message.append(body);
  return "sha256=" + hmac_sha256_hex(secret, message);
}

bool verify_delivery(std::string_view secret, std::string_view timestamp, std::string_view body,
                     std::string_view signature) {
  std::string message(timestamp);
  message += '.';
  message.append(body);
  const std::string expected = "sha256=" + hmac_sha256_hex(secret, message);
  return signature.size() == expected.size() &&
         CRYPTO_memcmp(signature.data(), expected.data(), expected.size()) == 0;
}

}  // namespace databroker::webhook
