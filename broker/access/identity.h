// Profiles and identities: who a caller is and which rights its profile carries.
//
// A profile is a class of consumer (the anonymous `public`, the city's dashboards, each partner,
// ingest gateways, admins). API keys belong to profiles; a request without a key is the `public`
// profile, which has no rights. Rights are additive: `ingest` may POST readings, `internal` sees
// every stream raw, `admin` manages keys and policy.
//
// Immutable after start; share as const.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/core/result.h"

namespace databroker::access {

inline constexpr std::string_view kPublicProfile = "public";

struct Profile {
  std::string name;
  bool ingest = false;
  bool internal = false;
  bool admin = false;
  std::string description;
};

// Profile names follow sensor-id rules minus ':' and '.': `[A-Za-z0-9_-]{1,64}`.
bool is_valid_profile_name(std::string_view name);

class ProfileSet {
 public:
  // Always contains `public`, with no rights (declaring it with rights is an error).
  static core::Result<ProfileSet> make(std::vector<Profile> profiles);

  const Profile* find(std::string_view name) const;
  const Profile& public_profile() const;
  std::vector<Profile> all() const;

 private:
  std::map<std::string, Profile, std::less<>> profiles_;
};

// The caller of one request, after authentication.
struct Identity {
  const Profile* profile = nullptr;  // never null once authenticated; points into a ProfileSet
  std::string key_id;                // empty for anonymous callers

  bool is_anonymous() const { return key_id.empty(); }
};

}  // namespace databroker::access
