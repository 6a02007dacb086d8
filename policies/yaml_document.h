// One YAML document from text that people wrote: how the policy loader and the configuration
// loader read their files.
//
// Not YAML::LoadAll: in yaml-cpp 0.7 it loops forever, allocating, on a stray flow token at
// block level (a line starting with ","; jbeder/yaml-cpp#1040, fixed upstream in #1319), so a
// typo in a policy reloaded over HTTP would hang the broker. The parser is asked for two
// documents at most, only to say where a second one starts, and the first is then loaded.
//
// Pure; thread-safe.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string_view>

namespace databroker::policies {

struct YamlDocument {
  YAML::Node root;               // Null for an empty text
  int second_document_line = 0;  // 1-based; 0 when the text holds one document (or none)
};

// Throws YAML::Exception (with its mark) on a syntax error, as yaml-cpp does; callers turn it
// into a problem with a line.
YamlDocument load_yaml_document(std::string_view text);

}  // namespace databroker::policies
