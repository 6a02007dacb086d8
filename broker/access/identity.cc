#include "broker/access/identity.h"

#include <algorithm>
#include <utility>

#include "broker/core/check.h"

namespace databroker::access {

bool is_valid_profile_name(std::string_view name) {
  if (name.empty() || name.size() > 64) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
  });
}

namespace {

Profile anonymous_profile() {
  Profile profile;
  profile.name = std::string(kPublicProfile);
  profile.description = "anonymous callers";
  return profile;
}

}  // namespace

ProfileSet::ProfileSet() { profiles_.emplace(std::string(kPublicProfile), anonymous_profile()); }

core::Result<ProfileSet> ProfileSet::make(std::vector<Profile> profiles) {
  Map declared;
  std::vector<core::FieldError> problems;
  for (auto& profile : profiles) {
    // An invalid name may be empty or very long; keep the field readable in error output.
    const std::string field =
        "profiles." +
        (profile.name.size() > 64 ? profile.name.substr(0, 64) + "..." : profile.name);
    if (!is_valid_profile_name(profile.name)) {
      problems.push_back({field, "invalid_name",
                          "a profile name is 1 to 64 characters of A-Z, a-z, 0-9, '_' and '-'"});
      continue;
    }
    if (profile.name == kPublicProfile && profile.has_any_right()) {
      problems.push_back({field, "public_has_rights",
                          "the public profile is every anonymous caller and can have no rights"});
      continue;
    }
    if (declared.count(profile.name) != 0) {
      problems.push_back({field, "duplicate", "the profile is declared more than once"});
      continue;
    }
    std::string name = profile.name;
    declared.emplace(std::move(name), std::move(profile));
  }
  if (!problems.empty()) {
    std::string message = problems.size() == 1 ? "invalid profile" : "invalid profiles";
    return core::fail(core::ErrorCode::InvalidArgument, std::move(message), std::move(problems));
  }
  if (declared.count(kPublicProfile) == 0) {
    declared.emplace(std::string(kPublicProfile), anonymous_profile());
  }
  return ProfileSet(std::move(declared));
}

const Profile* ProfileSet::find(std::string_view name) const {
  auto it = profiles_.find(name);
  return it == profiles_.end() ? nullptr : &it->second;
}

const Profile& ProfileSet::public_profile() const {
  const Profile* profile = find(kPublicProfile);
  DATABROKER_CHECK(profile != nullptr, "a ProfileSet always holds the public profile");
  return *profile;
}

std::vector<Profile> ProfileSet::all() const {
  std::vector<Profile> out;
  out.reserve(profiles_.size());
  for (const auto& [name, profile] : profiles_) {
    out.push_back(profile);
  }
  return out;
}

}  // namespace databroker::access
