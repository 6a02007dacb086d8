// problem+json (RFC 9457): the one place where an error becomes an HTTP status and a body.
//
// core::ErrorCode → status: InvalidArgument 400 (malformed input and invalid readings alike: the
// brief lists 400, and one status lets clients treat "fix your request" uniformly; the `errors`
// array says what to fix), Unauthenticated 401 (+ WWW-Authenticate: Bearer), PermissionDenied
// 403, NotFound 404, Conflict 409, ResourceExhausted 503 + Retry-After (the ingest queue is full:
// back off and retry; 429 is kept for per-client rate limits), Unavailable 503, Corruption and
// Internal 500 (their message is logged, never sent: it may describe storage internals).
//
// Body: {"type","title","status","detail"} plus "errors":[{"field","reason","detail"}] when the
// error carries field problems. `type` is a URN naming the problem, stable for clients to switch
// on. Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "adapters/http/exchange.h"
#include "broker/core/result.h"

namespace databroker::http {

// The HTTP status of an error code.
unsigned status_for(core::ErrorCode code);

// A problem response for an error from our own modules.
HttpResponse problem_response(const core::Error& error);

// A problem response for something that has no ErrorCode (405, 413, 415, 431, transport
// errors). `type_name` is the snake_case problem name (e.g. "payload_too_large").
HttpResponse problem_response(unsigned status, std::string_view type_name, std::string_view detail);

// 400 "invalid request body" with one FieldError per problem of a JSON request body.
HttpResponse invalid_body(std::vector<core::FieldError> errors);

// The same problem in the NGSI-LD flavour (ETSI GS CIM 009 §5.5.2), for the /ngsi-ld routes:
// `type` becomes https://uri.etsi.org/ngsi-ld/errors/BadRequestData (400), ResourceNotFound
// (404), OperationNotSupported (405) or InternalError (5xx); other statuses (401, 403, 406, 413,
// 429) have no NGSI-LD error type and keep ours. Responses that are not problems pass unchanged.
HttpResponse as_ngsi_ld_problem(HttpResponse response);

// The standard reason phrase ("Not Found") used as `title`; "Error" for unknown codes.
std::string_view reason_phrase(unsigned status);

// The serialised problem document, for callers that need only the body.
std::string problem_body(unsigned status, std::string_view type_name, std::string_view detail,
                         const std::vector<core::FieldError>& errors = {});

}  // namespace databroker::http
