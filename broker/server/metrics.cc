#include "broker/server/metrics.h"

#include "broker/core/prometheus.h"

namespace databroker::server {

namespace {

using Exposition = core::PrometheusText;

std::string label(std::string_view name, std::string_view value) {
  return core::prometheus_label(name, value);
}

}  // namespace

std::string render_metrics(const MetricSources& s) {
  Exposition e;
  const auto& c = s.pipeline.counters();
  e.family("databroker_readings_ingested_total", "counter",
           "Readings stored in the durable log, by ingest path.");
  e.sample("databroker_readings_ingested_total", label("path", "http"), c.accepted_http.load());
  e.sample("databroker_readings_ingested_total", label("path", "mqtt"), c.accepted_mqtt.load());
  e.family("databroker_readings_rejected_total", "counter",
           "Validation problems in refused batches, by reason.");
  for (const auto& [reason, count] : s.pipeline.rejections_by_reason()) {
    e.sample("databroker_readings_rejected_total", label("reason", reason),
             static_cast<double>(count));
  }
  e.family("databroker_ingest_batches_rejected_total", "counter",
           "Batches refused by validation (nothing of them stored).");
  e.sample("databroker_ingest_batches_rejected_total", "", c.rejected_batches.load());
  e.family("databroker_ingest_queue_full_total", "counter",
           "Submissions refused because the ingest queue was full.");
  e.sample("databroker_ingest_queue_full_total", "", c.queue_full.load());
  e.family("databroker_ingest_queue_readings", "gauge", "Readings queued or being written.");
  e.sample("databroker_ingest_queue_readings", "", c.queued_readings.load());
  e.family("databroker_ingest_queue_capacity_readings", "gauge", "Bound of the ingest queue.");
  e.sample("databroker_ingest_queue_capacity_readings", "", static_cast<double>(s.queue_capacity));
  e.family("databroker_log_commits_total", "counter", "Group commits to the durable log.");
  e.sample("databroker_log_commits_total", "", c.commits.load());
  e.family("databroker_log_commit_failures_total", "counter",
           "Group commits the log refused (disk full, I/O error).");
  e.sample("databroker_log_commit_failures_total", "", c.commit_failures.load());
  e.family("databroker_log_committed_readings_total", "counter",
           "Readings written by group commits; divided by commits, the mean batch size.");
  e.sample("databroker_log_committed_readings_total", "", c.committed_readings.load());
  e.family("databroker_log_commit_seconds_total", "counter",
           "Time spent in group commits, fsync included.");
  e.sample("databroker_log_commit_seconds_total", "",
           static_cast<double>(c.commit_micros_total.load()) / 1e6);
  e.family("databroker_log_commit_duration_seconds", "histogram",
           "Time per group commit (register new sensors, one atomic log write, fsync with sync "
           "durability).");
  e.histogram("databroker_log_commit_duration_seconds", "", c.commit_seconds);
  e.family("databroker_log_commit_readings", "histogram", "Readings per group commit.");
  e.histogram("databroker_log_commit_readings", "", c.commit_readings);
  if (const auto size = s.log.size_bytes()) {
    e.family("databroker_log_size_bytes", "gauge",
             "Bytes the log's readings and stream index take in RocksDB (SST files and "
             "memtables; the WAL not included).");
    e.sample("databroker_log_size_bytes", "", static_cast<double>(*size));
  }
  e.family("databroker_log_last_seq", "gauge", "Highest seq in the durable log.");
  e.sample("databroker_log_last_seq", "", static_cast<double>(s.log.last_seq()));
  e.family("databroker_log_first_seq", "gauge", "Lowest seq still stored (after retention).");
  e.sample("databroker_log_first_seq", "", static_cast<double>(s.log.first_seq()));
  e.family("databroker_streams", "gauge", "Streams known to the registry.");
  e.sample("databroker_streams", "", static_cast<double>(s.registry.size()));
  if (s.audit) {
    const auto& a = s.audit->counters();
    e.family("databroker_audit_records_total", "counter",
             "Audit records by outcome: recorded (accepted), written (stored), dropped (queue "
             "full), lost (given up after write failures).");
    e.sample("databroker_audit_records_total", label("outcome", "recorded"), a.recorded.load());
    e.sample("databroker_audit_records_total", label("outcome", "written"), a.written.load());
    e.sample("databroker_audit_records_total", label("outcome", "dropped"), a.dropped.load());
    e.sample("databroker_audit_records_total", label("outcome", "lost"), a.lost.load());
    e.family("databroker_audit_queue_records", "gauge", "Audit records waiting to be written.");
    e.sample("databroker_audit_queue_records", "", a.queued.load());
  }
  if (s.retention) {
    const auto& r = *s.retention;
    e.family("databroker_retention_readings_removed_total", "counter",
             "Readings removed from the log by retention: by storage.retention (global) or by "
             "the retention of the policy rule deciding their stream (rule).");
    e.sample("databroker_retention_readings_removed_total", label("by", "global"),
             r.removed_global.load());
    e.sample("databroker_retention_readings_removed_total", label("by", "rule"),
             r.removed_rule.load());
    e.family("databroker_retention_passes_total", "counter", "Retention passes run.");
    e.sample("databroker_retention_passes_total", "", r.passes.load());
    e.family("databroker_retention_failures_total", "counter",
             "Retention steps that failed (the global step, or one stream's); logged.");
    e.sample("databroker_retention_failures_total", "", r.failures.load());
  }
  if (s.mqtt) {
    const auto& m = s.mqtt->counters();
    e.family("databroker_mqtt_connected", "gauge", "1 while connected to the MQTT broker.");
    e.sample("databroker_mqtt_connected", "", s.mqtt->is_connected() ? 1 : 0);
    e.family("databroker_mqtt_messages_received_total", "counter", "MQTT messages received.");
    e.sample("databroker_mqtt_messages_received_total", "", m.received.load());
    e.family("databroker_mqtt_messages_rejected_total", "counter",
             "MQTT messages refused, by reason.");
    for (const auto& [reason, count] : s.mqtt->rejections_by_reason()) {
      e.sample("databroker_mqtt_messages_rejected_total", label("reason", reason),
               static_cast<double>(count));
    }
    e.family("databroker_mqtt_messages_lost_total", "counter",
             "MQTT messages acknowledged to the MQTT broker but not stored (crash window, stop "
             "while the queue was full, or a failed commit). Alert on any increase.");
    e.sample("databroker_mqtt_messages_lost_total", "", m.lost.load());
    e.family("databroker_mqtt_backpressure_waits_total", "counter",
             "MQTT messages that waited for room in the ingest queue.");
    e.sample("databroker_mqtt_backpressure_waits_total", "", m.backpressure_waits.load());
    e.family("databroker_mqtt_error_reports_total", "counter",
             "Validation error reports published to the error topic.");
    e.sample("databroker_mqtt_error_reports_total", "", m.error_reports.load());
    e.family("databroker_mqtt_connects_total", "counter", "Successful (re)connections.");
    e.sample("databroker_mqtt_connects_total", "", m.connects.load());
    e.family("databroker_mqtt_connection_losses_total", "counter", "Lost connections.");
    e.sample("databroker_mqtt_connection_losses_total", "", m.connection_losses.load());
  }
  if (s.republish) {
    const auto stats = s.republish->stats();
    e.family("databroker_mqtt_republish_connected", "gauge",
             "1 while the republisher is connected to the MQTT broker.");
    e.sample("databroker_mqtt_republish_connected", "", stats.connected ? 1 : 0);
    e.family("databroker_mqtt_republish_events_total", "counter",
             "Readings republished to MQTT and acknowledged by the MQTT broker, by target (open, "
             "partner:{profile}).");
    for (const auto& t : stats.targets) {
      e.sample("databroker_mqtt_republish_events_total", label("target", t.name),
               static_cast<double>(t.published));
    }
    e.family("databroker_mqtt_republish_failures_total", "counter",
             "Publishes refused or failed (each rewinds its target to its acknowledged cursor).");
    for (const auto& t : stats.targets) {
      e.sample("databroker_mqtt_republish_failures_total", label("target", t.name),
               static_cast<double>(t.failures));
    }
    e.family("databroker_mqtt_republish_in_flight", "gauge",
             "Publishes awaiting the MQTT broker's acknowledgement (bounded by max_in_flight).");
    for (const auto& t : stats.targets) {
      e.sample("databroker_mqtt_republish_in_flight", label("target", t.name),
               static_cast<double>(t.in_flight));
    }
    e.family("databroker_mqtt_republish_acknowledged_seq", "gauge",
             "Every reading a target may see up to this seq was acknowledged; saved as its "
             "resume position.");
    for (const auto& t : stats.targets) {
      e.sample("databroker_mqtt_republish_acknowledged_seq", label("target", t.name),
               static_cast<double>(t.acknowledged));
    }
    e.family("databroker_mqtt_republish_behind_retention_total", "counter",
             "Resumes that found readings removed by retention before they were republished.");
    for (const auto& t : stats.targets) {
      e.sample("databroker_mqtt_republish_behind_retention_total", label("target", t.name),
               static_cast<double>(t.behind_retention));
    }
  }
  if (s.webhooks) {
    e.family("databroker_webhooks", "gauge", "Registered partner webhooks.");
    e.sample("databroker_webhooks", "", static_cast<double>(s.webhooks->size()));
    e.family("databroker_webhooks_paused", "gauge",
             "Webhooks paused after failing for webhooks.pause_after; they wait for a resume.");
    e.sample("databroker_webhooks_paused", "", static_cast<double>(s.webhooks->paused_count()));
  }
  if (s.webhook_delivery) {
    const auto& w = *s.webhook_delivery;
    e.family("databroker_webhook_deliveries_total", "counter",
             "Webhook batches the receiver answered with a 2xx.");
    e.sample("databroker_webhook_deliveries_total", "", w.deliveries.load());
    e.family("databroker_webhook_events_delivered_total", "counter",
             "Events in webhook batches answered with a 2xx.");
    e.sample("databroker_webhook_events_delivered_total", "", w.events.load());
    e.family("databroker_webhook_failures_total", "counter",
             "Failed webhook attempts (refused, timed out, or answered with a non-2xx).");
    e.sample("databroker_webhook_failures_total", "", w.failures.load());
    e.family("databroker_webhook_pauses_total", "counter", "Times a webhook was paused.");
    e.sample("databroker_webhook_pauses_total", "", w.pauses.load());
  }
  if (s.policy) {
    e.family("databroker_policy_info", "gauge", "The version of the policy in force (always 1).");
    e.sample("databroker_policy_info", label("version", s.policy->snapshot()->version()), 1);
  }
  if (s.policy_reloads) {
    e.family("databroker_policy_reloads_total", "counter",
             "Policy loads by outcome: installed, or rejected (the version in force stays).");
    e.sample("databroker_policy_reloads_total", label("result", "installed"),
             s.policy_reloads->installed.load());
    e.sample("databroker_policy_reloads_total", label("result", "rejected"),
             s.policy_reloads->rejected.load());
  }
  return e.take();
}

}  // namespace databroker::server
