#include "adapters/http/problem.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

namespace databroker::http {
namespace {

std::string header(const HttpResponse& response, std::string_view name) {
  for (const auto& [key, value] : response.headers) {
    if (key == name) return value;
  }
  return "";
}

TEST_CASE("every error code maps to its HTTP status", "[http][problem]") {
  using core::ErrorCode;
  CHECK(status_for(ErrorCode::InvalidArgument) == 400);
  CHECK(status_for(ErrorCode::Unauthenticated) == 401);
  CHECK(status_for(ErrorCode::PermissionDenied) == 403);
  CHECK(status_for(ErrorCode::NotFound) == 404);
  CHECK(status_for(ErrorCode::Conflict) == 409);
  CHECK(status_for(ErrorCode::ResourceExhausted) == 503);
  CHECK(status_for(ErrorCode::Unavailable) == 503);
  CHECK(status_for(ErrorCode::Corruption) == 500);
  CHECK(status_for(ErrorCode::Internal) == 500);
}

TEST_CASE("a validation error lists every field problem", "[http][problem]") {
  const core::Error error{core::ErrorCode::InvalidArgument,
                          "2 readings are invalid",
                          {{"[0].values.pm25", "out_of_range", "pm25 must be at most 2000"},
                           {"[1].ts", "malformed", "ts is not a time"}}};
  const HttpResponse response = problem_response(error);
  CHECK(response.status == 400);
  CHECK(response.content_type == "application/problem+json");
  const auto body = nlohmann::json::parse(response.body);
  CHECK(body["type"] == "urn:databroker:problem:invalid_argument");
  CHECK(body["title"] == "Bad Request");
  CHECK(body["status"] == 400);
  CHECK(body["detail"] == "2 readings are invalid");
  REQUIRE(body["errors"].size() == 2);
  CHECK(body["errors"][0]["field"] == "[0].values.pm25");
  CHECK(body["errors"][0]["reason"] == "out_of_range");
  CHECK(body["errors"][1]["detail"] == "ts is not a time");
}

TEST_CASE("a problem without field errors has no errors member", "[http][problem]") {
  const auto body =
      nlohmann::json::parse(problem_response(404, "not_found", "no such resource").body);
  CHECK(body["status"] == 404);
  CHECK(body["title"] == "Not Found");
  CHECK_FALSE(body.contains("errors"));
}

TEST_CASE("401 asks for a bearer token", "[http][problem]") {
  const HttpResponse response =
      problem_response(core::Error{core::ErrorCode::Unauthenticated, "needs a key", {}});
  CHECK(response.status == 401);
  CHECK(header(response, "WWW-Authenticate").starts_with("Bearer"));
}

TEST_CASE("a full ingest queue is 503 with Retry-After", "[http][problem]") {
  const HttpResponse response =
      problem_response(core::Error{core::ErrorCode::ResourceExhausted, "queue full", {}});
  CHECK(response.status == 503);
  CHECK(header(response, "Retry-After") == "1");
}

TEST_CASE("internal error messages are not sent to clients", "[http][problem]") {
  const HttpResponse response = problem_response(
      core::Error{core::ErrorCode::Corruption, "sst file /var/lib/x/000123.sst is corrupt", {}});
  CHECK(response.status == 500);
  CHECK(response.body.find("sst") == std::string::npos);
}

TEST_CASE("invalid UTF-8 in a detail does not break the body", "[http][problem]") {
  const HttpResponse response = problem_response(400, "malformed", "bad \xff\xfe value");
  const auto body = nlohmann::json::parse(response.body);
  CHECK(body["status"] == 400);
}

}  // namespace
}  // namespace databroker::http
