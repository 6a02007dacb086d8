// The configuration loader on hostile YAML: every document gets a configuration or problems
// with file:line, never a crash, a hang or an exception. The file it names sits in a folder
// that does not exist, so relative sensors and password files cannot be read; absolute ones
// can, and a device named there (/dev/zero) must be refused rather than read.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "broker/config/config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace databroker;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const config::Environment env = [](std::string_view name) -> std::optional<std::string> {
    if (name == "DATABROKER_MQTT_PASSWORD") return "from-the-environment";
    return std::nullopt;
  };
  auto parsed = config::parse_config(text, "/nonexistent/databroker-fuzz/databroker.yaml", env);
  if (!parsed) {
    for (const auto& problem : parsed.error()) (void)problem.to_string();
  }
  return 0;
}
