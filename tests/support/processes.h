// Child processes and ports for integration and end-to-end tests: start a real program (the
// databroker binary, mosquitto, mosquitto_pub), stop it with a chosen signal, find a free
// loopback port, and wait for a condition with a deadline instead of sleeping.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace databroker::testing {

// A free TCP port on 127.0.0.1 (bound and released; the OS does not hand it out again at once).
std::uint16_t free_port();

// True once `condition` holds, checked every `poll` until `deadline` passes.
bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds deadline,
                std::chrono::milliseconds poll = std::chrono::milliseconds(20));

// True when something accepts TCP connections on 127.0.0.1:port.
bool port_accepts(std::uint16_t port);

// A running child. The destructor kills it (SIGKILL) and reaps it, so a failing test never
// leaves a process behind.
class ChildProcess {
 public:
  // Starts `argv[0]` (searched in PATH) with extra environment variables; stdout and stderr go
  // to `log_file` when given (appended), else are inherited.
  static ChildProcess start(const std::vector<std::string>& argv,
                            const std::map<std::string, std::string>& env = {},
                            const std::string& log_file = "");

  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ~ChildProcess();

  pid_t pid() const { return pid_; }
  bool running();
  // Sends `signal` and waits up to `timeout` for the exit; returns the exit status as from
  // waitpid, or nothing when it did not exit in time (it is then SIGKILLed).
  std::optional<int> stop(int signal, std::chrono::milliseconds timeout);
  // Waits for a natural exit; returns the exit code (or 128+signal).
  std::optional<int> wait(std::chrono::milliseconds timeout);

 private:
  explicit ChildProcess(pid_t pid) : pid_(pid) {}
  pid_t pid_ = -1;
  std::optional<int> status_;
};

// Runs a command to completion and returns its exit code (or -1 if it could not run).
int run_command(const std::vector<std::string>& argv, std::chrono::milliseconds timeout);

// The whole content of a file, or "" when it cannot be read.
std::string read_file(const std::string& path);

}  // namespace databroker::testing
