// The signature of a webhook delivery, as receivers verify it.
//
// Each POST carries
//   X-Databroker-Timestamp: <Unix time in seconds, decimal>
//   X-Databroker-Signature: sha256=<lowercase hex of HMAC-SHA256(secret, timestamp + "." + body)>
// where `secret` is the webhook's secret as shown at registration (all of it, "whsec_" prefix
// included, as bytes) and `body` the exact bytes of the request body. Signing the timestamp
// with the body lets a receiver refuse replays: reject a timestamp far from its clock (five
// minutes, say) and a delivery id it has already processed.
//
// Pure functions over OpenSSL; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace databroker::webhook {

inline constexpr std::string_view kSignatureHeader = "X-Databroker-Signature";
inline constexpr std::string_view kTimestampHeader = "X-Databroker-Timestamp";
inline constexpr std::string_view kDeliveryHeader = "X-Databroker-Delivery";
inline constexpr std::string_view kWebhookHeader = "X-Databroker-Webhook";

// Lowercase hex of HMAC-SHA256(key, message).
std::string hmac_sha256_hex(std::string_view key, std::string_view message);

// The value of X-Databroker-Signature for `body` sent at `timestamp_s`: "sha256=<hex>".
std::string sign_delivery(std::string_view secret, std::int64_t timestamp_s, std::string_view body);

// True when `signature` (the header's value) is what sign_delivery gives; compared in constant
// time. For tests and for receivers written in C++.
bool verify_delivery(std::string_view secret, std::string_view timestamp, std::string_view body,
                     std::string_view signature);

}  // namespace databroker::webhook
