// A fresh directory under $TMPDIR, removed with everything in it when the object dies.
#pragma once

#include <filesystem>
#include <string>

namespace databroker::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// Writes `content` to `path`, replacing it.
void write_file(const std::string& path, const std::string& content);

}  // namespace databroker::testing
