# Small synchronous HTTP and WebSocket clients (Beast) for integration and end-to-end tests.
databroker_library(test_http_client
  SOURCES http_client.cc ws_client.cc
  DEPS databroker::core Boost::headers)
