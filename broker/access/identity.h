// Profiles and identities: who a caller is and which rights its profile carries.
//
// A profile is a class of consumer (the anonymous `public`, the city's dashboards, each partner,
// ingest gateways, admins). API keys belong to profiles; a request without a key is the `public`
// profile, which has no rights. Rights are additive: `ingest` may POST readings, `internal` sees
// every stream raw, `admin` manages keys and policy.
//
// Invariant: a ProfileSet always holds `public`, and `public` never carries a right, so an
// anonymous caller can gain nothing from a configuration mistake.
//
// Immutable after start; share as const.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "broker/core/result.h"

namespace databroker::access {

inline constexpr std::string_view kPublicProfile = "public";

// How many requests a caller may make: a token bucket that holds up to `burst` requests and
// refills at `requests_per_second`. Off (unlimited) while requests_per_second is 0.
struct RateLimit {
  double requests_per_second = 0;
  double burst = 0;

  bool enabled() const { return requests_per_second > 0; }
  bool operator==(const RateLimit&) const = default;
};

struct Profile {
  std::string name;
  bool ingest = false;
  bool internal = false;
  bool admin = false;
  std::string description;
  // Per API key of the profile; for `public`, per client address of anonymous callers.
  RateLimit rate_limit;

  bool has_any_right() const { return ingest || internal || admin; }
  bool operator==(const Profile&) const = default;
};

// Profile names follow sensor-id rules minus ':' and '.': `[A-Za-z0-9_-]{1,64}`.
bool is_valid_profile_name(std::string_view name);

class ProfileSet {
 public:
  // Only `public`.
  ProfileSet();

  // Builds the set. `public` is added (with no rights) when not declared; declaring it is
  // allowed only without rights. InvalidArgument on an invalid name, a duplicate name or a
  // `public` with rights, with one FieldError per problem (field `profiles.<name>`).
  static core::Result<ProfileSet> make(std::vector<Profile> profiles);

  // Null when unknown. Pointers stay valid for the lifetime of the set, also across a move.
  const Profile* find(std::string_view name) const;
  const Profile& public_profile() const;
  // Every profile, ordered by name, `public` included.
  std::vector<Profile> all() const;

 private:
  using Map = std::map<std::string, Profile, std::less<>>;
  explicit ProfileSet(Map profiles) : profiles_(std::move(profiles)) {}

  Map profiles_;
};

// The caller of one request, after authentication.
struct Identity {
  const Profile* profile = nullptr;  // never null once authenticated; points into a ProfileSet
  std::string key_id;                // empty for anonymous callers

  bool is_anonymous() const { return key_id.empty(); }
};

}  // namespace databroker::access
