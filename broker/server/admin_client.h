// The command line's way to a running broker: one HTTP/1.1 request to its REST API on the
// configured listen address (a wildcard address is reached on loopback), with an admin key.
// Used where only the process holding the database can act (a consistent backup).
#pragma once

#include <chrono>
#include <string>

#include "broker/config/config.h"
#include "broker/core/result.h"

namespace databroker::server {

struct AdminReply {
  unsigned status = 0;
  std::string body;
};

// POSTs `json_body` to `target` with `Authorization: Bearer <key>`. Unavailable when the broker
// cannot be reached or does not answer within `timeout`.
core::Result<AdminReply> post_to_broker(const config::HttpConfig& http, const std::string& key,
                                        const std::string& target, const std::string& json_body,
                                        std::chrono::seconds timeout);

}  // namespace databroker::server
