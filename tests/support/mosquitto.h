// A real Mosquitto for integration and end-to-end tests.
//
// Listens on a free loopback port, with its configuration, persistence file and log in a TempDir
// that dies with the object. stop() and start() keep the port and the persistence file, so a
// test can restart the MQTT broker under a running client and expect persistent sessions and
// queued QoS 1 messages to survive (Mosquitto writes its database on SIGTERM and every second).
//
// Use from one test thread. The destructor kills a running Mosquitto.
#pragma once

#include <signal.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "broker/core/result.h"
#include "tests/support/processes.h"
#include "tests/support/temp_dir.h"

namespace databroker::testing {

class MosquittoServer {
 public:
  // Picks the port and writes the configuration; does not start Mosquitto yet, so a test can
  // start a client before the MQTT broker exists.
  MosquittoServer();
  ~MosquittoServer();
  MosquittoServer(const MosquittoServer&) = delete;
  MosquittoServer& operator=(const MosquittoServer&) = delete;

  // Replaces anonymous access by a password file and an ACL file (mosquitto_passwd and
  // mosquitto.conf(5) formats), for tests of access control. Call before start().
  void use_access_control(const std::string& password_file, const std::string& acl_file);

  // Starts `mosquitto -c` and waits until the port accepts connections. Fails (with the tail of
  // Mosquitto's log) when it exits or does not listen within `deadline`.
  core::Status start(std::chrono::milliseconds deadline = std::chrono::seconds(10));
  // Sends `signal` (SIGTERM: clean shutdown that saves the persistence file; SIGKILL: a crash)
  // and waits for the exit. A no-op when not running.
  void stop(int signal = SIGTERM);
  bool is_running();

  std::uint16_t port() const { return port_; }
  std::string port_text() const { return std::to_string(port_); }
  // `tcp://127.0.0.1:<port>`, for Paho.
  std::string uri() const;
  // Mosquitto's log so far (log_type all: connections, SUBSCRIBE, PUBLISH lines).
  std::string log() const;
  // True once the log contains `text`, checked until `deadline`. For instance
  // "Received SUBSCRIBE from <client id>" tells that a mosquitto_sub is ready.
  bool wait_for_log(std::string_view text, std::chrono::milliseconds deadline) const;

 private:
  TempDir dir_;
  std::uint16_t port_;
  std::string config_path_;
  std::string log_path_;
  std::optional<ChildProcess> process_;
  std::string access_lines_;  // empty: anonymous access

  void write_config();
};

}  // namespace databroker::testing
