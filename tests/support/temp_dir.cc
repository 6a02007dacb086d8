#include "tests/support/temp_dir.h"

#include <stdlib.h>

#include <fstream>
#include <system_error>

#include "broker/core/check.h"

namespace databroker::testing {

TempDir::TempDir() {
  auto base = std::filesystem::temp_directory_path() / "databroker-test-XXXXXX";
  std::string pattern = base.string();
  DATABROKER_CHECK(::mkdtemp(pattern.data()) != nullptr, "mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

void write_file(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  DATABROKER_CHECK(out.good(), "writing a test file failed");
}

}  // namespace databroker::testing
