// WebhookDelivery: POSTs each registered webhook the readings its profile may see, in batches,
// signed, retried with backoff, resumed from the registry's durable cursor.
//
// Each webhook is a hub::Follower (caller = its profile, SubscriberType::Webhook) read on the
// delivery's own thread, so the policy decision and view apply per batch and a tightened
// policy or an expired grant holds from the next batch on. One batch is in flight per webhook,
// in seq order; the cursor advances (and is stored, hub::WebhookRegistry::record_success) only
// after a 2xx. A failed attempt forgets its batch and reads again from the stored cursor after
// the backoff (so the retry sees the policy then in force): at-least-once, in order per sensor
// and across sensors. Failures are reported to the registry, which pauses a webhook that has
// failed for `pause_after`; a paused webhook waits for POST /v1/admin/webhooks/{id}/resume.
//
// The request (signature.h for what is signed):
//   POST <url path>  Content-Type: application/json
//   X-Databroker-Webhook: wh_…   X-Databroker-Delivery: wh_….<first seq>-<last seq>
//   X-Databroker-Timestamp: <Unix seconds>   X-Databroker-Signature: sha256=<hex>
//   {"webhook":"wh_…","delivery":"…","events":[<reading>,…]}   (readings as GET /v1/readings)
// The delivery id names the batch: a retry of the same batch carries the same id, a new
// timestamp and a new signature. One connection per attempt (Connection: close); redirects
// are not followed; answers larger than 64 KiB are failures. https:// verifies the peer
// against the system's CAs (or `ca_file`) and the URL's host name, TLS 1.2 at least.
//
// Bounds: `batch_size` events and `max_body_bytes` per POST (a batch is cut before the body
// would grow past it; a single larger reading still goes alone), `request_timeout` for
// resolving, connecting, sending and reading the answer together, one batch of memory per
// webhook, webhooks bounded by the registry.
//
// Threading: one thread of its own runs an io_context; followers, log reads, registry writes
// and HTTP happen there, never on the HTTP server's threads or the ingest committer (whose
// commit signal callback only posts a wake-up). start() and stop() from one controlling
// thread; counters() from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "broker/access/audit.h"
#include "broker/access/identity.h"
#include "broker/config/config.h"
#include "broker/core/result.h"
#include "broker/core/time.h"
#include "broker/hub/commit_signal.h"
#include "broker/hub/follower.h"
#include "broker/hub/webhooks.h"

namespace databroker::webhook {

// Largest answer body read from a receiver; anything longer is a failure.
inline constexpr std::size_t kMaxResponseBytes = 64 * 1024;

struct DeliveryCounters {
  std::atomic<std::uint64_t> deliveries{0};  // batches answered with a 2xx
  std::atomic<std::uint64_t> events{0};      // events in those batches
  std::atomic<std::uint64_t> failures{0};    // failed attempts (refused, timed out, non-2xx)
  std::atomic<std::uint64_t> pauses{0};      // times a webhook was paused
};

struct DeliveryOptions {
  std::size_t batch_size = 100;
  std::size_t max_body_bytes = 1024 * 1024;
  std::chrono::milliseconds request_timeout{10'000};
  std::chrono::milliseconds backoff_min{1'000};
  std::chrono::milliseconds backoff_max{300'000};
  // Readings examined per follower read when the profile sees few of them.
  std::size_t scan_budget = 5000;
  // Every idle webhook looks at the log this often even without a commit signal.
  std::chrono::milliseconds poll_interval{1'000};
  // PEM file of the CAs that https receivers' certificates must chain to; empty: the system's.
  std::string ca_file;
};

DeliveryOptions delivery_options(const config::WebhookConfig& config);

class WebhookDelivery {
 public:
  // Every reference must outlive the delivery; `commit_signal` and `audit` may be null (then
  // webhooks poll every poll_interval / nothing is audited). `profiles` gives each webhook's
  // caller: a webhook whose profile is no longer configured is paused with that error.
  WebhookDelivery(DeliveryOptions options, hub::WebhookRegistry& registry,
                  const hub::FollowerContext& context, hub::CommitSignal* commit_signal,
                  const access::ProfileSet& profiles, access::AuditTrail* audit,
                  const core::Clock& clock);
  WebhookDelivery(const WebhookDelivery&) = delete;
  WebhookDelivery& operator=(const WebhookDelivery&) = delete;
  ~WebhookDelivery();  // stops

  // Starts the thread and every registered webhook that is not paused. Once only. Unavailable
  // when the CA certificates cannot be loaded.
  core::Status start();
  // Cancels requests in flight (their batches are sent again after a restart), stops the
  // thread and detaches from the registry and the commit signal. Idempotent.
  void stop();

  const DeliveryCounters& counters() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace databroker::webhook
