// Where the broker keeps its state inside the data directory. One place, so the CLI and the
// server always agree.
#pragma once

#include <string>

#include "broker/config/config.h"

namespace databroker::server {

inline std::string database_path(const config::Config& config) {
  return config.storage.data_dir + "/db";
}

inline std::string key_file_path(const config::Config& config) {
  return config.storage.data_dir + "/keys.json";
}

}  // namespace databroker::server
