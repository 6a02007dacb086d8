#include "broker/server/cli.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "broker/access/key_store.h"
#include "broker/core/logging.h"
#include "broker/core/time.h"
#include "broker/server/admin_client.h"
#include "broker/server/app.h"
#include "broker/server/backup.h"
#include "broker/server/export.h"
#include "broker/server/paths.h"
#include "broker/server/version.h"
#include "policies/policy_file.h"

namespace databroker::server {

namespace {

constexpr int kExitUsage = 64;
constexpr int kExitConfig = 2;

constexpr std::string_view kMainHelp = R"(databroker — an IoT sensor data broker for cities

usage: databroker <command> [options]

commands:
  serve     run the broker (HTTP and MQTT ingest, REST reads)
  keys      create, list and revoke API keys
  policy    check a policy file, explain a decision
  backup    write a consistent backup of the data directory, also while the broker runs
  restore   restore a backup into a stopped broker's data directory
  export    write one stream's history as CSV or JSON lines
  version   print the version

Run `databroker <command> --help` for a command's options.
)";

constexpr std::string_view kServeHelp =
    R"(usage: databroker serve [--config FILE] [--log-format text|json]

Runs the broker until SIGTERM or SIGINT, then drains ingest, flushes the log and exits 0.

  --config FILE        configuration file (default: $DATABROKER_CONFIG, else databroker.yaml)
  --log-format FORMAT  text (default) or json lines; overrides logging.format

Environment overrides: DATABROKER_HTTP_LISTEN (host:port), DATABROKER_MQTT_URI,
DATABROKER_DATA_DIR; the MQTT password comes from DATABROKER_MQTT_PASSWORD or
mqtt.password_file, never from the command line.
Exit status: 0 after a clean stop, 1 when the broker cannot start, 2 for configuration problems.
)";

constexpr std::string_view kKeysHelp = R"(usage: databroker keys <create|list|revoke> [options]

  keys create --profile P [--label L] [--config FILE]
      creates a key for profile P and prints it once; only its hash is stored
  keys list [--config FILE]
      lists key ids, profiles, labels, creation and revocation times (never secrets)
  keys revoke ID [--config FILE]
      revokes a key; a running broker refuses it from its next request on

The keys live in <data_dir>/keys.json, shared with a running broker. The first admin key is made
with `databroker keys create --profile ops` (any profile with the admin right).
)";

constexpr std::string_view kPolicyHelp = R"(usage: databroker policy <check|explain> [options]

  policy check FILE [--config FILE]
      validates a policy document against the profiles and kinds of the configuration; prints
      every problem as file:line; exit status 1 when there are errors (warnings alone: 0)
  policy explain --stream S --profile P [--at TIME] [--policy FILE] [--config FILE]
                 [--kind K --zone Z --tags a,b --owner O]
      says which rule decides stream S, its class, whether profile P sees it (at TIME, default
      now) and through which view, and why earlier rules did not match. The stream's facts come
      from the sensors file; for an undeclared sensor give them with --kind, --zone, --tags and
      --owner. The policy is the configuration's policy_file unless --policy names another.
)";

constexpr std::string_view kBackupHelp =
    R"(usage: databroker backup DIR [--config FILE] [--key-file FILE]

Writes a consistent backup of the data directory into DIR, a folder that must not exist yet:
the whole database (readings, index, sensor registry, webhook cursors, audit trail) as a RocksDB
checkpoint, the key file, and a manifest. With the broker stopped the command writes it; while
the broker runs, the broker writes it (POST /v1/admin/backup), so DIR must be a path the broker
may write, and the command needs an admin key: from --key-file FILE (its first line) or
$DATABROKER_ADMIN_KEY, never from the command line. See docs/backup.md.
)";

constexpr std::string_view kRestoreHelp = R"(usage: databroker restore DIR [--config FILE]

Restores the backup in DIR into the configuration's data directory. The broker must be stopped.
The backup is copied and checked before anything is replaced; the database and key file it
replaces are kept beside it as *.before-restore-<time>.
)";

constexpr std::string_view kExportHelp =
    R"(usage: databroker export --stream S [--from TIME] [--to TIME] [--format csv|jsonl]
                         [--output FILE] [--config FILE] [--key-file FILE]

Writes every reading of stream S observed in [--from, --to) (RFC 3339 times; default: all),
oldest first, as CSV (default) or JSON lines, to FILE or standard output, with a progress bar
when standard error is a terminal. Raw readings: no policy view applies. While the broker runs
the export reads a checkpoint the broker writes inside its data directory (hard links, deleted
afterwards), which needs an admin key as for `databroker backup`.
)";

constexpr std::string_view kVersionHelp = R"(usage: databroker version

Prints the version of this databroker build.
)";

struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::string, std::less<>> options;  // --name value
  bool help = false;

  std::optional<std::string> option(std::string_view name) const {
    auto it = options.find(name);
    if (it == options.end()) return std::nullopt;
    return it->second;
  }
};

// The options each command accepts; anything else is a usage error.
constexpr std::string_view kKnownOptions[] = {
    "config", "profile", "label",  "log-format", "stream", "kind", "zone",   "tags",
    "owner",  "at",      "policy", "key-file",   "from",   "to",   "format", "output"};

// Parses `--name value` and `--name=value` options; anything unknown is a usage error.
std::optional<Args> parse_args(int argc, char** argv, int first, std::string& error) {
  Args args;
  for (int i = first; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      args.help = true;
      continue;
    }
    if (!arg.starts_with("--")) {
      args.positional.emplace_back(arg);
      continue;
    }
    std::string name(arg.substr(2));
    std::optional<std::string> value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    } else if (i + 1 < argc) {
      value = argv[++i];
    }
    if (!value) {
      error = "option --" + name + " needs a value";
      return std::nullopt;
    }
    if (std::find(std::begin(kKnownOptions), std::end(kKnownOptions), name) ==
        std::end(kKnownOptions)) {
      error = "unknown option --" + name;
      return std::nullopt;
    }
    args.options[name] = *value;
  }
  return args;
}

int usage_error(const std::string& message, std::string_view help) {
  std::fprintf(stderr, "databroker: %s\n\n%.*s", message.c_str(), static_cast<int>(help.size()),
               help.data());
  return kExitUsage;
}

std::optional<config::Config> load(const Args& args, int& exit_code) {
  auto env = config::process_environment();
  std::string path = args.option("config") ? *args.option("config")
                                           : env("DATABROKER_CONFIG").value_or("databroker.yaml");
  auto loaded = config::load_config(path, env);
  if (!loaded) {
    for (const auto& problem : loaded.error()) {
      std::fprintf(stderr, "%s\n", problem.to_string().c_str());
    }
    std::fprintf(stderr, "databroker: %zu configuration problem%s; nothing started\n",
                 loaded.error().size(), loaded.error().size() == 1 ? "" : "s");
    exit_code = kExitConfig;
    return std::nullopt;
  }
  return std::move(*loaded);
}

core::Result<std::unique_ptr<access::KeyStore>> open_keys(const config::Config& config,
                                                          const core::Clock& clock) {
  std::error_code ec;
  std::filesystem::create_directories(config.storage.data_dir, ec);
  if (ec) {
    return core::fail(
        core::ErrorCode::Unavailable,
        "cannot create data directory " + config.storage.data_dir + ": " + ec.message());
  }
  return access::KeyStore::open(key_file_path(config), clock);
}

int run_keys(const Args& args) {
  if (args.help) {
    std::fputs(std::string(kKeysHelp).c_str(), stdout);
    return 0;
  }
  if (args.positional.empty()) return usage_error("keys needs a subcommand", kKeysHelp);
  const std::string& action = args.positional[0];
  int exit_code = 0;
  auto config = load(args, exit_code);
  if (!config) return exit_code;
  core::SystemClock clock;
  auto store = open_keys(*config, clock);
  if (!store) {
    std::fprintf(stderr, "databroker: %s\n", store.error().message.c_str());
    return 1;
  }
  if (action == "create") {
    if (args.positional.size() != 1)
      return usage_error("keys create takes no arguments", kKeysHelp);
    const auto profile = args.option("profile");
    if (!profile) return usage_error("keys create needs --profile", kKeysHelp);
    auto profiles = access::ProfileSet::make(config->profiles);
    if (!profiles) {
      std::fprintf(stderr, "databroker: %s\n", profiles.error().message.c_str());
      return kExitConfig;
    }
    if (!profiles->find(*profile) || *profile == access::kPublicProfile) {
      std::fprintf(stderr, "databroker: no profile '%s' with keys in %s\n", profile->c_str(),
                   config->source.c_str());
      return 1;
    }
    auto created = (*store)->create(*profile, args.option("label").value_or(""));
    if (!created) {
      std::fprintf(stderr, "databroker: %s\n", created.error().message.c_str());
      return 1;
    }
    std::printf("%s\n", created->key.c_str());
    std::fprintf(stderr,
                 "created key %s for profile '%s'. It is shown only now: store it safely.\n",
                 created->record.id.c_str(), created->record.profile.c_str());
    return 0;
  }
  if (action == "list") {
    auto records = (*store)->list();
    if (!records) {
      std::fprintf(stderr, "databroker: %s\n", records.error().message.c_str());
      return 1;
    }
    std::printf("%-14s %-20s %-25s %-25s %s\n", "ID", "PROFILE", "CREATED", "REVOKED", "LABEL");
    for (const auto& r : *records) {
      std::printf("%-14s %-20s %-25s %-25s %s\n", r.id.c_str(), r.profile.c_str(),
                  core::format_rfc3339(r.created_at).c_str(),
                  r.revoked_at ? core::format_rfc3339(*r.revoked_at).c_str() : "-",
                  r.label.c_str());
    }
    return 0;
  }
  if (action == "revoke") {
    if (args.positional.size() != 2) return usage_error("keys revoke needs one key id", kKeysHelp);
    auto status = (*store)->revoke(args.positional[1]);
    if (!status) {
      std::fprintf(stderr, "databroker: %s\n", status.error().message.c_str());
      return status.error().code == core::ErrorCode::NotFound ? 3 : 1;
    }
    std::fprintf(stderr, "revoked key %s\n", args.positional[1].c_str());
    return 0;
  }
  return usage_error("unknown keys subcommand '" + action + "'", kKeysHelp);
}

std::set<std::string, std::less<>> profile_names(const config::Config& config) {
  std::set<std::string, std::less<>> out{std::string(access::kPublicProfile)};
  for (const auto& profile : config.profiles) out.insert(profile.name);
  return out;
}

std::set<std::string, std::less<>> kind_names(const config::Config& config) {
  core::KindCatalog kinds = core::KindCatalog::with_builtins();
  for (const auto& kind : config.extra_kinds) (void)kinds.add(kind);  // checked by the loader
  std::set<std::string, std::less<>> out;
  for (const auto& name : kinds.names()) out.insert(name);
  return out;
}

// Prints problems as file:line; returns the number of errors (warnings do not count).
std::size_t print_problems(const std::string& file,
                           const std::vector<policies::PolicyProblem>& problems) {
  std::size_t errors = 0;
  for (const auto& problem : problems) {
    std::fprintf(stderr, "%s\n", problem.to_string(file).c_str());
    if (!problem.is_warning) ++errors;
  }
  return errors;
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    auto comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    if (comma > start) out.push_back(text.substr(start, comma - start));
    start = comma + 1;
  }
  return out;
}

int run_policy(const Args& args) {
  if (args.help) {
    std::fputs(std::string(kPolicyHelp).c_str(), stdout);
    return 0;
  }
  if (args.positional.empty()) return usage_error("policy needs a subcommand", kPolicyHelp);
  const std::string& action = args.positional[0];
  int exit_code = 0;
  auto config = load(args, exit_code);
  if (!config) return exit_code;
  const auto profiles = profile_names(*config);
  const auto kinds = kind_names(*config);

  if (action == "check") {
    if (args.positional.size() != 2) return usage_error("policy check needs one FILE", kPolicyHelp);
    const std::string& file = args.positional[1];
    auto compiled = policies::load_policy_file(file, profiles, kinds);
    if (!compiled) {
      const std::size_t errors = print_problems(file, compiled.error());
      std::fprintf(stderr, "%s: %zu error%s; the policy would be refused\n", file.c_str(), errors,
                   errors == 1 ? "" : "s");
      return 1;
    }
    print_problems(file, (*compiled)->warnings());
    std::printf("%s: valid, %zu rules, version %s, %zu warning%s\n", file.c_str(),
                (*compiled)->rules().size(), (*compiled)->version().c_str(),
                (*compiled)->warnings().size(), (*compiled)->warnings().size() == 1 ? "" : "s");
    return 0;
  }
  if (action == "explain") {
    const auto stream = args.option("stream");
    const auto profile_name = args.option("profile");
    if (!stream || !profile_name) {
      return usage_error("policy explain needs --stream and --profile", kPolicyHelp);
    }
    const access::Profile* profile = nullptr;
    for (const auto& p : config->profiles) {
      if (p.name == *profile_name) profile = &p;
    }
    if (!profile && *profile_name != access::kPublicProfile) {
      std::fprintf(stderr, "databroker: no profile '%s' in %s\n", profile_name->c_str(),
                   config->source.c_str());
      return 1;
    }
    const std::string file = args.option("policy").value_or(config->policy_file);
    if (file.empty()) {
      std::fprintf(stderr, "databroker: no policy_file in %s and no --policy\n",
                   config->source.c_str());
      return 1;
    }
    auto compiled = policies::load_policy_file(file, profiles, kinds);
    if (!compiled) {
      print_problems(file, compiled.error());
      return 1;
    }
    policies::StreamFacts facts;
    facts.id = *stream;
    bool declared = false;
    for (const auto& sensor : config->sensors) {
      if (sensor.id == *stream) {
        facts = {sensor.id, sensor.kind, sensor.zone, sensor.tags, sensor.owner};
        declared = true;
      }
    }
    if (auto kind = args.option("kind")) facts.kind = *kind;
    if (auto zone = args.option("zone")) facts.zone = *zone;
    if (auto tags = args.option("tags")) facts.tags = split_list(*tags);
    if (auto owner = args.option("owner")) facts.owner = *owner;
    if (!declared && facts.kind.empty()) {
      std::fprintf(stderr,
                   "databroker: stream '%s' is not in the sensors file; give at least --kind\n",
                   stream->c_str());
      return 1;
    }
    core::TimestampMs at = core::SystemClock{}.now_ms();
    if (auto text = args.option("at")) {
      auto parsed = core::parse_rfc3339(*text);
      if (!parsed) return usage_error("--at takes an RFC 3339 time", kPolicyHelp);
      at = *parsed;
    }
    const policies::Caller caller{*profile_name, profile != nullptr && profile->internal};
    const auto explanation = policies::explain(**compiled, facts, caller, at);
    std::printf("stream %s (kind %s, zone '%s', owner '%s'), profile %s, at %s\n", facts.id.c_str(),
                facts.kind.c_str(), facts.zone.c_str(), facts.owner.c_str(), profile_name->c_str(),
                core::format_rfc3339(at).c_str());
    std::printf("policy %s version %s\n", file.c_str(), (*compiled)->version().c_str());
    for (const auto& step : explanation.steps) std::printf("  - %s\n", step.c_str());
    std::printf("class: %s\n",
                std::string(policies::to_string(explanation.decision.stream_class)).c_str());
    std::printf("%s\n", explanation.outcome.c_str());
    return 0;
  }
  return usage_error("unknown policy subcommand '" + action + "'", kPolicyHelp);
}

// The admin key for asking a running broker: --key-file (first line) or DATABROKER_ADMIN_KEY.
std::optional<std::string> admin_key(const Args& args, std::string& error) {
  if (auto file = args.option("key-file")) {
    std::ifstream in(*file);
    std::string key;
    if (!in || !std::getline(in, key)) {
      error = "cannot read a key from " + *file;
      return std::nullopt;
    }
    while (!key.empty() && (key.back() == '\r' || key.back() == ' ')) key.pop_back();
    return key;
  }
  if (auto key = config::process_environment()("DATABROKER_ADMIN_KEY"); key && !key->empty()) {
    return *key;
  }
  error =
      "the broker is running and holds the database: give an admin key with --key-file FILE "
      "or DATABROKER_ADMIN_KEY so that it writes the checkpoint";
  return std::nullopt;
}

// The detail of a problem+json answer, or the body itself.
std::string problem_detail(const AdminReply& reply) {
  const auto body = nlohmann::json::parse(reply.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_object() && body.contains("detail") && body["detail"].is_string()) {
    return body["detail"].get<std::string>();
  }
  return reply.body;
}

// Asks the running broker for a backup into `directory` (absolute).
core::Result<BackupManifest> backup_by_broker(const config::Config& config, const Args& args,
                                              const std::string& directory) {
  std::string error;
  auto key = admin_key(args, error);
  if (!key) return core::fail(core::ErrorCode::Unauthenticated, error);
  auto reply =
      post_to_broker(config.http, *key, "/v1/admin/backup",
                     nlohmann::json{{"directory", directory}}.dump(), std::chrono::seconds(600));
  if (!reply) return tl::unexpected(std::move(reply.error()));
  if (reply->status != 201) {
    return core::fail(
        core::ErrorCode::Unavailable,
        "the broker answered " + std::to_string(reply->status) + ": " + problem_detail(*reply));
  }
  return parse_manifest(reply->body);
}

enum class Opened { Directly, InUse };

// Opens the configuration's database when no broker holds it.
core::Result<std::pair<Opened, std::unique_ptr<log::Storage>>> open_database(
    const config::Config& config) {
  const std::string path = database_path(config);
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    return core::fail(core::ErrorCode::NotFound, "no database in " + config.storage.data_dir);
  }
  auto storage = log::open_rocksdb_storage({path, config.storage.durability});
  if (storage) return std::pair{Opened::Directly, std::move(*storage)};
  if (log::is_in_use(storage.error()))
    return std::pair{Opened::InUse, std::unique_ptr<log::Storage>()};
  return tl::unexpected(std::move(storage.error()));
}

std::string absolute_path(const std::string& text) {
  std::filesystem::path path = std::filesystem::absolute(text).lexically_normal();
  if (!path.has_filename()) path = path.parent_path();  // "dir/" names dir
  return path.string();
}

int fail_with(const core::Error& error) {
  std::fprintf(stderr, "databroker: %s\n", error.message.c_str());
  return 1;
}

int run_backup(const Args& args) {
  if (args.help) {
    std::fputs(std::string(kBackupHelp).c_str(), stdout);
    return 0;
  }
  if (args.positional.size() != 1) return usage_error("backup needs one DIR", kBackupHelp);
  int exit_code = 0;
  auto config = load(args, exit_code);
  if (!config) return exit_code;
  core::set_log_level(core::LogLevel::Warn);
  const std::string directory = absolute_path(args.positional[0]);
  auto database = open_database(*config);
  if (!database) return fail_with(database.error());
  core::SystemClock clock;
  const bool by_broker = database->first == Opened::InUse;
  auto manifest = by_broker ? backup_by_broker(*config, args, directory)
                            : write_backup(*database->second, key_file_path(*config), directory,
                                           clock.now_ms());
  if (!manifest) return fail_with(manifest.error());
  std::printf("backup written to %s: every reading up to seq %llu%s, %s by the %s\n",
              directory.c_str(), static_cast<unsigned long long>(manifest->last_seq),
              manifest->has_keys ? ", the key file" : "",
              core::format_rfc3339(manifest->created_at).c_str(),
              by_broker ? "running broker" : "command (no broker was running)");
  return 0;
}

int run_restore(const Args& args) {
  if (args.help) {
    std::fputs(std::string(kRestoreHelp).c_str(), stdout);
    return 0;
  }
  if (args.positional.size() != 1) return usage_error("restore needs one DIR", kRestoreHelp);
  int exit_code = 0;
  auto config = load(args, exit_code);
  if (!config) return exit_code;
  core::set_log_level(core::LogLevel::Warn);
  core::SystemClock clock;
  auto report = restore_backup(absolute_path(args.positional[0]), *config, clock.now_ms());
  if (!report) return fail_with(report.error());
  std::printf("restored the backup of %s (readings up to seq %llu) into %s\n",
              core::format_rfc3339(report->manifest.created_at).c_str(),
              static_cast<unsigned long long>(report->last_seq), config->storage.data_dir.c_str());
  if (!report->previous_database.empty()) {
    std::printf("the database it replaced is kept in %s; delete it once satisfied\n",
                report->previous_database.c_str());
  }
  if (!report->previous_keys.empty()) {
    std::printf("the key file it replaced is kept in %s\n", report->previous_keys.c_str());
  }
  return 0;
}

// A one-line progress bar on standard error, redrawn at most ten times a second.
class ProgressBar {
 public:
  void show(const ExportProgress& progress) {
    const auto now = std::chrono::steady_clock::now();
    if (progress.fraction < 1.0 && now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    constexpr int kWidth = 30;
    const int filled = static_cast<int>(progress.fraction * kWidth);
    std::fprintf(stderr, "\r[%s%s] %3d%%  %llu readings", std::string(filled, '#').c_str(),
                 std::string(kWidth - filled, '.').c_str(),
                 static_cast<int>(progress.fraction * 100),
                 static_cast<unsigned long long>(progress.readings));
    std::fflush(stderr);
    drawn_ = true;
  }
  ~ProgressBar() {
    if (drawn_) std::fputc('\n', stderr);
  }

 private:
  std::chrono::steady_clock::time_point last_{};
  bool drawn_ = false;
};

int run_export(const Args& args) {
  if (args.help) {
    std::fputs(std::string(kExportHelp).c_str(), stdout);
    return 0;
  }
  if (!args.positional.empty()) return usage_error("export takes no arguments", kExportHelp);
  ExportRequest request;
  if (auto stream = args.option("stream")) {
    request.stream = *stream;
  } else {
    return usage_error("export needs --stream", kExportHelp);
  }
  if (!core::is_valid_sensor_id(request.stream)) {
    return usage_error("--stream is not a valid stream id", kExportHelp);
  }
  for (auto [name, bound] : {std::pair{"from", &request.from}, std::pair{"to", &request.to}}) {
    if (auto text = args.option(name)) {
      auto parsed = core::parse_rfc3339(*text);
      if (!parsed)
        return usage_error(std::string("--") + name + " takes an RFC 3339 time", kExportHelp);
      *bound = *parsed;
    }
  }
  const std::string format = args.option("format").value_or("csv");
  if (format == "jsonl") {
    request.format = ExportFormat::Jsonl;
  } else if (format != "csv") {
    return usage_error("--format is csv or jsonl", kExportHelp);
  }
  int exit_code = 0;
  auto config = load(args, exit_code);
  if (!config) return exit_code;
  core::set_log_level(core::LogLevel::Warn);
  core::KindCatalog kinds = core::KindCatalog::with_builtins();
  for (const auto& kind : config->extra_kinds) (void)kinds.add(kind);  // checked by the loader

  auto database = open_database(*config);
  if (!database) return fail_with(database.error());
  std::unique_ptr<log::Storage> storage = std::move(database->second);
  // While the broker runs, read a checkpoint of it inside the data directory (same file system:
  // hard links), removed when the export ends however it ends.
  std::string checkpoint_dir;
  struct RemoveCheckpoint {
    std::string& dir;
    std::unique_ptr<log::Storage>& storage;
    ~RemoveCheckpoint() {
      storage.reset();
      std::error_code ignored;
      if (!dir.empty()) std::filesystem::remove_all(dir, ignored);
    }
  } remove_checkpoint{checkpoint_dir, storage};
  if (database->first == Opened::InUse) {
    core::SystemClock clock;
    const std::string directory =
        absolute_path(config->storage.data_dir + "/export-" + std::to_string(::getpid()) + "-" +
                      std::to_string(clock.now_ms()));
    auto manifest = backup_by_broker(*config, args, directory);
    if (!manifest) return fail_with(manifest.error());
    checkpoint_dir = directory;
    auto opened = log::open_rocksdb_storage({directory + "/db", log::Durability::Buffered});
    if (!opened) return fail_with(opened.error());
    storage = std::move(*opened);
  }

  const auto output = args.option("output");
  const bool to_stdout = !output || *output == "-";
  const std::string partial = to_stdout ? "" : *output + ".partial";
  std::FILE* out = to_stdout ? stdout : std::fopen(partial.c_str(), "wb");
  if (out == nullptr) {
    std::fprintf(stderr, "databroker: cannot write %s: %s\n", partial.c_str(),
                 std::strerror(errno));
    return 1;
  }
  const bool show_progress =
      ::isatty(STDERR_FILENO) == 1 && (!to_stdout || ::isatty(STDOUT_FILENO) != 1);
  std::optional<ProgressBar> bar;
  if (show_progress) bar.emplace();
  auto written = export_stream(
      storage->log(), kinds, request,
      [out](std::string_view bytes) {
        return std::fwrite(bytes.data(), 1, bytes.size(), out) == bytes.size();
      },
      [&bar](const ExportProgress& progress) {
        if (bar) bar->show(progress);
      });
  bar.reset();
  const bool flushed = std::fflush(out) == 0 && std::ferror(out) == 0;
  if (!to_stdout) std::fclose(out);
  if (!written || !flushed) {
    if (!to_stdout) std::remove(partial.c_str());
    if (!written) return fail_with(written.error());
    std::fprintf(stderr, "databroker: writing the export failed\n");
    return 1;
  }
  if (!to_stdout && std::rename(partial.c_str(), output->c_str()) != 0) {
    std::fprintf(stderr, "databroker: cannot rename %s: %s\n", partial.c_str(),
                 std::strerror(errno));
    return 1;
  }
  std::fprintf(stderr, "exported %llu readings of %s\n", static_cast<unsigned long long>(*written),
               request.stream.c_str());
  return 0;
}

int run_serve(const Args& args) {
  if (args.help) {
    std::fputs(std::string(kServeHelp).c_str(), stdout);
    return 0;
  }
  if (!args.positional.empty()) return usage_error("serve takes no arguments", kServeHelp);
  int exit_code = 0;
  auto config = load(args, exit_code);
  if (!config) return exit_code;
  if (const auto log_format = args.option("log-format")) {
    if (*log_format == "json")
      config->logging.format = config::LogFormat::Json;
    else if (*log_format == "text")
      config->logging.format = config::LogFormat::Text;
    else
      return usage_error("--log-format is text or json", kServeHelp);
  }
  return run_server(*config);
}

}  // namespace

int run_cli(int argc, char** argv) {
  if (argc < 2) return usage_error("a command is needed", kMainHelp);
  std::string_view command = argv[1];
  if (command == "--help" || command == "-h" || command == "help") {
    std::fputs(std::string(kMainHelp).c_str(), stdout);
    return 0;
  }
  std::string error;
  auto args = parse_args(argc, argv, 2, error);
  std::string_view help = command == "policy"    ? kPolicyHelp
                          : command == "serve"   ? kServeHelp
                          : command == "keys"    ? kKeysHelp
                          : command == "backup"  ? kBackupHelp
                          : command == "restore" ? kRestoreHelp
                          : command == "export"  ? kExportHelp
                          : command == "version" ? kVersionHelp
                                                 : kMainHelp;
  if (!args) return usage_error(error, help);
  if (command == "backup") return run_backup(*args);
  if (command == "restore") return run_restore(*args);
  if (command == "export") return run_export(*args);
  if (command == "serve") return run_serve(*args);
  if (command == "keys") return run_keys(*args);
  if (command == "policy") return run_policy(*args);
  if (command == "version") {
    if (args->help) {
      std::fputs(std::string(kVersionHelp).c_str(), stdout);
      return 0;
    }
    std::printf("databroker %s\n", kVersion);
    return 0;
  }
  return usage_error("unknown command '" + std::string(command) + "'", kMainHelp);
}

}  // namespace databroker::server
