#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rotator/api/HttpChannel.h"
#include "rotator/config/Settings.h"
#include "rotator/config/TokenSource.h"
#include "rotator/core/Clock.h"
#include "rotator/core/Outcome.h"
#include "rotator/core/Secret.h"

namespace rotator::sink
{

/// The messages of a Vault error body `{"errors":["…", …]}` joined with "; ", control
/// characters escaped, cut at 300 characters; empty when the body has none or is not that
/// shape. Vault's messages do not quote request bodies; the caller still masks them.
std::string vaultErrorText(std::string_view body);

/// The headers of one Vault request: `X-Vault-Token` (when `token` is not empty) and
/// `X-Vault-Namespace` (when `vaultNamespace` is not empty). The token's value is a secret.
std::vector<std::pair<std::string, std::string>> vaultHeaders(const core::Secret& token,
                                                              const std::string& vaultNamespace);

/// What a `{"auth":{…}}` answer of a login or renew-self gives. `clientToken` is a secret.
struct VaultLease
{
    core::Secret clientToken;
    std::int64_t leaseSeconds = 0; ///< 0: the token does not expire
    bool renewable = false;
};

/// Parses the `auth` object of a login or renew-self answer; nullopt when it lacks a
/// `client_token` string or `lease_duration` number. Never throws.
std::optional<VaultLease> parseVaultLease(std::string_view body);

/// The Vault token a vault sink sends, and how it gets it (`sinks.S.auth`).
///
/// - `token`: read from `sinks.S.tokenFile` through a config::TokenSource (permission-checked
///   like astra.tokenFile, re-read when the file changes).
/// - `kubernetes` / `approle`: `POST /v1/auth/<authMount>/login` with the JWT (or role ID and
///   secret ID) read from their files the same way; the client token it answers is held in
///   memory only (core::Secret). It is renewed (`auth/token/renew-self`) once two thirds of
///   its lease have passed, or a new login is made when it is not renewable, a renewal fails,
///   a renewal answered less than half the first lease (the token reaches its max TTL), or the
///   lease has ended.
///
/// After Vault answered 403 to a request, `afterDenied` tells a token that expired or was
/// revoked (Vault answers "permission denied" for both that and a missing capability) from a
/// missing capability by asking `auth/token/lookup-self`; a dead token is replaced once (a new
/// login, or a new content of the token file), a dead token-file token that was not replaced
/// is an Auth failure.
///
/// Files are first read at the first use, so that a missing file fails the delivery (and
/// check-config) with a message naming the key rather than the construction. Thread-safe: one
/// mutex guards the token and the lease; logins and renewals happen under it (one at a time).
/// Failures name the sink and the login path, never a token, JWT or secret ID.
class VaultAuth
{
public:
    VaultAuth(const config::SinkSettings& settings, api::HttpChannel& channel, core::Clock& clock);
    VaultAuth(const VaultAuth&) = delete;
    VaultAuth& operator=(const VaultAuth&) = delete;

    /// The token to send now: logs in or renews first when due.
    core::Outcome<core::Secret> token();

    /// What a 403 to a request sent with `used` meant.
    enum class Denied
    {
        MissingCapability, ///< the token is alive: its policies lack what the request needs
        TokenReplaced,     ///< the token was dead and another one is in place: send again
    };
    core::Outcome<Denied> afterDenied(const core::Secret& used);

    /// Logins made so far (for tests and logs).
    std::int64_t logins() const;

private:
    core::Outcome<core::Secret> tokenLocked();
    core::Outcome<void> loginLocked();
    core::Outcome<void> renewLocked();
    /// The file of `key` as a TokenSource, followed on first use.
    core::Outcome<std::shared_ptr<config::TokenSource>>
    sourceLocked(std::shared_ptr<config::TokenSource>& slot, const std::string& path,
                 const std::string& key);
    void takeLeaseLocked(VaultLease lease);
    core::Failure authFailure(const std::string& what, const api::HttpResult& result) const;

    const config::SinkSettings& _settings;
    api::HttpChannel& _channel;
    core::Clock& _clock;
    const std::string _prefix; ///< "vault sink S: "
    mutable std::mutex _mutex;
    std::shared_ptr<config::TokenSource> _tokenFile;
    std::shared_ptr<config::TokenSource> _jwtFile;
    std::shared_ptr<config::TokenSource> _roleIdFile;
    std::shared_ptr<config::TokenSource> _secretIdFile;
    core::Secret _token;            ///< logged-in methods: the client token; empty: none
    std::int64_t _renewAtMs = 0;    ///< when to renew (or log in again)
    std::int64_t _expiresAtMs = 0;  ///< 0: never
    std::int64_t _firstLeaseMs = 0; ///< of the last login
    bool _renewable = false;
    std::int64_t _logins = 0;
};

} // namespace rotator::sink
