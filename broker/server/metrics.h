// Prometheus text exposition of the broker's own counters (ingest, MQTT, log, registry, audit,
// retention). The HTTP server appends its request metrics to this text.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "adapters/mqtt/mqtt_ingest.h"
#include "adapters/mqtt/republisher.h"
#include "adapters/webhook/webhook_delivery.h"
#include "broker/access/audit.h"
#include "broker/ingest/pipeline.h"
#include "broker/log/reading_log.h"
#include "broker/registry/sensor_registry.h"
#include "broker/server/retention.h"
#include "policies/engine.h"

namespace databroker::server {

// Policy reloads (at start, SIGHUP, POST /v1/admin/policy/reload), by outcome.
struct PolicyReloadCounters {
  std::atomic<std::uint64_t> installed{0};
  std::atomic<std::uint64_t> rejected{0};
};

struct MetricSources {
  const ingest::IngestPipeline& pipeline;
  const log::ReadingLog& log;
  const registry::SensorRegistry& registry;
  const mqtt::MqttIngest* mqtt;  // null when MQTT ingest is disabled
  const access::AuditTrail* audit;
  std::size_t queue_capacity = 0;
  const RetentionCounters* retention = nullptr;  // null: no retention families
  const mqtt::Republisher* republish = nullptr;  // null when MQTT republish is off
  // Partner webhooks; null: no webhook families (the counters also when delivery is disabled).
  const hub::WebhookRegistry* webhooks = nullptr;
  const webhook::DeliveryCounters* webhook_delivery = nullptr;
  // The policy in force and its reloads; null: no policy families.
  const policies::PolicyEngine* policy = nullptr;
  const PolicyReloadCounters* policy_reloads = nullptr;
};

std::string render_metrics(const MetricSources& sources);

}  // namespace databroker::server
