#include "broker/registry/sensor_registry.h"

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>
#include <utility>

namespace databroker::registry {

namespace {

using core::ErrorCode;
using core::fail;
using core::FieldError;
using Json = nlohmann::json;
using OrderedJson = nlohmann::ordered_json;

constexpr std::string_view kNamespace = "sensors";

bool is_newer(const Reading& candidate, const Reading& current) {
  return std::tie(candidate.ts, candidate.seq) > std::tie(current.ts, current.seq);
}

std::string field_name(std::string_view prefix, std::string_view field) {
  std::string out(prefix);
  out.append(field);
  return out;
}

// The id as a storage key or message fragment, cut short when it is not a valid id and so may
// be anything.
std::string printable_id(std::string_view id) {
  if (core::is_valid_sensor_id(id)) {
    return std::string(id);
  }
  return "(invalid id)";
}

void decode_text(const Json& object, const char* name, std::string& out,
                 std::vector<FieldError>& problems) {
  auto it = object.find(name);
  if (it == object.end() || it->is_null()) {
    return;
  }
  if (!it->is_string()) {
    problems.push_back({name, "wrong_type", std::string(name) + " must be a string"});
    return;
  }
  out = it->get<std::string>();
}

void decode_location(const Json& value, SensorInfo& info, std::vector<FieldError>& problems) {
  if (value.is_null()) {
    return;
  }
  if (!value.is_object()) {
    problems.push_back({"location", "wrong_type", "location must be an object {lat, lon, alt}"});
    return;
  }
  core::Location location;
  bool complete = true;
  for (const char* axis : {"lat", "lon"}) {
    auto it = value.find(axis);
    if (it == value.end() || !it->is_number()) {
      problems.push_back({std::string("location.") + axis, "missing",
                          std::string(axis) + " is required and must be a number"});
      complete = false;
      continue;
    }
    (std::string_view(axis) == "lat" ? location.lat : location.lon) = it->get<double>();
  }
  if (auto alt = value.find("alt"); alt != value.end() && !alt->is_null()) {
    if (alt->is_number()) {
      location.alt = alt->get<double>();
    } else {
      problems.push_back({"location.alt", "wrong_type", "alt must be a number"});
      complete = false;
    }
  }
  if (complete) {
    info.location = location;
  }
}

}  // namespace

std::vector<FieldError> validate_sensor(const SensorInfo& info, std::string_view prefix) {
  std::vector<FieldError> problems;
  if (!core::is_valid_sensor_id(info.id)) {
    problems.push_back({field_name(prefix, "id"), "invalid_sensor_id",
                        "a sensor id is 1 to 128 characters of A-Z, a-z, 0-9, '.', '_', ':' "
                        "and '-'"});
  }
  if (!core::is_valid_kind_name(info.kind)) {
    problems.push_back({field_name(prefix, "kind"), "invalid_kind",
                        "a kind is a lowercase letter then up to 63 of a-z, 0-9 and '_'"});
  }
  if (info.location) {
    // Written as negations so that NaN fails too.
    if (!(info.location->lat >= -90 && info.location->lat <= 90)) {
      problems.push_back({field_name(prefix, "location.lat"), "out_of_range",
                          "latitude must be within [-90, 90]"});
    }
    if (!(info.location->lon >= -180 && info.location->lon <= 180)) {
      problems.push_back({field_name(prefix, "location.lon"), "out_of_range",
                          "longitude must be within [-180, 180]"});
    }
    if (info.location->alt && !std::isfinite(*info.location->alt)) {
      problems.push_back(
          {field_name(prefix, "location.alt"), "out_of_range", "altitude must be a finite number"});
    }
  }
  return problems;
}

std::string encode_sensor(const SensorInfo& info) {
  OrderedJson doc = OrderedJson::object();
  doc["id"] = info.id;
  doc["kind"] = info.kind;
  doc["name"] = info.name;
  if (info.location) {
    OrderedJson location = OrderedJson::object();
    location["lat"] = info.location->lat;
    location["lon"] = info.location->lon;
    if (info.location->alt) {
      location["alt"] = *info.location->alt;
    }
    doc["location"] = std::move(location);
  }
  doc["zone"] = info.zone;
  doc["tags"] = info.tags;
  doc["owner"] = info.owner;
  doc["steward"] = info.steward;
  doc["declared"] = info.declared;
  doc["registered_at"] = info.registered_at;
  // `replace`: an encoder that can fail on a stray byte in a name would make a whole
  // registration fail; a replaced character is the lesser harm.
  return doc.dump(-1, ' ', false, OrderedJson::error_handler_t::replace);
}

Result<SensorInfo> decode_sensor(std::string_view json) noexcept {
  // The one place JSON exceptions of this module are converted. Only bad_alloc can escape the
  // handlers below, and noexcept turns it into the crash the house style wants on OOM.
  try {
    const Json doc = Json::parse(json);
    if (!doc.is_object()) {
      return fail(ErrorCode::InvalidArgument, "a sensor record must be a JSON object");
    }
    SensorInfo info;
    std::vector<FieldError> problems;
    for (auto [name, out] : {std::pair{"id", &info.id}, std::pair{"kind", &info.kind}}) {
      auto it = doc.find(name);
      if (it == doc.end() || !it->is_string()) {
        problems.push_back(
            {name, "missing", std::string(name) + " is required and must be a string"});
      } else {
        *out = it->get<std::string>();
      }
    }
    decode_text(doc, "name", info.name, problems);
    decode_text(doc, "zone", info.zone, problems);
    decode_text(doc, "owner", info.owner, problems);
    decode_text(doc, "steward", info.steward, problems);
    if (auto tags = doc.find("tags"); tags != doc.end() && !tags->is_null()) {
      if (!tags->is_array()) {
        problems.push_back({"tags", "wrong_type", "tags must be an array of strings"});
      } else {
        for (const auto& tag : *tags) {
          if (!tag.is_string()) {
            problems.push_back({"tags", "wrong_type", "tags must be an array of strings"});
            break;
          }
          info.tags.push_back(tag.get<std::string>());
        }
      }
    }
    if (auto location = doc.find("location"); location != doc.end()) {
      decode_location(*location, info, problems);
    }
    if (auto declared = doc.find("declared"); declared != doc.end() && !declared->is_null()) {
      if (declared->is_boolean()) {
        info.declared = declared->get<bool>();
      } else {
        problems.push_back({"declared", "wrong_type", "declared must be true or false"});
      }
    }
    if (auto at = doc.find("registered_at"); at != doc.end() && !at->is_null()) {
      if (at->is_number_unsigned() &&
          at->get<std::uint64_t>() >
              static_cast<std::uint64_t>(std::numeric_limits<TimestampMs>::max())) {
        problems.push_back({"registered_at", "out_of_range", "registered_at is too large"});
      } else if (at->is_number_integer()) {
        info.registered_at = at->get<TimestampMs>();
      } else {
        problems.push_back(
            {"registered_at", "wrong_type", "registered_at must be an integer (epoch ms)"});
      }
    }
    // A field missing or of the wrong type is reported once, not again as invalid.
    std::set<std::string> reported;
    for (const auto& problem : problems) {
      reported.insert(problem.field);
    }
    for (auto& problem : validate_sensor(info)) {
      if (reported.count(problem.field) == 0) {
        problems.push_back(std::move(problem));
      }
    }
    if (!problems.empty()) {
      return fail(ErrorCode::InvalidArgument, "invalid sensor record", std::move(problems));
    }
    return info;
  } catch (const Json::parse_error& e) {
    return fail(ErrorCode::InvalidArgument,
                std::string("a sensor record is not JSON: ") + e.what());
  } catch (const Json::exception& e) {
    return fail(ErrorCode::InvalidArgument, std::string("invalid sensor record: ") + e.what());
  }
}

Result<std::unique_ptr<SensorRegistry>> SensorRegistry::open(log::MetaStore& meta, bool strict) {
  std::unique_ptr<SensorRegistry> registry(new SensorRegistry(meta, strict));
  auto records = meta.scan(kNamespace);
  if (!records) {
    return tl::unexpected(records.error());
  }
  for (auto& [key, value] : *records) {
    auto info = decode_sensor(value);
    if (!info) {
      std::string message =
          "stored sensor record " + printable_id(key) + " is invalid: " + info.error().message;
      return fail(ErrorCode::Corruption, std::move(message), std::move(info.error().details));
    }
    if (info->id != key) {
      return fail(ErrorCode::Corruption, "stored sensor record " + printable_id(key) +
                                             " holds the sensor " + printable_id(info->id));
    }
    registry->entries_.emplace(key, Entry{std::move(*info), std::nullopt, 0});
  }
  return registry;
}

Status SensorRegistry::persist(const SensorInfo& info) {
  return meta_.put(kNamespace, info.id, encode_sensor(info));
}

Status SensorRegistry::declare(std::span<const SensorInfo> sensors, TimestampMs now) {
  std::vector<FieldError> problems;
  std::set<std::string_view> seen;
  for (std::size_t i = 0; i < sensors.size(); ++i) {
    const std::string prefix = "sensors[" + std::to_string(i) + "].";
    auto found = validate_sensor(sensors[i], prefix);
    problems.insert(problems.end(), std::make_move_iterator(found.begin()),
                    std::make_move_iterator(found.end()));
    if (!seen.insert(sensors[i].id).second) {
      problems.push_back({prefix + "id", "duplicate",
                          "the sensor " + printable_id(sensors[i].id) + " is declared twice"});
    }
  }
  if (!problems.empty()) {
    return fail(ErrorCode::InvalidArgument, "invalid sensor declarations", std::move(problems));
  }

  std::lock_guard registration(registration_mutex_);
  for (const auto& sensor : sensors) {
    SensorInfo info = sensor;
    info.declared = true;
    std::optional<SensorInfo> stored = find(info.id);
    if (stored) {
      info.registered_at = stored->registered_at;
    } else if (info.registered_at == 0) {
      info.registered_at = now;
    }
    // A restart re-declares the whole file; rewriting unchanged records would be wasted I/O.
    if (stored && *stored == info) {
      continue;
    }
    if (auto persisted = persist(info); !persisted) {
      return persisted;
    }
    std::unique_lock lock(mutex_);
    auto it = entries_.find(info.id);
    if (it == entries_.end()) {
      std::string id = info.id;
      entries_.emplace(std::move(id), Entry{std::move(info), std::nullopt, 0});
    } else {
      it->second.info = std::move(info);
    }
  }
  return core::ok();
}

std::optional<SensorInfo> SensorRegistry::find(std::string_view id) const {
  std::shared_lock lock(mutex_);
  auto it = entries_.find(id);
  if (it == entries_.end()) {
    return std::nullopt;
  }
  return it->second.info;
}

bool SensorRegistry::contains(std::string_view id) const {
  std::shared_lock lock(mutex_);
  return entries_.find(id) != entries_.end();
}

std::optional<std::string> SensorRegistry::kind_of(std::string_view id) const {
  std::shared_lock lock(mutex_);
  auto it = entries_.find(id);
  if (it == entries_.end()) {
    return std::nullopt;
  }
  return it->second.info.kind;
}

std::size_t SensorRegistry::size() const {
  std::shared_lock lock(mutex_);
  return entries_.size();
}

Status SensorRegistry::register_seen(std::string_view id, std::string_view kind, TimestampMs now) {
  if (contains(id)) {
    return core::ok();
  }
  std::vector<FieldError> problems;
  if (!core::is_valid_sensor_id(id)) {
    problems.push_back({"sensor", "invalid_sensor_id",
                        "a sensor id is 1 to 128 characters of A-Z, a-z, 0-9, '.', '_', ':' "
                        "and '-'"});
  }
  if (!core::is_valid_kind_name(kind)) {
    problems.push_back(
        {"kind", "invalid_kind", "a kind is a lowercase letter then up to 63 of a-z, 0-9 and '_'"});
  }
  if (!problems.empty()) {
    return fail(ErrorCode::InvalidArgument, "invalid sensor", std::move(problems));
  }
  if (strict_) {
    return fail(ErrorCode::InvalidArgument, "unknown sensor " + std::string(id),
                {{"sensor", "undeclared_sensor",
                  "only declared sensors are accepted: the registry is strict"}});
  }

  std::lock_guard registration(registration_mutex_);
  // Declared meanwhile (declare holds the same mutex while it writes).
  if (contains(id)) {
    return core::ok();
  }
  SensorInfo info;
  info.id = std::string(id);
  info.kind = std::string(kind);
  info.registered_at = now;
  if (auto persisted = persist(info); !persisted) {
    return persisted;
  }
  std::string key = info.id;
  std::unique_lock lock(mutex_);
  entries_.emplace(std::move(key), Entry{std::move(info), std::nullopt, 0});
  return core::ok();
}

void SensorRegistry::observe(std::span<const Reading> readings) {
  // Pick each stream's newest reading of the batch before locking, so a batch of many readings
  // of one sensor copies one Reading, and the exclusive lock is short.
  struct Update {
    const Reading* newest = nullptr;
    std::uint64_t count = 0;
  };
  std::map<std::string_view, Update> updates;
  for (const auto& reading : readings) {
    Update& update = updates[reading.sensor_id];
    ++update.count;
    if (update.newest == nullptr || is_newer(reading, *update.newest)) {
      update.newest = &reading;
    }
  }
  std::unique_lock lock(mutex_);
  for (const auto& [id, update] : updates) {
    auto it = entries_.find(id);
    if (it == entries_.end()) {
      continue;
    }
    Entry& entry = it->second;
    entry.accepted += update.count;
    if (!entry.latest || is_newer(*update.newest, *entry.latest)) {
      entry.latest = *update.newest;
    }
  }
}

std::optional<StreamState> SensorRegistry::stream(std::string_view id) const {
  std::shared_lock lock(mutex_);
  auto it = entries_.find(id);
  if (it == entries_.end()) {
    return std::nullopt;
  }
  return StreamState{it->second.info, it->second.latest, it->second.accepted};
}

std::vector<StreamState> SensorRegistry::streams() const {
  std::shared_lock lock(mutex_);
  std::vector<StreamState> out;
  out.reserve(entries_.size());
  for (const auto& [id, entry] : entries_) {
    out.push_back(StreamState{entry.info, entry.latest, entry.accepted});
  }
  return out;
}

Status SensorRegistry::rebuild_latest(const log::ReadingLog& log) {
  std::vector<std::string> ids;
  {
    std::shared_lock lock(mutex_);
    ids.reserve(entries_.size());
    for (const auto& [id, entry] : entries_) {
      ids.push_back(id);
    }
  }
  // The log is read without the lock; observe() may run meanwhile, hence the newer-wins merge.
  for (const auto& id : ids) {
    auto latest = log.latest(id);
    if (!latest) {
      return tl::unexpected(latest.error());
    }
    if (!*latest) {
      continue;
    }
    std::unique_lock lock(mutex_);
    auto it = entries_.find(id);
    if (it != entries_.end() && (!it->second.latest || is_newer(**latest, *it->second.latest))) {
      it->second.latest = std::move(**latest);
    }
  }
  return core::ok();
}

Status SensorRegistry::forget_removed_latest(std::string_view id, const log::ReadingLog& log,
                                             const std::function<bool(const Reading&)>& removed) {
  // Under the lock, so that a reading observed meanwhile cannot be overwritten by an older one;
  // one short log read, and only for a stream whose latest reading was just deleted.
  std::unique_lock lock(mutex_);
  auto it = entries_.find(id);
  if (it == entries_.end() || !it->second.latest || !removed(*it->second.latest)) {
    return core::ok();
  }
  auto latest = log.latest(id);
  if (!latest) {
    return tl::unexpected(latest.error());
  }
  it->second.latest = std::move(*latest);
  return core::ok();
}

}  // namespace databroker::registry
