// What the listener, the sessions and the server share, and who owns what.
//
// ServerState (configuration, metrics, dispatcher) is held by the server and by every session
// through shared_ptr, so a session that outlives the server (an ingest completion still holding
// it) never touches freed state.
//
// Lifeline owns the io_context and says whether completions may still post to it. The server
// holds it; a session never does (a session waiting in the io_context's queue would otherwise
// keep its own io_context alive). A pending `Respond` holds it, so a late ingest completion can
// always either post to a live io_context or, after stop, drop its session while the io_context
// still exists. `alive` turns false once, under `mutex`, before the io_context stops.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <memory>
#include <mutex>

#include "adapters/http/dispatcher.h"
#include "adapters/http/metrics.h"
#include "adapters/http/server.h"
#include "broker/config/config.h"

namespace databroker::http {

struct Lifeline {
  explicit Lifeline(int threads) : ioc(threads) {}
  std::mutex mutex;  // guards alive
  bool alive = true;
  boost::asio::io_context ioc;
};

struct ServerState {
  ServerState(const config::HttpConfig& http_config, Services services)
      : config(http_config), dispatcher(config, std::move(services), metrics) {}

  const config::HttpConfig config;
  HttpMetrics metrics;
  Dispatcher dispatcher;
  std::weak_ptr<Lifeline> lifeline;
  // Requests read and not yet fully answered; stop() waits for zero (up to its grace).
  std::atomic<std::int64_t> in_flight{0};
  // Set when stop() begins: answers then close their connection.
  std::atomic<bool> stopping{false};
  // SSE wake-ups come from the ingest committer, a foreign thread. They post to the io_context
  // only while `wake_open` is true, under `wake_mutex`; stop() closes it before the io_context
  // stops, so no post can reach a stopped or destroyed io_context. (Lifeline cannot serve here:
  // a wake-up holding it could end up destroying the io_context on the committer thread.)
  std::mutex wake_mutex;
  bool wake_open = true;
};

}  // namespace databroker::http
