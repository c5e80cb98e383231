#pragma once

#include <memory>
#include <string>

#include "rotator/api/HttpChannel.h"
#include "rotator/config/Settings.h"
#include "rotator/core/Clock.h"
#include "rotator/sink/AwsCredentials.h"
#include "rotator/sink/SecretSink.h"

namespace rotator::sink
{

/// The Secrets Manager request token of one write: a UUID (version 5 layout, SHA-256 truncated)
/// of the sink, the secret, the stored fields, the credential, its new client ID and the
/// VersionId that was AWSCURRENT when the sink read the secret (empty: none). The engine hands
/// a sink no rotation id, but a rotation mints exactly one client and a client ID is never
/// reused, so a write retried after a timeout, a lost answer or a crash, finding the secret as
/// it was, sends the same token and AWS applies it once; the next rotation sends a new one.
/// The version read is part of it because AWS ignores a token it has seen: after another
/// writer moved AWSCURRENT on, the same token would leave their value current for ever.
std::string clientRequestToken(const config::SinkSettings& settings, const Credential& credential,
                               const std::string& currentVersionId);

/// `sinks.S.type = aws-secretsmanager`: the credential's fields as a JSON object in the
/// SecretString of one Secrets Manager secret (JSON 1.1 API, Signature Version 4, credentials
/// from AwsCredentialChain).
///
/// deliver(): GetSecretValue; a secret that already holds exactly this JSON is left alone;
/// otherwise PutSecretValue (new version, stage AWSCURRENT) with `clientRequestToken`, or
/// CreateSecret when it does not exist and `create = true`; then GetSecretValue again, which
/// must return the written text. A write whose answer is lost, a 5xx to it, or a read-back that
/// fails or differs is ambiguous (the secret may hold the credential). Expired credentials are
/// dropped and the call repeated once with fresh ones. check() resolves credentials and reads
/// (DescribeSecret, GetSecretValue), never writes.
///
/// Messages name the sink, the action, the secret, the status and AWS's `__type` and
/// `Message`; never a key, token, signature or the secret's value. Thread-safe (the channel
/// and the chain are).
class AwsSecretsManagerSink final : public SecretSink
{
public:
    AwsSecretsManagerSink(const config::SinkSettings& settings, core::Clock& clock,
                          EnvLookup env = processEnvironment());

    const std::string& name() const override { return _settings.name; }
    std::string describe() const override;
    core::Outcome<void> deliver(const Credential& credential) override;
    core::Outcome<void> check() const override;

    /// The credential source used last (for tests and `plan`).
    std::string credentialSource() const { return _chain->source(); }

private:
    struct Answer;
    /// One signed JSON 1.1 call, repeated once when AWS says the credentials expired.
    core::Outcome<Answer> call(const std::string& action, const std::string& body) const;
    core::Failure failure(const std::string& action, const Answer& answer) const;
    std::string prefix() const;

    config::SinkSettings _settings;
    core::Clock& _clock;
    std::string _host; ///< the Host header signed and sent
    std::unique_ptr<AwsCredentialChain> _chain;
    std::unique_ptr<api::HttpChannel> _channel;
};

} // namespace rotator::sink
