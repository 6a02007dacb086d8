// Errors as values: the one Result type every fallible function in databroker returns.
//
// A small closed set of codes, so that each adapter can map a code to its own protocol in one
// place (HTTP status and problem+json, MQTT error report, CLI exit status). Foreign error types
// (rocksdb::Status, mqtt::exception, JSON and YAML exceptions) are converted where they are caught
// and never cross a module boundary.
//
// `Result<T>` is `tl::expected<T, Error>` marked [[nodiscard]], so an ignored error is a warning,
// and warnings are errors. Value types; safe to move between threads.
#pragma once

#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <utility>
#include <vector>

namespace databroker::core {

enum class ErrorCode {
  InvalidArgument,
  Unauthenticated,
  PermissionDenied,
  NotFound,
  Conflict,
  ResourceExhausted,
  Unavailable,
  Corruption,
  Internal,
};

// Stable snake_case name of a code, for logs, metrics and problem+json `type` URIs.
std::string_view to_string(ErrorCode code);

// One problem with one field of an input, machine-readable: `reason` is a stable snake_case code
// (e.g. "out_of_range"), `detail` a sentence for people.
struct FieldError {
  std::string field;
  std::string reason;
  std::string detail;

  bool operator==(const FieldError&) const = default;
};

struct Error {
  ErrorCode code = ErrorCode::Internal;
  std::string message;
  std::vector<FieldError> details;  // every validation problem, not just the first
};

template <class T>
class [[nodiscard]] Result : public tl::expected<T, Error> {
 public:
  using tl::expected<T, Error>::expected;
  Result(tl::expected<T, Error> other) : tl::expected<T, Error>(std::move(other)) {}
};

using Status = Result<void>;

inline tl::unexpected<Error> fail(ErrorCode code, std::string message,
                                  std::vector<FieldError> details = {}) {
  return tl::unexpected<Error>(Error{code, std::move(message), std::move(details)});
}

inline Status ok() { return {}; }

}  // namespace databroker::core
