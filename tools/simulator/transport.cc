#include "tools/simulator/transport.h"

#include <mqtt/async_client.h>

#include <deque>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "tools/common/http_connection.h"

namespace databroker::simulator {

namespace http = boost::beast::http;

std::uint64_t Summary::refused_total() const {
  std::uint64_t total = 0;
  for (const auto& [reason, count] : refused) total += count;
  return total;
}

namespace {

constexpr const char* kTransportError = "transport_error";

class MqttPublisher final : public Publisher {
 public:
  MqttPublisher(std::unique_ptr<mqtt::async_client> client, int qos)
      : client_(std::move(client)), qos_(qos) {}

  ~MqttPublisher() override {
    try {
      if (client_->is_connected()) client_->disconnect()->wait_for(std::chrono::seconds(2));
    } catch (const mqtt::exception&) {
      // Going away anyway; the summary has been printed.
    }
  }

  void publish(const Message& message) override {
    ++summary_.sent;
    try {
      in_flight_.push_back(client_->publish(message.topic, message.body, qos_, false));
    } catch (const mqtt::exception&) {
      ++summary_.refused[kTransportError];
    }
    settle();
    // Bound what waits in Paho's buffer: wait for the oldest once the window is full.
    while (in_flight_.size() > kWindow) settle_front(std::chrono::seconds(10));
  }

  void finish(std::chrono::milliseconds deadline) override {
    const auto until = std::chrono::steady_clock::now() + deadline;
    while (!in_flight_.empty()) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          until - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      settle_front(left);
    }
    summary_.refused[kTransportError] += in_flight_.size();
    in_flight_.clear();
    if (summary_.refused[kTransportError] == 0) summary_.refused.erase(kTransportError);
  }

  Summary summary() const override { return summary_; }

 private:
  static constexpr std::size_t kWindow = 1000;

  // Pops the completed tokens at the front.
  void settle() {
    while (!in_flight_.empty() && in_flight_.front()->is_complete()) {
      count(*in_flight_.front());
      in_flight_.pop_front();
    }
  }

  void settle_front(std::chrono::milliseconds wait) {
    auto token = in_flight_.front();
    in_flight_.pop_front();
    try {
      if (!token->wait_for(wait)) {
        ++summary_.refused[kTransportError];
        return;
      }
    } catch (const mqtt::exception&) {
      ++summary_.refused[kTransportError];
      return;
    }
    count(*token);
  }

  void count(const mqtt::delivery_token& token) {
    if (token.get_return_code() == 0) {
      ++summary_.acknowledged;
    } else {
      ++summary_.refused[kTransportError];
    }
  }

  std::unique_ptr<mqtt::async_client> client_;
  int qos_;
  std::deque<mqtt::delivery_token_ptr> in_flight_;
  Summary summary_;
};

class HttpPublisher final : public Publisher {
 public:
  HttpPublisher(std::unique_ptr<tools::HttpConnection> connection, HttpSettings settings)
      : connection_(std::move(connection)), settings_(std::move(settings)) {}

  void publish(const Message& message) override {
    if (message.http_target == "/v1/readings") {
      batch_ += batch_count_ == 0 ? "[" : ",";
      batch_ += native_json(message.expected, /*with_target=*/true);
      if (++batch_count_ >= settings_.batch) flush();
      return;
    }
    post(message.http_target, message.content_type, message.body, 1);
  }

  void finish(std::chrono::milliseconds) override { flush(); }

  Summary summary() const override { return summary_; }

 private:
  void flush() {
    if (batch_count_ == 0) return;
    batch_ += "]";
    post("/v1/readings", "application/json", batch_, batch_count_);
    batch_.clear();
    batch_count_ = 0;
  }

  void post(const std::string& target, const std::string& content_type, const std::string& body,
            std::uint64_t readings) {
    summary_.sent += readings;
    try {
      auto res = connection_->request(http::verb::post, target, settings_.key, body, content_type);
      if (res.result() == http::status::accepted) {
        auto answer = nlohmann::json::parse(res.body(), nullptr, false);
        summary_.acknowledged += answer.is_object() ? answer.value("accepted", readings) : readings;
        return;
      }
      for (const auto& [reason, count] :
           refusals_from_problem(res.result_int(), res.body(), readings)) {
        summary_.refused[reason] += count;
      }
    } catch (const std::exception&) {
      summary_.refused[kTransportError] += readings;
    }
  }

  std::unique_ptr<tools::HttpConnection> connection_;
  HttpSettings settings_;
  std::string batch_;
  std::size_t batch_count_ = 0;
  Summary summary_;
};

}  // namespace

core::Result<std::unique_ptr<Publisher>> connect_mqtt(const MqttSettings& settings) {
  try {
    auto client = std::make_unique<mqtt::async_client>(
        "tcp://" + settings.host + ":" + std::to_string(settings.port), settings.client_id,
        mqtt::create_options(MQTTVERSION_3_1_1, 2000));
    auto options = mqtt::connect_options_builder()
                       .clean_session(true)
                       .max_inflight(1000)
                       .connect_timeout(std::chrono::seconds(5))
                       .finalize();
    client->connect(options)->wait();
    return std::unique_ptr<Publisher>(
        std::make_unique<MqttPublisher>(std::move(client), settings.qos));
  } catch (const mqtt::exception& e) {
    return core::fail(core::ErrorCode::Unavailable, "cannot connect to MQTT at " + settings.host +
                                                        ":" + std::to_string(settings.port) + ": " +
                                                        e.what());
  }
}

core::Result<std::unique_ptr<Publisher>> connect_http(const HttpSettings& settings) {
  try {
    auto connection = std::make_unique<tools::HttpConnection>(settings.host, settings.port);
    return std::unique_ptr<Publisher>(
        std::make_unique<HttpPublisher>(std::move(connection), settings));
  } catch (const std::exception& e) {
    return core::fail(core::ErrorCode::Unavailable, "cannot connect to HTTP at " + settings.host +
                                                        ":" + std::to_string(settings.port) + ": " +
                                                        e.what());
  }
}

std::optional<MqttCounters> parse_mqtt_counters(const std::string& text) {
  const std::string stored = "databroker_readings_ingested_total{path=\"mqtt\"} ";
  const std::string refused = "databroker_mqtt_messages_rejected_total{reason=\"";
  MqttCounters out;
  bool found = false;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(stored, 0) == 0) {
      out.stored = std::stoull(line.substr(stored.size()));
      found = true;
    } else if (line.rfind(refused, 0) == 0) {
      const auto end = line.find("\"} ", refused.size());
      if (end == std::string::npos) continue;
      out.refused[line.substr(refused.size(), end - refused.size())] =
          static_cast<std::uint64_t>(std::stod(line.substr(end + 3)));
    }
  }
  if (!found) return std::nullopt;
  return out;
}

std::optional<MqttCounters> read_mqtt_counters(const std::string& host, unsigned short port) {
  try {
    tools::HttpConnection connection(host, port);
    auto res = connection.request(http::verb::get, "/metrics", "", "");
    if (res.result() != http::status::ok) return std::nullopt;
    return parse_mqtt_counters(res.body());
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::map<std::string, std::uint64_t> refusals_from_problem(unsigned status, const std::string& body,
                                                           std::uint64_t readings) {
  std::map<std::string, std::uint64_t> out;
  auto problem = nlohmann::json::parse(body, nullptr, false);
  std::string type = "http_" + std::to_string(status);
  if (problem.is_object() && problem.contains("type") && problem["type"].is_string()) {
    type = problem["type"].get<std::string>();
    type = type.substr(type.find_last_of(":/") + 1);
  }
  std::set<std::uint64_t> named;
  if (problem.is_object() && problem.contains("errors") && problem["errors"].is_array()) {
    for (const auto& error : problem["errors"]) {
      if (!error.is_object()) continue;
      const std::string field = error.value("field", "");
      const std::string reason = error.value("reason", type);
      std::uint64_t index = 0;
      if (readings > 1) {
        if (field.size() < 3 || field[0] != '[') continue;
        index = std::strtoull(field.c_str() + 1, nullptr, 10);
      }
      if (index < readings && named.insert(index).second) ++out[reason];
    }
  }
  if (named.size() < readings) out[type] += readings - named.size();
  return out;
}

}  // namespace databroker::simulator
