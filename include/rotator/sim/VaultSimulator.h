#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rotator/core/Clock.h"
#include "rotator/sim/StoreServer.h"

namespace rotator::sim
{

/// The request counters' routes of the Vault simulator (StoreServer::requestCount).
inline constexpr const char* kVaultDataRoute = "/v1/{mount}/data/{path}";
inline constexpr const char* kVaultMetadataRoute = "/v1/{mount}/metadata/{path}";
inline constexpr const char* kVaultLoginRoute = "/v1/auth/{method}/login";
inline constexpr const char* kVaultRenewRoute = "/v1/auth/token/renew-self";
inline constexpr const char* kVaultLookupRoute = "/v1/auth/token/lookup-self";
inline constexpr const char* kVaultCapabilitiesRoute = "/v1/sys/capabilities-self";

/// One rule of a Vault ACL policy: `path` exact, or a prefix when it ends with `*`; the
/// capabilities `create`, `read`, `update`, `delete`, `list`, `deny`, `root`.
struct VaultPolicyRule
{
    std::string path;
    std::vector<std::string> capabilities;
};

struct VaultSimulatorOptions
{
    StoreServerOptions server;                ///< name, TLS, faults (their pathPrefix: `/v1/...`)
    std::string mount = "secret";             ///< the KV version 2 mount
    std::vector<std::string> namespaces;      ///< Enterprise namespaces besides the root one
    bool casRequired = false;                 ///< the mount's cas_required
    std::size_t maxSecretBytes = 1024 * 1024; ///< a larger data write: 413
};

/// A HashiCorp Vault stand-in for tests and scripts/demo, written from Vault's HTTP API
/// documentation, on sim::StoreServer (loopback, TLS, faults, request counters):
///
/// - a KV version 2 engine at one mount: `GET/POST/PUT /v1/<mount>/data/<path>` (versions,
///   `options.cas` check-and-set with cas=0 only-if-absent, `cas_required` on the mount or a
///   secret, `?version=N`), `DELETE` (soft delete of the current version),
///   `GET/POST/PUT /v1/<mount>/metadata/<path>` (current_version, versions, custom_metadata,
///   max_versions, cas_required);
/// - a token store: tokens with policies (VaultPolicyRule), a TTL on the injected clock, a
///   max TTL, renewable or not; `auth/token/lookup-self`, `auth/token/renew-self`,
///   `sys/capabilities-self`; `auth/kubernetes/login` (role -> the JWT it accepts) and
///   `auth/approle/login` (role_id + secret_id);
/// - `X-Vault-Namespace`: a namespace's secrets are apart from the root's; a token works in
///   the namespace it was made in (a root-namespace token also in child namespaces, with its
///   policy paths prefixed by the namespace); an unknown namespace answers 404;
/// - Vault's error body `{"errors":["…"]}`, and 403 `{"errors":["permission denied"]}` for a
///   missing, unknown or expired token and for a missing capability alike (as Vault: it never
///   says which capability).
///
/// Store faults beyond StoreServer's: `expireToken`, `interveneBeforeWrites` (another writer
/// wins the race: CAS conflicts), `interveneAfterNextWrite` (the read-back differs).
/// Not modelled: leases of secrets engines, response wrapping, performance standbys and
/// redirects, seal status, the token's accessor-based endpoints, entity/group policies.
/// Thread-safe (one mutex over the state). Throws as StoreServer does.
class VaultSimulator
{
public:
    VaultSimulator(VaultSimulatorOptions options, core::Clock& clock);
    ~VaultSimulator();
    VaultSimulator(const VaultSimulator&) = delete;
    VaultSimulator& operator=(const VaultSimulator&) = delete;

    StoreServer& server();
    std::string baseUrl() const;
    void stop();

    void setPolicy(const std::string& name, std::vector<VaultPolicyRule> rules);
    /// A new token with these policies (`root` grants all); ttl 0: never expires. Returns it.
    std::string createToken(std::vector<std::string> policies, std::int64_t ttlSeconds = 0,
                            bool renewable = false, const std::string& vaultNamespace = "",
                            std::int64_t maxTtlSeconds = 0);
    /// `auth/<mount>/login` with `{"role":role,"jwt":jwt}` gives a token with these policies.
    void addKubernetesRole(const std::string& role, const std::string& jwt,
                           std::vector<std::string> policies, std::int64_t ttlSeconds,
                           std::int64_t maxTtlSeconds = 0, const std::string& mount = "kubernetes");
    /// `auth/<mount>/login` with `{"role_id":…,"secret_id":…}`.
    void addAppRole(const std::string& roleId, const std::string& secretId,
                    std::vector<std::string> policies, std::int64_t ttlSeconds,
                    std::int64_t maxTtlSeconds = 0, const std::string& mount = "approle");
    /// Ends a token now (as its TTL would): it is answered 403 from then on.
    void expireToken(const std::string& token);
    /// Every token issued by a login so far, ended.
    void expireLoginTokens();
    std::int64_t logins() const;
    std::int64_t renewals() const;

    /// The current version's string values; nullopt when absent or deleted.
    std::optional<std::map<std::string, std::string>>
    secret(const std::string& path, const std::string& vaultNamespace = "") const;
    std::int64_t currentVersion(const std::string& path,
                                const std::string& vaultNamespace = "") const;
    std::map<std::string, std::string> customMetadata(const std::string& path,
                                                      const std::string& vaultNamespace = "") const;
    /// Another writer: a new version holding `data` (string values).
    void writeSecret(const std::string& path, const std::map<std::string, std::string>& data,
                     const std::string& vaultNamespace = "");
    void setCustomMetadata(const std::string& path, std::map<std::string, std::string> custom,
                           const std::string& vaultNamespace = "");
    /// Before each of the next `count` data writes is handled, another writer writes a new
    /// version (the current data plus `written-by`), so a check-and-set on the version read
    /// before fails.
    void interveneBeforeWrites(int count);
    /// Right after the next data write that succeeds, another writer writes a new version:
    /// the data just written with the keys of `data` set.
    void interveneAfterNextWrite(std::map<std::string, std::string> data);

    struct State;

private:
    StoreReply handle(const StoreRequest& request);

    std::unique_ptr<State> _state;
    std::unique_ptr<StoreServer> _server; ///< last: stopped before the state goes
};

/// Vault's `{"errors":["…"]}` answer of `status` (a fault's answer).
StoreReply vaultErrorReply(int status, const std::string& message = "");

} // namespace rotator::sim
