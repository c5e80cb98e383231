#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rotator/config/Settings.h"
#include "rotator/config/TokenSource.h"
#include "rotator/core/Clock.h"
#include "rotator/sink/SecretSink.h"

namespace rotator::api
{
class HttpChannel;
struct HttpResult;
} // namespace rotator::api

namespace rotator::core
{
class SecretMasker;
} // namespace rotator::core

namespace rotator::sink
{

namespace kubernetes
{

/// The parts of a Kubernetes `Status` object (the API server's error body) a message needs.
struct Status
{
    std::string message;
    std::string reason; ///< `Forbidden`, `Conflict`, `AlreadyExists`, `NotFound`, `Invalid`, ...
    int code = 0;
};

/// Parses `{"kind":"Status","message":…,"reason":…,"code":…}`; nullopt when `body` is not one.
std::optional<Status> parseStatus(std::string_view body);

/// The Secret data this sink owns: data key -> value (holds the secret: wiped on destruction).
using OwnedData = std::vector<std::pair<std::string, core::Secret>>;

/// What the sink writes besides the data: labels and annotations of the Secret.
struct SecretMeta
{
    std::string clientId;
    std::string credential;
    std::string rotatedAt; ///< RFC 3339
};

/// The JSON merge patch that sets `data` (base64) and our label and annotations under the
/// precondition `resourceVersion`. Holds the secret: wipe it.
std::string secretPatchBody(const OwnedData& data, const SecretMeta& meta,
                            const std::string& resourceVersion);
/// The `POST` body that creates the Secret (`type: Opaque`). Holds the secret: wipe it.
std::string secretCreateBody(const std::string& namespaceName, const std::string& name,
                             const OwnedData& data, const SecretMeta& meta);
/// The strategic merge patch `kubectl rollout restart` sends (`restartedAt` on the pod
/// template), plus the client ID the restarted pods read, so that a retry knows it is done.
std::string restartPatchBody(const std::string& restartedAt, const std::string& clientId);

} // namespace kubernetes

/// Delivers a credential into one Kubernetes Secret through the API server
/// (`sinks.S.type = kubernetes`), then restarts the configured workloads.
///
/// deliver(): GET the Secret; absent: POST it (`type: Opaque`); present and already holding
/// the credential in every owned key (and annotated with its client ID): no write; otherwise a
/// JSON merge patch with `metadata.resourceVersion` (optimistic concurrency: a 409 re-reads and
/// retries, at most a few times), which keeps the data keys, labels and annotations the sink
/// does not own. A GET then reads the Secret back and compares the decoded values. Then each
/// restart target whose pod template does not yet carry the client ID is patched the way
/// `kubectl rollout restart` does it.
///
/// Once a write may have reached the API server (no answer, a 5xx, a read-back that fails or
/// differs) and whenever a restart fails after the Secret holds the credential, the failure is
/// ambiguous: the Secret may hold the new credential and pods may already read it, so the
/// rotation only rolls forward and the delivery is retried (the retry writes nothing and
/// restarts the targets still due). 401: the token file is re-read once and the request sent
/// again, then `Auth`; 403 and other refusals `Permanent`, naming the verb and resource; 429,
/// 5xx and lost connections `Transient`.
///
/// Messages name the sink, the request, the status and the API server's Status message (with
/// the credential and the bearer token masked), never a header or a body. Thread-safe: the
/// channel pools connections and the token source locks; no state is kept between calls.
class KubernetesSink final : public SecretSink
{
public:
    /// Follows `settings.tokenFile` (config::TokenSource, checked like astra.tokenFile) and
    /// checks `settings.caFile` like astra.caFile. Throws core::ConfigError naming the key.
    KubernetesSink(const config::SinkSettings& settings, core::Clock& clock);
    /// With a token source of the caller's (tests).
    KubernetesSink(const config::SinkSettings& settings, core::Clock& clock,
                   std::shared_ptr<config::TokenSource> token);
    ~KubernetesSink() override;

    const std::string& name() const override { return _settings.name; }
    std::string describe() const override;
    core::Outcome<void> deliver(const Credential& credential) override;
    /// GET of the Secret (absent is fine) and a SelfSubjectAccessReview for each verb deliver
    /// may use; reports every verb the service account lacks. Writes nothing.
    core::Outcome<void> check() const override;

private:
    struct SecretState;
    core::Outcome<api::HttpResult> send(const std::string& method, const std::string& target,
                                        std::string_view body, const std::string& contentType,
                                        const core::SecretMasker& masker) const;
    core::Outcome<bool> writeSecret(const std::optional<SecretState>& current,
                                    const kubernetes::OwnedData& data, const Credential& credential,
                                    const core::SecretMasker& masker);
    core::Outcome<void> restart(const config::KubernetesRestartTarget& target,
                                const std::string& clientId, const core::SecretMasker& masker);
    core::Failure refusal(const std::string& what, const api::HttpResult& result, bool write,
                          const core::SecretMasker& masker) const;
    core::Outcome<bool> allowed(const std::string& verb, const std::string& group,
                                const std::string& resource, const std::string& objectName,
                                const core::SecretMasker& masker) const;
    std::string secretPath() const;

    config::SinkSettings _settings;
    core::Clock& _clock;
    std::shared_ptr<config::TokenSource> _token;
    std::unique_ptr<api::HttpChannel> _channel;
};

} // namespace rotator::sink
