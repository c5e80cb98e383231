#include "rotator/sink/KubernetesSink.h"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Logger.h>

#include "rotator/api/HttpChannel.h"
#include "rotator/config/TrustChecks.h"
#include "rotator/core/Base64.h"
#include "rotator/core/JsonString.h"
#include "rotator/core/SecretMasker.h"
#include "rotator/core/SecureWipe.h"
#include "rotator/core/Time.h"

namespace rotator::sink
{

namespace
{

constexpr const char* kManagedBy = "app.kubernetes.io/managed-by";
constexpr const char* kClientIdAnnotation = "astra-rotator/client-id";
constexpr const char* kCredentialAnnotation = "astra-rotator/credential";
constexpr const char* kRotatedAtAnnotation = "astra-rotator/rotated-at";
constexpr const char* kRestartedAt = "kubectl.kubernetes.io/restartedAt";
/// Concurrent writers (another controller, a person with kubectl) are rare: a few re-reads
/// settle a race, more would only hide a writer that fights the rotator.
constexpr int kMaxConflicts = 5;
/// What of the API server's message a failure quotes.
constexpr std::size_t kMaxMessage = 300;

Poco::Logger& logger()
{
    return Poco::Logger::get("sink");
}

/// The object at `key`, or null.
Poco::JSON::Object::Ptr objectAt(const Poco::JSON::Object::Ptr& object, const std::string& key)
{
    if (object.isNull() || !object->has(key) || !object->isObject(key))
    {
        return nullptr;
    }
    return object->getObject(key);
}

/// The string at `key`, or empty.
std::string stringAt(const Poco::JSON::Object::Ptr& object, const std::string& key)
{
    if (object.isNull() || !object->has(key))
    {
        return "";
    }
    const Poco::Dynamic::Var value = object->get(key);
    return value.isString() ? value.extract<std::string>() : "";
}

Poco::JSON::Object::Ptr parseObject(std::string_view body)
{
    try
    {
        Poco::JSON::Parser parser;
        const Poco::Dynamic::Var parsed = parser.parse(std::string(body));
        if (parsed.type() == typeid(Poco::JSON::Object::Ptr))
        {
            return parsed.extract<Poco::JSON::Object::Ptr>();
        }
    }
    catch (const Poco::Exception&)
    {
        // Not JSON: the caller says what it expected.
    }
    return nullptr;
}

void appendMetadata(std::string& out, const kubernetes::SecretMeta& meta)
{
    out += "\"labels\":{";
    core::appendJsonString(out, kManagedBy);
    out += ":\"astra-rotator\"},\"annotations\":{";
    core::appendJsonString(out, kClientIdAnnotation);
    out += ":";
    core::appendJsonString(out, meta.clientId);
    out += ",";
    core::appendJsonString(out, kCredentialAnnotation);
    out += ":";
    core::appendJsonString(out, meta.credential);
    out += ",";
    core::appendJsonString(out, kRotatedAtAnnotation);
    out += ":";
    core::appendJsonString(out, meta.rotatedAt);
    out += "}";
}

void appendData(std::string& out, const kubernetes::OwnedData& data)
{
    out += "\"data\":{";
    bool first = true;
    for (const auto& [key, value] : data)
    {
        out += first ? "" : ",";
        first = false;
        core::appendJsonString(out, key);
        out += ":\"";
        std::string encoded = core::base64Encode(value.reveal(), false, true);
        out += encoded;
        core::secureWipe(encoded);
        out += "\"";
    }
    out += "}";
}

/// `deployment` -> (`apps`, `deployments`).
std::string pluralOf(const std::string& kind)
{
    return kind + "s";
}

std::string statusText(int status)
{
    switch (status)
    {
    case 400:
        return "400 Bad Request";
    case 401:
        return "401 Unauthorized";
    case 403:
        return "403 Forbidden";
    case 404:
        return "404 Not Found";
    case 409:
        return "409 Conflict";
    case 422:
        return "422 Unprocessable Entity";
    case 429:
        return "429 Too Many Requests";
    default:
        return std::to_string(status);
    }
}

} // namespace

namespace kubernetes
{

std::optional<Status> parseStatus(std::string_view body)
{
    const auto object = parseObject(body);
    if (object.isNull() || stringAt(object, "kind") != "Status")
    {
        return std::nullopt;
    }
    Status status;
    status.message = stringAt(object, "message");
    status.reason = stringAt(object, "reason");
    if (object->has("code") && object->get("code").isInteger())
    {
        status.code = object->get("code").convert<int>();
    }
    return status;
}

std::string secretPatchBody(const OwnedData& data, const SecretMeta& meta,
                            const std::string& resourceVersion)
{
    std::string out = "{\"metadata\":{\"resourceVersion\":";
    core::appendJsonString(out, resourceVersion);
    out += ",";
    appendMetadata(out, meta);
    out += "},";
    appendData(out, data);
    out += "}";
    return out;
}

std::string secretCreateBody(const std::string& namespaceName, const std::string& name,
                             const OwnedData& data, const SecretMeta& meta)
{
    std::string out = "{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":";
    core::appendJsonString(out, name);
    out += ",\"namespace\":";
    core::appendJsonString(out, namespaceName);
    out += ",";
    appendMetadata(out, meta);
    out += "},\"type\":\"Opaque\",";
    appendData(out, data);
    out += "}";
    return out;
}

std::string restartPatchBody(const std::string& restartedAt, const std::string& clientId)
{
    std::string out = "{\"spec\":{\"template\":{\"metadata\":{\"annotations\":{";
    core::appendJsonString(out, kRestartedAt);
    out += ":";
    core::appendJsonString(out, restartedAt);
    out += ",";
    core::appendJsonString(out, kClientIdAnnotation);
    out += ":";
    core::appendJsonString(out, clientId);
    out += "}}}}}";
    return out;
}

} // namespace kubernetes

/// What deliver needs of the Secret as read.
struct KubernetesSink::SecretState
{
    std::string resourceVersion;
    std::string clientId;   ///< the client-id annotation
    bool holdsData = false; ///< every owned key decodes to the value being delivered
};

KubernetesSink::KubernetesSink(const config::SinkSettings& settings, core::Clock& clock)
    : KubernetesSink(settings, clock,
                     [&settings]
                     {
                         if (!settings.caFile.empty())
                         {
                             config::openInputFile(settings.caFile,
                                                   "sinks." + settings.name + ".caFile", false);
                         }
                         std::vector<std::string> warnings;
                         auto source = config::TokenSource::follow(
                             settings.tokenFile, "sinks." + settings.name + ".tokenFile", warnings);
                         for (const auto& w : warnings)
                         {
                             logger().warning(w);
                         }
                         return source;
                     }())
{
}

KubernetesSink::KubernetesSink(const config::SinkSettings& settings, core::Clock& clock,
                               std::shared_ptr<config::TokenSource> token)
    : _settings(settings), _clock(clock), _token(std::move(token))
{
    api::ChannelOptions options;
    options.url = _settings.kubernetes.server;
    options.caFile = _settings.caFile;
    options.timeoutMs = _settings.kubernetes.timeoutMs;
    options.requestDeadlineMs = _settings.kubernetes.requestDeadlineMs;
    options.maxBodyBytes = 4 * 1024 * 1024;
    options.caKey = "sinks." + _settings.name + ".caFile";
    options.deadlineKey = "the kubernetes sink's request deadline";
    _channel = std::make_unique<api::HttpChannel>(std::move(options), _clock);
}

KubernetesSink::~KubernetesSink() = default;

std::string KubernetesSink::describe() const
{
    const auto& k = _settings.kubernetes;
    std::string keys;
    for (const auto& [key, field] : k.keys)
    {
        keys += (keys.empty() ? "" : ", ") + key + "=" + field;
    }
    std::string text = "kubernetes Secret " + k.namespaceName + "/" + k.secret + " at " + k.server +
                       " (" + keys + ")";
    for (const auto& target : k.restart)
    {
        text += ", restarts " + target.kind + "/" + target.name;
    }
    return text;
}

std::string KubernetesSink::secretPath() const
{
    return "/api/v1/namespaces/" + _settings.kubernetes.namespaceName + "/secrets/" +
           _settings.kubernetes.secret;
}

core::Outcome<api::HttpResult>
KubernetesSink::send(const std::string& method, const std::string& target, std::string_view body,
                     const std::string& contentType, const core::SecretMasker& masker) const
{
    const auto attempt = [&](const core::Secret& token)
    {
        api::HttpRequestSpec request;
        request.method = method;
        request.target = target;
        request.headers.emplace_back("Authorization", "Bearer " + token.reveal());
        request.headers.emplace_back("Accept", "application/json");
        request.body = body;
        request.contentType = contentType;
        auto result = _channel->send(request);
        core::secureWipe(request.headers.front().second);
        return result;
    };
    const core::Secret sent = _token->current();
    auto result = attempt(sent);
    if (result && result->status == 401)
    {
        // Authentication comes before anything is done, so even a write may be sent again: the
        // kubelet may have rotated the projected token since the last look.
        if (auto replacement = _token->replacementFor(sent))
        {
            logger().information("kubernetes sink %s: %s %s: the token was refused; the token "
                                 "file holds a new one, trying it",
                                 _settings.name, method, target.substr(0, target.find('?')));
            result = attempt(*replacement);
        }
    }
    if (!result)
    {
        auto failure = result.error();
        failure.message =
            "kubernetes sink " + _settings.name + ": " + masker.clean(failure.message, kMaxMessage);
        return tl::unexpected(std::move(failure));
    }
    return result;
}

core::Failure KubernetesSink::refusal(const std::string& what, const api::HttpResult& result,
                                      bool write, const core::SecretMasker& masker) const
{
    core::Failure failure;
    failure.httpStatus = result.status;
    failure.retryAfterMs = result.retryAfterMs;
    const auto status = kubernetes::parseStatus(result.body);
    // The Status message is the API server's own wording; it names objects, verbs and fields,
    // and is masked in case a webhook or a validation message quotes a value.
    std::string detail = status && !status->message.empty()
                             ? masker.clean(status->message, kMaxMessage)
                             : "(no Status message in the answer)";
    std::string message =
        "kubernetes sink " + _settings.name + ": " + what + ": " + statusText(result.status) +
        (status && !status->reason.empty() ? " (" + status->reason + ")" : "") + ": " + detail;
    if (result.status == 401)
    {
        failure.kind = core::FailureKind::Auth;
        message += "; the token in sinks." + _settings.name + ".tokenFile (" + _settings.tokenFile +
                   ") is not accepted";
    }
    else if (result.status == 403)
    {
        failure.kind = core::FailureKind::Permanent;
        message += "; grant the service account's Role this verb (see deploy/kubernetes/rbac.yaml)";
    }
    else if (result.status == 429 || result.status >= 500)
    {
        failure.kind = core::FailureKind::Transient;
        // The API server may have stored the object before a 5xx (an etcd timeout is reported
        // as 500 or 504 after the write may have committed); a 429 is answered before.
        failure.ambiguous = write && result.status >= 500;
    }
    else
    {
        failure.kind = core::FailureKind::Permanent;
    }
    failure.message = std::move(message);
    return failure;
}

core::Outcome<void> KubernetesSink::deliver(const Credential& credential)
{
    const auto& k = _settings.kubernetes;
    core::SecretMasker masker;
    masker.addSecret(credential.secret.reveal());
    masker.addSecretWithPublicPrefix("AstraCS:" + credential.clientId + ":",
                                     credential.token.reveal().substr(std::min(
                                         credential.token.size(), credential.clientId.size() + 9)));
    masker.addSecret(_token->current().reveal());
    kubernetes::OwnedData data;
    for (const auto& [key, field] : k.keys)
    {
        std::string value = credentialField(credential, field);
        data.emplace_back(key, core::Secret(std::move(value)));
    }
    const std::string where = "Secret " + k.namespaceName + "/" + k.secret;

    // GET, compared with what is being delivered: nullopt when absent.
    const auto read = [&](bool afterWrite) -> core::Outcome<std::optional<SecretState>>
    {
        auto result = send("GET", secretPath(), "", "", masker);
        if (!result)
        {
            auto failure = result.error();
            failure.ambiguous = failure.ambiguous || afterWrite;
            return tl::unexpected(std::move(failure));
        }
        if (result->status == 404)
        {
            return std::optional<SecretState>{};
        }
        if (result->status != 200)
        {
            auto failure = refusal("GET " + where, *result, false, masker);
            failure.ambiguous = afterWrite;
            return tl::unexpected(std::move(failure));
        }
        const auto object = parseObject(result->body);
        core::secureWipe(result->body);
        const auto metadata = objectAt(object, "metadata");
        if (metadata.isNull())
        {
            core::Failure failure;
            failure.kind = core::FailureKind::Transient;
            failure.ambiguous = afterWrite;
            failure.message = "kubernetes sink " + _settings.name + ": GET " + where +
                              ": the answer is not a Secret";
            return tl::unexpected(std::move(failure));
        }
        SecretState state;
        state.resourceVersion = stringAt(metadata, "resourceVersion");
        state.clientId = stringAt(objectAt(metadata, "annotations"), kClientIdAnnotation);
        const auto stored = objectAt(object, "data");
        state.holdsData = true;
        for (const auto& [key, value] : data)
        {
            std::string encoded = stringAt(stored, key);
            auto decoded = core::base64Decode(encoded);
            state.holdsData =
                state.holdsData && decoded && core::constantTimeEquals(*decoded, value.reveal());
            core::secureWipe(encoded);
            if (decoded)
            {
                core::secureWipe(*decoded);
            }
        }
        return std::optional<SecretState>(std::move(state));
    };
    const auto holds = [&](const std::optional<SecretState>& state)
    { return state && state->holdsData && state->clientId == credential.clientId; };

    bool written = false;
    for (int attempt = 0;; ++attempt)
    {
        if (attempt == kMaxConflicts)
        {
            return core::fail(core::FailureKind::Transient,
                              "kubernetes sink " + _settings.name + ": " + where + " changed " +
                                  std::to_string(kMaxConflicts) +
                                  " times while being updated (another writer?); nothing "
                                  "written, will retry",
                              409);
        }
        auto current = read(false);
        if (!current)
        {
            return tl::unexpected(current.error());
        }
        if (holds(*current))
        {
            break;
        }
        auto outcome = writeSecret(*current, data, credential, masker);
        if (!outcome)
        {
            return tl::unexpected(outcome.error());
        }
        if (*outcome)
        {
            written = true;
            break;
        }
        logger().information("kubernetes sink %s: %s changed while being written (409); "
                             "reading it again",
                             _settings.name, where);
    }
    if (written)
    {
        auto back = read(true);
        if (!back)
        {
            return tl::unexpected(back.error());
        }
        if (!holds(*back))
        {
            return core::failAmbiguous(core::FailureKind::Transient,
                                       "kubernetes sink " + _settings.name + ": " + where +
                                           " read back after the write does not hold clientId " +
                                           credential.clientId +
                                           " (another writer?); it may hold it, will retry");
        }
        logger().information("kubernetes sink %s: wrote clientId %s to %s (keys %s)",
                             _settings.name, credential.clientId, where,
                             std::to_string(data.size()));
    }
    else
    {
        logger().information("kubernetes sink %s: %s already holds clientId %s; nothing written",
                             _settings.name, where, credential.clientId);
    }
    for (const auto& target : k.restart)
    {
        if (auto restarted = restart(target, credential.clientId, masker); !restarted)
        {
            return restarted;
        }
    }
    return {};
}

core::Outcome<bool> KubernetesSink::writeSecret(const std::optional<SecretState>& current,
                                                const kubernetes::OwnedData& data,
                                                const Credential& credential,
                                                const core::SecretMasker& masker)
{
    const auto& k = _settings.kubernetes;
    const kubernetes::SecretMeta meta{credential.clientId, credential.credential,
                                      core::formatRfc3339Seconds(_clock.nowMs())};
    const bool create = !current.has_value();
    std::string body = create ? kubernetes::secretCreateBody(k.namespaceName, k.secret, data, meta)
                              : kubernetes::secretPatchBody(data, meta, current->resourceVersion);
    const std::string method = create ? "POST" : "PATCH";
    const std::string target =
        create ? "/api/v1/namespaces/" + k.namespaceName + "/secrets" : secretPath();
    auto result = send(method, target, body,
                       create ? "application/json" : "application/merge-patch+json", masker);
    core::secureWipe(body);
    if (!result)
    {
        return tl::unexpected(result.error());
    }
    if (result->status == 200 || result->status == 201)
    {
        return true;
    }
    if (result->status == 409)
    {
        // AlreadyExists (created since our GET) or Conflict (a stale resourceVersion): nothing
        // was written; the caller reads again.
        return false;
    }
    const std::string verb = create ? "create" : "patch";
    return tl::unexpected(
        refusal(method + " Secret " + k.namespaceName + "/" + k.secret + " (verb " + verb + ")",
                *result, true, masker));
}

core::Outcome<void> KubernetesSink::restart(const config::KubernetesRestartTarget& target,
                                            const std::string& clientId,
                                            const core::SecretMasker& masker)
{
    const auto& k = _settings.kubernetes;
    const std::string path = "/apis/apps/v1/namespaces/" + k.namespaceName + "/" +
                             pluralOf(target.kind) + "/" + target.name;
    const std::string what = target.kind + "/" + target.name;
    // The Secret holds the new credential now: whatever fails here, pods may already read it,
    // so every failure is ambiguous (roll forward only) and the retry restarts what is due.
    const auto failed = [&](core::Failure failure)
    {
        failure.ambiguous = true;
        failure.message += " (the Secret holds the new credential; the restart is retried)";
        logger().warning(failure.message);
        return tl::unexpected(std::move(failure));
    };
    auto current = send("GET", path, "", "", masker);
    if (!current)
    {
        return failed(current.error());
    }
    if (current->status != 200)
    {
        return failed(
            refusal("GET " + what + " (verb get, to restart it)", *current, false, masker));
    }
    const auto object = parseObject(current->body);
    const auto annotations = objectAt(
        objectAt(objectAt(objectAt(object, "spec"), "template"), "metadata"), "annotations");
    if (stringAt(annotations, kClientIdAnnotation) == clientId)
    {
        return {}; // restarted for this client already (a retried delivery)
    }
    const std::string body =
        kubernetes::restartPatchBody(core::formatRfc3339Seconds(_clock.nowMs()), clientId);
    auto result = send("PATCH", path, body, "application/strategic-merge-patch+json", masker);
    if (!result)
    {
        return failed(result.error());
    }
    if (result->status != 200)
    {
        return failed(
            refusal("PATCH " + what + " (verb patch, to restart it)", *result, true, masker));
    }
    logger().information("kubernetes sink %s: restarted %s for clientId %s", _settings.name, what,
                         clientId);
    return {};
}

core::Outcome<bool> KubernetesSink::allowed(const std::string& verb, const std::string& group,
                                            const std::string& resource,
                                            const std::string& objectName,
                                            const core::SecretMasker& masker) const
{
    std::string body = "{\"apiVersion\":\"authorization.k8s.io/v1\",\"kind\":"
                       "\"SelfSubjectAccessReview\",\"spec\":{\"resourceAttributes\":{"
                       "\"namespace\":";
    core::appendJsonString(body, _settings.kubernetes.namespaceName);
    body += ",\"verb\":";
    core::appendJsonString(body, verb);
    body += ",\"group\":";
    core::appendJsonString(body, group);
    body += ",\"resource\":";
    core::appendJsonString(body, resource);
    if (!objectName.empty())
    {
        body += ",\"name\":";
        core::appendJsonString(body, objectName);
    }
    body += "}}}";
    auto result = send("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", body,
                       "application/json", masker);
    if (!result)
    {
        return tl::unexpected(result.error());
    }
    if (result->status != 200 && result->status != 201)
    {
        return tl::unexpected(
            refusal("POST selfsubjectaccessreviews (" + verb + " " + resource + ")", *result, false,
                    masker));
    }
    const auto status = objectAt(parseObject(result->body), "status");
    if (status.isNull() || !status->has("allowed") || !status->get("allowed").isBoolean())
    {
        return core::fail(core::FailureKind::Transient,
                          "kubernetes sink " + _settings.name +
                              ": the SelfSubjectAccessReview answer has no status.allowed");
    }
    return status->get("allowed").extract<bool>();
}

core::Outcome<void> KubernetesSink::check() const
{
    const auto& k = _settings.kubernetes;
    core::SecretMasker masker;
    masker.addSecret(_token->current().reveal());
    const std::string where = "Secret " + k.namespaceName + "/" + k.secret;
    auto read = send("GET", secretPath(), "", "", masker);
    if (!read)
    {
        return tl::unexpected(read.error());
    }
    core::secureWipe(read->body);
    if (read->status != 200 && read->status != 404)
    {
        return tl::unexpected(refusal("GET " + where + " (verb get)", *read, false, masker));
    }
    struct Need
    {
        std::string verb, group, resource, name;
    };
    std::vector<Need> needs = {{"get", "", "secrets", k.secret},
                               {"create", "", "secrets", ""}, // create has no object name
                               {"patch", "", "secrets", k.secret}};
    for (const auto& target : k.restart)
    {
        needs.push_back({"get", "apps", pluralOf(target.kind), target.name});
        needs.push_back({"patch", "apps", pluralOf(target.kind), target.name});
    }
    std::string denied;
    for (const auto& need : needs)
    {
        auto ok = allowed(need.verb, need.group, need.resource, need.name, masker);
        if (!ok)
        {
            return tl::unexpected(ok.error());
        }
        if (!*ok)
        {
            denied += (denied.empty() ? "" : ", ") + need.verb + " " + need.resource +
                      (need.name.empty() ? "" : "/" + need.name);
        }
    }
    if (!denied.empty())
    {
        return core::fail(core::FailureKind::Permanent,
                          "kubernetes sink " + _settings.name + ": the service account may not " +
                              denied + " in namespace " + k.namespaceName +
                              " (SelfSubjectAccessReview); grant them in its Role (see "
                              "deploy/kubernetes/rbac.yaml)");
    }
    return {};
}

} // namespace rotator::sink
