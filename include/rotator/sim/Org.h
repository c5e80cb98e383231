#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rotator/core/Secret.h"

namespace rotator::sim
{

/// A role of the simulated organisation and the permissions the simulator enforces with it.
struct SimRole
{
    std::string id;   ///< a UUID, derived from the seed
    std::string name; ///< the API short name, e.g. `R/W Svc Acct`
    std::string type; ///< `default` or `custom`
    int rank = 0;     ///< privilege: a token may only create tokens whose roles rank <= its best
    bool tokenRead = false;  ///< `org-token-read`: may list clients
    bool tokenWrite = false; ///< `org-token-write`: may create and delete clients
    bool orgRead = false;    ///< may call `/v2/currentOrg` and read roles

    /// The policy actions shown by the roles endpoint.
    std::vector<std::string> actions() const;
};

/// A client (token) of the simulated organisation. Holds the SHA-256 of the token, never the
/// secret or the token itself.
struct SimClient
{
    std::string clientId;
    std::string tokenSha256; ///< lower-case hex sha256 of `AstraCS:<clientId>:<hash>`
    std::vector<std::string> roles;
    std::int64_t generatedOnNanos = 0; ///< Unix nanoseconds
    std::optional<std::string> description;
    std::optional<std::int64_t> tokenExpiryMs; ///< Unix milliseconds; nullopt = never expires
    std::int64_t activeFromMs = 0; ///< propagation: the token authenticates from this instant

    bool expiredAt(std::int64_t nowMs) const { return tokenExpiryMs && nowMs >= *tokenExpiryMs; }
};

/// A freshly minted client with the only copies of its secret and token.
struct MintedClient
{
    SimClient client;
    core::Secret secret;
    core::Secret token;
};

/// The in-memory organisation: its id, roles and clients, and their JSON persistence form.
///
/// A plain value with no locking: the Simulator guards it with its own mutex.
/// `fromJson` throws std::runtime_error on a malformed document; the other members do not fail.
class Org
{
public:
    /// An org with the default roles (ASTRA-API.md §4.1) plus `DB Reader (custom)`, whose ids and
    /// org id are derived from `seed`, so the same seed always gives the same UUIDs.
    static Org withDefaultRoles(std::uint64_t seed);

    /// The state-file document: org id, roles, clients with token hashes. Never secrets.
    std::string toJson() const;
    static Org fromJson(const std::string& text);

    const std::string& orgId() const { return _orgId; }
    const std::vector<SimRole>& roles() const { return _roles; }
    const std::vector<SimClient>& clients() const { return _clients; }

    const SimRole* findRole(std::string_view id) const;
    const SimRole* findRoleByName(std::string_view name) const;
    const SimClient* findClient(std::string_view clientId) const; ///< case-sensitive
    const SimClient* findByTokenHash(std::string_view tokenSha256) const;

    /// The highest rank among `roleIds` (unknown ids count as 0).
    int bestRank(const std::vector<std::string>& roleIds) const;
    /// True when any of `roleIds` grants the permission selected by `flag`.
    bool grants(const std::vector<std::string>& roleIds, bool SimRole::*flag) const;

    /// Creates a client with a random 24-letter id and a random 128-character secret; fills
    /// `tokenSha256` and appends it. `templ` supplies roles, times and description.
    MintedClient mint(SimClient templ);
    /// Removes the client; false when there is none with that exact id.
    bool remove(std::string_view clientId);

private:
    std::string _orgId;
    std::vector<SimRole> _roles;
    std::vector<SimClient> _clients;
};

/// A UUID-formatted (version 4 layout) id derived from `seed` and `label` by SHA-256.
std::string deterministicUuid(std::uint64_t seed, std::string_view label);

} // namespace rotator::sim
