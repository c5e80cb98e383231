#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rotator/api/HttpChannel.h"
#include "rotator/config/Settings.h"
#include "rotator/core/Clock.h"
#include "rotator/sink/SecretSink.h"
#include "rotator/sink/VaultAuth.h"

namespace rotator::sink
{

/// The custom_metadata keys a vault sink sets on the secret it writes.
inline constexpr const char* kVaultClientIdKey = "astra-rotator-client-id";
inline constexpr const char* kVaultCredentialKey = "astra-rotator-credential";

/// One KV v2 secret as read: its data (string values as they are, other JSON values as their
/// JSON text) and the version they are.
struct VaultSecretData
{
    std::map<std::string, std::string> strings;
    std::map<std::string, std::string> others; ///< key -> JSON text of a non-string value
    std::int64_t version = 0;
};

/// Parses a `GET /v1/<mount>/data/<path>` answer (`{"data":{"data":{…},"metadata":{…}}}`);
/// nullopt when it is not that shape. `data.data` null (a deleted version) reads as empty.
std::optional<VaultSecretData> parseVaultData(std::string_view body);

/// What `GET /v1/<mount>/metadata/<path>` says: the current version and custom_metadata.
struct VaultMetadata
{
    std::int64_t currentVersion = 0;
    std::map<std::string, std::string> custom;
};
std::optional<VaultMetadata> parseVaultMetadata(std::string_view body);

/// `{"options":{"cas":CAS},"data":{…}}`: `fieldsJson` (a `renderFieldsJson` object, whose keys
/// win) merged into the keys of `kept` the sink does not own. Holds the secret: wipe it.
std::string vaultWriteBody(const std::string& fieldsJson, const VaultSecretData& kept,
                           std::int64_t cas);

/// `{"custom_metadata":{…}}`: `existing` with the sink's two keys set.
std::string vaultMetadataBody(const std::map<std::string, std::string>& existing,
                              const std::string& clientId, const std::string& credentialName);

/// The capabilities of `needed` a `sys/capabilities-self` answer does not grant on `path`
/// (`root` grants all, `deny` none); nullopt when the answer has no list for `path`.
std::optional<std::vector<std::string>> missingCapabilities(std::string_view body,
                                                            const std::string& path,
                                                            const std::vector<std::string>& needed);

/// Delivers a credential into one HashiCorp Vault KV version 2 secret (`type = vault`).
///
/// deliver(): reads `metadata/<path>` (current_version, 404: 0) and `data/<path>`; when the
/// secret already holds the credential's fields and its custom_metadata names the clientId it
/// writes nothing. Otherwise it writes the fields (keys of the secret it does not own kept)
/// with check-and-set `options.cas` = that version, re-reading and retrying a CAS mismatch up
/// to 5 times, then sets custom_metadata (`astra-rotator-client-id`,
/// `astra-rotator-credential`; other custom keys kept), then reads the data back and compares.
/// Delivered = Vault acknowledged the write and the read-back returned the same values.
/// Once the data write may have reached Vault (an answer lost, a 5xx, a 2xx) every failure is
/// ambiguous: a failed metadata write or read-back after it leaves a secret that may hold the
/// credential, and the next delivery completes what is missing without writing the data again.
///
/// A 403 is first checked against the token (VaultAuth::afterDenied): a dead token is replaced
/// once and the request sent again; a live one lacks a capability, and the Permanent failure
/// names it (`update on secret/data/billing`), as Vault's "permission denied" does not.
/// check(): logs in (or looks the token up), asks `sys/capabilities-self` for the data and
/// metadata paths and reads the data path; writes nothing.
///
/// Long-lived (one per sink): holds one HttpChannel and the Vault token (VaultAuth), both
/// thread-safe, so concurrent deliveries are fine. Failures name the sink, the request, Vault's
/// status and its `errors`, never a token, a body or a secret. Logs (logger `sink`) the path,
/// the version and the clientId, never values.
class VaultSink final : public SecretSink
{
public:
    VaultSink(config::SinkSettings settings, core::Clock& clock);
    ~VaultSink() override;

    const std::string& name() const override { return _settings.name; }
    std::string describe() const override;
    core::Outcome<void> deliver(const Credential& credential) override;
    core::Outcome<void> check() const override;

    /// The Vault token keeper (tests look at its logins).
    VaultAuth& auth() const { return *_auth; }

private:
    /// Sends one request with the current token; a 403 is checked against the token and sent
    /// once more when the token was replaced. `body` may hold the secret.
    core::Outcome<api::HttpResult> call(const std::string& method, const std::string& target,
                                        std::string_view body) const;
    /// The failure of a non-2xx answer to `method target`; `capability` is what a 403 lacks.
    core::Failure answerFailure(const std::string& method, const std::string& target,
                                const api::HttpResult& result, const std::string& capability,
                                const Credential* credential) const;
    core::Outcome<std::optional<VaultMetadata>> readMetadata() const;
    core::Outcome<std::optional<VaultSecretData>> readData(const Credential* credential) const;

    config::SinkSettings _settings;
    const std::string _prefix;       ///< "vault sink S: "
    const std::string _dataPath;     ///< `<mount>/data/<path>` (policy path)
    const std::string _metadataPath; ///< `<mount>/metadata/<path>`
    std::unique_ptr<api::HttpChannel> _channel;
    std::unique_ptr<VaultAuth> _auth;
};

} // namespace rotator::sink
