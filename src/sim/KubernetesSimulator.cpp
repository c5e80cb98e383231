#include "rotator/sim/KubernetesSimulator.h"

#include <algorithm>
#include <mutex>
#include <set>

#include <Poco/JSON/Object.h>

#include "Json.h"
#include "rotator/core/Base64.h"
#include "rotator/core/SecretMasker.h"

// The API server's behaviour as the Kubernetes API reference describes it (Secrets in core/v1,
// workloads in apps/v1, SelfSubjectAccessReview in authorization.k8s.io/v1, "API Concepts":
// resourceVersion preconditions, patch content types, Status objects).

namespace rotator::sim
{

namespace
{

using Poco::JSON::Object;

const std::string kSecretsRoute = "/api/v1/namespaces/{ns}/secrets";
const std::string kSecretRoute = "/api/v1/namespaces/{ns}/secrets/{name}";
const std::string kReviewPath = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews";

struct Identity
{
    std::string user;
    std::string namespaceName;
    std::vector<KubernetesRule> rules;
    bool expired = false;
};

struct Workload
{
    std::map<std::string, std::string> annotations;
    std::int64_t resourceVersion = 0;
};

std::string reasonOf(int status)
{
    switch (status)
    {
    case 400:
        return "BadRequest";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "NotFound";
    case 405:
        return "MethodNotAllowed";
    case 409:
        return "Conflict";
    case 415:
        return "UnsupportedMediaType";
    case 422:
        return "Invalid";
    case 429:
        return "TooManyRequests";
    case 503:
        return "ServiceUnavailable";
    case 504:
        return "Timeout";
    default:
        return "InternalError";
    }
}

/// An error answered as a Status; thrown inside the handler, turned into the reply at its top.
struct StatusError
{
    int status;
    std::string reason;
    std::string message;
};

[[noreturn]] void fail(int status, const std::string& message, std::string reason = "")
{
    throw StatusError{status, reason.empty() ? reasonOf(status) : std::move(reason), message};
}

std::string verbOf(const std::string& method)
{
    static const std::map<std::string, std::string> verbs = {{"GET", "get"},
                                                             {"POST", "create"},
                                                             {"PUT", "update"},
                                                             {"PATCH", "patch"},
                                                             {"DELETE", "delete"}};
    const auto it = verbs.find(method);
    if (it == verbs.end())
    {
        fail(405, "the server does not allow this method on the requested resource");
    }
    return it->second;
}

bool ruleAllows(const KubernetesRule& rule, const std::string& verb, const std::string& resource,
                const std::string& name)
{
    const bool verbOk = std::any_of(rule.verbs.begin(), rule.verbs.end(),
                                    [&](const std::string& v) { return v == "*" || v == verb; });
    const bool resourceOk = rule.resource == "*" || rule.resource == resource;
    // resourceNames cannot restrict a create: the name is not part of its authorization.
    const bool nameOk = rule.names.empty() ||
                        (!name.empty() && verb != "create" &&
                         std::find(rule.names.begin(), rule.names.end(), name) != rule.names.end());
    return verbOk && resourceOk && nameOk;
}

std::string groupOf(const std::string& resource)
{
    return resource == "secrets" ? "" : "apps";
}

/// Splits `/a/b/c` into its segments.
std::vector<std::string> segments(const std::string& path)
{
    std::vector<std::string> parts;
    std::size_t start = 1;
    while (start <= path.size())
    {
        const std::size_t slash = path.find('/', start);
        parts.push_back(path.substr(start, slash - start));
        if (slash == std::string::npos)
        {
            break;
        }
        start = slash + 1;
    }
    return parts;
}

bool isDataKey(const std::string& key)
{
    return !key.empty() && key.size() <= 253 &&
           key.find_first_not_of(
               "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._") ==
               std::string::npos;
}

Poco::JSON::Object::Ptr toObject(const std::map<std::string, std::string>& map)
{
    auto object = json::newObject();
    for (const auto& [key, value] : map)
    {
        object->set(key, value);
    }
    return object;
}

/// Applies a merge-patch map (a null value removes the key) or, for PUT, replaces it.
void mergeStrings(std::map<std::string, std::string>& into, const Object::Ptr& patch,
                  const std::string& field)
{
    for (const auto& name : patch->getNames())
    {
        const auto value = patch->get(name);
        if (value.isEmpty())
        {
            into.erase(name);
        }
        else if (value.isString())
        {
            into[name] = value.extract<std::string>();
        }
        else
        {
            fail(400, field + "." + name + ": expected a string");
        }
    }
}

Object::Ptr objectField(const Object::Ptr& object, const std::string& key)
{
    if (object.isNull() || !object->has(key) || object->get(key).isEmpty())
    {
        return nullptr;
    }
    if (!object->isObject(key))
    {
        fail(400, key + ": expected an object");
    }
    return object->getObject(key);
}

std::string stringField(const Object::Ptr& object, const std::string& key)
{
    if (object.isNull() || !object->has(key) || object->get(key).isEmpty())
    {
        return "";
    }
    if (!object->get(key).isString())
    {
        fail(400, key + ": expected a string");
    }
    return object->get(key).extract<std::string>();
}

} // namespace

StoreReply kubernetesStatusReply(int status, const std::string& reason, const std::string& message)
{
    auto body = json::newObject();
    body->set("kind", "Status");
    body->set("apiVersion", "v1");
    body->set("metadata", json::newObject());
    body->set("status", "Failure");
    body->set("message", message);
    body->set("reason", reason);
    body->set("code", status);
    StoreReply reply;
    reply.status = status;
    reply.body = json::stringify(body);
    return reply;
}

struct KubernetesSimulator::State
{
    mutable std::mutex mutex;
    std::set<std::string> namespaces;
    std::map<std::string, Identity> tokens;
    std::map<std::pair<std::string, std::string>, KubernetesSecret> secrets;
    /// (kind, ns, name) -> workload
    std::map<std::tuple<std::string, std::string, std::string>, Workload> workloads;
    std::int64_t nextVersion = 1000;
    std::int64_t writes = 0;
    std::map<std::pair<std::string, std::string>, int> conflicts;
    std::map<std::pair<std::string, std::string>, std::pair<std::string, std::string>> overwrites;

    std::string newVersion() { return std::to_string(++nextVersion); }

    StoreReply handle(const StoreRequest& request);
    StoreReply answer(const StoreRequest& request);
    const Identity& authenticate(const StoreRequest& request);
    void authorize(const Identity& who, const std::string& verb, const std::string& resource,
                   const std::string& ns, const std::string& name) const;
    bool allows(const Identity& who, const std::string& verb, const std::string& resource,
                const std::string& ns, const std::string& name) const;
    StoreReply secrets_(const StoreRequest& request, const Identity& who, const std::string& ns,
                        const std::string& name);
    StoreReply workload(const StoreRequest& request, const Identity& who, const std::string& ns,
                        const std::string& kind, const std::string& name);
    StoreReply review(const StoreRequest& request, const Identity& who);
    std::string render(const std::string& ns, const std::string& name,
                       const KubernetesSecret& secret) const;
    /// Reads `data`, `type`, labels and annotations of a body into `secret`.
    void apply(KubernetesSecret& secret, const Object::Ptr& body, bool replace) const;
    void afterWrite(const std::pair<std::string, std::string>& id);
};

const Identity& KubernetesSimulator::State::authenticate(const StoreRequest& request)
{
    const std::string header = request.header("Authorization");
    const std::string prefix = "Bearer ";
    const auto it =
        header.rfind(prefix, 0) == 0 ? tokens.find(header.substr(prefix.size())) : tokens.end();
    if (it == tokens.end() || it->second.expired)
    {
        fail(401, "Unauthorized");
    }
    return it->second;
}

bool KubernetesSimulator::State::allows(const Identity& who, const std::string& verb,
                                        const std::string& resource, const std::string& ns,
                                        const std::string& name) const
{
    return ns == who.namespaceName && std::any_of(who.rules.begin(), who.rules.end(),
                                                  [&](const KubernetesRule& rule) {
                                                      return ruleAllows(rule, verb, resource, name);
                                                  });
}

void KubernetesSimulator::State::authorize(const Identity& who, const std::string& verb,
                                           const std::string& resource, const std::string& ns,
                                           const std::string& name) const
{
    if (allows(who, verb, resource, ns, name))
    {
        return;
    }
    // The API server's wording (k8s.io/apiserver, forbidden()).
    fail(403, resource + (name.empty() ? "" : " \"" + name + "\"") + " is forbidden: User \"" +
                  who.user + "\" cannot " + verb + " resource \"" + resource +
                  "\" in API group \"" + groupOf(resource) + "\" in the namespace \"" + ns + "\"");
}

std::string KubernetesSimulator::State::render(const std::string& ns, const std::string& name,
                                               const KubernetesSecret& secret) const
{
    auto metadata = json::newObject();
    metadata->set("name", name);
    metadata->set("namespace", ns);
    metadata->set("resourceVersion", secret.resourceVersion);
    if (!secret.labels.empty())
    {
        metadata->set("labels", toObject(secret.labels));
    }
    if (!secret.annotations.empty())
    {
        metadata->set("annotations", toObject(secret.annotations));
    }
    auto data = json::newObject();
    for (const auto& [key, value] : secret.data)
    {
        data->set(key, core::base64Encode(value, false, true));
    }
    auto body = json::newObject();
    body->set("kind", "Secret");
    body->set("apiVersion", "v1");
    body->set("metadata", metadata);
    body->set("data", data);
    body->set("type", secret.type);
    return json::stringify(body);
}

void KubernetesSimulator::State::apply(KubernetesSecret& secret, const Object::Ptr& body,
                                       bool replace) const
{
    const auto metadata = objectField(body, "metadata");
    if (replace)
    {
        secret.labels.clear();
        secret.annotations.clear();
        secret.data.clear();
    }
    if (metadata)
    {
        if (auto labels = objectField(metadata, "labels"))
        {
            mergeStrings(secret.labels, labels, "metadata.labels");
        }
        if (auto annotations = objectField(metadata, "annotations"))
        {
            mergeStrings(secret.annotations, annotations, "metadata.annotations");
        }
    }
    const std::string type = stringField(body, "type");
    if (!type.empty() && !secret.resourceVersion.empty() && type != secret.type)
    {
        fail(422, "Secret is invalid: type: Invalid value: \"" + type + "\": field is immutable");
    }
    if (!type.empty())
    {
        secret.type = type;
    }
    if (auto data = objectField(body, "data"))
    {
        for (const auto& key : data->getNames())
        {
            if (!isDataKey(key))
            {
                fail(422, "Secret is invalid: data[" + key + "]: Invalid value: \"" + key +
                              "\": a valid config key must consist of alphanumeric characters, "
                              "'-', '_' or '.'");
            }
            const auto value = data->get(key);
            if (value.isEmpty())
            {
                secret.data.erase(key);
                continue;
            }
            // The API server decodes []byte fields while reading the body: a bad value is a
            // 400 from the decoder (which quotes no data), before any validation.
            auto decoded =
                value.isString() ? core::base64Decode(value.extract<std::string>()) : std::nullopt;
            if (!decoded)
            {
                fail(400, "illegal base64 data in data[" + key + "]");
            }
            secret.data[key] = std::move(*decoded);
        }
    }
}

void KubernetesSimulator::State::afterWrite(const std::pair<std::string, std::string>& id)
{
    ++writes;
    const auto it = overwrites.find(id);
    if (it != overwrites.end())
    {
        auto& secret = secrets[id];
        secret.data[it->second.first] = it->second.second;
        secret.resourceVersion = newVersion();
        overwrites.erase(it);
    }
}

StoreReply KubernetesSimulator::State::secrets_(const StoreRequest& request, const Identity& who,
                                                const std::string& ns, const std::string& name)
{
    const std::string verb = verbOf(request.method);
    authorize(who, verb, "secrets", ns, name);
    if (namespaces.count(ns) == 0)
    {
        fail(404, "namespaces \"" + ns + "\" not found");
    }
    StoreReply reply;
    reply.route = name.empty() ? kSecretsRoute : kSecretRoute;
    if (name.empty())
    {
        if (verb != "create")
        {
            fail(405, "the simulator does not list secrets");
        }
        const auto body = json::parseObject(request.body);
        const auto metadata = objectField(body, "metadata");
        const std::string created = stringField(metadata, "name");
        if (created.empty())
        {
            fail(422, "Secret is invalid: metadata.name: Required value: name or generateName is "
                      "required");
        }
        if (const std::string inBody = stringField(metadata, "namespace");
            !inBody.empty() && inBody != ns)
        {
            fail(400, "the namespace of the provided object does not match the namespace sent on "
                      "the request");
        }
        const auto id = std::make_pair(ns, created);
        if (secrets.count(id) != 0)
        {
            fail(409, "secrets \"" + created + "\" already exists", "AlreadyExists");
        }
        KubernetesSecret secret;
        apply(secret, body, true);
        secret.resourceVersion = newVersion();
        secrets[id] = secret;
        reply.status = 201;
        reply.body = render(ns, created, secret);
        afterWrite(id);
        return reply;
    }
    const auto id = std::make_pair(ns, name);
    auto it = secrets.find(id);
    if (it == secrets.end())
    {
        fail(404, "secrets \"" + name + "\" not found");
    }
    if (verb == "get")
    {
        reply.body = render(ns, name, it->second);
        return reply;
    }
    if (verb == "delete")
    {
        secrets.erase(it);
        auto status = json::newObject();
        status->set("kind", "Status");
        status->set("apiVersion", "v1");
        status->set("status", "Success");
        reply.body = json::stringify(status);
        return reply;
    }
    if (verb == "patch")
    {
        const std::string type = request.header("Content-Type");
        if (type.rfind("application/merge-patch+json", 0) != 0 &&
            type.rfind("application/strategic-merge-patch+json", 0) != 0)
        {
            fail(415, "the body of the request was in an unknown format - accepted media types "
                      "include: application/merge-patch+json, "
                      "application/strategic-merge-patch+json");
        }
    }
    if (auto c = conflicts.find(id); c != conflicts.end())
    {
        // Another writer got there first.
        it->second.resourceVersion = newVersion();
        if (--c->second == 0)
        {
            conflicts.erase(c);
        }
    }
    const auto body = json::parseObject(request.body);
    const std::string precondition = stringField(objectField(body, "metadata"), "resourceVersion");
    if (!precondition.empty() && precondition != it->second.resourceVersion)
    {
        fail(409, "Operation cannot be fulfilled on secrets \"" + name +
                      "\": the object has been modified; please apply your changes to the latest "
                      "version and try again");
    }
    KubernetesSecret updated = it->second;
    apply(updated, body, verb == "update");
    updated.resourceVersion = newVersion();
    it->second = updated;
    reply.body = render(ns, name, updated);
    afterWrite(id);
    return reply;
}

StoreReply KubernetesSimulator::State::workload(const StoreRequest& request, const Identity& who,
                                                const std::string& ns, const std::string& kind,
                                                const std::string& name)
{
    const std::string verb = verbOf(request.method);
    authorize(who, verb, kind, ns, name);
    auto it = workloads.find({kind, ns, name});
    if (it == workloads.end())
    {
        fail(404, kind + ".apps \"" + name + "\" not found");
    }
    if (verb == "patch")
    {
        if (request.header("Content-Type").rfind("application/strategic-merge-patch+json", 0) !=
                0 &&
            request.header("Content-Type").rfind("application/merge-patch+json", 0) != 0)
        {
            fail(415, "the body of the request was in an unknown format");
        }
        const auto annotations = objectField(
            objectField(
                objectField(objectField(json::parseObject(request.body), "spec"), "template"),
                "metadata"),
            "annotations");
        if (annotations)
        {
            mergeStrings(it->second.annotations, annotations, "spec.template.metadata.annotations");
        }
        it->second.resourceVersion = ++nextVersion;
    }
    else if (verb != "get")
    {
        fail(405, "the simulator only gets and patches workloads");
    }
    auto metadata = json::newObject();
    metadata->set("name", name);
    metadata->set("namespace", ns);
    metadata->set("resourceVersion", std::to_string(it->second.resourceVersion));
    auto templateMetadata = json::newObject();
    templateMetadata->set("annotations", toObject(it->second.annotations));
    auto podTemplate = json::newObject();
    podTemplate->set("metadata", templateMetadata);
    auto spec = json::newObject();
    spec->set("template", podTemplate);
    auto body = json::newObject();
    body->set("apiVersion", "apps/v1");
    const std::string singular = kind.substr(0, kind.size() - 1);
    body->set("kind", singular == "deployment"    ? "Deployment"
                      : singular == "statefulset" ? "StatefulSet"
                                                  : "DaemonSet");
    body->set("metadata", metadata);
    body->set("spec", spec);
    StoreReply reply;
    reply.route = "/apis/apps/v1/namespaces/{ns}/" + kind + "/{name}";
    reply.body = json::stringify(body);
    return reply;
}

StoreReply KubernetesSimulator::State::review(const StoreRequest& request, const Identity& who)
{
    if (request.method != "POST")
    {
        fail(405, "the server does not allow this method on the requested resource");
    }
    const auto body = json::parseObject(request.body);
    const auto spec = objectField(body, "spec");
    const auto attributes = objectField(spec, "resourceAttributes");
    if (!attributes)
    {
        fail(422, "SelfSubjectAccessReview is invalid: spec.resourceAttributes: Required value");
    }
    const std::string verb = stringField(attributes, "verb");
    const std::string resource = stringField(attributes, "resource");
    const bool allowed = allows(who, verb, resource, stringField(attributes, "namespace"),
                                stringField(attributes, "name"));
    auto status = json::newObject();
    status->set("allowed", allowed);
    if (!allowed)
    {
        status->set("reason", "no RBAC rule allows it");
    }
    auto answer = json::newObject();
    answer->set("kind", "SelfSubjectAccessReview");
    answer->set("apiVersion", "authorization.k8s.io/v1");
    answer->set("metadata", json::newObject());
    answer->set("spec", spec);
    answer->set("status", status);
    StoreReply reply;
    reply.status = 201;
    reply.route = kReviewPath;
    reply.body = json::stringify(answer);
    return reply;
}

namespace
{

/// The path template the request counters file a request under, errors included.
std::string routeOf(const std::string& path)
{
    const auto parts = segments(path);
    if (parts.size() == 5 && parts[0] == "api" && parts[4] == "secrets")
    {
        return kSecretsRoute;
    }
    if (parts.size() == 6 && parts[0] == "api" && parts[4] == "secrets")
    {
        return kSecretRoute;
    }
    if (parts.size() == 7 && parts[0] == "apis" && parts[1] == "apps")
    {
        return "/apis/apps/v1/namespaces/{ns}/" + parts[5] + "/{name}";
    }
    return path;
}

} // namespace

StoreReply KubernetesSimulator::State::handle(const StoreRequest& request)
{
    StoreReply reply = answer(request);
    reply.route = routeOf(request.path);
    return reply;
}

StoreReply KubernetesSimulator::State::answer(const StoreRequest& request)
{
    std::lock_guard<std::mutex> lock(mutex);
    try
    {
        const Identity& who = authenticate(request);
        if (request.path == kReviewPath)
        {
            return review(request, who);
        }
        const auto parts = segments(request.path);
        // api v1 namespaces NS secrets [NAME]
        if (parts.size() >= 5 && parts.size() <= 6 && parts[0] == "api" && parts[1] == "v1" &&
            parts[2] == "namespaces" && parts[4] == "secrets")
        {
            return secrets_(request, who, parts[3], parts.size() == 6 ? parts[5] : "");
        }
        // apis apps v1 namespaces NS KIND NAME
        if (parts.size() == 7 && parts[0] == "apis" && parts[1] == "apps" && parts[2] == "v1" &&
            parts[3] == "namespaces" &&
            (parts[5] == "deployments" || parts[5] == "statefulsets" || parts[5] == "daemonsets"))
        {
            return workload(request, who, parts[4], parts[5], parts[6]);
        }
        fail(404, "the server could not find the requested resource");
    }
    catch (const StatusError& e)
    {
        return kubernetesStatusReply(e.status, e.reason, e.message);
    }
    catch (const json::Invalid& e)
    {
        return kubernetesStatusReply(400, "BadRequest", e.what());
    }
    catch (const Poco::Exception& e)
    {
        return kubernetesStatusReply(400, "BadRequest", "the request body is not valid JSON");
    }
}

KubernetesSimulator::KubernetesSimulator(StoreServerOptions options)
    : _state(std::make_unique<State>())
{
    if (options.name == "store-sim")
    {
        options.name = "kubernetes-sim";
    }
    _server = std::make_unique<StoreServer>(
        std::move(options), [this](const StoreRequest& request) { return _state->handle(request); },
        [](int status) { return kubernetesStatusReply(status, reasonOf(status), "injected"); });
}

KubernetesSimulator::~KubernetesSimulator()
{
    _server.reset();
}

StoreServer& KubernetesSimulator::server()
{
    return *_server;
}

std::string KubernetesSimulator::baseUrl() const
{
    return _server->baseUrl();
}

void KubernetesSimulator::addNamespace(const std::string& namespaceName)
{
    std::lock_guard<std::mutex> lock(_state->mutex);
    _state->namespaces.insert(namespaceName);
}

void KubernetesSimulator::addToken(const std::string& token, const std::string& user,
                                   const std::string& namespaceName,
                                   std::vector<KubernetesRule> rules)
{
    std::lock_guard<std::mutex> lock(_state->mutex);
    _state->tokens[token] = Identity{user, namespaceName, std::move(rules), false};
}

void KubernetesSimulator::addFullAccessToken(const std::string& token,
                                             const std::string& namespaceName)
{
    addNamespace(namespaceName);
    addToken(token, "system:serviceaccount:" + namespaceName + ":astra-rotator", namespaceName,
             {KubernetesRule{{"*"}, "*", {}}});
}

void KubernetesSimulator::expireToken(const std::string& token)
{
    std::lock_guard<std::mutex> lock(_state->mutex);
    _state->tokens[token].expired = true;
}

std::optional<KubernetesSecret> KubernetesSimulator::secret(const std::string& namespaceName,
                                                            const std::string& name) const
{
    std::lock_guard<std::mutex> lock(_state->mutex);
    const auto it = _state->secrets.find({namespaceName, name});
    if (it == _state->secrets.end())
    {
        return std::nullopt;
    }
    return it->second;
}

void KubernetesSimulator::putSecret(const std::string& namespaceName, const std::string& name,
                                    KubernetesSecret secret)
{
    std::lock_guard<std::mutex> lock(_state->mutex);
    _state->namespaces.insert(namespaceName);
    secret.resourceVersion = _state->newVersion();
    _state->secrets[{namespaceName, name}] = std::move(secret);
}

void KubernetesSimulator::bumpResourceVersion(const std::string& namespaceName,
                                              const std::string& name)
{
    std::lock_guard<std::mutex> lock(_state->mutex);
    const auto it = _state->secrets.find({namespaceName, name});
    if (it != _state->secrets.end())
    {
        it->second.resourceVersion = _state->newVersion();
    }
}

void KubernetesSimulator::conflictOnNextWrites(const std::string& namespaceName,
                                               const std::string& name, int count)
{
    std::lock_guard<std::mutex> lock(_state->mutex);
    if (count <= 0)
    {
        _state->conflicts.erase({namespaceName, name});
        return;
    }
    _state->conflicts[{namespaceName, name}] = count;
}

void KubernetesSimulator::overwriteAfterNextWrite(const std::string& namespaceName,
                                                  const std::string& name, const std::string& key,
                                                  const std::string& value)
{
    std::lock_guard<std::mutex> lock(_state->mutex);
    _state->overwrites[{namespaceName, name}] = {key, value};
}

std::int64_t KubernetesSimulator::secretWrites() const
{
    std::lock_guard<std::mutex> lock(_state->mutex);
    return _state->writes;
}

void KubernetesSimulator::addWorkload(const std::string& kind, const std::string& namespaceName,
                                      const std::string& name)
{
    std::lock_guard<std::mutex> lock(_state->mutex);
    _state->workloads[{kind, namespaceName, name}] = Workload{{}, ++_state->nextVersion};
}

std::optional<std::map<std::string, std::string>>
KubernetesSimulator::templateAnnotations(const std::string& kind, const std::string& namespaceName,
                                         const std::string& name) const
{
    std::lock_guard<std::mutex> lock(_state->mutex);
    const auto it = _state->workloads.find({kind, namespaceName, name});
    if (it == _state->workloads.end())
    {
        return std::nullopt;
    }
    return it->second.annotations;
}

} // namespace rotator::sim
