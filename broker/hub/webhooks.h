// WebhookRegistry: partners' webhooks — what to POST where, and how far each has got.
//
// A webhook belongs to a profile (the partner) and carries a URL, a SubscriptionFilter, a secret
// (the HMAC key of its signatures) and its delivery state: a durable cursor (the last seq the
// receiver acknowledged with a 2xx, or skipped because the profile may not see it), the count
// of consecutive failures, the last error and the last success. Everything is kept in the
// MetaStore (namespace `webhooks`, one record per webhook), so a restart or an outage resumes
// from the cursor: at-least-once, in seq order.
//
// The registry decides the state: `Active` while deliveries succeed, `Retrying` after a failure,
// `Paused` once failures have lasted `pause_after` (or at once for a failure that retrying
// cannot cure). A paused webhook is not attempted until an admin resumes it. Delivery itself
// (HTTP, signatures, backoff) lives in adapters/webhook; it reports each outcome here.
//
// Secrets are returned by create() once (and by secret() to the delivery); list() and find()
// never return them. They are stored in the meta store as given, since signing needs them.
//
// Threading: every method is safe from any thread. One mutex guards the records; MetaStore
// writes happen under it (they block on disk I/O: call from the delivery thread or an admin
// request, not from a hot path). The observer runs on the calling thread after the mutex is
// released and must only notify.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/core/reading.h"
#include "broker/core/result.h"
#include "broker/core/time.h"
#include "broker/hub/filter.h"
#include "broker/log/reading_log.h"

namespace databroker::hub {

inline constexpr std::string_view kWebhookNamespace = "webhooks";
inline constexpr std::size_t kMaxWebhookUrlLength = 2048;
inline constexpr std::size_t kMinWebhookSecretLength = 16;
inline constexpr std::size_t kMaxWebhookSecretLength = 256;
inline constexpr std::size_t kMaxWebhookDescriptionLength = 256;
// A last_error is cut to this many bytes (a receiver's error page must not bloat the record).
inline constexpr std::size_t kMaxWebhookErrorLength = 512;

enum class WebhookState { Active, Retrying, Paused };
std::string_view to_string(WebhookState state);  // "active", "retrying", "paused"

// A webhook URL, checked: `http[s]://host[:port][/path][?query]`. No credentials
// (`user:pass@`), no fragment, at most kMaxWebhookUrlLength characters, a host of name
// characters or an IPv4 address, a port in 1..65535 (default 80, or 443 with https).
struct WebhookUrl {
  bool tls = false;  // https
  std::string host;
  std::uint16_t port = 80;
  std::string target;  // path and query, "/" at least
};

// InvalidArgument with one FieldError (field "url") naming the problem.
core::Result<WebhookUrl> parse_webhook_url(std::string_view url);

// What an admin asks for.
struct WebhookSpec {
  std::string profile;  // must be a configured profile (checked by the caller)
  std::string url;
  SubscriptionFilter filter;  // validated by the caller (validate_filter)
  std::string secret;         // empty: the registry generates one
  std::string description;
};

struct WebhookStatus {
  WebhookState state = WebhookState::Active;
  core::Seq cursor = 0;         // everything up to here is delivered (or not for this profile)
  std::uint64_t failures = 0;   // consecutive failed attempts; 0 after a success
  std::uint64_t delivered = 0;  // events acknowledged with a 2xx, over the webhook's life
  std::string last_error;       // of the latest failure; kept after a success
  core::TimestampMs last_error_at = 0;
  core::TimestampMs last_success_at = 0;
  core::TimestampMs failing_since = 0;  // first failure of the current run, 0 when not failing
};

// A webhook as admins see it: never its secret.
struct Webhook {
  std::string id;  // "wh_" and 12 base32 characters
  std::string profile;
  std::string url;
  SubscriptionFilter filter;
  std::string description;
  core::TimestampMs created_at = 0;
  WebhookStatus status;
};

struct CreatedWebhook {
  Webhook webhook;
  std::string secret;  // shown once
};

struct WebhookRegistryOptions {
  std::size_t max_webhooks = 100;
  std::chrono::milliseconds pause_after{24 * 3600 * 1000};
};

class WebhookRegistry {
 public:
  // Loads every stored webhook. `meta` and `clock` must outlive the registry. Corruption when a
  // stored record does not decode (a webhook must not silently stop delivering).
  static core::Result<std::unique_ptr<WebhookRegistry>> open(log::MetaStore& meta,
                                                             const core::Clock& clock,
                                                             WebhookRegistryOptions options);
  WebhookRegistry(const WebhookRegistry&) = delete;
  WebhookRegistry& operator=(const WebhookRegistry&) = delete;

  // Registers a webhook that starts after `cursor`. InvalidArgument for a bad URL, secret or
  // description (one FieldError each); ResourceExhausted at max_webhooks; Unavailable when the
  // record cannot be stored. The secret is generated (32 random bytes, "whsec_" + 64 hex) when
  // the spec has none.
  core::Result<CreatedWebhook> create(WebhookSpec spec, core::Seq cursor);

  // Every webhook, ordered by id.
  std::vector<Webhook> list() const;
  std::optional<Webhook> find(std::string_view id) const;
  // NotFound when absent.
  core::Status remove(std::string_view id);
  // Back to Active with the failure run forgotten (the last error stays visible); NotFound when
  // absent. Resuming an active webhook is a no-op that succeeds.
  core::Result<Webhook> resume(std::string_view id);

  // For the delivery: the HMAC key. NotFound when the webhook is gone.
  core::Result<std::string> secret(std::string_view id) const;
  // A 2xx for `events` events; the cursor moves to `cursor` (never backwards) and is stored.
  // NotFound when the webhook was removed meanwhile.
  core::Status record_success(std::string_view id, core::Seq cursor, std::uint64_t events);
  // Nothing to deliver up to `cursor` (the profile sees none of those readings): stores it
  // without touching the failure state.
  core::Status record_skipped(std::string_view id, core::Seq cursor);
  // A failed attempt. Returns the new state: Paused when the failures have lasted pause_after,
  // or when `permanent`; Retrying otherwise. NotFound when the webhook was removed meanwhile.
  core::Result<WebhookState> record_failure(std::string_view id, std::string error,
                                            bool permanent = false);

  // Called after create, remove and resume (from the calling thread, outside the lock); it
  // must only notify. Set once, before the delivery starts.
  void set_observer(std::function<void()> observer);

  std::size_t size() const;
  std::size_t paused_count() const;

 private:
  struct Record {
    Webhook webhook;
    std::string secret;
  };
  WebhookRegistry(log::MetaStore& meta, const core::Clock& clock, WebhookRegistryOptions options)
      : meta_(meta), clock_(clock), options_(options) {}
  // Writes `record`; mutex_ held.
  core::Status store_locked(const Record& record);
  void notify() const;

  log::MetaStore& meta_;
  const core::Clock& clock_;
  const WebhookRegistryOptions options_;
  mutable std::mutex mutex_;  // guards records_
  std::map<std::string, Record, std::less<>> records_;
  std::function<void()> observer_;
};

}  // namespace databroker::hub
