// The policy over HTTP: what a caller is granted (`/v1/me`), the version in force, reload, and
// explain.
//
// Reload builds the new policy aside and swaps it in only when it compiles; a broken document
// answers 400 with every problem while the previous version stays in force.
#include <nlohmann/json.hpp>

#include "adapters/http/auth.h"
#include "adapters/http/handlers.h"
#include "adapters/http/json_text.h"
#include "adapters/http/params.h"
#include "adapters/http/problem.h"
#include "broker/core/logging.h"
#include "broker/core/time.h"
#include "broker/hub/visibility.h"
#include "policies/view.h"

namespace databroker::http {

using hub::facts_of;

namespace {

Json grant_json(const policies::Rule& rule, const policies::Grant& grant, core::TimestampMs now) {
  Json out = {
      {"rule", rule.name},
      {"purpose", grant.purpose},
      {"legal_basis", grant.legal_basis},
      // The first instant no longer covered: `until: 2027-06-30` ends at 2027-07-01T00:00Z.
      {"ends_at", core::format_rfc3339(grant.until)},
      {"in_force", grant.is_in_force(now)},
      {"view", policies::describe(grant.view)},
  };
  if (grant.from != INT64_MIN) out["from"] = core::format_rfc3339(grant.from);
  return out;
}

// GET /v1/me: the caller's profile and its grants, so a partner can see what it is entitled to,
// for which purpose and until when. Anonymous callers get the public profile.
void get_me(const HandlerContext& context, const HttpRequest& request, Respond respond) {
  const auto snapshot = context.services.policy.snapshot();
  const core::TimestampMs now = context.services.clock.now_ms();
  const access::Profile* profile = request.identity.profile;
  Json grants = Json::array();
  const std::string name = profile ? profile->name : std::string(access::kPublicProfile);
  for (const auto& [rule, grant] : snapshot->policy().grants_of(name)) {
    grants.push_back(grant_json(*rule, *grant, now));
  }
  Json out = {
      {"profile", name},
      {"key_id", request.identity.key_id.empty() ? Json(nullptr) : Json(request.identity.key_id)},
      {"rights",
       {{"ingest", profile && profile->ingest},
        {"internal", profile && profile->internal},
        {"admin", profile && profile->admin}}},
      {"policy_version", snapshot->version()},
      {"grants", std::move(grants)},
  };
  respond(json_response(200, to_json_text(out)));
}

Json policy_json(const policies::PolicySnapshot& snapshot) {
  Json warnings = Json::array();
  for (const auto& w : snapshot.policy().warnings()) {
    warnings.push_back({{"line", w.line}, {"message", w.message}});
  }
  return {
      {"version", snapshot.version()},
      {"loaded_at", core::format_rfc3339(snapshot.loaded_at())},
      {"rules", snapshot.policy().rules().size()},
      {"warnings", std::move(warnings)},
  };
}

void get_policy(const HandlerContext& context, const HttpRequest& request, Respond respond) {
  if (auto allowed = require_right(request.identity, Right::Admin); !allowed) {
    return respond(problem_response(allowed.error()));
  }
  respond(json_response(200, to_json_text(policy_json(*context.services.policy.snapshot()))));
}

void reload_policy(const HandlerContext& context, const HttpRequest& request, Respond respond) {
  if (auto allowed = require_right(request.identity, Right::Admin); !allowed) {
    return respond(problem_response(allowed.error()));
  }
  auto reloaded = context.services.reload_policy();
  audit_admin(
      context, request, "policy.reload",
      reloaded ? "installed version " + *reloaded : "rejected: " + reloaded.error().message);
  if (!reloaded) return respond(problem_response(reloaded.error()));
  respond(json_response(200, to_json_text(policy_json(*context.services.policy.snapshot()))));
}

// GET /v1/admin/policy/explain?stream=&profile=: which rule decides, the class, the grant and
// view that apply, and why earlier rules did not match.
void explain_policy(const HandlerContext& context, const HttpRequest& request, Respond respond) {
  if (auto allowed = require_right(request.identity, Right::Admin); !allowed) {
    return respond(problem_response(allowed.error()));
  }
  std::vector<core::FieldError> errors;
  const auto stream_id = request.query_param("stream");
  const auto profile_name = request.query_param("profile");
  if (!stream_id) errors.push_back({"stream", "required", "name the stream to explain"});
  if (!profile_name) errors.push_back({"profile", "required", "name the profile to explain for"});
  const access::Profile* profile = nullptr;
  if (profile_name) {
    profile = context.services.profiles.find(*profile_name);
    if (profile == nullptr) {
      errors.push_back({"profile", "unknown_profile", "no profile with that name"});
    }
  }
  if (!errors.empty()) {
    return respond(problem_response(
        core::Error{core::ErrorCode::InvalidArgument, "invalid query parameters", errors}));
  }
  const auto sensor = context.services.registry.find(*stream_id);
  if (!sensor) return respond(problem_response(404, "stream_not_found", "no such stream"));
  const auto snapshot = context.services.policy.snapshot();
  const core::TimestampMs now = context.services.clock.now_ms();
  const policies::Caller caller{profile->name, profile->internal};
  const policies::Explanation explanation =
      policies::explain(snapshot->policy(), facts_of(*sensor), caller, now);
  Json out = {
      {"stream", sensor->id},
      {"profile", profile->name},
      {"policy_version", snapshot->version()},
      {"class", policies::to_string(explanation.decision.stream_class)},
      {"rule", explanation.decision.rule ? Json(explanation.decision.rule->name) : Json(nullptr)},
      {"visible", explanation.access.visible},
      {"view", explanation.access.view ? Json(policies::describe(*explanation.access.view))
                                       : Json(nullptr)},
      {"steps", explanation.steps},
      {"outcome", explanation.outcome},
  };
  if (explanation.access.grant != nullptr && explanation.decision.rule != nullptr) {
    out["grant"] = grant_json(*explanation.decision.rule, *explanation.access.grant, now);
  }
  respond(json_response(200, to_json_text(out)));
}

}  // namespace

void add_policy_routes(Router& router, const HandlerContext& context) {
  const auto bind = [&context](auto handler) {
    return [&context, handler](HttpRequest& request, Respond respond) {
      handler(context, request, std::move(respond));
    };
  };
  router.add(Verb::get, "/v1/me", bind(get_me));
  router.add(Verb::get, "/v1/admin/policy", bind(get_policy));
  router.add(Verb::post, "/v1/admin/policy/reload", bind(reload_policy));
  router.add(Verb::get, "/v1/admin/policy/explain", bind(explain_policy));
}

}  // namespace databroker::http
