#include "adapters/http/problem.h"

#include <nlohmann/json.hpp>

#include "adapters/http/json_text.h"
#include "broker/core/logging.h"

namespace databroker::http {

unsigned status_for(core::ErrorCode code) {
  switch (code) {
    case core::ErrorCode::InvalidArgument:
      return 400;
    case core::ErrorCode::Unauthenticated:
      return 401;
    case core::ErrorCode::PermissionDenied:
      return 403;
    case core::ErrorCode::NotFound:
      return 404;
    case core::ErrorCode::Conflict:
      return 409;
    case core::ErrorCode::ResourceExhausted:
    case core::ErrorCode::Unavailable:
      return 503;
    case core::ErrorCode::Corruption:
    case core::ErrorCode::Internal:
      return 500;
  }
  return 500;
}

HttpResponse invalid_body(std::vector<core::FieldError> errors) {
  return problem_response(
      core::Error{core::ErrorCode::InvalidArgument, "invalid request body", std::move(errors)});
}

HttpResponse as_ngsi_ld_problem(HttpResponse response) {
  if (response.status < 400 || response.content_type != "application/problem+json") {
    return response;
  }
  std::string_view type;
  if (response.status == 400) {
    type = "BadRequestData";
  } else if (response.status == 404) {
    type = "ResourceNotFound";
  } else if (response.status == 405) {
    type = "OperationNotSupported";
  } else if (response.status >= 500 && response.status != 503) {
    type = "InternalError";
  } else {
    return response;
  }
  nlohmann::ordered_json body = nlohmann::ordered_json::parse(response.body, nullptr, false);
  if (!body.is_object()) return response;
  body["type"] = "https://uri.etsi.org/ngsi-ld/errors/" + std::string(type);
  response.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return response;
}

std::string_view reason_phrase(unsigned status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 406:
      return "Not Acceptable";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 413:
      return "Content Too Large";
    case 415:
      return "Unsupported Media Type";
    case 426:
      return "Upgrade Required";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Error";
  }
}

std::string problem_body(unsigned status, std::string_view type_name, std::string_view detail,
                         const std::vector<core::FieldError>& errors) {
  Json body = {
      {"type", "urn:databroker:problem:" + std::string(type_name)},
      {"title", reason_phrase(status)},
      {"status", status},
      {"detail", detail},
  };
  if (!errors.empty()) {
    Json list = Json::array();
    for (const core::FieldError& error : errors) {
      list.push_back({{"field", error.field}, {"reason", error.reason}, {"detail", error.detail}});
    }
    body["errors"] = std::move(list);
  }
  return to_json_text(body);
}

HttpResponse problem_response(unsigned status, std::string_view type_name,
                              std::string_view detail) {
  HttpResponse response;
  response.status = status;
  response.content_type = "application/problem+json";
  response.body = problem_body(status, type_name, detail);
  return response;
}

HttpResponse problem_response(const core::Error& error) {
  const unsigned status = status_for(error.code);
  std::string_view detail = error.message;
  if (status == 500) {
    // The message may name files or storage internals; it goes to the log only.
    core::log_error("http", "internal error: " + error.message);
    detail = "internal error";
  }
  HttpResponse response;
  response.status = status;
  response.content_type = "application/problem+json";
  response.body = problem_body(status, core::to_string(error.code), detail, error.details);
  if (error.code == core::ErrorCode::Unauthenticated) {
    response.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"databroker\"");
  } else if (error.code == core::ErrorCode::ResourceExhausted) {
    response.headers.emplace_back("Retry-After", "1");
  }
  return response;
}

}  // namespace databroker::http
