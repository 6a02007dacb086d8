// Who is calling: the API key of a request, its profile, and the rights a route needs.
//
// A key comes from `Authorization: Bearer <key>` or, failing that, `X-API-Key`. No key at all is
// the anonymous caller with the `public` profile. A key that is presented but malformed, unknown,
// revoked, or whose profile no longer exists is Unauthenticated (401) on every route, public ones
// included: a client with a broken key should hear about it, not silently get public data.
// The `access_token` query parameter is for browser SSE/WebSocket only and is not read here.
//
// KeyStore::authenticate is a map lookup plus one stat() of the key file (so that revocations
// from the command line hold at once); cheap enough for a network thread.
//
// Thread-safe.
#pragma once

#include <string_view>

#include "adapters/http/exchange.h"
#include "broker/access/identity.h"
#include "broker/access/key_store.h"
#include "broker/core/result.h"

namespace databroker::http {

// The key presented by a request, or "" when none. Unauthenticated when Authorization is
// present but is not a Bearer credential with a token.
core::Result<std::string_view> presented_key(std::string_view authorization,
                                             std::string_view api_key);

// The caller's identity (see the header comment for the rules).
core::Result<access::Identity> authenticate(const HttpRequest& request, access::KeyStore& keys,
                                            const access::ProfileSet& profiles);

enum class Right { Ingest, Internal, Admin };

// Ok when the caller's profile has `right`; Unauthenticated for an anonymous caller (so a client
// learns a key is needed), PermissionDenied for a key whose profile lacks it.
core::Status require_right(const access::Identity& identity, Right right);

}  // namespace databroker::http
