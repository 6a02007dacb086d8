// Key administration: create (the key is shown once), list (never hashes), revoke.
//
// Every admin action is logged with the acting key's id (never a key). The audit trail module
// will take these records over when it lands.
#include <nlohmann/json.hpp>

#include "adapters/http/auth.h"
#include "adapters/http/handlers.h"
#include "adapters/http/json_text.h"
#include "adapters/http/params.h"
#include "adapters/http/problem.h"
#include "broker/core/logging.h"
#include "broker/core/time.h"

namespace databroker::http {

namespace {

HttpResponse invalid_body(std::vector<core::FieldError> errors) {
  return problem_response(
      core::Error{core::ErrorCode::InvalidArgument, "invalid request body", std::move(errors)});
}

Json key_json(const access::KeyRecord& record) {
  return {
      {"id", record.id},
      {"profile", record.profile},
      {"label", record.label},
      {"created_at", core::format_rfc3339(record.created_at)},
      {"revoked_at", record.revoked_at ? Json(core::format_rfc3339(*record.revoked_at)) : nullptr},
  };
}

void create_key(const HandlerContext& context, const HttpRequest& request, Respond respond) {
  if (auto allowed = require_right(request.identity, Right::Admin); !allowed) {
    return respond(problem_response(allowed.error()));
  }
  if (!is_json_media_type(request.content_type)) {
    return respond(problem_response(415, "unsupported_media_type",
                                    "send the key request as Content-Type: application/json"));
  }
  const auto body = Json::parse(request.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object()) {
    return respond(invalid_body({{"", "malformed", "the body must be a JSON object"}}));
  }
  std::vector<core::FieldError> errors;
  for (const auto& item : body.items()) {
    if (item.key() != "profile" && item.key() != "label") {
      errors.push_back({item.key(), "unknown_field", "unknown field '" + item.key() + "'"});
    }
  }
  std::string profile;
  std::string label;
  if (!body.contains("profile") || !body["profile"].is_string()) {
    errors.push_back({"profile", "required", "profile must be the name of a profile"});
  } else {
    profile = body["profile"].get<std::string>();
    if (profile == access::kPublicProfile) {
      errors.push_back({"profile", "not_allowed", "the public profile needs no key"});
    } else if (context.services.profiles.find(profile) == nullptr) {
      errors.push_back({"profile", "unknown_profile", "no profile named '" + profile + "'"});
    }
  }
  if (body.contains("label")) {
    if (!body["label"].is_string()) {
      errors.push_back({"label", "wrong_type", "label must be a string"});
    } else {
      label = body["label"].get<std::string>();
    }
  }
  if (!errors.empty()) return respond(invalid_body(std::move(errors)));

  auto created = context.services.keys.create(profile, label);
  if (!created) return respond(problem_response(created.error()));
  core::log_info("http", "admin key " + request.identity.key_id + " created key " +
                             created->record.id + " for profile " + profile);
  Json out = key_json(created->record);
  out["key"] = created->key;
  HttpResponse response = json_response(201, to_json_text(out));
  // The only time the secret is sent: keep it out of every cache.
  response.headers.emplace_back("Cache-Control", "no-store");
  respond(std::move(response));
}

void list_keys(const HandlerContext& context, const HttpRequest& request, Respond respond) {
  if (auto allowed = require_right(request.identity, Right::Admin); !allowed) {
    return respond(problem_response(allowed.error()));
  }
  auto records = context.services.keys.list();
  if (!records) return respond(problem_response(records.error()));
  Json keys = Json::array();
  for (const access::KeyRecord& record : *records) keys.push_back(key_json(record));
  respond(json_response(200, to_json_text({{"keys", std::move(keys)}})));
}

void revoke_key(const HandlerContext& context, const HttpRequest& request, Respond respond) {
  if (auto allowed = require_right(request.identity, Right::Admin); !allowed) {
    return respond(problem_response(allowed.error()));
  }
  const std::string_view key_id = request.param("key_id");
  if (auto revoked = context.services.keys.revoke(key_id); !revoked) {
    if (revoked.error().code == core::ErrorCode::NotFound) {
      return respond(problem_response(404, "key_not_found", "no key with this id"));
    }
    return respond(problem_response(revoked.error()));
  }
  core::log_info("http",
                 "admin key " + request.identity.key_id + " revoked key " + std::string(key_id));
  HttpResponse response;
  response.status = 204;
  respond(std::move(response));
}

}  // namespace

void add_admin_routes(Router& router, const HandlerContext& context) {
  const auto bind = [&context](auto handler) {
    return [&context, handler](HttpRequest& request, Respond respond) {
      handler(context, request, std::move(respond));
    };
  };
  router.add(Verb::post, "/v1/admin/keys", bind(create_key));
  router.add(Verb::get, "/v1/admin/keys", bind(list_keys));
  router.add(Verb::delete_, "/v1/admin/keys/{key_id}", bind(revoke_key));
}

}  // namespace databroker::http
