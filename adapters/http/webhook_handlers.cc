// Administration of partner webhooks: register (the secret is shown once), list and show with
// their delivery status and lag, delete, resume a paused one.
//
// Every route needs the admin right; every change is logged with the acting key's id and
// recorded in the audit trail (never the secret, which appears only in the 201 of a create).
// The registry writes its small record on this thread: rare, admin only, like the key file.
#include <nlohmann/json.hpp>

#include "adapters/http/auth.h"
#include "adapters/http/handlers.h"
#include "adapters/http/json_body.h"
#include "adapters/http/json_text.h"
#include "adapters/http/params.h"
#include "adapters/http/problem.h"
#include "broker/core/logging.h"
#include "broker/core/time.h"
#include "broker/hub/webhooks.h"

namespace databroker::http {

namespace {

constexpr std::string_view kCreateFields[] = {"profile", "url",         "filter",
                                              "secret",  "description", "after_seq"};
constexpr std::string_view kFilterFields[] = {"kinds", "streams", "zones"};

Json time_or_null(core::TimestampMs ms) {
  return ms == 0 ? Json(nullptr) : Json(core::format_rfc3339(ms));
}

Json webhook_json(const hub::Webhook& w, core::Seq head) {
  const hub::WebhookStatus& s = w.status;
  return {
      {"id", w.id},
      {"profile", w.profile},
      {"url", w.url},
      {"filter",
       {{"kinds", w.filter.kinds}, {"streams", w.filter.streams}, {"zones", w.filter.zones}}},
      {"description", w.description},
      {"created_at", core::format_rfc3339(w.created_at)},
      {"state", std::string(hub::to_string(s.state))},
      {"cursor", s.cursor},
      {"head", head},
      {"lag", head > s.cursor ? head - s.cursor : 0},
      {"failures", s.failures},
      {"delivered", s.delivered},
      {"last_error", s.last_error.empty() ? Json(nullptr) : Json(s.last_error)},
      {"last_error_at", time_or_null(s.last_error_at)},
      {"last_success_at", time_or_null(s.last_success_at)},
      {"failing_since", time_or_null(s.failing_since)},
  };
}

// Common checks of every webhook route: the right, then a registry to talk to.
hub::WebhookRegistry* registry_for(const HandlerContext& context, const HttpRequest& request,
                                   Respond& respond) {
  if (auto allowed = require_right(request.identity, Right::Admin); !allowed) {
    respond(problem_response(allowed.error()));
    return nullptr;
  }
  if (context.services.webhooks == nullptr) {
    respond(problem_response(503, "webhooks_unavailable", "webhooks are not configured"));
    return nullptr;
  }
  return context.services.webhooks;
}

HttpResponse webhook_problem(const core::Error& error) {
  if (error.code == core::ErrorCode::NotFound) {
    return problem_response(404, "webhook_not_found", "no webhook with this id");
  }
  if (error.code == core::ErrorCode::ResourceExhausted) {
    return problem_response(409, "too_many_webhooks", error.message);
  }
  return problem_response(error);
}

void read_list(const Json& filter, std::string_view name, std::vector<std::string>& out,
               std::vector<core::FieldError>& errors) {
  if (!filter.contains(name)) return;
  const Json& list = filter[std::string(name)];
  const std::string field = "filter." + std::string(name);
  if (!list.is_array()) {
    errors.push_back({field, "wrong_type", field + " must be a list of strings"});
    return;
  }
  for (const Json& item : list) {
    if (!item.is_string()) {
      errors.push_back({field, "wrong_type", field + " must be a list of strings"});
      return;
    }
    out.push_back(item.get<std::string>());
  }
}

void create_webhook(const HandlerContext& context, const HttpRequest& request, Respond respond) {
  hub::WebhookRegistry* registry = registry_for(context, request, respond);
  if (registry == nullptr) return;
  const auto parsed = json_object_body(request, "the webhook", respond);
  if (!parsed) return;
  const Json& body = *parsed;
  std::vector<core::FieldError> errors = unknown_fields(body, kCreateFields);
  hub::WebhookSpec spec;
  const auto read_string = [&](const char* name, std::string& out, bool required) {
    if (!body.contains(name)) {
      if (required) errors.push_back({name, "required", std::string(name) + " is required"});
      return;
    }
    if (!body[name].is_string()) {
      errors.push_back({name, "wrong_type", std::string(name) + " must be a string"});
      return;
    }
    out = body[name].get<std::string>();
  };
  read_string("profile", spec.profile, true);
  read_string("url", spec.url, true);
  read_string("secret", spec.secret, false);
  read_string("description", spec.description, false);
  if (!spec.profile.empty() && context.services.profiles.find(spec.profile) == nullptr) {
    errors.push_back({"profile", "unknown_profile", "no profile named '" + spec.profile + "'"});
  }
  if (body.contains("secret") && body["secret"].is_string() && spec.secret.empty()) {
    errors.push_back({"secret", "invalid_secret", "omit the secret to have one generated"});
  }
  if (body.contains("filter")) {
    const Json& filter = body["filter"];
    if (!filter.is_object()) {
      errors.push_back({"filter", "wrong_type", "filter must be an object"});
    } else {
      for (const auto& item : filter.items()) {
        if (std::find(std::begin(kFilterFields), std::end(kFilterFields), item.key()) ==
            std::end(kFilterFields)) {
          errors.push_back({"filter." + item.key(), "unknown_field",
                            "unknown filter field '" + item.key() + "'"});
        }
      }
      read_list(filter, "kinds", spec.filter.kinds, errors);
      read_list(filter, "streams", spec.filter.streams, errors);
      read_list(filter, "zones", spec.filter.zones, errors);
      const auto& kinds = context.services.kinds;
      if (auto valid = hub::validate_filter(
              spec.filter, [&kinds](std::string_view kind) { return kinds.find(kind) != nullptr; });
          !valid) {
        for (auto problem : valid.error().details) {
          problem.field = "filter." + problem.field;
          errors.push_back(std::move(problem));
        }
      }
    }
  }
  const core::Seq head = context.services.log.last_seq();
  core::Seq cursor = head;  // live from now unless asked for history
  if (body.contains("after_seq")) {
    const Json& after = body["after_seq"];
    if (!after.is_number_unsigned() || after.get<core::Seq>() > head) {
      errors.push_back(
          {"after_seq", "out_of_range",
           "after_seq must be a seq from 0 to the log's last (" + std::to_string(head) + ")"});
    } else {
      cursor = after.get<core::Seq>();
    }
  }
  if (auto url = hub::parse_webhook_url(spec.url); !url && !spec.url.empty()) {
    errors.insert(errors.end(), url.error().details.begin(), url.error().details.end());
  }
  if (!errors.empty()) return respond(invalid_body(std::move(errors)));

  auto created = registry->create(std::move(spec), cursor);
  if (!created) return respond(webhook_problem(created.error()));
  const hub::Webhook& webhook = created->webhook;
  core::log_info("http", "admin key " + request.identity.key_id + " created webhook " + webhook.id +
                             " for profile " + webhook.profile);
  audit_admin(context, request, "webhook.create",
              "created webhook " + webhook.id + " for profile " + webhook.profile + " after seq " +
                  std::to_string(cursor));
  Json out = webhook_json(webhook, context.services.log.last_seq());
  out["secret"] = created->secret;
  HttpResponse response = json_response(201, to_json_text(out));
  // The only time the secret is sent: keep it out of every cache.
  response.headers.emplace_back("Cache-Control", "no-store");
  response.headers.emplace_back("Location", "/v1/admin/webhooks/" + webhook.id);
  respond(std::move(response));
}

void list_webhooks(const HandlerContext& context, const HttpRequest& request, Respond respond) {
  hub::WebhookRegistry* registry = registry_for(context, request, respond);
  if (registry == nullptr) return;
  const core::Seq head = context.services.log.last_seq();
  Json list = Json::array();
  for (const hub::Webhook& webhook : registry->list()) list.push_back(webhook_json(webhook, head));
  respond(json_response(200, to_json_text({{"webhooks", std::move(list)}})));
}

void show_webhook(const HandlerContext& context, const HttpRequest& request, Respond respond) {
  hub::WebhookRegistry* registry = registry_for(context, request, respond);
  if (registry == nullptr) return;
  auto webhook = registry->find(request.param("id"));
  if (!webhook) return respond(webhook_problem({core::ErrorCode::NotFound, "", {}}));
  respond(
      json_response(200, to_json_text(webhook_json(*webhook, context.services.log.last_seq()))));
}

void delete_webhook(const HandlerContext& context, const HttpRequest& request, Respond respond) {
  hub::WebhookRegistry* registry = registry_for(context, request, respond);
  if (registry == nullptr) return;
  const std::string id(request.param("id"));
  if (auto removed = registry->remove(id); !removed) {
    return respond(webhook_problem(removed.error()));
  }
  core::log_info("http", "admin key " + request.identity.key_id + " deleted webhook " + id);
  audit_admin(context, request, "webhook.delete", "deleted webhook " + id);
  HttpResponse response;
  response.status = 204;
  respond(std::move(response));
}

void resume_webhook(const HandlerContext& context, const HttpRequest& request, Respond respond) {
  hub::WebhookRegistry* registry = registry_for(context, request, respond);
  if (registry == nullptr) return;
  const std::string id(request.param("id"));
  auto resumed = registry->resume(id);
  if (!resumed) return respond(webhook_problem(resumed.error()));
  core::log_info("http", "admin key " + request.identity.key_id + " resumed webhook " + id);
  audit_admin(context, request, "webhook.resume",
              "resumed webhook " + id + " after seq " + std::to_string(resumed->status.cursor));
  respond(
      json_response(200, to_json_text(webhook_json(*resumed, context.services.log.last_seq()))));
}

}  // namespace

void add_webhook_routes(Router& router, const HandlerContext& context) {
  const auto bind = [&context](auto handler) {
    return [&context, handler](HttpRequest& request, Respond respond) {
      handler(context, request, std::move(respond));
    };
  };
  router.add(Verb::post, "/v1/admin/webhooks", bind(create_webhook));
  router.add(Verb::get, "/v1/admin/webhooks", bind(list_webhooks));
  router.add(Verb::get, "/v1/admin/webhooks/{id}", bind(show_webhook));
  router.add(Verb::delete_, "/v1/admin/webhooks/{id}", bind(delete_webhook));
  router.add(Verb::post, "/v1/admin/webhooks/{id}/resume", bind(resume_webhook));
}

}  // namespace databroker::http
