// How long a failed webhook waits before its next attempt: exponential backoff with jitter.
//
// The n-th consecutive failure (n >= 1) waits min · 2^(n-1), capped at max, then shortened by up
// to a quarter at random (`jitter` in [0, 1)) so that webhooks failing together (a receiver's
// outage) do not retry in lockstep; never below min. Saturates instead of overflowing for any n.
//
// Pure; thread-safe.
#pragma once

#include <chrono>
#include <cstdint>

namespace databroker::webhook {

std::chrono::milliseconds backoff_delay(std::uint64_t failures, std::chrono::milliseconds min,
                                        std::chrono::milliseconds max, double jitter);

}  // namespace databroker::webhook
