#include "broker/hub/webhooks.h"

#include <openssl/rand.h>

#include <array>
#include <charconv>
#include <nlohmann/json.hpp>

namespace databroker::hub {

namespace {

using Json = nlohmann::json;

constexpr int kRecordVersion = 1;
constexpr std::size_t kIdRandomBytes = 8;  // 12 base32 characters carry 60 of the 64 bits
constexpr std::size_t kSecretRandomBytes = 32;

core::Result<std::string> random_bytes(std::size_t count) {
  std::string out(count, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(count)) != 1) {
    return core::fail(core::ErrorCode::Unavailable, "the random generator failed");
  }
  return out;
}

core::Result<std::string> generate_id() {
  auto bytes = random_bytes(kIdRandomBytes);
  if (!bytes) return tl::unexpected(bytes.error());
  constexpr std::string_view kBase32 = "abcdefghijklmnopqrstuvwxyz234567";
  std::uint64_t bits = 0;
  for (unsigned char c : *bytes) bits = (bits << 8) | c;
  std::string id = "wh_";
  for (int i = 0; i < 12; ++i) {
    id += kBase32[bits & 31];
    bits >>= 5;
  }
  return id;
}

core::Result<std::string> generate_secret() {
  auto bytes = random_bytes(kSecretRandomBytes);
  if (!bytes) return tl::unexpected(bytes.error());
  constexpr std::string_view kHex = "0123456789abcdef";
  std::string secret = "whsec_";
  for (unsigned char c : *bytes) {
    secret += kHex[c >> 4];
    secret += kHex[c & 15];
  }
  return secret;
}

bool is_host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.';
}

// Path and query characters a request line can carry as they are (RFC 3986 pchar, '/', '?',
// and '%' for escapes); anything else (spaces, controls, non-ASCII) must be percent-encoded.
bool is_target_char(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("-._~!$&'()*+,;=:@/?%").find(c) != std::string_view::npos;
}

core::Error url_problem(std::string reason, std::string detail) {
  return core::Error{core::ErrorCode::InvalidArgument,
                     "invalid webhook url",
                     {{"url", std::move(reason), std::move(detail)}}};
}

Json filter_json(const SubscriptionFilter& filter) {
  return {{"kinds", filter.kinds}, {"streams", filter.streams}, {"zones", filter.zones}};
}

Json record_json(const Webhook& w, const std::string& secret) {
  const WebhookStatus& s = w.status;
  return {{"version", kRecordVersion},
          {"id", w.id},
          {"profile", w.profile},
          {"url", w.url},
          {"filter", filter_json(w.filter)},
          {"description", w.description},
          {"created_at", w.created_at},
          {"secret", secret},
          {"state", std::string(to_string(s.state))},
          {"cursor", s.cursor},
          {"failures", s.failures},
          {"delivered", s.delivered},
          {"last_error", s.last_error},
          {"last_error_at", s.last_error_at},
          {"last_success_at", s.last_success_at},
          {"failing_since", s.failing_since}};
}

std::optional<WebhookState> state_of(std::string_view text) {
  for (auto state : {WebhookState::Active, WebhookState::Retrying, WebhookState::Paused}) {
    if (to_string(state) == text) return state;
  }
  return std::nullopt;
}

// Throws nlohmann's exceptions on a malformed record; the caller converts them.
void decode_record(const std::string& text, Webhook& w, std::string& secret) {
  const Json j = Json::parse(text);
  if (j.at("version").get<int>() != kRecordVersion) throw std::runtime_error("unknown version");
  w.id = j.at("id").get<std::string>();
  w.profile = j.at("profile").get<std::string>();
  w.url = j.at("url").get<std::string>();
  const Json& f = j.at("filter");
  w.filter.kinds = f.at("kinds").get<std::vector<std::string>>();
  w.filter.streams = f.at("streams").get<std::vector<std::string>>();
  w.filter.zones = f.at("zones").get<std::vector<std::string>>();
  w.description = j.at("description").get<std::string>();
  w.created_at = j.at("created_at").get<core::TimestampMs>();
  secret = j.at("secret").get<std::string>();
  auto state = state_of(j.at("state").get<std::string>());
  if (!state) throw std::runtime_error("unknown state");
  WebhookStatus& s = w.status;
  s.state = *state;
  s.cursor = j.at("cursor").get<core::Seq>();
  s.failures = j.at("failures").get<std::uint64_t>();
  s.delivered = j.at("delivered").get<std::uint64_t>();
  s.last_error = j.at("last_error").get<std::string>();
  s.last_error_at = j.at("last_error_at").get<core::TimestampMs>();
  s.last_success_at = j.at("last_success_at").get<core::TimestampMs>();
  s.failing_since = j.at("failing_since").get<core::TimestampMs>();
}

std::string cut_error(std::string error) {
  if (error.size() <= kMaxWebhookErrorLength) return error;
  std::size_t end = kMaxWebhookErrorLength;
  // Never split a UTF-8 sequence: back up over continuation bytes.
  while (end > 0 && (static_cast<unsigned char>(error[end]) & 0xC0) == 0x80) --end;
  error.resize(end);
  error += "…";
  return error;
}

core::Error not_found(std::string_view id) {
  return core::Error{core::ErrorCode::NotFound, "no webhook " + std::string(id), {}};
}

}  // namespace

std::string_view to_string(WebhookState state) {
  switch (state) {
    case WebhookState::Active:
      return "active";
    case WebhookState::Retrying:
      return "retrying";
    case WebhookState::Paused:
      return "paused";
  }
  return "active";
}

core::Result<WebhookUrl> parse_webhook_url(std::string_view url) {
  if (url.size() > kMaxWebhookUrlLength) {
    return tl::unexpected(url_problem(
        "too_long",
        "the url has more than " + std::to_string(kMaxWebhookUrlLength) + " characters"));
  }
  constexpr std::string_view kHttp = "http://";
  constexpr std::string_view kHttps = "https://";
  WebhookUrl out;
  std::string_view rest;
  if (url.substr(0, kHttps.size()) == kHttps) {
    out.tls = true;
    out.port = 443;
    rest = url.substr(kHttps.size());
  } else if (url.substr(0, kHttp.size()) == kHttp) {
    rest = url.substr(kHttp.size());
  } else {
    return tl::unexpected(
        url_problem("unsupported_scheme", "the url must start with https:// or http://"));
  }
  const std::size_t authority_end = rest.find_first_of("/?#");
  const std::string_view authority = rest.substr(0, authority_end);
  std::string_view target =
      authority_end == std::string_view::npos ? std::string_view() : rest.substr(authority_end);
  if (authority.find('@') != std::string_view::npos) {
    return tl::unexpected(
        url_problem("credentials_in_url",
                    "the url must not carry credentials; receivers authenticate deliveries by "
                    "their signature"));
  }
  if (target.find('#') != std::string_view::npos) {
    return tl::unexpected(url_problem("fragment_in_url", "the url must not have a #fragment"));
  }
  std::string_view host = authority;
  if (const auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    const std::string_view port_text = authority.substr(colon + 1);
    unsigned port = 0;
    const auto [end, ec] =
        std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() ||
        port == 0 || port > 65535) {
      return tl::unexpected(url_problem("invalid_port", "the port must be 1 to 65535"));
    }
    out.port = static_cast<std::uint16_t>(port);
  }
  if (host.empty() || host.size() > 253 || host.front() == '.' || host.front() == '-') {
    return tl::unexpected(url_problem("invalid_host", "the url names no valid host"));
  }
  for (char c : host) {
    if (!is_host_char(c)) {
      return tl::unexpected(
          url_problem("invalid_host",
                      "the host may hold letters, digits, '-' and '.' (IPv6 literals are not "
                      "supported)"));
    }
  }
  for (char c : target) {
    if (!is_target_char(c)) {
      return tl::unexpected(
          url_problem("invalid_path", "the path and query must be percent-encoded"));
    }
  }
  out.host = std::string(host);
  if (target.empty()) {
    out.target = "/";
  } else if (target.front() == '?') {
    out.target = "/" + std::string(target);
  } else {
    out.target = std::string(target);
  }
  return out;
}

core::Result<std::unique_ptr<WebhookRegistry>> WebhookRegistry::open(
    log::MetaStore& meta, const core::Clock& clock, WebhookRegistryOptions options) {
  std::unique_ptr<WebhookRegistry> registry(new WebhookRegistry(meta, clock, options));
  auto stored = meta.scan(kWebhookNamespace);
  if (!stored) return tl::unexpected(stored.error());
  for (const auto& [key, value] : *stored) {
    Record record;
    try {
      decode_record(value, record.webhook, record.secret);
    } catch (const std::exception& e) {
      return core::fail(core::ErrorCode::Corruption,
                        "webhook record " + key + " does not decode: " + e.what());
    }
    if (record.webhook.id != key) {
      return core::fail(core::ErrorCode::Corruption, "webhook record " + key + " names another id");
    }
    registry->records_.emplace(key, std::move(record));
  }
  return registry;
}

core::Result<CreatedWebhook> WebhookRegistry::create(WebhookSpec spec, core::Seq cursor) {
  std::vector<core::FieldError> errors;
  if (auto url = parse_webhook_url(spec.url); !url) {
    errors.insert(errors.end(), url.error().details.begin(), url.error().details.end());
  }
  if (!spec.secret.empty()) {
    bool printable = true;
    for (char c : spec.secret) printable = printable && c > ' ' && c < 0x7f;
    if (spec.secret.size() < kMinWebhookSecretLength ||
        spec.secret.size() > kMaxWebhookSecretLength || !printable) {
      errors.push_back({"secret", "invalid_secret",
                        "the secret must be " + std::to_string(kMinWebhookSecretLength) + " to " +
                            std::to_string(kMaxWebhookSecretLength) +
                            " printable ASCII characters without spaces"});
    }
  }
  if (spec.description.size() > kMaxWebhookDescriptionLength) {
    errors.push_back({"description", "too_long",
                      "the description has more than " +
                          std::to_string(kMaxWebhookDescriptionLength) + " bytes"});
  }
  if (spec.profile.empty()) {
    errors.push_back({"profile", "required", "a webhook belongs to a profile"});
  }
  if (!errors.empty()) {
    return core::fail(core::ErrorCode::InvalidArgument, "invalid webhook", std::move(errors));
  }
  if (spec.secret.empty()) {
    auto secret = generate_secret();
    if (!secret) return tl::unexpected(secret.error());
    spec.secret = std::move(*secret);
  }
  Record record;
  record.webhook.profile = std::move(spec.profile);
  record.webhook.url = std::move(spec.url);
  record.webhook.filter = std::move(spec.filter);
  record.webhook.description = std::move(spec.description);
  record.webhook.created_at = clock_.now_ms();
  record.webhook.status.cursor = cursor;
  record.secret = std::move(spec.secret);
  {
    std::lock_guard lock(mutex_);
    if (records_.size() >= options_.max_webhooks) {
      return core::fail(core::ErrorCode::ResourceExhausted,
                        "at most " + std::to_string(options_.max_webhooks) +
                            " webhooks (webhooks.max_webhooks); delete one first");
    }
    do {
      auto id = generate_id();
      if (!id) return tl::unexpected(id.error());
      record.webhook.id = std::move(*id);
    } while (records_.contains(record.webhook.id));
    if (auto stored = store_locked(record); !stored) return tl::unexpected(stored.error());
    records_.emplace(record.webhook.id, record);
  }
  notify();
  return CreatedWebhook{std::move(record.webhook), std::move(record.secret)};
}

std::vector<Webhook> WebhookRegistry::list() const {
  std::lock_guard lock(mutex_);
  std::vector<Webhook> out;
  out.reserve(records_.size());
  for (const auto& [id, record] : records_) out.push_back(record.webhook);
  return out;
}

std::optional<Webhook> WebhookRegistry::find(std::string_view id) const {
  std::lock_guard lock(mutex_);
  auto it = records_.find(id);
  if (it == records_.end()) return std::nullopt;
  return it->second.webhook;
}

core::Status WebhookRegistry::remove(std::string_view id) {
  {
    std::lock_guard lock(mutex_);
    auto it = records_.find(id);
    if (it == records_.end()) return tl::unexpected(not_found(id));
    if (auto erased = meta_.erase(kWebhookNamespace, id); !erased) return erased;
    records_.erase(it);
  }
  notify();
  return core::ok();
}

core::Result<Webhook> WebhookRegistry::resume(std::string_view id) {
  Webhook out;
  {
    std::lock_guard lock(mutex_);
    auto it = records_.find(id);
    if (it == records_.end()) return tl::unexpected(not_found(id));
    Record updated = it->second;
    WebhookStatus& s = updated.webhook.status;
    if (s.state == WebhookState::Active) return updated.webhook;
    s.state = WebhookState::Active;
    s.failures = 0;
    s.failing_since = 0;
    if (auto stored = store_locked(updated); !stored) return tl::unexpected(stored.error());
    it->second = std::move(updated);
    out = it->second.webhook;
  }
  notify();
  return out;
}

core::Result<std::string> WebhookRegistry::secret(std::string_view id) const {
  std::lock_guard lock(mutex_);
  auto it = records_.find(id);
  if (it == records_.end()) return tl::unexpected(not_found(id));
  return it->second.secret;
}

core::Status WebhookRegistry::record_success(std::string_view id, core::Seq cursor,
                                             std::uint64_t events) {
  std::lock_guard lock(mutex_);
  auto it = records_.find(id);
  if (it == records_.end()) return tl::unexpected(not_found(id));
  Record updated = it->second;
  WebhookStatus& s = updated.webhook.status;
  s.cursor = std::max(s.cursor, cursor);
  s.state = WebhookState::Active;
  s.failures = 0;
  s.failing_since = 0;
  s.delivered += events;
  s.last_success_at = clock_.now_ms();
  if (auto stored = store_locked(updated); !stored) return stored;
  it->second = std::move(updated);
  return core::ok();
}

core::Status WebhookRegistry::record_skipped(std::string_view id, core::Seq cursor) {
  std::lock_guard lock(mutex_);
  auto it = records_.find(id);
  if (it == records_.end()) return tl::unexpected(not_found(id));
  if (cursor <= it->second.webhook.status.cursor) return core::ok();
  Record updated = it->second;
  updated.webhook.status.cursor = cursor;
  if (auto stored = store_locked(updated); !stored) return stored;
  it->second = std::move(updated);
  return core::ok();
}

core::Result<WebhookState> WebhookRegistry::record_failure(std::string_view id, std::string error,
                                                           bool permanent) {
  std::lock_guard lock(mutex_);
  auto it = records_.find(id);
  if (it == records_.end()) return tl::unexpected(not_found(id));
  Record updated = it->second;
  WebhookStatus& s = updated.webhook.status;
  const core::TimestampMs now = clock_.now_ms();
  ++s.failures;
  s.last_error = cut_error(std::move(error));
  s.last_error_at = now;
  if (s.failing_since == 0) s.failing_since = now;
  const bool too_long = now - s.failing_since >= options_.pause_after.count();
  s.state = permanent || too_long ? WebhookState::Paused : WebhookState::Retrying;
  const WebhookState state = s.state;
  // The state in memory follows even when the store refuses: the delivery must stop retrying
  // a paused webhook now, and the next successful write persists it.
  auto stored = store_locked(updated);
  it->second = std::move(updated);
  if (!stored) return tl::unexpected(stored.error());
  return state;
}

void WebhookRegistry::set_observer(std::function<void()> observer) {
  std::lock_guard lock(mutex_);
  observer_ = std::move(observer);
}

std::size_t WebhookRegistry::size() const {
  std::lock_guard lock(mutex_);
  return records_.size();
}

std::size_t WebhookRegistry::paused_count() const {
  std::lock_guard lock(mutex_);
  std::size_t paused = 0;
  for (const auto& [id, record] : records_) {
    if (record.webhook.status.state == WebhookState::Paused) ++paused;
  }
  return paused;
}

core::Status WebhookRegistry::store_locked(const Record& record) {
  const std::string text = record_json(record.webhook, record.secret)
                               .dump(-1, ' ', false, Json::error_handler_t::replace);
  return meta_.put(kWebhookNamespace, record.webhook.id, text);
}

void WebhookRegistry::notify() const {
  std::function<void()> observer;
  {
    std::lock_guard lock(mutex_);
    observer = observer_;
  }
  if (observer) observer();
}

}  // namespace databroker::hub
