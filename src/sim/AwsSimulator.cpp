#include "rotator/sim/AwsSimulator.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <mutex>
#include <variant>

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/String.h>
#include <Poco/URI.h>

#include "rotator/core/JsonString.h"
#include "rotator/core/Secret.h"
#include "rotator/core/Time.h"
#include "rotator/sink/AwsSigV4.h"

namespace rotator::sim
{

namespace sigv4 = sink::sigv4;

namespace
{

/// A key the simulator accepts.
struct Key
{
    std::string secret;
    std::string sessionToken;                ///< temporary keys only
    std::optional<std::int64_t> expiresAtMs; ///< temporary keys only
    std::set<std::string> actions;           ///< empty: every action
    std::string principal;                   ///< named in AccessDenied messages
};

struct Grant
{
    std::string value; ///< the token or authorization that earns it
    std::set<std::string> actions;
};

struct Secret
{
    std::string arn;
    std::vector<AwsSecretVersion> versions;
};

std::string quoted(std::string_view text)
{
    std::string out;
    core::appendJsonString(out, text);
    return out;
}

StoreReply jsonError(int status, const std::string& type, const std::string& message,
                     const std::string& route)
{
    StoreReply reply;
    reply.status = status;
    reply.contentType = "application/x-amz-json-1.1";
    reply.body = "{\"__type\":" + quoted(type) + ",\"Message\":" + quoted(message) + "}";
    reply.route = route;
    return reply;
}

StoreReply jsonReply(const std::string& body, const std::string& route)
{
    StoreReply reply;
    reply.contentType = "application/x-amz-json-1.1";
    reply.body = body;
    reply.route = route;
    return reply;
}

StoreReply xmlError(int status, const std::string& code, const std::string& message)
{
    StoreReply reply;
    reply.status = status;
    reply.contentType = "text/xml";
    reply.body = "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error>"
                 "<Type>Sender</Type><Code>" +
                 code + "</Code><Message>" + message +
                 "</Message></Error><RequestId>sim</RequestId></ErrorResponse>";
    reply.route = "AssumeRoleWithWebIdentity";
    return reply;
}

std::string stagesJson(const std::set<std::string>& stages)
{
    std::string out = "[";
    for (const auto& s : stages)
    {
        out += (out.size() > 1 ? "," : "") + quoted(s);
    }
    return out + "]";
}

/// Form or query parameters, decoded.
std::map<std::string, std::string> formParameters(const std::string& text)
{
    Poco::URI uri;
    uri.setRawQuery(text);
    std::map<std::string, std::string> out;
    for (const auto& [k, v] : uri.getQueryParameters())
    {
        out[k] = v;
    }
    return out;
}

} // namespace

struct AwsSimulator::Impl
{
    Impl(AwsSimulatorOptions o, core::Clock& c) : options(std::move(o)), clock(c) {}

    AwsSimulatorOptions options;
    core::Clock& clock;
    mutable std::mutex mutex;
    std::map<std::string, Key> keys;
    std::map<std::string, Grant> webIdentities; ///< by role ARN
    std::optional<Grant> container;
    std::optional<std::pair<std::string, Grant>> instanceRole;
    std::set<std::string> imdsTokens;
    std::map<std::string, Secret> secrets; ///< by name
    std::optional<std::string> interference;
    std::map<std::string, std::vector<std::pair<int, std::string>>> failures; ///< by action
    std::map<std::string, FaultRule> armed;                                   ///< by action
    std::vector<std::string> tokens; ///< ClientRequestTokens received
    int issued = 0;
    std::unique_ptr<StoreServer> server; ///< last: its threads call into the members above

    // --- temporary keys ----------------------------------------------------------------------

    /// Issues a temporary key (under the lock) and returns {id, secret, token, expiry}.
    std::tuple<std::string, std::string, std::string, std::string>
    issue(const std::set<std::string>& actions, const std::string& principal)
    {
        ++issued;
        const std::string id = "ASIASIM" + std::to_string(100000 + issued);
        Key key;
        key.secret = sigv4::sha256Hex("secret" + id).substr(0, 40);
        key.sessionToken = "IQoJsim" + sigv4::sha256Hex("token" + id);
        key.expiresAtMs = clock.nowMs() + options.sessionDurationMs;
        key.actions = actions;
        key.principal = principal;
        keys[id] = key;
        return {id, key.secret, key.sessionToken, core::formatRfc3339Seconds(*key.expiresAtMs)};
    }

    std::string credentialJson(const std::set<std::string>& actions, const std::string& principal)
    {
        const auto [id, secret, token, expiry] = issue(actions, principal);
        return "{\"Code\":\"Success\",\"Type\":\"AWS-HMAC\",\"AccessKeyId\":" + quoted(id) +
               ",\"SecretAccessKey\":" + quoted(secret) + ",\"Token\":" + quoted(token) +
               ",\"Expiration\":" + quoted(expiry) + "}";
    }

    // --- routing -----------------------------------------------------------------------------

    StoreReply handle(const StoreRequest& request)
    {
        if (request.path.starts_with("/sts"))
        {
            return sts(request);
        }
        if (request.path == "/container/credentials")
        {
            return containerCredentials(request);
        }
        if (request.path.starts_with("/latest/"))
        {
            return imds(request);
        }
        return secretsManager(request);
    }

    StoreReply sts(const StoreRequest& request)
    {
        auto params = formParameters(request.method == "POST" ? request.body : request.query);
        if (params["Action"] != "AssumeRoleWithWebIdentity")
        {
            return xmlError(400, "InvalidAction", "only AssumeRoleWithWebIdentity is simulated");
        }
        std::lock_guard lock(mutex);
        const auto it = webIdentities.find(params["RoleArn"]);
        if (it == webIdentities.end())
        {
            return xmlError(403, "AccessDenied",
                            "Not authorized to perform sts:AssumeRoleWithWebIdentity");
        }
        if (params["WebIdentityToken"] != it->second.value)
        {
            return xmlError(400, "InvalidIdentityToken", "The web identity token was not accepted");
        }
        if (params["RoleSessionName"].empty())
        {
            return xmlError(400, "ValidationError", "RoleSessionName is required");
        }
        const auto [id, secret, token, expiry] =
            issue(it->second.actions, "assumed-role/" + params["RoleSessionName"]);
        StoreReply reply;
        reply.contentType = "text/xml";
        reply.route = "AssumeRoleWithWebIdentity";
        reply.body = "<AssumeRoleWithWebIdentityResponse "
                     "xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
                     "<AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>" +
                     id + "</AccessKeyId><SecretAccessKey>" + secret +
                     "</SecretAccessKey><SessionToken>" + token + "</SessionToken><Expiration>" +
                     expiry +
                     "</Expiration></Credentials></AssumeRoleWithWebIdentityResult>"
                     "<ResponseMetadata><RequestId>sim</RequestId></ResponseMetadata>"
                     "</AssumeRoleWithWebIdentityResponse>";
        return reply;
    }

    StoreReply containerCredentials(const StoreRequest& request)
    {
        std::lock_guard lock(mutex);
        if (!container ||
            !core::constantTimeEquals(request.header("Authorization"), container->value))
        {
            auto reply = jsonError(401, "Unauthorized", "authorization refused", "container");
            return reply;
        }
        return jsonReply(credentialJson(container->actions, "container"), "container");
    }

    StoreReply imds(const StoreRequest& request)
    {
        std::lock_guard lock(mutex);
        if (request.path == "/latest/api/token")
        {
            if (request.method != "PUT" ||
                request.header("X-aws-ec2-metadata-token-ttl-seconds").empty())
            {
                return jsonError(400, "BadRequest", "PUT with a TTL header", "imds-token");
            }
            const std::string token = "imds-" + std::to_string(imdsTokens.size() + 1);
            imdsTokens.insert(token);
            StoreReply reply;
            reply.contentType = "text/plain";
            reply.body = token;
            reply.route = "imds-token";
            return reply;
        }
        const std::string base = "/latest/meta-data/iam/security-credentials/";
        const std::string route = request.path == base ? "imds-role" : "imds-credentials";
        if (!imdsTokens.contains(request.header("X-aws-ec2-metadata-token")))
        {
            return jsonError(401, "Unauthorized", "IMDSv2 session token required", route);
        }
        if (!instanceRole || !request.path.starts_with(base))
        {
            return jsonError(404, "NotFound", "no instance role", route);
        }
        if (request.path == base)
        {
            StoreReply reply;
            reply.contentType = "text/plain";
            reply.body = instanceRole->first;
            reply.route = route;
            return reply;
        }
        if (request.path != base + instanceRole->first)
        {
            return jsonError(404, "NotFound", "no such role", route);
        }
        return jsonReply(credentialJson(instanceRole->second.actions, "instance"), route);
    }

    // --- Secrets Manager ---------------------------------------------------------------------

    /// Verifies the request's signature; an error reply when it fails, else the key's id.
    std::variant<std::string, StoreReply> authenticate(const StoreRequest& request,
                                                       const std::string& action)
    {
        const auto auth = sigv4::parseAuthorization(request.header("Authorization"));
        if (!auth)
        {
            return jsonError(400, "MissingAuthenticationTokenException",
                             "Request is missing Authentication Token", action);
        }
        const auto key = keys.find(auth->accessKeyId);
        if (key == keys.end())
        {
            return jsonError(400, "UnrecognizedClientException",
                             "The security token included in the request is invalid.", action);
        }
        if (auth->region != options.region || auth->service != "secretsmanager")
        {
            return jsonError(400, "InvalidSignatureException",
                             "Credential should be scoped to a valid region and service.", action);
        }
        const std::string date = request.header("X-Amz-Date");
        const auto instant = core::parseRfc3339(
            date.size() == 16
                ? date.substr(0, 4) + "-" + date.substr(4, 2) + "-" + date.substr(6, 2) + "T" +
                      date.substr(9, 2) + ":" + date.substr(11, 2) + ":" + date.substr(13, 2) + "Z"
                : std::string());
        if (!instant || date.substr(0, 8) != auth->date)
        {
            return jsonError(400, "IncompleteSignature", "X-Amz-Date is missing or malformed",
                             action);
        }
        if (std::abs(instant->unixMs() - clock.nowMs()) > options.maxSkewMs)
        {
            return jsonError(400, "InvalidSignatureException",
                             "Signature expired: " + date +
                                 " is now earlier or later than the allowed 5 minutes.",
                             action);
        }
        const std::vector<std::string>& names = auth->signedHeaders;
        for (const char* required : {"host", "x-amz-date"})
        {
            if (std::find(names.begin(), names.end(), required) == names.end())
            {
                return jsonError(400, "InvalidSignatureException",
                                 std::string("'") + required + "' must be a signed header", action);
            }
        }
        sigv4::Request canonical{request.method, request.path, request.query, {}, request.body};
        for (const auto& [name, value] : request.headers)
        {
            if (std::find(names.begin(), names.end(), Poco::toLower(name)) != names.end())
            {
                canonical.headers.emplace_back(name, value);
            }
        }
        const std::string toSign =
            sigv4::stringToSign(date, sigv4::credentialScope(date, auth->region, auth->service),
                                sigv4::canonicalRequest(canonical, sigv4::sha256Hex(request.body)));
        const std::string expected = sigv4::signature(core::Secret(key->second.secret), date,
                                                      auth->region, auth->service, toSign);
        if (!core::constantTimeEquals(expected, auth->signature))
        {
            return jsonError(400, "InvalidSignatureException",
                             "The request signature we calculated does not match the signature "
                             "you provided.",
                             action);
        }
        if (!key->second.sessionToken.empty())
        {
            if (std::find(names.begin(), names.end(), "x-amz-security-token") == names.end() ||
                !core::constantTimeEquals(request.header("X-Amz-Security-Token"),
                                          key->second.sessionToken))
            {
                return jsonError(400, "UnrecognizedClientException",
                                 "The security token included in the request is invalid.", action);
            }
            if (key->second.expiresAtMs && clock.nowMs() >= *key->second.expiresAtMs)
            {
                return jsonError(400, "ExpiredTokenException",
                                 "The security token included in the request is expired", action);
            }
        }
        return auth->accessKeyId;
    }

    Secret* find(const std::string& id)
    {
        for (auto& [name, secret] : secrets)
        {
            if (name == id || secret.arn == id)
            {
                return &secret;
            }
        }
        return nullptr;
    }

    std::string nameOf(const Secret& secret) const
    {
        for (const auto& [name, s] : secrets)
        {
            if (&s == &secret)
            {
                return name;
            }
        }
        return {};
    }

    std::string arnFor(const std::string& name) const
    {
        return "arn:aws:secretsmanager:" + options.region + ":" + options.account +
               ":secret:" + name + "-" + sigv4::sha256Hex(name).substr(0, 6);
    }

    /// Adds a version as AWSCURRENT, the former one becoming AWSPREVIOUS.
    void addVersion(Secret& secret, const std::string& id, const std::string& value)
    {
        for (auto& v : secret.versions)
        {
            v.stages.erase("AWSPREVIOUS");
            if (v.stages.erase("AWSCURRENT") > 0)
            {
                v.stages.insert("AWSPREVIOUS");
            }
        }
        secret.versions.push_back({id, value, {"AWSCURRENT"}});
    }

    StoreReply secretsManager(const StoreRequest& request)
    {
        const std::string target = request.header("X-Amz-Target");
        const std::string prefix = "secretsmanager.";
        const std::string action =
            target.starts_with(prefix) ? target.substr(prefix.size()) : std::string("unknown");
        std::lock_guard lock(mutex);
        StoreReply reply = secretsManagerLocked(request, action);
        if (const auto it = armed.find(action); it != armed.end())
        {
            FaultRule rule = it->second;
            armed.erase(it);
            rule.count = 1;
            server->addFault(rule);
        }
        return reply;
    }

    StoreReply secretsManagerLocked(const StoreRequest& request, const std::string& action)
    {
        if (request.method != "POST" || request.path != "/")
        {
            return jsonError(404, "UnknownOperationException", "no such path", request.path);
        }
        auto who = authenticate(request, action);
        if (auto* refused = std::get_if<StoreReply>(&who))
        {
            return *refused;
        }
        const Key& key = keys[std::get<std::string>(who)];
        Poco::JSON::Object::Ptr in;
        try
        {
            in = Poco::JSON::Parser().parse(request.body).extract<Poco::JSON::Object::Ptr>();
        }
        catch (const std::exception&)
        {
            return jsonError(400, "SerializationException", "the body is not a JSON object",
                             action);
        }
        const auto text = [&](const char* name) -> std::string
        {
            return in->has(name) && in->get(name).isString() ? in->getValue<std::string>(name)
                                                             : std::string();
        };
        const std::string id = action == "CreateSecret" ? text("Name") : text("SecretId");
        if (!key.actions.empty() && !key.actions.contains(action))
        {
            return jsonError(400, "AccessDeniedException",
                             "User: arn:aws:sts::" + options.account + ":" + key.principal +
                                 " is not authorized to perform: secretsmanager:" + action +
                                 " on resource: " + id +
                                 " because no identity-based policy allows the "
                                 "secretsmanager:" +
                                 action + " action",
                             action);
        }
        if (action == "PutSecretValue" || action == "CreateSecret")
        {
            tokens.push_back(text("ClientRequestToken"));
        }
        if (auto it = failures.find(action); it != failures.end() && !it->second.empty())
        {
            const auto [status, type] = it->second.front();
            it->second.erase(it->second.begin());
            return jsonError(status, type, "injected " + type, action);
        }
        if (id.empty())
        {
            return jsonError(400, "InvalidParameterException",
                             action == "CreateSecret" ? "Name is required" : "SecretId is required",
                             action);
        }
        const std::string token = text("ClientRequestToken");
        if ((action == "PutSecretValue" || action == "CreateSecret") && !token.empty() &&
            (token.size() < 32 || token.size() > 64))
        {
            return jsonError(400, "InvalidParameterException",
                             "ClientRequestToken must be 32 to 64 characters", action);
        }
        if (action == "CreateSecret")
        {
            return createSecret(id, token, text("SecretString"), action);
        }
        Secret* secret = find(id);
        if (secret == nullptr)
        {
            return jsonError(400, "ResourceNotFoundException",
                             "Secrets Manager can't find the specified secret.", action);
        }
        const std::string name = nameOf(*secret);
        if (action == "DescribeSecret")
        {
            std::string stages = "{";
            for (const auto& v : secret->versions)
            {
                stages += (stages.size() > 1 ? "," : "") + quoted(v.versionId) + ":" +
                          stagesJson(v.stages);
            }
            return jsonReply("{\"ARN\":" + quoted(secret->arn) + ",\"Name\":" + quoted(name) +
                                 ",\"VersionIdsToStages\":" + stages + "}}",
                             action);
        }
        if (action == "GetSecretValue")
        {
            for (const auto& v : secret->versions)
            {
                if (v.stages.contains("AWSCURRENT"))
                {
                    return jsonReply("{\"ARN\":" + quoted(secret->arn) + ",\"Name\":" +
                                         quoted(name) + ",\"VersionId\":" + quoted(v.versionId) +
                                         ",\"SecretString\":" + quoted(v.value) +
                                         ",\"VersionStages\":" + stagesJson(v.stages) + "}",
                                     action);
                }
            }
            return jsonError(400, "ResourceNotFoundException",
                             "Secrets Manager can't find the specified secret value for staging "
                             "label: AWSCURRENT",
                             action);
        }
        if (action == "PutSecretValue")
        {
            return put(*secret, name, token, text("SecretString"), action);
        }
        return jsonError(400, "UnknownOperationException", "not simulated: " + action, action);
    }

    StoreReply put(Secret& secret, const std::string& name, std::string token,
                   const std::string& value, const std::string& action)
    {
        if (token.empty())
        {
            token = sigv4::sha256Hex(value + std::to_string(secret.versions.size())).substr(0, 36);
        }
        for (const auto& v : secret.versions)
        {
            if (v.versionId == token)
            {
                if (v.value != value)
                {
                    return jsonError(400, "ResourceExistsException",
                                     "You can't modify an existing version, you can only create "
                                     "a new version.",
                                     action);
                }
                // The same request again: applied once, answered as the first time.
                return jsonReply("{\"ARN\":" + quoted(secret.arn) + ",\"Name\":" + quoted(name) +
                                     ",\"VersionId\":" + quoted(token) +
                                     ",\"VersionStages\":" + stagesJson(v.stages) + "}",
                                 action);
            }
        }
        addVersion(secret, token, value);
        if (interference)
        {
            addVersion(secret,
                       "interference-" + std::to_string(secret.versions.size()) +
                           "-0000000000000000000000000",
                       *interference);
            interference.reset();
        }
        return jsonReply("{\"ARN\":" + quoted(secret.arn) + ",\"Name\":" + quoted(name) +
                             ",\"VersionId\":" + quoted(token) +
                             ",\"VersionStages\":[\"AWSCURRENT\"]}",
                         action);
    }

    StoreReply createSecret(const std::string& name, const std::string& token,
                            const std::string& value, const std::string& action)
    {
        if (Secret* existing = find(name))
        {
            for (const auto& v : existing->versions)
            {
                if (!token.empty() && v.versionId == token && v.value == value)
                {
                    return jsonReply("{\"ARN\":" + quoted(existing->arn) + ",\"Name\":" +
                                         quoted(name) + ",\"VersionId\":" + quoted(token) + "}",
                                     action);
                }
            }
            return jsonError(400, "ResourceExistsException",
                             "The operation failed because the secret " + name + " already exists.",
                             action);
        }
        Secret& secret = secrets[name];
        secret.arn = arnFor(name);
        if (!value.empty())
        {
            return put(secret, name, token, value, action);
        }
        return jsonReply("{\"ARN\":" + quoted(secret.arn) + ",\"Name\":" + quoted(name) + "}",
                         action);
    }
};

AwsSimulator::AwsSimulator(AwsSimulatorOptions options, core::Clock& clock)
    : _impl(std::make_unique<Impl>(std::move(options), clock))
{
    if (_impl->options.server.name == "store-sim")
    {
        _impl->options.server.name = "aws-sim";
    }
    Impl* impl = _impl.get();
    _impl->server = std::make_unique<StoreServer>(
        _impl->options.server, [impl](const StoreRequest& r) { return impl->handle(r); },
        [](int status)
        {
            return status == 429 ? jsonError(429, "ThrottlingException", "Rate exceeded", "")
                   : status >= 500
                       ? jsonError(status, "InternalServiceError", "injected failure", "")
                       : jsonError(status, "InvalidRequestException", "injected failure", "");
        });
}

AwsSimulator::~AwsSimulator()
{
    _impl->server->stop();
}

StoreServer& AwsSimulator::server()
{
    return *_impl->server;
}

std::string AwsSimulator::baseUrl() const
{
    return _impl->server->baseUrl();
}

void AwsSimulator::addAccessKey(const std::string& accessKeyId, const std::string& secretAccessKey,
                                std::set<std::string> actions)
{
    std::lock_guard lock(_impl->mutex);
    _impl->keys[accessKeyId] =
        Key{secretAccessKey, "", std::nullopt, std::move(actions), "user/" + accessKeyId};
}

void AwsSimulator::allowActions(const std::string& accessKeyId, std::set<std::string> actions)
{
    std::lock_guard lock(_impl->mutex);
    _impl->keys[accessKeyId].actions = std::move(actions);
}

void AwsSimulator::addWebIdentity(const std::string& roleArn, const std::string& webIdentityToken,
                                  std::set<std::string> actions)
{
    std::lock_guard lock(_impl->mutex);
    _impl->webIdentities[roleArn] = Grant{webIdentityToken, std::move(actions)};
}

void AwsSimulator::setContainerAuthorization(const std::string& authorization,
                                             std::set<std::string> actions)
{
    std::lock_guard lock(_impl->mutex);
    _impl->container = Grant{authorization, std::move(actions)};
}

void AwsSimulator::setInstanceRole(const std::string& role, std::set<std::string> actions)
{
    std::lock_guard lock(_impl->mutex);
    _impl->instanceRole = std::make_pair(role, Grant{"", std::move(actions)});
}

void AwsSimulator::expireTemporaryKeys()
{
    std::lock_guard lock(_impl->mutex);
    for (auto& [id, key] : _impl->keys)
    {
        if (key.expiresAtMs)
        {
            key.expiresAtMs = _impl->clock.nowMs();
        }
    }
}

int AwsSimulator::temporaryKeysIssued() const
{
    std::lock_guard lock(_impl->mutex);
    return _impl->issued;
}

void AwsSimulator::createSecret(const std::string& name, std::optional<std::string> value)
{
    std::lock_guard lock(_impl->mutex);
    Secret& secret = _impl->secrets[name];
    secret.arn = _impl->arnFor(name);
    if (value)
    {
        _impl->addVersion(secret,
                          "seed-" + std::to_string(secret.versions.size()) +
                              "-000000000000000000000000000000",
                          *value);
    }
}

std::optional<std::string> AwsSimulator::currentValue(const std::string& name) const
{
    std::lock_guard lock(_impl->mutex);
    const auto it = _impl->secrets.find(name);
    if (it != _impl->secrets.end())
    {
        for (const auto& v : it->second.versions)
        {
            if (v.stages.contains("AWSCURRENT"))
            {
                return v.value;
            }
        }
    }
    return std::nullopt;
}

std::vector<AwsSecretVersion> AwsSimulator::versions(const std::string& name) const
{
    std::lock_guard lock(_impl->mutex);
    const auto it = _impl->secrets.find(name);
    return it == _impl->secrets.end() ? std::vector<AwsSecretVersion>{} : it->second.versions;
}

std::vector<std::string> AwsSimulator::requestTokens() const
{
    std::lock_guard lock(_impl->mutex);
    return _impl->tokens;
}

void AwsSimulator::interfereAfterNextWrite(const std::string& value)
{
    std::lock_guard lock(_impl->mutex);
    _impl->interference = value;
}

void AwsSimulator::failNext(const std::string& action, int status, const std::string& type,
                            int count)
{
    std::lock_guard lock(_impl->mutex);
    for (int i = 0; i < count; ++i)
    {
        _impl->failures[action].emplace_back(status, type);
    }
}

void AwsSimulator::armAfter(const std::string& action, FaultRule rule)
{
    rule.pathPrefix = rule.pathPrefix == "/v2/" ? "/" : rule.pathPrefix;
    validate(rule);
    std::lock_guard lock(_impl->mutex);
    _impl->armed[action] = std::move(rule);
}

} // namespace rotator::sim
