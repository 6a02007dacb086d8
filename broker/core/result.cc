#include "broker/core/result.h"

namespace databroker::core {

std::string_view to_string(ErrorCode code) {
  switch (code) {
    case ErrorCode::InvalidArgument:
      return "invalid_argument";
    case ErrorCode::Unauthenticated:
      return "unauthenticated";
    case ErrorCode::PermissionDenied:
      return "permission_denied";
    case ErrorCode::NotFound:
      return "not_found";
    case ErrorCode::Conflict:
      return "conflict";
    case ErrorCode::ResourceExhausted:
      return "resource_exhausted";
    case ErrorCode::Unavailable:
      return "unavailable";
    case ErrorCode::Corruption:
      return "corruption";
    case ErrorCode::Internal:
      return "internal";
  }
  return "internal";
}

}  // namespace databroker::core
