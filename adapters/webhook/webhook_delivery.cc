#include "adapters/webhook/webhook_delivery.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <thread>

#include "adapters/webhook/backoff.h"
#include "adapters/webhook/signature.h"
#include "broker/core/logging.h"

namespace databroker::webhook {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using Millis = std::chrono::milliseconds;

DeliveryOptions delivery_options(const config::WebhookConfig& config) {
  DeliveryOptions options;
  options.batch_size = config.batch_size;
  options.max_body_bytes = config.max_body_bytes;
  options.request_timeout = config.request_timeout;
  options.backoff_min = config.backoff_min;
  options.backoff_max = config.backoff_max;
  options.ca_file = config.ca_file;
  return options;
}

namespace {

constexpr std::size_t kMaxErrorBodyBytes = 200;
// A webhook whose profile sees little of the log stores its skipped-to cursor at most this often
// (a write per commit would be an fsync per commit for nothing).
constexpr auto kSkipStoreInterval = std::chrono::seconds(1);

struct Outcome {
  bool ok = false;
  std::string error;
};

// The printable start of a receiver's error answer, for last_error.
std::string describe_body(std::string_view body) {
  std::string out;
  for (char c : body.substr(0, kMaxErrorBodyBytes)) {
    out += (c >= 0x20 && c < 0x7f) ? c : ' ';
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out.empty() ? "" : ": " + out;
}

// One POST: resolve, connect, (TLS handshake), send, read the answer, all under one deadline.
// Keeps itself alive through its pending operations; `done` runs exactly once, on the io thread
// (also on cancel). With https the peer's certificate must chain to a trusted CA and name the
// URL's host (RFC 6125, an IP address against its IP SANs); the host goes out as SNI.
class HttpAttempt : public std::enable_shared_from_this<HttpAttempt> {
 public:
  using Done = std::function<void(Outcome)>;

  HttpAttempt(asio::io_context& io, asio::ssl::context& tls, const hub::WebhookUrl& url,
              bhttp::request<bhttp::string_body> request, Millis timeout, Done done)
      : resolver_(io),
        deadline_(io),
        url_(url),
        request_(std::move(request)),
        timeout_(timeout),
        done_(std::move(done)) {
    if (url_.tls) {
      tls_stream_.emplace(io, tls);
    } else {
      plain_stream_.emplace(io);
    }
  }

  void start() {
    deadline_.expires_after(timeout_);
    deadline_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (!ec) {
        self->finish({false, "timed out after " + std::to_string(self->timeout_.count()) +
                                 " ms while " + self->phase_});
      }
    });
    phase_ = "resolving " + url_.host;
    resolver_.async_resolve(
        url_.host, std::to_string(url_.port),
        [self = shared_from_this()](beast::error_code ec, tcp::resolver::results_type results) {
          self->on_resolve(ec, std::move(results));
        });
  }

  void cancel() { finish({false, "cancelled"}); }

 private:
  std::string where() const { return url_.host + ":" + std::to_string(url_.port); }

  void on_resolve(beast::error_code ec, tcp::resolver::results_type results) {
    if (!done_) return;
    if (ec) return finish({false, "cannot resolve " + url_.host + ": " + ec.message()});
    phase_ = "connecting to " + where();
    lowest_layer().async_connect(
        results, [self = shared_from_this()](beast::error_code ec, const tcp::endpoint&) {
          self->on_connect(ec);
        });
  }

  void on_connect(beast::error_code ec) {
    if (!done_) return;
    if (ec) return finish({false, "cannot connect to " + where() + ": " + ec.message()});
    if (!tls_stream_) return send();
    phase_ = "in the TLS handshake with " + where();
    tls_stream_->set_verify_mode(asio::ssl::verify_peer);
    tls_stream_->set_verify_callback(asio::ssl::host_name_verification(url_.host));
    if (!SSL_set_tlsext_host_name(tls_stream_->native_handle(), url_.host.c_str())) {
      return finish({false, "cannot set the TLS server name " + url_.host});
    }
    tls_stream_->async_handshake(
        asio::ssl::stream_base::client,
        [self = shared_from_this()](beast::error_code ec) { self->on_handshake(ec); });
  }

  void on_handshake(beast::error_code ec) {
    if (!done_) return;
    if (ec) return finish({false, "TLS handshake with " + where() + " failed: " + ec.message()});
    send();
  }

  void send() {
    phase_ = "sending to " + where();
    const auto on_write = [self = shared_from_this()](beast::error_code ec, std::size_t) {
      self->on_write(ec);
    };
    if (tls_stream_) {
      bhttp::async_write(*tls_stream_, request_, on_write);
    } else {
      bhttp::async_write(*plain_stream_, request_, on_write);
    }
  }

  void on_write(beast::error_code ec) {
    if (!done_) return;
    if (ec) return finish({false, "cannot send to " + where() + ": " + ec.message()});
    phase_ = "waiting for the answer of " + where();
    parser_.header_limit(16 * 1024);
    parser_.body_limit(kMaxResponseBytes);
    const auto on_read = [self = shared_from_this()](beast::error_code ec, std::size_t) {
      self->on_read(ec);
    };
    if (tls_stream_) {
      bhttp::async_read(*tls_stream_, buffer_, parser_, on_read);
    } else {
      bhttp::async_read(*plain_stream_, buffer_, parser_, on_read);
    }
  }

  void on_read(beast::error_code ec) {
    if (!done_) return;
    if (ec == bhttp::error::body_limit) {
      return finish({false, where() + " answered with more than 64 KiB"});
    }
    if (ec) return finish({false, "no answer from " + where() + ": " + ec.message()});
    const unsigned status = parser_.get().result_int();
    if (status >= 200 && status < 300) return finish({true, ""});
    std::string error = "HTTP " + std::to_string(status);
    if (status >= 300 && status < 400) error += " (redirects are not followed)";
    finish({false, error + describe_body(parser_.get().body())});
  }

  void finish(Outcome outcome) {
    if (!done_) return;
    Done done = std::move(done_);
    done_ = nullptr;
    beast::error_code ignored;
    deadline_.cancel();
    resolver_.cancel();
    // No TLS close_notify: the request said Connection: close and the answer is read; closing
    // the socket ends the session without another round trip.
    lowest_layer().socket().shutdown(tcp::socket::shutdown_both, ignored);
    lowest_layer().close();
    done(std::move(outcome));
  }

  beast::tcp_stream& lowest_layer() {
    return tls_stream_ ? beast::get_lowest_layer(*tls_stream_) : *plain_stream_;
  }

  tcp::resolver resolver_;
  std::optional<beast::tcp_stream> plain_stream_;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls_stream_;
  asio::steady_timer deadline_;
  const hub::WebhookUrl url_;
  bhttp::request<bhttp::string_body> request_;
  const Millis timeout_;
  Done done_;
  std::string phase_;
  beast::flat_buffer buffer_;
  bhttp::response_parser<bhttp::string_body> parser_;
};

}  // namespace

struct WebhookDelivery::Impl {
  class Worker;

  Impl(DeliveryOptions options, hub::WebhookRegistry& registry, const hub::FollowerContext& context,
       hub::CommitSignal* commit_signal, const access::ProfileSet& profiles,
       access::AuditTrail* audit, const core::Clock& clock)
      : options(options),
        registry(registry),
        context(context),
        commit_signal(commit_signal),
        profiles(profiles),
        audit(audit),
        clock(clock),
        tls(asio::ssl::context::tls_client),
        poll_timer(io),
        random(std::random_device{}()) {}

  // Trust the system's CAs, or only `ca_file` when one is configured; TLS 1.2 at least.
  core::Status configure_tls() {
    beast::error_code ec;
    SSL_CTX_set_min_proto_version(tls.native_handle(), TLS1_2_VERSION);
    tls.set_verify_mode(asio::ssl::verify_peer, ec);
    if (!ec) {
      if (options.ca_file.empty()) {
        tls.set_default_verify_paths(ec);
      } else {
        tls.load_verify_file(options.ca_file, ec);
      }
    }
    if (ec) {
      return core::fail(core::ErrorCode::Unavailable,
                        "cannot load the CA certificates" +
                            (options.ca_file.empty() ? std::string(" of the system")
                                                     : " from " + options.ca_file) +
                            ": " + ec.message());
    }
    return core::ok();
  }

  void run_thread();
  void sync();
  void poke_all();
  void schedule_poll();
  void wake();
  double jitter() { return std::uniform_real_distribution<double>(0.0, 1.0)(random); }

  const DeliveryOptions options;
  hub::WebhookRegistry& registry;
  const hub::FollowerContext& context;
  hub::CommitSignal* const commit_signal;
  const access::ProfileSet& profiles;
  access::AuditTrail* const audit;
  const core::Clock& clock;
  DeliveryCounters counters;

  asio::io_context io;
  asio::ssl::context tls;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::thread thread;
  hub::CommitSignal::Subscription subscription;
  std::atomic<bool> wake_pending{false};
  // Mirrors workers.size() for the committer thread: with no webhook, a commit posts nothing.
  std::atomic<std::size_t> worker_count{0};
  bool started = false;
  bool stopped = false;

  // Everything below: io thread only.
  asio::steady_timer poll_timer;
  std::mt19937 random;
  bool stopping = false;
  std::map<std::string, std::shared_ptr<Worker>, std::less<>> workers;
};

// One webhook's delivery loop. States: Idle (caught up, or about to read), InFlight (one POST
// pending), Waiting (backoff), Paused (until resumed), Removed (deleted or stopping). io thread
// only; kept alive by the Impl's map and by its pending timer and attempt.
class WebhookDelivery::Impl::Worker : public std::enable_shared_from_this<Worker> {
 public:
  enum class Phase { Idle, InFlight, Waiting, Paused, Removed };

  Worker(Impl& impl, hub::Webhook webhook) : impl_(impl), webhook_(std::move(webhook)) {
    stored_cursor_ = webhook_.status.cursor;
    timer_.emplace(impl_.io);
  }

  // Starts or resumes from the stored cursor; a paused webhook waits for resume().
  void begin() {
    if (webhook_.status.state == hub::WebhookState::Paused) {
      phase_ = Phase::Paused;
      return;
    }
    if (!prepare()) return;
    run();
  }

  bool is_paused() const { return phase_ == Phase::Paused; }

  void resume(core::Seq cursor) {
    if (phase_ != Phase::Paused) return;
    stored_cursor_ = cursor;
    follower_.reset();
    phase_ = Phase::Idle;
    core::log_info("webhook",
                   "webhook " + webhook_.id + " resumed after seq " + std::to_string(cursor));
    if (!prepare()) return;
    run();
  }

  void poke() {
    if (phase_ == Phase::Idle) run();
  }

  void cancel() {
    phase_ = Phase::Removed;
    if (timer_) timer_->cancel();
    if (auto attempt = attempt_.lock()) attempt->cancel();
    follower_.reset();
  }

 private:
  // Resolves what a delivery needs that may have changed since registration: the URL, the
  // secret and the profile. A problem that retrying cannot cure pauses the webhook.
  bool prepare() {
    if (follower_) return true;
    auto url = hub::parse_webhook_url(webhook_.url);
    if (!url) return permanent_failure("the stored url is no longer valid");
    auto secret = impl_.registry.secret(webhook_.id);
    if (!secret) {
      phase_ = Phase::Removed;
      return false;
    }
    const access::Profile* profile = impl_.profiles.find(webhook_.profile);
    if (profile == nullptr) {
      return permanent_failure("profile " + webhook_.profile + " is not configured");
    }
    url_ = std::move(*url);
    secret_ = std::move(*secret);
    caller_ = hub::FollowerCaller{profile->name, profile->internal, ""};
    reset_follower(stored_cursor_);
    return true;
  }

  void reset_follower(core::Seq cursor) {
    follower_ = std::make_unique<hub::Follower>(impl_.context, hub::SubscriberType::Webhook,
                                                caller_, webhook_.filter, cursor);
  }

  void run() {
    if (phase_ != Phase::Idle || !follower_) return;
    auto batch = follower_->next(impl_.options.batch_size, impl_.options.scan_budget);
    if (!batch) {
      fail("cannot read the log: " + batch.error().message);
      return;
    }
    if (batch->behind_retention) {
      // Readings the receiver never got are gone from the log. A webhook cannot be told and
      // disconnected like a live subscriber: say so in the log and go on with what is left,
      // storing the jump so that a restart does not report it again.
      const core::Seq resume_after =
          batch->first_available == 0 ? impl_.context.log.last_seq() : batch->first_available - 1;
      core::log_warn("webhook", "webhook " + webhook_.id + ": retention removed seqs " +
                                    std::to_string(follower_->cursor() + 1) + " to " +
                                    std::to_string(resume_after) +
                                    " before they were delivered; continuing after them");
      reset_follower(resume_after);
      if (impl_.registry.record_skipped(webhook_.id, resume_after)) stored_cursor_ = resume_after;
      post_poke();
      return;
    }
    if (batch->events.empty()) {
      skip_to(follower_->cursor());
      if (batch->more) post_poke();
      return;
    }
    send(std::move(*batch));
  }

  void skip_to(core::Seq cursor) {
    if (cursor <= stored_cursor_) return;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_skip_store_ < kSkipStoreInterval) return;
    last_skip_store_ = now;
    if (auto stored = impl_.registry.record_skipped(webhook_.id, cursor); stored) {
      stored_cursor_ = cursor;
    }
  }

  void send(hub::FollowBatch batch) {
    const std::string& id = webhook_.id;
    // Cut the batch before the body would pass max_body_bytes; the first event always goes.
    std::size_t size = 64 + 2 * id.size() + 48;
    std::size_t count = 0;
    for (const auto& event : batch.events) {
      const std::size_t add = event.json->size() + 1;
      if (count > 0 && size + add > impl_.options.max_body_bytes) break;
      size += add;
      ++count;
    }
    truncated_ = count < batch.events.size();
    batch.events.resize(count);
    pending_cursor_ = truncated_ ? batch.events.back().seq : follower_->cursor();
    const std::string delivery = id + "." + std::to_string(batch.events.front().seq) + "-" +
                                 std::to_string(batch.events.back().seq);
    std::string body;
    body.reserve(size + delivery.size());
    body += "{\"webhook\":\"" + id + "\",\"delivery\":\"" + delivery + "\",\"events\":[";
    for (std::size_t i = 0; i < batch.events.size(); ++i) {
      if (i > 0) body += ',';
      body += *batch.events[i].json;
    }
    body += "]}";
    sent_ = std::move(batch);

    const std::int64_t timestamp = impl_.clock.now_ms() / 1000;
    bhttp::request<bhttp::string_body> request{bhttp::verb::post, url_.target, 11};
    const bool default_port = url_.port == (url_.tls ? 443 : 80);
    request.set(bhttp::field::host,
                default_port ? url_.host : url_.host + ":" + std::to_string(url_.port));
    request.set(bhttp::field::user_agent, "databroker-webhook/1");
    request.set(bhttp::field::content_type, "application/json");
    request.set(kWebhookHeader, id);
    request.set(kDeliveryHeader, delivery);
    request.set(kTimestampHeader, std::to_string(timestamp));
    request.set(kSignatureHeader, sign_delivery(secret_, timestamp, body));
    request.keep_alive(false);
    request.body() = std::move(body);
    request.prepare_payload();

    phase_ = Phase::InFlight;
    auto attempt = std::make_shared<HttpAttempt>(impl_.io, impl_.tls, url_, std::move(request),
                                                 impl_.options.request_timeout,
                                                 [weak = weak_from_this()](Outcome outcome) {
                                                   if (auto self = weak.lock())
                                                     self->on_outcome(std::move(outcome));
                                                 });
    attempt_ = attempt;
    attempt->start();
  }

  void on_outcome(Outcome outcome) {
    attempt_.reset();
    if (phase_ != Phase::InFlight) return;  // removed or stopping meanwhile
    if (!outcome.ok) return fail(std::move(outcome.error));
    const std::uint64_t events = sent_.events.size();
    impl_.counters.deliveries.fetch_add(1, std::memory_order_relaxed);
    impl_.counters.events.fetch_add(events, std::memory_order_relaxed);
    if (auto stored = impl_.registry.record_success(webhook_.id, pending_cursor_, events);
        !stored) {
      if (stored.error().code == core::ErrorCode::NotFound) {
        phase_ = Phase::Removed;
        return;
      }
      // Delivered but not durable: a restart now would send the batch again (at-least-once).
      core::log_error("webhook", "webhook " + webhook_.id +
                                     ": cannot store the cursor: " + stored.error().message);
    } else {
      stored_cursor_ = std::max(stored_cursor_, pending_cursor_);
    }
    hub::audit_delivery(impl_.audit, caller_, "webhook " + webhook_.id, sent_);
    if (truncated_) reset_follower(pending_cursor_);
    sent_ = {};
    phase_ = Phase::Idle;
    post_poke();  // the log may hold more
  }

  bool permanent_failure(std::string error) {
    fail(std::move(error), /*permanent=*/true);
    return false;
  }

  // A failed attempt: forget the batch, read again from the stored cursor after the backoff
  // (with the policy then in force), or stop when the registry paused the webhook.
  void fail(std::string error, bool permanent = false) {
    impl_.counters.failures.fetch_add(1, std::memory_order_relaxed);
    sent_ = {};
    if (follower_) reset_follower(stored_cursor_);
    auto state = impl_.registry.record_failure(webhook_.id, error, permanent);
    if (!state && state.error().code == core::ErrorCode::NotFound) {
      phase_ = Phase::Removed;
      return;
    }
    const auto current = impl_.registry.find(webhook_.id);
    const std::uint64_t failures = current ? current->status.failures : 1;
    if (state && *state == hub::WebhookState::Paused) {
      phase_ = Phase::Paused;
      impl_.counters.pauses.fetch_add(1, std::memory_order_relaxed);
      core::log_warn("webhook", "webhook " + webhook_.id + " paused after " +
                                    std::to_string(failures) + " failed attempts: " + error);
      return;
    }
    const Millis delay = backoff_delay(failures, impl_.options.backoff_min,
                                       impl_.options.backoff_max, impl_.jitter());
    core::log_warn("webhook", "webhook " + webhook_.id + " attempt " + std::to_string(failures) +
                                  " failed (" + error + "); next in " +
                                  std::to_string(delay.count()) + " ms");
    phase_ = Phase::Waiting;
    timer_->expires_after(delay);
    timer_->async_wait([weak = weak_from_this()](beast::error_code ec) {
      auto self = weak.lock();
      if (ec || !self || self->phase_ != Phase::Waiting) return;
      self->phase_ = Phase::Idle;
      if (self->prepare()) self->run();
    });
  }

  void post_poke() {
    asio::post(impl_.io, [weak = weak_from_this()] {
      if (auto self = weak.lock()) self->poke();
    });
  }

  Impl& impl_;
  const hub::Webhook webhook_;  // as registered (id, profile, url, filter)
  hub::WebhookUrl url_;
  std::string secret_;
  hub::FollowerCaller caller_;
  std::unique_ptr<hub::Follower> follower_;
  std::optional<asio::steady_timer> timer_;
  std::weak_ptr<HttpAttempt> attempt_;
  Phase phase_ = Phase::Idle;
  core::Seq stored_cursor_ = 0;   // what the registry holds
  core::Seq pending_cursor_ = 0;  // where a success of the batch in flight moves the cursor
  bool truncated_ = false;        // the batch in flight is a prefix of what the follower read
  hub::FollowBatch sent_;         // the batch in flight (for the audit record)
  std::chrono::steady_clock::time_point last_skip_store_{};
};

void WebhookDelivery::Impl::run_thread() {
  // A handler that throws (allocation failure) must not end delivery for every webhook.
  while (true) {
    try {
      io.run();
      return;
    } catch (const std::exception& e) {
      core::log_error("webhook", std::string("delivery handler failed: ") + e.what());
    }
  }
}

void WebhookDelivery::Impl::sync() {
  if (stopping) return;
  std::set<std::string, std::less<>> present;
  for (hub::Webhook& webhook : registry.list()) {
    present.insert(webhook.id);
    auto it = workers.find(webhook.id);
    if (it == workers.end()) {
      const std::string id = webhook.id;
      auto worker = std::make_shared<Worker>(*this, std::move(webhook));
      workers.emplace(id, worker);
      worker->begin();
    } else if (it->second->is_paused() && webhook.status.state != hub::WebhookState::Paused) {
      it->second->resume(webhook.status.cursor);
    }
  }
  for (auto it = workers.begin(); it != workers.end();) {
    if (present.contains(it->first)) {
      ++it;
      continue;
    }
    it->second->cancel();
    it = workers.erase(it);
  }
  worker_count.store(workers.size(), std::memory_order_relaxed);
}

void WebhookDelivery::Impl::poke_all() {
  if (stopping) return;
  // Copies: a poke may end in a removal that edits the map.
  std::vector<std::shared_ptr<Worker>> all;
  all.reserve(workers.size());
  for (const auto& [id, worker] : workers) all.push_back(worker);
  for (const auto& worker : all) worker->poke();
}

void WebhookDelivery::Impl::schedule_poll() {
  poll_timer.expires_after(options.poll_interval);
  poll_timer.async_wait([this](beast::error_code ec) {
    if (ec || stopping) return;
    poke_all();
    schedule_poll();
  });
}

void WebhookDelivery::Impl::wake() {
  // Coalesced: a burst of commits posts one wake-up.
  if (worker_count.load(std::memory_order_relaxed) == 0) return;
  if (wake_pending.exchange(true)) return;
  asio::post(io, [this] {
    wake_pending.store(false);
    poke_all();
  });
}

WebhookDelivery::WebhookDelivery(DeliveryOptions options, hub::WebhookRegistry& registry,
                                 const hub::FollowerContext& context,
                                 hub::CommitSignal* commit_signal,
                                 const access::ProfileSet& profiles, access::AuditTrail* audit,
                                 const core::Clock& clock)
    : impl_(std::make_unique<Impl>(options, registry, context, commit_signal, profiles, audit,
                                   clock)) {}

WebhookDelivery::~WebhookDelivery() { stop(); }

core::Status WebhookDelivery::start() {
  Impl& impl = *impl_;
  if (impl.started) {
    return core::fail(core::ErrorCode::Internal, "webhook delivery started twice");
  }
  impl.started = true;
  if (auto tls = impl.configure_tls(); !tls) {
    impl.stopped = true;
    return tls;
  }
  impl.work.emplace(impl.io.get_executor());
  impl.registry.set_observer([&impl] { asio::post(impl.io, [&impl] { impl.sync(); }); });
  if (impl.commit_signal != nullptr) {
    impl.subscription = impl.commit_signal->subscribe([&impl](core::Seq) { impl.wake(); });
  }
  asio::post(impl.io, [&impl] {
    impl.sync();
    impl.schedule_poll();
  });
  impl.thread = std::thread([&impl] { impl.run_thread(); });
  core::log_info("webhook",
                 "delivering to " + std::to_string(impl.registry.size()) + " registered webhooks");
  return core::ok();
}

void WebhookDelivery::stop() {
  Impl& impl = *impl_;
  if (!impl.started || impl.stopped) {
    impl.stopped = true;
    return;
  }
  impl.stopped = true;
  impl.registry.set_observer(nullptr);
  impl.subscription.reset();
  asio::post(impl.io, [&impl] {
    impl.stopping = true;
    impl.poll_timer.cancel();
    for (auto& [id, worker] : impl.workers) worker->cancel();
    impl.workers.clear();
  });
  // Everything pending was cancelled: run() returns once the cancelled handlers have run.
  impl.work.reset();
  if (impl.thread.joinable()) impl.thread.join();
}

const DeliveryCounters& WebhookDelivery::counters() const { return impl_->counters; }

}  // namespace databroker::webhook
