#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "rotator/core/Clock.h"
#include "rotator/core/Outcome.h"
#include "rotator/sink/AwsSigV4.h"

namespace rotator::config
{
class TokenSource;
}

namespace rotator::sink
{

/// Reads one environment variable: nullopt when unset. Injected so that tests never change the
/// process environment.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

/// The process environment (getenv).
EnvLookup processEnvironment();

/// Where the chain looks and how long it waits.
struct AwsCredentialOptions
{
    std::string region; ///< for the regional STS endpoint
    std::string caFile; ///< extra CA for STS and the container endpoint (`sinks.S.caFile`)
    std::string caKey = "caFile";       ///< the key named when that certificate is refused
    EnvLookup env;                      ///< default: processEnvironment()
    std::int64_t timeoutMs = 10'000;    ///< STS and the container endpoint
    std::int64_t imdsTimeoutMs = 1'000; ///< the instance metadata service (absent off EC2)
    /// Temporary credentials are replaced this long before their Expiration.
    std::int64_t refreshBeforeMs = 5 * 60'000;
};

/// The AWS credentials a sink signs with, found in the standard order of the AWS SDKs:
///
/// 1. the environment: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` (+ `AWS_SESSION_TOKEN`);
/// 2. web identity: `AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN` (+ `AWS_ROLE_SESSION_NAME`),
///    exchanged with STS `AssumeRoleWithWebIdentity` at `AWS_ENDPOINT_URL_STS` or
///    `https://sts.<region>.amazonaws.com`; the token file is read through
///    config::TokenSource (permission-checked, re-read when it changes);
/// 3. the shared credentials file: `AWS_SHARED_CREDENTIALS_FILE` (default
///    `$HOME/.aws/credentials`), profile `AWS_PROFILE` (default `default`); refused when its
///    group or others may read it, or someone else may replace it;
/// 4. the container endpoint: `AWS_CONTAINER_CREDENTIALS_FULL_URI` (https, or http to a
///    loopback or the ECS/EKS link-local address) with `Authorization` from
///    `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` or `AWS_CONTAINER_AUTHORIZATION_TOKEN`;
/// 5. IMDSv2 at `AWS_EC2_METADATA_SERVICE_ENDPOINT` (default `http://169.254.169.254`), unless
///    `AWS_EC2_METADATA_DISABLED=true`.
///
/// The first source that is configured decides: when it fails, the chain fails (it does not
/// fall through to a source the operator did not choose), except IMDS, whose absence means
/// "no credentials". Temporary credentials are cached and replaced `refreshBeforeMs` before they
/// expire; the environment and the file are read again at each `current()` (cheap, and a
/// rotated key is picked up). Failures are `Auth` (refused by STS or the endpoint) or
/// `Permanent` (misconfiguration), never carrying a key, token or answer body; `source()` says
/// which source was used, never a value. Thread-safe.
class AwsCredentialChain
{
public:
    AwsCredentialChain(AwsCredentialOptions options, core::Clock& clock);
    ~AwsCredentialChain();
    AwsCredentialChain(const AwsCredentialChain&) = delete;
    AwsCredentialChain& operator=(const AwsCredentialChain&) = delete;

    /// The credentials to sign with now.
    core::Outcome<sigv4::AwsCredentials> current();
    /// Forgets cached temporary credentials (the service said they expired).
    void invalidate();
    /// The source of the last credentials returned, e.g. "web identity (STS)"; empty before.
    std::string source() const;

private:
    using Found = std::optional<core::Outcome<sigv4::AwsCredentials>>; ///< nullopt: not configured
    core::Outcome<sigv4::AwsCredentials> resolve();
    Found fromEnvironment();
    Found fromWebIdentity();
    Found fromSharedFile();
    Found fromContainer();
    Found fromInstanceMetadata();
    std::optional<std::string> env(const std::string& name) const;

    AwsCredentialOptions _options;
    core::Clock& _clock;
    mutable std::mutex _mutex;
    std::optional<sigv4::AwsCredentials> _cached; ///< temporary credentials only
    std::string _source;
    std::shared_ptr<config::TokenSource> _webIdentityToken;
    std::string _webIdentityPath;
};

/// Parses the shared credentials file `text` (INI: `[profile]`, `key = value`, `#`/`;`
/// comments) and returns `profile`'s keys, nullopt when the profile is absent. A profile
/// without both keys is a `Permanent` failure naming the missing key (never a value).
std::optional<core::Outcome<sigv4::AwsCredentials>>
parseSharedCredentials(const std::string& text, const std::string& profile);

/// The text of XML element `tag` in `xml` (first occurrence, entities decoded), or nullopt.
std::optional<std::string> xmlElement(const std::string& xml, const std::string& tag);

} // namespace rotator::sink
