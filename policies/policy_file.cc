#include "policies/policy_file.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

namespace databroker::policies {

CompileResult load_policy_file(const std::string& path,
                               const std::set<std::string, std::less<>>& profiles,
                               const std::set<std::string, std::less<>>& kinds) {
  auto problem = [](std::string reason) {
    return tl::unexpected(std::vector<PolicyProblem>{
        PolicyProblem{0, "cannot read the policy file: " + std::move(reason), false}});
  };
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return problem("it is a directory");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return problem(std::strerror(errno));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    return problem("read failed");
  }
  return compile_policy(text.str(), profiles, kinds);
}

}  // namespace databroker::policies
