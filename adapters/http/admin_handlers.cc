// Administration: keys (create shows the key once, list never shows hashes, revoke), the audit
// trail, and backups.
//
// Every admin action is logged with the acting key's id (never a key) and recorded in the audit
// trail.
#include <filesystem>
#include <nlohmann/json.hpp>

#include "adapters/http/auth.h"
#include "adapters/http/handlers.h"
#include "adapters/http/json_body.h"
#include "adapters/http/json_text.h"
#include "adapters/http/params.h"
#include "adapters/http/problem.h"
#include "broker/core/logging.h"
#include "broker/core/time.h"

namespace databroker::http {

namespace {

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
  const auto parsed = json_object_body(request, "the key request", respond);
  if (!parsed) return;
  const Json& body = *parsed;
  constexpr std::string_view kKeyFields[] = {"profile", "label"};
  std::vector<core::FieldError> errors = unknown_fields(body, kKeyFields);
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
  audit_admin(context, request, "key.create",
              "created key " + created->record.id + " for profile " + profile);
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
  audit_admin(context, request, "key.revoke", "revoked key " + std::string(key_id));
  HttpResponse response;
  response.status = 204;
  respond(std::move(response));
}

// GET /v1/admin/audit?from=&to=&profile=&limit=&cursor=&format=json|jsonl|csv
void query_audit(const HandlerContext& context, const HttpRequest& request, Respond respond) {
  if (auto allowed = require_right(request.identity, Right::Admin); !allowed) {
    return respond(problem_response(allowed.error()));
  }
  if (context.services.audit == nullptr) {
    return respond(problem_response(503, "audit_unavailable", "no audit trail is configured"));
  }
  std::vector<core::FieldError> errors;
  access::AuditQuery query;
  if (auto text = request.query_param("from")) {
    if (auto from = parse_time_param("from", *text, errors)) query.from = *from;
  }
  if (auto text = request.query_param("to")) {
    if (auto to = parse_time_param("to", *text, errors)) query.to = *to;
  }
  if (auto text = request.query_param("profile")) query.profile = std::string(*text);
  if (auto text = request.query_param("cursor")) query.cursor = std::string(*text);
  if (auto limit =
          parse_limit(request.query_param("limit"), 100, access::kMaxAuditQueryLimit, errors)) {
    query.limit = *limit;
  }
  const std::string format = std::string(request.query_param("format").value_or("json"));
  if (format != "json" && format != "jsonl" && format != "csv") {
    errors.push_back({"format", "unknown_format", "format is json, jsonl or csv"});
  }
  if (!errors.empty()) {
    return respond(problem_response(
        core::Error{core::ErrorCode::InvalidArgument, "invalid query parameters", errors}));
  }
  auto page = context.services.audit->query(query);
  if (!page) return respond(problem_response(page.error()));

  HttpResponse response;
  response.status = 200;
  if (format == "json") {
    std::string body = "{\"records\":[";
    for (std::size_t i = 0; i < page->records.size(); ++i) {
      if (i > 0) body += ',';
      body += access::to_json_line(page->records[i]);
    }
    body += "],\"next_cursor\":";
    body += page->next_cursor.empty() ? std::string("null") : "\"" + page->next_cursor + "\"";
    body += '}';
    return respond(json_response(200, std::move(body)));
  }
  if (format == "jsonl") {
    for (const auto& record : page->records) response.body += access::to_json_line(record) + "\n";
    response.content_type = "application/x-ndjson";
  } else {
    response.body = std::string(access::kAuditCsvHeader);
    for (const auto& record : page->records) response.body += access::to_csv_row(record);
    response.content_type = "text/csv; charset=utf-8";
  }
  // The cursor travels in a header where the body format has no place for it.
  if (!page->next_cursor.empty()) response.headers.emplace_back("X-Next-Cursor", page->next_cursor);
  respond(std::move(response));
}

// POST /v1/admin/backup {"directory": "/absolute/new/folder"}: a consistent copy of the data
// directory written by the running broker (docs/backup.md). The folder is named by an admin,
// but it is still checked: absolute, no `..` or `.` steps, no NUL, and new (the storage refuses
// an existing one with 409), so a backup never overwrites anything.
void create_backup(const HandlerContext& context, const HttpRequest& request, Respond respond) {
  if (auto allowed = require_right(request.identity, Right::Admin); !allowed) {
    return respond(problem_response(allowed.error()));
  }
  if (!context.services.backup) {
    return respond(problem_response(503, "unavailable", "this server takes no backups"));
  }
  const auto parsed = json_object_body(request, "the backup request", respond);
  if (!parsed) return;
  const Json& body = *parsed;
  constexpr std::string_view kBackupFields[] = {"directory"};
  std::vector<core::FieldError> errors = unknown_fields(body, kBackupFields);
  std::string directory;
  if (!body.contains("directory") || !body["directory"].is_string()) {
    errors.push_back({"directory", "required", "directory must be an absolute path"});
  } else {
    directory = body["directory"].get<std::string>();
    const std::filesystem::path path(directory);
    if (directory.size() > 4096 || directory.find('\0') != std::string::npos ||
        !path.is_absolute() || path.lexically_normal() != path || !path.has_filename()) {
      errors.push_back({"directory", "invalid",
                        "directory must be an absolute path without '.', '..' or a trailing '/'"});
    }
  }
  if (!errors.empty()) return respond(invalid_body(std::move(errors)));

  auto manifest = context.services.backup(directory);
  if (!manifest) return respond(problem_response(manifest.error()));
  core::log_info("http", "admin key " + request.identity.key_id + " backed up to " + directory);
  audit_admin(context, request, "backup.create", "backup written to " + directory);
  respond(json_response(201, std::move(*manifest)));
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
  router.add(Verb::get, "/v1/admin/audit", bind(query_audit));
  router.add(Verb::post, "/v1/admin/backup", bind(create_backup));
}

void audit_admin(const HandlerContext& context, const HttpRequest& request, std::string action,
                 std::string detail) {
  if (context.services.audit == nullptr) return;
  access::AuditRecord record;
  record.kind = std::string(access::kAuditAdmin);
  record.key_id = request.identity.key_id;
  record.profile = request.identity.profile ? request.identity.profile->name : "";
  record.action = std::move(action);
  record.detail = std::move(detail);
  (void)context.services.audit->record(std::move(record));  // a refusal is logged by the trail
}

}  // namespace databroker::http
