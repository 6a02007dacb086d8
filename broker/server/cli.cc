#include "broker/server/cli.h"

#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/access/key_store.h"
#include "broker/core/logging.h"
#include "broker/core/time.h"
#include "broker/server/app.h"
#include "broker/server/paths.h"
#include "broker/server/version.h"

namespace databroker::server {

namespace {

constexpr int kExitUsage = 64;
constexpr int kExitConfig = 2;

constexpr std::string_view kMainHelp = R"(databroker — an IoT sensor data broker for cities

usage: databroker <command> [options]

commands:
  serve     run the broker (HTTP and MQTT ingest, REST reads)
  keys      create, list and revoke API keys
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

constexpr std::string_view kVersionHelp = R"(usage: databroker version

Prints the version of this databroker build.
)";

struct Args {
  std::vector<std::string> positional;
  std::optional<std::string> config;
  std::optional<std::string> profile;
  std::optional<std::string> label;
  std::optional<std::string> log_format;
  bool help = false;
};

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
    if (name == "config")
      args.config = value;
    else if (name == "profile")
      args.profile = value;
    else if (name == "label")
      args.label = value;
    else if (name == "log-format")
      args.log_format = value;
    else {
      error = "unknown option --" + name;
      return std::nullopt;
    }
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
  std::string path =
      args.config ? *args.config : env("DATABROKER_CONFIG").value_or("databroker.yaml");
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
    if (!args.profile) return usage_error("keys create needs --profile", kKeysHelp);
    auto profiles = access::ProfileSet::make(config->profiles);
    if (!profiles) {
      std::fprintf(stderr, "databroker: %s\n", profiles.error().message.c_str());
      return kExitConfig;
    }
    if (!profiles->find(*args.profile) || *args.profile == access::kPublicProfile) {
      std::fprintf(stderr, "databroker: no profile '%s' with keys in %s\n", args.profile->c_str(),
                   config->source.c_str());
      return 1;
    }
    auto created = (*store)->create(*args.profile, args.label.value_or(""));
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

int run_serve(const Args& args) {
  if (args.help) {
    std::fputs(std::string(kServeHelp).c_str(), stdout);
    return 0;
  }
  if (!args.positional.empty()) return usage_error("serve takes no arguments", kServeHelp);
  int exit_code = 0;
  auto config = load(args, exit_code);
  if (!config) return exit_code;
  if (args.log_format) {
    if (*args.log_format == "json")
      config->logging.format = config::LogFormat::Json;
    else if (*args.log_format == "text")
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
  std::string_view help = command == "serve"     ? kServeHelp
                          : command == "keys"    ? kKeysHelp
                          : command == "version" ? kVersionHelp
                                                 : kMainHelp;
  if (!args) return usage_error(error, help);
  if (command == "serve") return run_serve(*args);
  if (command == "keys") return run_keys(*args);
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
