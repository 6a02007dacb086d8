// HttpServer: owns the io_context (through the Lifeline), the listener and the threads, and
// orders start and stop.
#include "adapters/http/server.h"

#include <thread>
#include <vector>

#include "adapters/http/listener.h"
#include "adapters/http/router.h"
#include "adapters/http/server_state.h"
#include "broker/core/logging.h"

namespace databroker::http {

struct HttpServer::Impl {
  Impl(const config::HttpConfig& config, Services services)
      : state(std::make_shared<ServerState>(config, std::move(services))),
        lifeline(std::make_shared<Lifeline>(std::max(1, config.threads))) {
    state->lifeline = lifeline;
  }

  std::shared_ptr<ServerState> state;
  std::shared_ptr<Lifeline> lifeline;
  std::shared_ptr<Listener> listener;
  std::vector<std::thread> threads;
  std::uint16_t port = 0;
  bool started = false;
  bool stopped = false;
};

HttpServer::HttpServer(const config::HttpConfig& config, Services services)
    : impl_(std::make_unique<Impl>(config, std::move(services))) {}

HttpServer::~HttpServer() { stop(); }

core::Status HttpServer::start() {
  if (impl_->started) {
    return core::fail(core::ErrorCode::Internal, "the HTTP server can be started only once");
  }
  auto& ioc = impl_->lifeline->ioc;
  impl_->listener = std::make_shared<Listener>(ioc, impl_->state);
  auto port = impl_->listener->open(impl_->state->config.host, impl_->state->config.port);
  if (!port) {
    impl_->listener.reset();
    return tl::unexpected(std::move(port.error()));
  }
  impl_->port = *port;
  impl_->started = true;
  impl_->listener->run();
  const int threads = std::max(1, impl_->state->config.threads);
  for (int i = 0; i < threads; ++i) {
    impl_->threads.emplace_back([&ioc] {
      // No exception may leave a thread's entry function; handlers catch their own, so one
      // reaching here is a bug worth a log line, and the thread keeps serving.
      while (true) {
        try {
          ioc.run();
          return;
        } catch (const std::exception& e) {
          core::log_error("http",
                          std::string("uncaught exception on a server thread: ") + e.what());
        } catch (...) {
          core::log_error("http", "uncaught exception on a server thread");
        }
      }
    });
  }
  core::log_info("http",
                 "listening on " + impl_->state->config.host + ":" + std::to_string(impl_->port));
  return core::ok();
}

std::uint16_t HttpServer::port() const { return impl_->port; }

const Router& HttpServer::router() const { return impl_->state->dispatcher.router(); }

void HttpServer::stop(std::chrono::milliseconds grace) {
  if (!impl_->started || impl_->stopped) return;
  impl_->stopped = true;
  impl_->state->stopping = true;
  impl_->listener->stop();

  // Let requests already read finish (an ingest batch waiting for its commit, a page being
  // written) before connections are cut.
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (impl_->state->in_flight.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  {
    std::lock_guard lock(impl_->state->wake_mutex);
    impl_->state->wake_open = false;
  }
  {
    std::lock_guard lock(impl_->lifeline->mutex);
    impl_->lifeline->alive = false;
  }
  impl_->lifeline->ioc.stop();
  for (auto& thread : impl_->threads) thread.join();
  impl_->threads.clear();

  // Destroying the io_context (unless a late ingest completion still holds it) destroys every
  // remaining session and so closes its socket. The listener's acceptor goes first: it must not
  // outlive the io_context.
  impl_->listener.reset();
  impl_->lifeline.reset();
  core::log_info("http", "stopped");
}

}  // namespace databroker::http
