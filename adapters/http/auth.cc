#include "adapters/http/auth.h"

#include <cctype>

#include "broker/core/logging.h"

namespace databroker::http {

namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

}  // namespace

core::Result<std::string_view> presented_key(std::string_view authorization,
                                             std::string_view api_key) {
  authorization = trim(authorization);
  if (!authorization.empty()) {
    const auto space = authorization.find(' ');
    const std::string_view scheme = authorization.substr(0, space);
    const std::string_view token =
        space == std::string_view::npos ? std::string_view() : trim(authorization.substr(space));
    if (!iequals(scheme, "Bearer") || token.empty()) {
      return core::fail(core::ErrorCode::Unauthenticated,
                        "the Authorization header must be 'Bearer <key>'");
    }
    return token;
  }
  return trim(api_key);
}

core::Result<access::Identity> authenticate(const HttpRequest& request, access::KeyStore& keys,
                                            const access::ProfileSet& profiles) {
  auto key = presented_key(request.authorization, request.api_key);
  if (!key) return tl::unexpected(std::move(key.error()));
  access::Identity identity;
  if (key->empty()) {
    identity.profile = &profiles.public_profile();
    return identity;
  }
  const auto record = keys.authenticate(*key);
  if (!record) {
    return core::fail(core::ErrorCode::Unauthenticated, "the API key is not valid");
  }
  const access::Profile* profile = profiles.find(record->profile);
  if (profile == nullptr) {
    // The configuration dropped the profile; the key cannot mean anything any more.
    core::log_warn("http", "key " + record->id + " belongs to unknown profile " + record->profile);
    return core::fail(core::ErrorCode::Unauthenticated, "the API key is not valid");
  }
  identity.profile = profile;
  identity.key_id = record->id;
  return identity;
}

core::Status require_right(const access::Identity& identity, Right right) {
  if (identity.is_anonymous()) {
    return core::fail(core::ErrorCode::Unauthenticated, "this operation needs an API key");
  }
  const access::Profile& profile = *identity.profile;
  bool granted = false;
  std::string_view name;
  switch (right) {
    case Right::Ingest:
      granted = profile.ingest;
      name = "ingest";
      break;
    case Right::Internal:
      granted = profile.internal;
      name = "internal";
      break;
    case Right::Admin:
      granted = profile.admin;
      name = "admin";
      break;
  }
  if (!granted) {
    return core::fail(core::ErrorCode::PermissionDenied,
                      "the key's profile lacks the " + std::string(name) + " right");
  }
  return core::ok();
}

}  // namespace databroker::http
