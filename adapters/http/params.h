// Request target and query parameter parsing, the history cursor, and log redaction.
//
// Parameters are parsed into typed values or FieldErrors (reason codes: "malformed",
// "out_of_range", "duplicate", "invalid_cursor", ...), so one 400 lists every bad parameter.
// Unknown parameters are ignored (a later `format=` must not break older servers' clients);
// a parameter given twice is an error, since either reading of it would be a guess.
//
// The history cursor is opaque to clients: base64url (no padding) of a version byte, the
// stream position (observation time and seq, big-endian) and a 32-bit FNV-1a check over those
// bytes and the stream id. The check catches truncated, edited and cross-stream cursors; it is
// not a secret (a forged cursor only positions a read inside a stream the caller may read).
//
// Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/http/exchange.h"
#include "broker/core/reading.h"
#include "broker/core/result.h"
#include "broker/log/reading_log.h"

namespace databroker::http {

struct ParsedTarget {
  std::vector<std::string> segments;  // decoded path segments
  std::vector<NameValue> query;       // decoded; '+' is kept as '+' (offsets in timestamps)
};

// Splits an origin-form target ("/v1/streams?limit=5"). InvalidArgument when it is not a valid
// origin-form, or a query parameter appears twice (with a FieldError for it).
core::Result<ParsedTarget> parse_target(std::string_view target);

// `limit`: absent → `default_limit`; an integer ≥ 1; above `cap` it is lowered to `cap`.
// Appends a FieldError and returns nothing for anything else.
std::optional<std::size_t> parse_limit(std::optional<std::string_view> text,
                                       std::size_t default_limit, std::size_t cap,
                                       std::vector<core::FieldError>& errors);

// A time parameter: RFC 3339 (see core::parse_rfc3339) or epoch milliseconds (digits only,
// 0 … 9999-12-31). `field` names it in the error.
std::optional<core::TimestampMs> parse_time_param(std::string_view field, std::string_view text,
                                                  std::vector<core::FieldError>& errors);

// An unsigned decimal seq (0 allowed: "from the beginning").
std::optional<core::Seq> parse_seq_param(std::string_view field, std::string_view text,
                                         std::vector<core::FieldError>& errors);

// The cursor for resuming a stream's history after `position`.
std::string encode_cursor(std::string_view sensor_id, const log::StreamPosition& position);

// The position in a cursor made by encode_cursor for the same stream; nothing when the text is
// not such a cursor (wrong length, alphabet, version, check, or another stream's cursor).
std::optional<log::StreamPosition> decode_cursor(std::string_view sensor_id, std::string_view text);

// At most 64 bytes of a client's value (then "..."), for echoing it in an error.
std::string shorten(std::string_view text);

// The target with the value of every `access_token` parameter replaced, for logs.
std::string redact_target(std::string_view target);

// True for "application/json", any case, with or without parameters ("; charset=utf-8").
bool is_json_media_type(std::string_view content_type);
// `application/senml+json` (RFC 8428), parameters and case ignored likewise.
bool is_senml_media_type(std::string_view content_type);

// base64url without padding, exposed for tests.
std::string base64url_encode(std::string_view bytes);
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace databroker::http
