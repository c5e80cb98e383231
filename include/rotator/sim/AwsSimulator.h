#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "rotator/core/Clock.h"
#include "rotator/sim/StoreServer.h"

namespace rotator::sim
{

struct AwsSimulatorOptions
{
    StoreServerOptions server;        ///< `name` defaults to "aws-sim"
    std::string region = "us-east-1"; ///< the region signatures must be scoped to
    std::string account = "123456789012";
    std::int64_t maxSkewMs = 5 * 60'000;          ///< X-Amz-Date tolerance, as AWS
    std::int64_t sessionDurationMs = 60 * 60'000; ///< temporary credentials it issues
};

/// One version of a simulated secret.
struct AwsSecretVersion
{
    std::string versionId; ///< the ClientRequestToken it was written with
    std::string value;
    std::set<std::string> stages; ///< AWSCURRENT, AWSPREVIOUS or none
};

/// AWS as the aws-secretsmanager sink sees it, written from the public API documentation, on one
/// loopback StoreServer routing by path:
///
/// - `POST /` Secrets Manager's JSON 1.1 API (`X-Amz-Target: secretsmanager.<Action>`):
///   GetSecretValue, DescribeSecret, CreateSecret, PutSecretValue. Every request's Signature
///   Version 4 is verified against the access keys it knows (scope region and service,
///   X-Amz-Date within `maxSkewMs`, the signed headers, X-Amz-Security-Token of temporary keys,
///   expiry: `ExpiredTokenException`); an allow list of actions per key answers
///   `AccessDeniedException` naming the action. Versions carry stages AWSCURRENT/AWSPREVIOUS;
///   a ClientRequestToken is the VersionId and makes a put idempotent (same token and value:
///   the same answer; same token, other value: `ResourceExistsException`).
/// - `/sts/` STS `AssumeRoleWithWebIdentity` (query or form; XML answers and errors), issuing
///   temporary keys for registered (role ARN, token) pairs.
/// - `GET /container/credentials` the container credentials endpoint (Authorization checked).
/// - `/latest/...` IMDSv2: `PUT /latest/api/token` then the role and its credentials; 401
///   without the session token.
///
/// Not modelled: KMS, resource policies, replication, rotation lambdas, binary secrets,
/// deletion, tags, pagination. Errors and routes are counted by StoreServer (route = the action
/// name, e.g. `PutSecretValue`, or `AssumeRoleWithWebIdentity`, `container`, `imds-token`,
/// `imds-role`, `imds-credentials`). Thread-safe.
class AwsSimulator
{
public:
    AwsSimulator(AwsSimulatorOptions options, core::Clock& clock);
    ~AwsSimulator();
    AwsSimulator(const AwsSimulator&) = delete;
    AwsSimulator& operator=(const AwsSimulator&) = delete;

    StoreServer& server();
    std::string baseUrl() const;

    /// Accepts `accessKeyId`/`secretAccessKey` (long-term); `actions` empty: every action.
    void addAccessKey(const std::string& accessKeyId, const std::string& secretAccessKey,
                      std::set<std::string> actions = {});
    /// Restricts (or, empty, frees) what a known key may do.
    void allowActions(const std::string& accessKeyId, std::set<std::string> actions);
    /// STS exchanges `webIdentityToken` for temporary keys of `roleArn` allowed `actions`.
    void addWebIdentity(const std::string& roleArn, const std::string& webIdentityToken,
                        std::set<std::string> actions = {});
    /// The container endpoint answers requests carrying `authorization`.
    void setContainerAuthorization(const std::string& authorization,
                                   std::set<std::string> actions = {});
    /// IMDS lists `role` and issues its temporary keys.
    void setInstanceRole(const std::string& role, std::set<std::string> actions = {});
    /// Every temporary key issued so far expires now.
    void expireTemporaryKeys();
    /// Temporary keys issued (STS, container endpoint, IMDS).
    int temporaryKeysIssued() const;

    /// A secret named `name` (no version unless `value`).
    void createSecret(const std::string& name, std::optional<std::string> value = std::nullopt);
    /// Its AWSCURRENT value.
    std::optional<std::string> currentValue(const std::string& name) const;
    std::vector<AwsSecretVersion> versions(const std::string& name) const;
    /// The ClientRequestToken of every authenticated PutSecretValue and CreateSecret, in order
    /// (including those answered with an injected failure).
    std::vector<std::string> requestTokens() const;
    /// Another writer: puts `value` as a new AWSCURRENT version right after the next
    /// PutSecretValue or CreateSecret (its read-back then differs).
    void interfereAfterNextWrite(const std::string& value);
    /// The next `count` requests for `action` answer `status` with `{"__type": type, ...}`
    /// without acting (throttling, an internal error, a denied action).
    void failNext(const std::string& action, int status, const std::string& type, int count = 1);
    /// After the next request for `action` is answered, `rule` (its count forced to 1) applies
    /// to the request that follows it: how a test drops the PutSecretValue that follows a
    /// GetSecretValue, every Secrets Manager call going to `POST /`.
    void armAfter(const std::string& action, FaultRule rule);

    struct Impl;

private:
    std::unique_ptr<Impl> _impl;
};

} // namespace rotator::sim
