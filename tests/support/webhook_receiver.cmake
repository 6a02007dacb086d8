#A webhook receiver(raw sockets, OpenSSL HMAC and TLS) for webhook integration and end - to - end
#tests.
databroker_library(test_webhook_receiver SOURCES webhook_receiver.cc DEPS databroker::core
                       nlohmann_json::nlohmann_json OpenSSL::SSL OpenSSL::Crypto Threads::Threads)
