// The DevOps API token endpoints (ASTRA-API.md §1-§5); the /_sim ones are in ControlEndpoints.
// Every function here runs with Simulator::Impl::_mutex held.

#include <random>
#include <stdexcept>

#include "EndpointHelpers.h"
#include "Json.h"
#include "SimulatorImpl.h"
#include "rotator/core/Errors.h"
#include "rotator/core/Time.h"
#include "rotator/core/Token.h"

namespace rotator::sim
{

namespace
{

// Verbatim from a real answer, literal %s included (ASTRA-API.md §2.5).
constexpr const char* kUnknownTokenMessage =
    "Resource not found: token with identifier: auth-manager returned 404 for call "
    "%s/v2/admin/tokens?%s";

/// The caller, when authentication succeeded; otherwise the error to answer.
struct Auth
{
    const SimClient* caller = nullptr;
    Reply error;
};

bool isTokenShaped(const std::string& token)
{
    // The lenient form of ASTRA-API.md §3.3: anything else is "invalid token format".
    if (token.size() != 97 || token.compare(0, 8, "AstraCS:") != 0 || token[32] != ':')
    {
        return false;
    }
    if (!core::isValidClientId(std::string_view(token).substr(8, 24)))
    {
        return false;
    }
    for (std::size_t i = 33; i < token.size(); ++i)
    {
        const char c = token[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
        {
            return false;
        }
    }
    return true;
}

Reply forbidden(const std::string& message)
{
    return errorsReply(403, kErrorSimulatorBase + 403, message);
}

std::string createdJson(const std::string& orgId, const MintedClient& minted)
{
    auto o = json::newObject();
    o->set("clientId", minted.client.clientId);
    o->set("secret", minted.secret.reveal());
    o->set("orgId", orgId);
    o->set("roles", json::toArray(minted.client.roles));
    o->set("token", minted.token.reveal());
    o->set("generatedOn", core::formatRfc3339Nanos(minted.client.generatedOnNanos));
    return json::stringify(o);
}

} // namespace

std::optional<std::int64_t> optInstantMs(const Poco::JSON::Object& object, const std::string& key)
{
    const auto text = json::optString(object, key);
    if (!text)
    {
        return std::nullopt;
    }
    const auto instant = core::parseRfc3339(*text);
    if (!instant)
    {
        throw json::Invalid("'" + key + "' must be an RFC 3339 date-time");
    }
    return instant->unixMs();
}

std::string bearer(const Poco::Net::HTTPServerRequest& request)
{
    const std::string header = request.get("Authorization", "");
    const std::string prefix = "Bearer ";
    return header.compare(0, prefix.size(), prefix) == 0 ? header.substr(prefix.size())
                                                         : std::string();
}

Reply jsonReply(int status, const std::string& body)
{
    Reply reply;
    reply.status = status;
    reply.contentType = "application/json";
    reply.body = body;
    return reply;
}

Reply emptyReply(int status)
{
    Reply reply;
    reply.status = status;
    return reply;
}

std::int64_t subMillisecondNanos()
{
    // The Clock has millisecond resolution; the API shows nanoseconds in create answers. Not a
    // secret: a generator seeded once per thread (random_device may cost a slow RDSEED a call).
    static thread_local std::mt19937_64 engine{std::random_device{}()};
    return std::uniform_int_distribution<std::int64_t>(0, 999'999)(engine);
}

Poco::JSON::Object::Ptr clientJson(const SimClient& c, bool descriptions, bool nanos)
{
    auto o = json::newObject();
    o->set("clientId", c.clientId);
    o->set("roles", json::toArray(c.roles));
    o->set("generatedOn", nanos ? core::formatRfc3339Nanos(c.generatedOnNanos)
                                : core::formatRfc3339Ms(c.generatedOnNanos / 1'000'000));
    if (descriptions)
    {
        o->set("description", c.description.value_or(""));
        o->set("tokenExpiry", c.tokenExpiryMs
                                  ? Poco::Dynamic::Var(core::formatRfc3339Ms(*c.tokenExpiryMs))
                                  : Poco::Dynamic::Var());
    }
    return o;
}

Poco::JSON::Object::Ptr roleJson(const SimRole& role, const std::string& orgId, RoleCasing casing)
{
    const bool upper = casing == RoleCasing::Upper;
    auto policy = json::newObject();
    policy->set("description", role.name);
    policy->set("resources", json::toArray({"drn:astra:org:" + orgId}));
    policy->set("actions", json::toArray(role.actions()));
    policy->set("effect", "allow");
    auto o = json::newObject();
    o->set(upper ? "ID" : "id", role.id);
    o->set(upper ? "Name" : "name", role.name);
    o->set(upper ? "Type" : "type", role.type);
    o->set(upper ? "Policy" : "policy", policy);
    return o;
}

Reply errorsReply(int status, int id, const std::string& message)
{
    auto error = json::newObject();
    error->set("ID", id);
    error->set("message", message);
    Poco::JSON::Array::Ptr errors = new Poco::JSON::Array();
    errors->add(error);
    auto doc = json::newObject();
    doc->set("errors", errors);
    return jsonReply(status, json::stringify(doc));
}

Reply textReply(int status, const std::string& message)
{
    Reply reply;
    reply.status = status;
    reply.contentType = "text/plain; charset=utf-8";
    reply.body = message + "\n";
    return reply;
}

Route matchRoute(const std::string& method, const std::string& path)
{
    Route route;
    const auto pick = [&](const char* allowed, Endpoint endpoint, const char* templ)
    {
        route.pathTemplate = templ;
        route.endpoint = method == allowed ? endpoint : Endpoint::WrongMethod;
        route.allow = allowed;
    };
    const auto parameter = [&](const std::string& prefix)
    {
        if (path.size() > prefix.size() && path.compare(0, prefix.size(), prefix) == 0 &&
            path.find('/', prefix.size()) == std::string::npos)
        {
            route.param = path.substr(prefix.size());
            return true;
        }
        return false;
    };

    if (path == "/v2/clientIdSecrets")
    {
        route.pathTemplate = path;
        route.allow = "GET, POST";
        route.endpoint = method == "GET"    ? Endpoint::List
                         : method == "POST" ? Endpoint::Create
                                            : Endpoint::WrongMethod;
    }
    else if (parameter("/v2/clientIdSecrets/"))
    {
        pick("DELETE", Endpoint::Delete, "/v2/clientIdSecrets/{clientId}");
    }
    else if (path == "/v2/tokens")
    {
        pick("POST", Endpoint::Create, "/v2/tokens");
    }
    else if (path == "/v2/currentOrg")
    {
        pick("GET", Endpoint::CurrentOrg, "/v2/currentOrg");
    }
    else if (path == "/v2/organizations/roles")
    {
        pick("GET", Endpoint::Roles, "/v2/organizations/roles");
    }
    else if (parameter("/v2/organizations/roles/"))
    {
        pick("GET", Endpoint::Role, "/v2/organizations/roles/{roleId}");
    }
    return route;
}

// ---------------------------------------------------------------------------------------------
// The DevOps API

Reply Simulator::Impl::dispatch(const Route& route, const Poco::Net::HTTPServerRequest& request,
                                const std::string& body)
{
    if (route.endpoint == Endpoint::Unknown)
    {
        return errorsReply(404, kErrorSimulatorBase + 404, "Not Found");
    }
    if (route.endpoint == Endpoint::WrongMethod)
    {
        Reply reply = errorsReply(405, kErrorSimulatorBase + 405, "Method Not Allowed");
        reply.headers.emplace_back("Allow", route.allow);
        return reply;
    }

    const std::string token = bearer(request);
    if (!isTokenShaped(token))
    {
        return errorsReply(401, kErrorInvalidTokenFormat, "invalid token format");
    }
    const std::int64_t now = _clock->nowMs();
    const SimClient* caller = _org.findByTokenHash(core::sha256Hex(token));
    if (caller == nullptr || caller->expiredAt(now) || now < caller->activeFromMs)
    {
        return errorsReply(401, kErrorUnknownToken, kUnknownTokenMessage);
    }
    const std::vector<std::string> callerRoles = caller->roles; // the caller may delete itself

    switch (route.endpoint)
    {
    case Endpoint::List:
    {
        if (!_org.grants(callerRoles, &SimRole::tokenRead))
        {
            return forbidden("the token lacks the org-token-read permission");
        }
        Poco::JSON::Array::Ptr clients = new Poco::JSON::Array();
        for (const auto& c : _org.clients())
        {
            if (_options.listExpired || !c.expiredAt(now))
            {
                clients->add(clientJson(c, _options.descriptions, false));
            }
        }
        auto doc = json::newObject();
        doc->set("clients", clients);
        return jsonReply(200, json::stringify(doc));
    }
    case Endpoint::Create:
    {
        if (!_org.grants(callerRoles, &SimRole::tokenWrite))
        {
            return forbidden("the token lacks the org-token-write permission");
        }
        SimClient templ;
        try
        {
            const auto doc = json::parseObject(body);
            templ.roles = json::requireStringArray(*doc, "roles");
            templ.description = json::optString(*doc, "description");
            templ.tokenExpiryMs = optInstantMs(*doc, "tokenExpiry");
            const auto orgId = json::optString(*doc, "orgId");
            if (orgId && *orgId != _org.orgId())
            {
                return forbidden("the token has no access to organization " + *orgId);
            }
        }
        catch (const json::Invalid& e)
        {
            return textReply(400, std::string("Bad Request: ") + e.what());
        }
        if (templ.roles.empty())
        {
            return textReply(400, "Bad Request: 'roles' must not be empty");
        }
        for (const auto& id : templ.roles)
        {
            if (_org.findRole(id) == nullptr)
            {
                return textReply(400, "Bad Request: role not found: " + id);
            }
        }
        if (_org.bestRank(templ.roles) > _org.bestRank(callerRoles))
        {
            return forbidden("a token cannot create a token with more permissions than it has");
        }
        if (templ.tokenExpiryMs && *templ.tokenExpiryMs <= now)
        {
            return textReply(400, "Bad Request: 'tokenExpiry' is in the past");
        }
        templ.generatedOnNanos = now * 1'000'000 + subMillisecondNanos();
        templ.activeFromMs = now + _propagationDelayMs;
        const MintedClient minted = _org.mint(std::move(templ));
        persist();
        return jsonReply(200, createdJson(_org.orgId(), minted));
    }
    case Endpoint::Delete:
    {
        if (!_org.grants(callerRoles, &SimRole::tokenWrite))
        {
            return forbidden("the token lacks the org-token-write permission");
        }
        if (_org.remove(route.param))
        {
            persist();
            return emptyReply(_options.deleteStatus);
        }
        if (_options.deleteUnknownStatus == 204)
        {
            return emptyReply(204);
        }
        return errorsReply(_options.deleteUnknownStatus,
                           kErrorSimulatorBase + _options.deleteUnknownStatus,
                           "client not found: " + route.param);
    }
    case Endpoint::CurrentOrg:
    {
        if (!_org.grants(callerRoles, &SimRole::orgRead))
        {
            return forbidden("the token lacks the org-read permission");
        }
        auto doc = json::newObject();
        doc->set("id", _org.orgId());
        return jsonReply(200, json::stringify(doc));
    }
    case Endpoint::Roles:
    case Endpoint::Role:
    {
        if (!_org.grants(callerRoles, &SimRole::orgRead))
        {
            return forbidden("the token lacks the org-role-read permission");
        }
        if (route.endpoint == Endpoint::Role)
        {
            const SimRole* role = _org.findRole(route.param);
            return role == nullptr ? textReply(404, "Not Found: role " + route.param)
                                   : jsonReply(200, json::stringify(roleJson(*role, _org.orgId(),
                                                                             _options.roleCasing)));
        }
        Poco::JSON::Array::Ptr roles = new Poco::JSON::Array();
        for (const auto& role : _org.roles())
        {
            roles->add(roleJson(role, _org.orgId(), _options.roleCasing));
        }
        return jsonReply(200, json::stringify(roles));
    }
    case Endpoint::WrongMethod:
    case Endpoint::Unknown:
        break;
    }
    throw core::InvariantError("unhandled endpoint");
}

} // namespace rotator::sim
