#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rotator/sim/StoreServer.h"

namespace rotator::sim
{

/// One RBAC rule of a simulated identity: `verbs` (`get`, `create`, `update`, `patch`,
/// `delete`, or `*`) on `resource` (`secrets`, `deployments`, `statefulsets`, `daemonsets`, or
/// `*`), restricted to `names` when not empty. As in Kubernetes, a rule with names never grants
/// `create` (the name is not known when the request is authorized).
struct KubernetesRule
{
    std::vector<std::string> verbs;
    std::string resource;
    std::vector<std::string> names;
};

/// A Secret as the simulator holds it.
struct KubernetesSecret
{
    std::string type = "Opaque";
    std::map<std::string, std::string> data; ///< key -> decoded value
    std::map<std::string, std::string> labels;
    std::map<std::string, std::string> annotations;
    std::string resourceVersion;
};

/// A stand-in for the parts of a Kubernetes API server that a kubernetes sink uses, written from
/// the public API reference: `/api/v1/namespaces/{ns}/secrets[/{name}]` (GET, POST, PUT, PATCH
/// with JSON merge patch or strategic merge patch, DELETE) with resourceVersion preconditions
/// (409 Conflict) and AlreadyExists, base64 data (400) and key validation (422 Invalid);
/// `/apis/apps/v1/namespaces/{ns}/{deployments|statefulsets|daemonsets}/{name}` GET and PATCH
/// (the pod template's annotations are kept); SelfSubjectAccessReview; bearer tokens (401 for an
/// unknown or expired one) with per-token RBAC rules (403 Forbidden worded like the real API
/// server). Every error is a `Status` object. Faults come from StoreServer (their bodies are
/// Status objects too) plus the store's own: expired tokens and concurrent writers.
///
/// Not modelled: watches, lists, admission webhooks, RBAC aggregation, API groups in rules,
/// stringData, immutable Secrets, server-side apply, field managers.
///
/// Thread-safe: one mutex guards the state; the server calls the handler on its threads.
class KubernetesSimulator
{
public:
    /// Listens now. `options.faults` apply from the start (their pathPrefix should be `/api/`
    /// or `/apis/`).
    explicit KubernetesSimulator(StoreServerOptions options);
    ~KubernetesSimulator();
    KubernetesSimulator(const KubernetesSimulator&) = delete;
    KubernetesSimulator& operator=(const KubernetesSimulator&) = delete;

    StoreServer& server();
    std::string baseUrl() const;

    void addNamespace(const std::string& namespaceName);
    /// `token` authenticates as `user` (e.g. `system:serviceaccount:ns:sa`) in `namespaceName`,
    /// with `rules` there (and nothing elsewhere). Replaces an earlier identity of that token.
    void addToken(const std::string& token, const std::string& user,
                  const std::string& namespaceName, std::vector<KubernetesRule> rules);
    /// Every verb on every resource of `namespaceName` (which is added).
    void addFullAccessToken(const std::string& token, const std::string& namespaceName);
    /// From now on `token` is answered 401, as the API server answers an expired projected token.
    void expireToken(const std::string& token);

    std::optional<KubernetesSecret> secret(const std::string& namespaceName,
                                           const std::string& name) const;
    /// Stores a Secret as someone else would (a new resourceVersion).
    void putSecret(const std::string& namespaceName, const std::string& name,
                   KubernetesSecret secret);
    /// Another writer updated the Secret: its resourceVersion changes, nothing else.
    void bumpResourceVersion(const std::string& namespaceName, const std::string& name);
    /// The next `count` writes (PUT, PATCH) to the Secret find it changed by another writer
    /// just before them: a resourceVersion precondition from an earlier read fails with 409.
    void conflictOnNextWrites(const std::string& namespaceName, const std::string& name, int count);
    /// After the next successful write to the Secret, another writer sets `key` to `value`.
    void overwriteAfterNextWrite(const std::string& namespaceName, const std::string& name,
                                 const std::string& key, const std::string& value);
    /// Successful creates and updates of Secrets so far.
    std::int64_t secretWrites() const;

    /// `kind` is `deployments`, `statefulsets` or `daemonsets`.
    void addWorkload(const std::string& kind, const std::string& namespaceName,
                     const std::string& name);
    /// The pod template's annotations; nullopt when there is no such workload.
    std::optional<std::map<std::string, std::string>>
    templateAnnotations(const std::string& kind, const std::string& namespaceName,
                        const std::string& name) const;

    struct State;

private:
    std::unique_ptr<State> _state;
    std::unique_ptr<StoreServer> _server; ///< last: stopped before the state it calls into goes
};

/// The Status body the simulator answers `status` with (also for injected faults).
StoreReply kubernetesStatusReply(int status, const std::string& reason, const std::string& message);

} // namespace rotator::sim
