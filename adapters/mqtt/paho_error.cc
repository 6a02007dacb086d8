#include "adapters/mqtt/paho_error.h"

namespace databroker::mqtt {

core::Error to_error(const ::mqtt::exception& error, std::string_view operation) {
  core::ErrorCode code = core::ErrorCode::Unavailable;
  switch (error.get_return_code()) {
    case MQTTASYNC_BAD_PROTOCOL:
    case MQTTASYNC_BAD_STRUCTURE:
    case MQTTASYNC_BAD_QOS:
    case MQTTASYNC_NULL_PARAMETER:
    case MQTTASYNC_BAD_UTF8_STRING:
    case MQTTASYNC_BAD_MQTT_OPTION:
    case MQTTASYNC_WRONG_MQTT_VERSION:
      code = core::ErrorCode::InvalidArgument;
      break;
    default:
      break;
  }
  return core::Error{code, std::string(operation) + ": " + error.what(), {}};
}

std::string describe_failure(const ::mqtt::token& token) {
  int rc = token.get_return_code();
  return ::mqtt::exception::printable_error(rc, token.get_reason_code(),
                                            ::mqtt::exception::error_str(rc));
}

}  // namespace databroker::mqtt
