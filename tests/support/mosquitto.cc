#include "tests/support/mosquitto.h"

#include <pwd.h>
#include <unistd.h>

namespace databroker::testing {

namespace {

// Mosquitto started as root switches to the `user` account (default "mosquitto"), which could
// not write the persistence file in our temp dir; naming the current user keeps it as it is.
std::string current_user_name() {
  const passwd* entry = ::getpwuid(::geteuid());
  return entry && entry->pw_name ? entry->pw_name : "root";
}

}  // namespace

MosquittoServer::MosquittoServer()
    : port_(free_port()),
      config_path_(dir_.file("mosquitto.conf")),
      log_path_(dir_.file("mosquitto.log")) {
  write_config();
}

void MosquittoServer::use_access_control(const std::string& password_file,
                                         const std::string& acl_file) {
  access_lines_ =
      "allow_anonymous false\npassword_file " + password_file + "\nacl_file " + acl_file + "\n";
  write_config();
}

void MosquittoServer::write_config() {
  std::string config;
  config += "listener " + std::to_string(port_) + " 127.0.0.1\n";
  config += access_lines_.empty() ? "allow_anonymous true\n" : access_lines_;
  config += "user " + current_user_name() + "\n";
  config += "persistence true\n";
  config += "persistence_location " + dir_.path().string() + "/\n";
  config += "autosave_interval 1\n";
  // Tests publish thousands of QoS 1 messages to a stopped client; the default (1000) would
  // drop some and make a "nothing is lost" test fail for the wrong reason.
  config += "max_queued_messages 100000\n";
  config += "log_dest file " + log_path_ + "\n";
  config += "log_type all\n";
  write_file(config_path_, config);
}

MosquittoServer::~MosquittoServer() { stop(SIGKILL); }

core::Status MosquittoServer::start(std::chrono::milliseconds deadline) {
  if (is_running()) {
    return core::ok();
  }
  process_.emplace(
      ChildProcess::start({"mosquitto", "-c", config_path_}, {}, dir_.file("mosquitto.out")));
  bool listening = wait_until([&] { return !process_->running() || port_accepts(port_); }, deadline,
                              std::chrono::milliseconds(10));
  if (listening && process_->running()) {
    return core::ok();
  }
  process_.reset();
  std::string tail = log() + read_file(dir_.file("mosquitto.out"));
  if (tail.size() > 2000) {
    tail = tail.substr(tail.size() - 2000);
  }
  return core::fail(core::ErrorCode::Unavailable,
                    "mosquitto did not listen on port " + port_text() + ": " + tail);
}

void MosquittoServer::stop(int signal) {
  if (!process_) {
    return;
  }
  process_->stop(signal, std::chrono::seconds(10));
  process_.reset();
}

bool MosquittoServer::is_running() { return process_ && process_->running(); }

std::string MosquittoServer::uri() const { return "tcp://127.0.0.1:" + port_text(); }

std::string MosquittoServer::log() const { return read_file(log_path_); }

bool MosquittoServer::wait_for_log(std::string_view text,
                                   std::chrono::milliseconds deadline) const {
  return wait_until([&] { return log().find(text) != std::string::npos; }, deadline);
}

}  // namespace databroker::testing
