// The real databroker binary for end-to-end tests, started as the README starts it
// (`databroker serve --config deploy/databroker.example.yaml`) with only the per-host settings
// overridden from the environment: a free HTTP port, the test's Mosquitto, a temporary data
// directory. Uses Catch2's REQUIRE, so only from a test case's thread.
//
// The including target defines DATABROKER_BINARY and DATABROKER_SOURCE_DIR.
#pragma once

#include <signal.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/http_client.h"
#include "tests/support/mosquitto.h"
#include "tests/support/processes.h"
#include "tests/support/temp_dir.h"

namespace databroker::testing {

inline const std::string kBinary = DATABROKER_BINARY;
inline const std::string kExampleConfig =
    std::string(DATABROKER_SOURCE_DIR) + "/deploy/databroker.example.yaml";

// The status of GET `target`, 0 while nothing listens.
inline unsigned probe(std::uint16_t port, const std::string& target) {
  try {
    return HttpClient(port).get(target).status;
  } catch (const std::exception&) {
    return 0;
  }
}

class Broker {
 public:
  Broker(const MosquittoServer& mosquitto, std::string config = kExampleConfig)
      : config_(std::move(config)), port_(free_port()) {
    env_ = {{"DATABROKER_HTTP_LISTEN", "127.0.0.1:" + std::to_string(port_)},
            {"DATABROKER_MQTT_URI", mosquitto.uri()},
            {"DATABROKER_DATA_DIR", dir_.file("data")}};
  }

  // Starts `databroker serve` and waits until /healthz answers.
  void start() {
    process_.emplace(
        ChildProcess::start({kBinary, "serve", "--config", config_}, env_, log_path()));
    bool up = wait_until(
        [&] {
          if (!process_->running()) return true;
          return probe(port_, "/healthz") == 200;
        },
        std::chrono::seconds(20), std::chrono::milliseconds(20));
    INFO(log());
    REQUIRE(up);
    REQUIRE(process_->running());
  }

  bool wait_ready(std::chrono::milliseconds deadline = std::chrono::seconds(15)) {
    return wait_until([&] { return probe(port_, "/readyz") == 200; }, deadline);
  }

  void signal(int signal) { ::kill(process_->pid(), signal); }

  std::optional<int> stop(int signal) {
    auto code = process_->stop(signal, std::chrono::seconds(30));
    return code;
  }

  // Runs `databroker <args> --config <config>` with the same environment; returns exit code and
  // combined output.
  std::pair<int, std::string> cli(std::vector<std::string> args) {
    std::string out = dir_.file("cli-" + std::to_string(cli_runs_++) + ".log");
    std::vector<std::string> argv{kBinary};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back("--config");
    argv.push_back(config_);
    auto child = ChildProcess::start(argv, env_, out);
    auto code = child.wait(std::chrono::seconds(30));
    return {code.value_or(-1), read_file(out)};
  }

  // The same, with standard input, output and error on a pseudo-terminal (util-linux `script`),
  // as when an operator runs the command by hand; the output is what the terminal showed.
  std::pair<int, std::string> cli_in_terminal(const std::vector<std::string>& args) {
    std::string command = "'" + kBinary + "'";
    for (const auto& arg : args) command += " '" + arg + "'";
    command += " --config '" + config_ + "'";
    std::string out = dir_.file("cli-" + std::to_string(cli_runs_++) + ".log");
    auto child = ChildProcess::start({"script", "-qec", command, "/dev/null"}, env_, out);
    auto code = child.wait(std::chrono::seconds(30));
    return {code.value_or(-1), read_file(out)};
  }

  std::string create_key(const std::string& profile) {
    auto [code, output] = cli({"keys", "create", "--profile", profile, "--label", "e2e"});
    REQUIRE(code == 0);
    auto pos = output.find("dbk_");
    REQUIRE(pos != std::string::npos);
    return output.substr(pos, output.find('\n', pos) - pos);
  }

  // An environment variable for the broker and every later cli() run.
  void set_env(const std::string& name, const std::string& value) { env_[name] = value; }

  std::uint16_t port() const { return port_; }
  std::string data_dir() const { return dir_.file("data"); }
  std::string log() const { return read_file(log_path()); }
  const TempDir& dir() const { return dir_; }

 private:
  std::string log_path() const { return dir_.file("broker.log"); }

  TempDir dir_;
  std::string config_;
  std::uint16_t port_;
  std::map<std::string, std::string> env_;
  std::optional<ChildProcess> process_;
  int cli_runs_ = 0;
};

// Every reading in the log, by seq, read through the cross-stream feed as `key`.
inline std::map<std::uint64_t, nlohmann::json> read_all(std::uint16_t port,
                                                        const std::string& key) {
  std::map<std::uint64_t, nlohmann::json> out;
  HttpClient client(port);
  std::uint64_t after = 0;
  for (int page = 0; page < 10000; ++page) {
    auto reply =
        client.get("/v1/readings?after_seq=" + std::to_string(after) + "&limit=1000", bearer(key));
    REQUIRE(reply.status == 200);
    auto body = nlohmann::json::parse(reply.body);
    for (auto& r : body["readings"]) out[r["seq"].get<std::uint64_t>()] = r;
    std::uint64_t next = body["next_after_seq"].get<std::uint64_t>();
    if (body["readings"].empty() && next == after) break;
    after = next;
  }
  return out;
}

}  // namespace databroker::testing
