# A real Mosquitto on a free loopback port, for integration and end-to-end tests.
databroker_library(test_mosquitto
  SOURCES mosquitto.cc
  DEPS databroker::test_support)
