#include "rotator/sim/VaultSimulator.h"

#include <algorithm>
#include <mutex>
#include <random>
#include <set>

#include <Poco/JSON/Parser.h>

#include "Json.h"
#include "rotator/core/Time.h"

namespace rotator::sim
{

namespace
{

using Poco::JSON::Object;

struct Token
{
    std::vector<std::string> policies;
    std::string vaultNamespace;
    std::int64_t ttlMs = 0;       ///< 0: never expires
    std::int64_t expiresAtMs = 0; ///< 0: never
    std::int64_t maxExpiresAtMs = 0;
    bool renewable = false;
    bool fromLogin = false;
};

struct Version
{
    Object::Ptr data; ///< null: deleted
    std::int64_t createdMs = 0;
};

struct Secret
{
    std::vector<Version> versions; ///< version N is versions[N - 1]
    std::map<std::string, std::string> custom;
    bool hasCustom = false;
    bool casRequired = false;
    std::int64_t maxVersions = 0;
    std::int64_t createdMs = 0;
    std::int64_t updatedMs = 0;
};

struct LoginRole
{
    std::string secret; ///< the JWT, or the secret_id
    std::vector<std::string> policies;
    std::int64_t ttlSeconds = 0;
    std::int64_t maxTtlSeconds = 0;
    std::string mount;
};

StoreReply jsonReply(int status, const Object::Ptr& body, const std::string& route)
{
    StoreReply reply;
    reply.status = status;
    reply.body = json::stringify(body);
    reply.route = route;
    return reply;
}

StoreReply errorReply(int status, const std::vector<std::string>& errors, const std::string& route)
{
    auto body = json::newObject();
    body->set("errors", json::toArray(errors));
    return jsonReply(status, body, route);
}

StoreReply noContent(const std::string& route)
{
    StoreReply reply;
    reply.status = 204;
    reply.contentType.clear();
    reply.route = route;
    return reply;
}

std::string rfc3339(std::int64_t ms)
{
    return core::formatRfc3339Ms(ms);
}

bool startsWith(const std::string& text, const std::string& prefix)
{
    return text.compare(0, prefix.size(), prefix) == 0;
}

} // namespace

struct VaultSimulator::State
{
    VaultSimulatorOptions options;
    core::Clock& clock;
    mutable std::mutex mutex;
    std::mt19937_64 random{std::random_device{}()};
    std::map<std::string, std::vector<VaultPolicyRule>> policies;
    std::map<std::string, Token> tokens;
    std::map<std::pair<std::string, std::string>, LoginRole> kubernetesRoles; ///< (mount, role)
    std::map<std::pair<std::string, std::string>, LoginRole> appRoles;        ///< (mount, role_id)
    std::map<std::string, Secret> secrets; ///< "<ns>/<path>" -> secret
    std::int64_t logins = 0;
    std::int64_t renewals = 0;
    int interveneBefore = 0;
    std::optional<std::map<std::string, std::string>> interveneAfter;

    State(VaultSimulatorOptions o, core::Clock& c) : options(std::move(o)), clock(c) {}

    std::string randomText(std::size_t n)
    {
        static const char kAlphabet[] =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        std::uniform_int_distribution<std::size_t> pick(0, sizeof kAlphabet - 2);
        std::string out;
        for (std::size_t i = 0; i < n; ++i)
        {
            out += kAlphabet[pick(random)];
        }
        return out;
    }

    std::string issue(Token token)
    {
        const std::int64_t now = clock.nowMs();
        token.expiresAtMs = token.ttlMs == 0 ? 0 : now + token.ttlMs;
        if (token.maxExpiresAtMs != 0)
        {
            token.maxExpiresAtMs += now;
        }
        std::string id = "hvs." + randomText(24);
        tokens[id] = std::move(token);
        return id;
    }

    /// The live token `id`, or null.
    Token* live(const std::string& id)
    {
        const auto it = tokens.find(id);
        if (it == tokens.end())
        {
            return nullptr;
        }
        if (it->second.expiresAtMs != 0 && clock.nowMs() >= it->second.expiresAtMs)
        {
            return nullptr;
        }
        return &it->second;
    }

    /// The capabilities `token` has on `path` (relative to the request's namespace).
    std::set<std::string> capabilities(const Token& token, const std::string& requestNamespace,
                                       const std::string& path) const
    {
        std::string policyPath = path;
        if (token.vaultNamespace != requestNamespace)
        {
            if (!token.vaultNamespace.empty())
            {
                return {"deny"};
            }
            policyPath = requestNamespace + "/" + path; // a root token's view of a child
        }
        if (std::find(token.policies.begin(), token.policies.end(), "root") != token.policies.end())
        {
            return {"root"};
        }
        // The most specific rule wins: an exact path, else the longest glob prefix.
        const VaultPolicyRule* best = nullptr;
        bool bestExact = false;
        for (const auto& name : token.policies)
        {
            const auto policy = policies.find(name);
            if (policy == policies.end())
            {
                continue;
            }
            for (const auto& rule : policy->second)
            {
                const bool glob = !rule.path.empty() && rule.path.back() == '*';
                const std::string stem =
                    glob ? rule.path.substr(0, rule.path.size() - 1) : rule.path;
                const bool exact = !glob && rule.path == policyPath;
                if (!exact && !(glob && startsWith(policyPath, stem)))
                {
                    continue;
                }
                if (best == nullptr || (exact && !bestExact) ||
                    (!bestExact && !exact && stem.size() + 1 > best->path.size()))
                {
                    best = &rule;
                    bestExact = exact;
                }
            }
        }
        if (best == nullptr)
        {
            return {"deny"};
        }
        return {best->capabilities.begin(), best->capabilities.end()};
    }

    static bool allows(const std::set<std::string>& granted, const std::string& capability)
    {
        return granted.count("deny") == 0 &&
               (granted.count("root") != 0 || granted.count(capability) != 0);
    }

    Secret* find(const std::string& key)
    {
        const auto it = secrets.find(key);
        return it == secrets.end() ? nullptr : &it->second;
    }

    std::int64_t currentVersion(const Secret& secret) const
    {
        return static_cast<std::int64_t>(secret.versions.size());
    }

    void addVersion(Secret& secret, Object::Ptr data)
    {
        const std::int64_t now = clock.nowMs();
        if (secret.versions.empty() && secret.createdMs == 0)
        {
            secret.createdMs = now;
        }
        secret.versions.push_back(Version{std::move(data), now});
        secret.updatedMs = now;
    }

    /// Another writer's new version: the current data with `changes` set.
    void patch(Secret& secret, const std::map<std::string, std::string>& changes)
    {
        auto data = json::newObject();
        if (!secret.versions.empty() && secret.versions.back().data)
        {
            for (const auto& [key, value] : *secret.versions.back().data)
            {
                data->set(key, value);
            }
        }
        for (const auto& [key, value] : changes)
        {
            data->set(key, value);
        }
        addVersion(secret, data);
    }

    static Object::Ptr fromMap(const std::map<std::string, std::string>& data)
    {
        auto object = json::newObject();
        for (const auto& [key, value] : data)
        {
            object->set(key, value);
        }
        return object;
    }

    Object::Ptr versionMetadata(const Secret& secret, std::int64_t version) const
    {
        const Version& v = secret.versions[static_cast<std::size_t>(version - 1)];
        auto metadata = json::newObject();
        metadata->set("created_time", rfc3339(v.createdMs));
        metadata->set("custom_metadata", customObject(secret));
        metadata->set("deletion_time", v.data ? std::string() : rfc3339(secret.updatedMs));
        metadata->set("destroyed", false);
        metadata->set("version", version);
        return metadata;
    }

    static Poco::Dynamic::Var customObject(const Secret& secret)
    {
        if (!secret.hasCustom)
        {
            return Poco::Dynamic::Var();
        }
        return fromMap(secret.custom);
    }

    Object::Ptr envelope() { return envelopeWith("data", Poco::Dynamic::Var()); }

    Object::Ptr envelopeWith(const std::string& key, const Poco::Dynamic::Var& value)
    {
        auto body = json::newObject();
        body->set("request_id", randomText(8) + "-" + randomText(4) + "-" + randomText(12));
        body->set("lease_id", "");
        body->set("renewable", false);
        body->set("lease_duration", 0);
        body->set("data", key == "data" ? value : Poco::Dynamic::Var());
        body->set("wrap_info", Poco::Dynamic::Var());
        body->set("warnings", Poco::Dynamic::Var());
        body->set("auth", key == "auth" ? value : Poco::Dynamic::Var());
        return body;
    }
};

StoreReply vaultErrorReply(int status, const std::string& message)
{
    std::string text = message;
    if (text.empty())
    {
        text = status == 429   ? "request path \"/v1/\": rate limit quota exceeded"
               : status == 503 ? "Vault is sealed"
               : status == 412 ? "required index state not present"
               : status == 403 ? "permission denied"
               : status == 400 ? "invalid request"
                               : "internal error";
    }
    return errorReply(status, {text}, "");
}

VaultSimulator::VaultSimulator(VaultSimulatorOptions options, core::Clock& clock)
    : _state(std::make_unique<State>(options, clock))
{
    if (options.server.name == "store-sim")
    {
        options.server.name = "vault-sim";
    }
    _server = std::make_unique<StoreServer>(
        options.server, [this](const StoreRequest& request) { return handle(request); },
        [](int status) { return vaultErrorReply(status); });
}

VaultSimulator::~VaultSimulator()
{
    _server.reset();
}

StoreServer& VaultSimulator::server()
{
    return *_server;
}

std::string VaultSimulator::baseUrl() const
{
    return _server->baseUrl();
}

void VaultSimulator::stop()
{
    _server->stop();
}

void VaultSimulator::setPolicy(const std::string& name, std::vector<VaultPolicyRule> rules)
{
    std::lock_guard lock(_state->mutex);
    _state->policies[name] = std::move(rules);
}

std::string VaultSimulator::createToken(std::vector<std::string> policies, std::int64_t ttlSeconds,
                                        bool renewable, const std::string& vaultNamespace,
                                        std::int64_t maxTtlSeconds)
{
    std::lock_guard lock(_state->mutex);
    Token token;
    token.policies = std::move(policies);
    token.vaultNamespace = vaultNamespace;
    token.ttlMs = ttlSeconds * 1000;
    token.maxExpiresAtMs = maxTtlSeconds * 1000;
    token.renewable = renewable;
    return _state->issue(std::move(token));
}

void VaultSimulator::addKubernetesRole(const std::string& role, const std::string& jwt,
                                       std::vector<std::string> policies, std::int64_t ttlSeconds,
                                       std::int64_t maxTtlSeconds, const std::string& mount)
{
    std::lock_guard lock(_state->mutex);
    _state->kubernetesRoles[{mount, role}] =
        LoginRole{jwt, std::move(policies), ttlSeconds, maxTtlSeconds, mount};
}

void VaultSimulator::addAppRole(const std::string& roleId, const std::string& secretId,
                                std::vector<std::string> policies, std::int64_t ttlSeconds,
                                std::int64_t maxTtlSeconds, const std::string& mount)
{
    std::lock_guard lock(_state->mutex);
    _state->appRoles[{mount, roleId}] =
        LoginRole{secretId, std::move(policies), ttlSeconds, maxTtlSeconds, mount};
}

void VaultSimulator::expireToken(const std::string& token)
{
    std::lock_guard lock(_state->mutex);
    const auto it = _state->tokens.find(token);
    if (it != _state->tokens.end())
    {
        it->second.expiresAtMs = _state->clock.nowMs();
    }
}

void VaultSimulator::expireLoginTokens()
{
    std::lock_guard lock(_state->mutex);
    for (auto& [id, token] : _state->tokens)
    {
        if (token.fromLogin)
        {
            token.expiresAtMs = _state->clock.nowMs();
        }
    }
}

std::int64_t VaultSimulator::logins() const
{
    std::lock_guard lock(_state->mutex);
    return _state->logins;
}

std::int64_t VaultSimulator::renewals() const
{
    std::lock_guard lock(_state->mutex);
    return _state->renewals;
}

namespace
{

std::string keyOf(const std::string& vaultNamespace, const std::string& path)
{
    return vaultNamespace + "/" + path;
}

} // namespace

std::optional<std::map<std::string, std::string>>
VaultSimulator::secret(const std::string& path, const std::string& vaultNamespace) const
{
    std::lock_guard lock(_state->mutex);
    const auto it = _state->secrets.find(keyOf(vaultNamespace, path));
    if (it == _state->secrets.end() || it->second.versions.empty() ||
        !it->second.versions.back().data)
    {
        return std::nullopt;
    }
    std::map<std::string, std::string> out;
    for (const auto& [key, value] : *it->second.versions.back().data)
    {
        if (value.isString())
        {
            out[key] = value.extract<std::string>();
        }
    }
    return out;
}

std::int64_t VaultSimulator::currentVersion(const std::string& path,
                                            const std::string& vaultNamespace) const
{
    std::lock_guard lock(_state->mutex);
    const auto it = _state->secrets.find(keyOf(vaultNamespace, path));
    return it == _state->secrets.end() ? 0 : _state->currentVersion(it->second);
}

std::map<std::string, std::string>
VaultSimulator::customMetadata(const std::string& path, const std::string& vaultNamespace) const
{
    std::lock_guard lock(_state->mutex);
    const auto it = _state->secrets.find(keyOf(vaultNamespace, path));
    return it == _state->secrets.end() ? std::map<std::string, std::string>() : it->second.custom;
}

void VaultSimulator::writeSecret(const std::string& path,
                                 const std::map<std::string, std::string>& data,
                                 const std::string& vaultNamespace)
{
    std::lock_guard lock(_state->mutex);
    _state->addVersion(_state->secrets[keyOf(vaultNamespace, path)], State::fromMap(data));
}

void VaultSimulator::setCustomMetadata(const std::string& path,
                                       std::map<std::string, std::string> custom,
                                       const std::string& vaultNamespace)
{
    std::lock_guard lock(_state->mutex);
    Secret& secret = _state->secrets[keyOf(vaultNamespace, path)];
    secret.custom = std::move(custom);
    secret.hasCustom = true;
}

void VaultSimulator::interveneBeforeWrites(int count)
{
    std::lock_guard lock(_state->mutex);
    _state->interveneBefore = count;
}

void VaultSimulator::interveneAfterNextWrite(std::map<std::string, std::string> data)
{
    std::lock_guard lock(_state->mutex);
    _state->interveneAfter = std::move(data);
}

StoreReply VaultSimulator::handle(const StoreRequest& request)
{
    State& s = *_state;
    std::lock_guard lock(s.mutex);
    const std::string& method = request.method;
    const bool write = method == "POST" || method == "PUT";
    if (!startsWith(request.path, "/v1/"))
    {
        return errorReply(404, {}, "");
    }
    const std::string path = request.path.substr(4);
    const std::string ns = request.header("X-Vault-Namespace");
    const std::string vaultNs =
        ns.empty() ? ns : ns.substr(0, ns.find_last_not_of('/') + 1); // "ns1/" is "ns1"
    if (!vaultNs.empty() && std::find(s.options.namespaces.begin(), s.options.namespaces.end(),
                                      vaultNs) == s.options.namespaces.end())
    {
        return errorReply(
            404, {"no handler for route \"" + vaultNs + "/" + path + "\". route entry not found."},
            "");
    }
    Object::Ptr body;
    if (write && !request.body.empty())
    {
        try
        {
            body = json::parseObject(request.body);
        }
        catch (const std::exception&)
        {
            return errorReply(400, {"failed to parse JSON input: invalid character"}, "");
        }
    }
    if (!body)
    {
        body = json::newObject();
    }

    // Logins need no token.
    const std::string loginSuffix = "/login";
    if (startsWith(path, "auth/") && path.size() > loginSuffix.size() &&
        path.compare(path.size() - loginSuffix.size(), loginSuffix.size(), loginSuffix) == 0)
    {
        const std::string route = kVaultLoginRoute;
        if (!write)
        {
            return errorReply(405, {"1 error occurred:\n\t* unsupported operation\n\n"}, route);
        }
        const std::string mount = path.substr(5, path.size() - 5 - loginSuffix.size());
        const LoginRole* role = nullptr;
        std::string denied;
        const auto role_ = json::optString(*body, "role");
        const auto jwt = json::optString(*body, "jwt");
        const auto roleId = json::optString(*body, "role_id");
        const auto secretId = json::optString(*body, "secret_id");
        if (const auto it = s.kubernetesRoles.find({mount, role_.value_or("")});
            it != s.kubernetesRoles.end())
        {
            if (!jwt || *jwt != it->second.secret)
            {
                return errorReply(403, {"permission denied"}, route);
            }
            role = &it->second;
        }
        else if (const auto at = s.appRoles.find({mount, roleId.value_or("")});
                 at != s.appRoles.end())
        {
            if (!secretId || *secretId != at->second.secret)
            {
                return errorReply(400, {"invalid role or secret ID"}, route);
            }
            role = &at->second;
        }
        else if (role_)
        {
            return errorReply(400, {"invalid role name \"" + *role_ + "\""}, route);
        }
        else
        {
            return errorReply(400, {"invalid role or secret ID"}, route);
        }
        Token token;
        token.policies = role->policies;
        token.policies.insert(token.policies.begin(), "default");
        token.vaultNamespace = vaultNs;
        token.ttlMs = role->ttlSeconds * 1000;
        token.maxExpiresAtMs = role->maxTtlSeconds * 1000;
        token.renewable = true;
        token.fromLogin = true;
        const std::string id = s.issue(token);
        ++s.logins;
        auto auth = json::newObject();
        auth->set("client_token", id);
        auth->set("accessor", s.randomText(24));
        auth->set("policies", json::toArray(token.policies));
        auth->set("token_policies", json::toArray(token.policies));
        auth->set("lease_duration", role->ttlSeconds);
        auth->set("renewable", true);
        auth->set("token_type", "service");
        auth->set("orphan", true);
        return jsonReply(200, s.envelopeWith("auth", auth), route);
    }

    Token* token = s.live(request.header("X-Vault-Token"));
    if (token == nullptr)
    {
        return errorReply(403, {"permission denied"}, "");
    }

    if (path == "auth/token/lookup-self")
    {
        const std::int64_t now = s.clock.nowMs();
        auto data = json::newObject();
        data->set("id", request.header("X-Vault-Token"));
        data->set("policies", json::toArray(token->policies));
        data->set("renewable", token->renewable);
        data->set("ttl", token->expiresAtMs == 0 ? 0 : (token->expiresAtMs - now) / 1000);
        data->set("namespace_path", vaultNs.empty() ? "" : vaultNs + "/");
        return jsonReply(200, s.envelopeWith("data", data), kVaultLookupRoute);
    }
    if (path == "auth/token/renew-self")
    {
        if (!write)
        {
            return errorReply(405, {"unsupported operation"}, kVaultRenewRoute);
        }
        if (!token->renewable)
        {
            return errorReply(400, {"lease is not renewable"}, kVaultRenewRoute);
        }
        const std::int64_t now = s.clock.nowMs();
        std::int64_t expires = token->ttlMs == 0 ? 0 : now + token->ttlMs;
        if (token->maxExpiresAtMs != 0 && expires > token->maxExpiresAtMs)
        {
            expires = token->maxExpiresAtMs;
        }
        token->expiresAtMs = expires;
        ++s.renewals;
        auto auth = json::newObject();
        auth->set("client_token", request.header("X-Vault-Token"));
        auth->set("policies", json::toArray(token->policies));
        auth->set("lease_duration", expires == 0 ? 0 : (expires - now) / 1000);
        auth->set("renewable", true);
        return jsonReply(200, s.envelopeWith("auth", auth), kVaultRenewRoute);
    }
    if (path == "sys/capabilities-self")
    {
        if (!write)
        {
            return errorReply(405, {"unsupported operation"}, kVaultCapabilitiesRoute);
        }
        std::vector<std::string> paths;
        try
        {
            paths = json::optStringArray(*body, "paths").value_or(std::vector<std::string>());
        }
        catch (const json::Invalid&)
        {
            return errorReply(400, {"'paths' must be a list of strings"}, kVaultCapabilitiesRoute);
        }
        if (paths.empty())
        {
            return errorReply(400, {"paths must be supplied"}, kVaultCapabilitiesRoute);
        }
        auto answer = s.envelope();
        auto data = json::newObject();
        for (const auto& p : paths)
        {
            const auto granted = s.capabilities(*token, vaultNs, p);
            const std::vector<std::string> list(granted.begin(), granted.end());
            answer->set(p, json::toArray(list));
            data->set(p, json::toArray(list));
            if (paths.size() == 1)
            {
                answer->set("capabilities", json::toArray(list));
            }
        }
        answer->set("data", data);
        return jsonReply(200, answer, kVaultCapabilitiesRoute);
    }

    const std::string dataPrefix = s.options.mount + "/data/";
    const std::string metadataPrefix = s.options.mount + "/metadata/";
    const bool isData = startsWith(path, dataPrefix) && path.size() > dataPrefix.size();
    const bool isMetadata = startsWith(path, metadataPrefix) && path.size() > metadataPrefix.size();
    if (!isData && !isMetadata)
    {
        return errorReply(404, {"no handler for route \"" + path + "\". route entry not found."},
                          "");
    }
    const std::string route = isData ? kVaultDataRoute : kVaultMetadataRoute;
    const std::string name = path.substr(isData ? dataPrefix.size() : metadataPrefix.size());
    const std::string key = keyOf(vaultNs, name);
    Secret* secret = s.find(key);
    const bool exists = secret != nullptr && (!secret->versions.empty() || secret->hasCustom);
    const std::string capability = method == "GET"      ? "read"
                                   : method == "DELETE" ? "delete"
                                   : exists             ? "update"
                                                        : "create";
    if (method != "GET" && method != "DELETE" && !write)
    {
        return errorReply(405, {}, route);
    }
    if (!State::allows(s.capabilities(*token, vaultNs, path), capability))
    {
        return errorReply(403, {"permission denied"}, route);
    }

    if (isData && method == "GET")
    {
        if (secret == nullptr || secret->versions.empty())
        {
            return errorReply(404, {}, route);
        }
        std::int64_t version = s.currentVersion(*secret);
        if (const auto wanted = request.queryParam("version"); wanted && *wanted != "0")
        {
            try
            {
                version = std::stoll(*wanted);
            }
            catch (const std::exception&)
            {
                return errorReply(400, {"invalid version"}, route);
            }
            if (version < 1 || version > s.currentVersion(*secret))
            {
                return errorReply(404, {}, route);
            }
        }
        const Version& v = secret->versions[static_cast<std::size_t>(version - 1)];
        auto data = json::newObject();
        data->set("data", v.data ? Poco::Dynamic::Var(v.data) : Poco::Dynamic::Var());
        data->set("metadata", s.versionMetadata(*secret, version));
        // A deleted version: 404 with its metadata, as Vault does.
        return jsonReply(v.data ? 200 : 404, s.envelopeWith("data", data), route);
    }
    if (isData && write)
    {
        if (!body->isObject("data"))
        {
            return errorReply(400, {"no data provided"}, route);
        }
        if (request.body.size() > s.options.maxSecretBytes)
        {
            return errorReply(413, {"request body too large"}, route);
        }
        if (s.interveneBefore > 0)
        {
            --s.interveneBefore;
            Secret& other = s.secrets[key];
            s.patch(other, {{"written-by", "another writer"}});
            secret = &other;
        }
        std::optional<std::int64_t> cas;
        if (body->isObject("options"))
        {
            try
            {
                cas = json::optInteger(*body->getObject("options"), "cas");
            }
            catch (const json::Invalid&)
            {
                return errorReply(400, {"invalid cas"}, route);
            }
        }
        const bool casRequired =
            s.options.casRequired || (secret != nullptr && secret->casRequired);
        if (!cas && casRequired)
        {
            return errorReply(400, {"check-and-set parameter required for this call"}, route);
        }
        const std::int64_t current = secret == nullptr ? 0 : s.currentVersion(*secret);
        if (cas && *cas != current)
        {
            return errorReply(400, {"check-and-set parameter did not match the current version"},
                              route);
        }
        Secret& target = s.secrets[key];
        s.addVersion(target, body->getObject("data"));
        const std::int64_t version = s.currentVersion(target);
        auto reply =
            jsonReply(200, s.envelopeWith("data", s.versionMetadata(target, version)), route);
        if (s.interveneAfter)
        {
            s.patch(target, *s.interveneAfter);
            s.interveneAfter.reset();
        }
        return reply;
    }
    if (isData && method == "DELETE")
    {
        if (secret != nullptr && !secret->versions.empty())
        {
            secret->versions.back().data = nullptr;
            secret->updatedMs = s.clock.nowMs();
        }
        return noContent(route);
    }
    if (method == "GET")
    {
        if (secret == nullptr || (secret->versions.empty() && !secret->hasCustom))
        {
            return errorReply(404, {}, route);
        }
        auto data = json::newObject();
        data->set("cas_required", secret->casRequired);
        data->set("created_time", rfc3339(secret->createdMs));
        data->set("current_version", s.currentVersion(*secret));
        data->set("custom_metadata", State::customObject(*secret));
        data->set("delete_version_after", "0s");
        data->set("max_versions", secret->maxVersions);
        data->set("oldest_version", secret->versions.empty() ? 0 : 1);
        data->set("updated_time", rfc3339(secret->updatedMs));
        auto versions = json::newObject();
        for (std::size_t i = 0; i < secret->versions.size(); ++i)
        {
            auto v = json::newObject();
            v->set("created_time", rfc3339(secret->versions[i].createdMs));
            v->set("deletion_time", secret->versions[i].data ? "" : rfc3339(secret->updatedMs));
            v->set("destroyed", false);
            versions->set(std::to_string(i + 1), v);
        }
        data->set("versions", versions);
        return jsonReply(200, s.envelopeWith("data", data), route);
    }
    if (method == "DELETE")
    {
        s.secrets.erase(key);
        return noContent(route);
    }
    // A metadata write: only the fields given change; custom_metadata is replaced whole.
    Secret& target = s.secrets[key];
    if (target.createdMs == 0)
    {
        target.createdMs = s.clock.nowMs();
    }
    if (body->has("custom_metadata"))
    {
        if (!body->isObject("custom_metadata"))
        {
            return errorReply(400, {"custom_metadata must be a map of strings"}, route);
        }
        std::map<std::string, std::string> custom;
        for (const auto& [k, v] : *body->getObject("custom_metadata"))
        {
            if (!v.isString())
            {
                return errorReply(400, {"custom_metadata values must be strings"}, route);
            }
            custom[k] = v.extract<std::string>();
        }
        target.custom = std::move(custom);
        target.hasCustom = true;
    }
    try
    {
        if (const auto casRequired = json::optBool(*body, "cas_required"))
        {
            target.casRequired = *casRequired;
        }
        if (const auto maxVersions = json::optInteger(*body, "max_versions"))
        {
            target.maxVersions = *maxVersions;
        }
    }
    catch (const json::Invalid&)
    {
        return errorReply(400, {"invalid metadata field"}, route);
    }
    target.updatedMs = s.clock.nowMs();
    return noContent(route);
}

} // namespace rotator::sim
