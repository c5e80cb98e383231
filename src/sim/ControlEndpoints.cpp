// The /_sim control endpoints: state, clients, faults, counters of the simulator.
// Every function here runs with Simulator::Impl::_mutex held.

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

Poco::JSON::Object::Ptr faultJson(const FaultRule& rule)
{
    auto o = json::newObject();
    o->set("kind", toString(rule.kind));
    o->set("method", rule.method);
    o->set("path", rule.pathPrefix);
    o->set("count", rule.count ? Poco::Dynamic::Var(*rule.count) : Poco::Dynamic::Var());
    if (rule.kind == FaultKind::Latency || rule.kind == FaultKind::Trickle)
    {
        o->set("ms", rule.delayMs);
    }
    else
    {
        o->set("status", rule.effectiveStatus());
    }
    if (rule.retryAfterSeconds)
    {
        o->set("retryAfter", *rule.retryAfterSeconds);
    }
    return o;
}

FaultRule faultFromJson(const Poco::JSON::Object& o)
{
    const std::string kindName = json::requireString(o, "kind");
    const auto kind = parseFaultKind(kindName);
    if (!kind)
    {
        throw json::Invalid("'kind' is not a known fault kind");
    }
    FaultRule rule;
    rule.kind = *kind;
    rule.method = json::optString(o, "method").value_or("*");
    rule.pathPrefix = json::optString(o, "path").value_or("/v2/");
    const auto narrow = [](std::optional<std::int64_t> v, const char* key) -> std::optional<int>
    {
        if (v && (*v < 0 || *v > 1'000'000'000))
        {
            throw json::Invalid(std::string("'") + key + "' is out of range");
        }
        return v ? std::optional<int>(static_cast<int>(*v)) : std::nullopt;
    };
    rule.count = narrow(json::optInteger(o, "count"), "count");
    rule.status = narrow(json::optInteger(o, "status"), "status").value_or(0);
    rule.retryAfterSeconds = narrow(json::optInteger(o, "retryAfter"), "retryAfter");
    rule.delayMs = json::optInteger(o, "ms").value_or(0);
    validate(rule);
    return rule;
}

} // namespace

core::CreatedClient Simulator::Impl::seedClient(const ClientSeed& seed)
{
    SimClient templ;
    for (const auto& role : seed.roles)
    {
        const SimRole* found = _org.findRole(role);
        found = found != nullptr ? found : _org.findRoleByName(role);
        if (found == nullptr)
        {
            throw std::invalid_argument("no role with id or name '" + role + "'");
        }
        templ.roles.push_back(found->id);
    }
    if (templ.roles.empty())
    {
        throw std::invalid_argument("a client needs at least one role");
    }
    templ.description = seed.description;
    templ.tokenExpiryMs = seed.tokenExpiryMs;
    templ.generatedOnNanos = seed.generatedOnMs
                                 ? *seed.generatedOnMs * 1'000'000
                                 : _clock->nowMs() * 1'000'000 + subMillisecondNanos();
    MintedClient minted = _org.mint(std::move(templ));
    persist();

    core::CreatedClient created;
    created.clientId = minted.client.clientId;
    created.secret = std::move(minted.secret);
    created.token = std::move(minted.token);
    created.orgId = _org.orgId();
    created.roles = minted.client.roles;
    created.generatedOn = core::formatRfc3339Nanos(minted.client.generatedOnNanos);
    created.generatedOnMs = minted.client.generatedOnNanos / 1'000'000;
    return created;
}

Reply Simulator::Impl::control(const std::string& method, const std::string& path,
                               const Poco::Net::HTTPServerRequest& request, const std::string& body)
{
    if (!core::constantTimeEquals(core::sha256Hex(bearer(request)), _adminTokenSha256))
    {
        return errorsReply(401, kErrorSimulatorBase + 401,
                           "the /_sim endpoints need the bootstrap admin token as Bearer");
    }
    const auto wrongMethod = [](const char* allow)
    {
        Reply reply = errorsReply(405, kErrorSimulatorBase + 405, "Method Not Allowed");
        reply.headers.emplace_back("Allow", allow);
        return reply;
    };
    try
    {
        if (path == "/_sim/state")
        {
            if (method != "GET")
            {
                return wrongMethod("GET");
            }
            auto doc = json::newObject();
            doc->set("orgId", _org.orgId());
            Poco::JSON::Array::Ptr roles = new Poco::JSON::Array();
            for (const auto& role : _org.roles())
            {
                roles->add(roleJson(role, _org.orgId(), RoleCasing::Lower));
            }
            doc->set("roles", roles);
            Poco::JSON::Array::Ptr clients = new Poco::JSON::Array();
            for (const auto& c : _org.clients())
            {
                clients->add(clientJson(c, true, true));
            }
            doc->set("clients", clients);
            Poco::JSON::Array::Ptr faults = new Poco::JSON::Array();
            for (const auto& rule : _faults)
            {
                faults->add(faultJson(rule));
            }
            doc->set("faults", faults);
            doc->set("latencyMs", _latencyMs);
            doc->set("propagationDelayMs", _propagationDelayMs);
            Poco::JSON::Array::Ptr requests = new Poco::JSON::Array();
            for (const auto& [key, n] : _counts)
            {
                auto o = json::newObject();
                o->set("method", std::get<0>(key));
                o->set("path", std::get<1>(key));
                o->set("status", std::get<2>(key));
                o->set("count", n);
                requests->add(o);
            }
            doc->set("requests", requests);
            return jsonReply(200, json::stringify(doc));
        }
        if (path == "/_sim/faults")
        {
            if (method == "POST")
            {
                _faults.push_back(faultFromJson(*json::parseObject(body)));
                return jsonReply(200, json::stringify(faultJson(_faults.back())));
            }
            if (method == "DELETE")
            {
                _faults.clear();
                return emptyReply(204);
            }
            return wrongMethod("POST, DELETE");
        }
        if (path == "/_sim/clients")
        {
            if (method != "POST")
            {
                return wrongMethod("POST");
            }
            const auto doc = json::parseObject(body);
            ClientSeed seed;
            seed.roles = json::requireStringArray(*doc, "roles");
            seed.description = json::optString(*doc, "description");
            seed.generatedOnMs = optInstantMs(*doc, "generatedOn");
            seed.tokenExpiryMs = optInstantMs(*doc, "tokenExpiry");
            const core::CreatedClient c = seedClient(seed);
            auto o = json::newObject();
            o->set("clientId", c.clientId);
            o->set("secret", c.secret.reveal());
            o->set("orgId", c.orgId);
            o->set("roles", json::toArray(c.roles));
            o->set("token", c.token.reveal());
            o->set("generatedOn", c.generatedOn);
            return jsonReply(200, json::stringify(o));
        }
        if (path == "/_sim/config")
        {
            if (method != "POST")
            {
                return wrongMethod("POST");
            }
            const auto doc = json::parseObject(body);
            const auto latency = json::optInteger(*doc, "latencyMs");
            const auto propagation = json::optInteger(*doc, "propagationDelayMs");
            if (latency.value_or(0) < 0 || propagation.value_or(0) < 0)
            {
                throw json::Invalid("delays must not be negative");
            }
            _latencyMs = latency.value_or(_latencyMs);
            _propagationDelayMs = propagation.value_or(_propagationDelayMs);
            auto out = json::newObject();
            out->set("latencyMs", _latencyMs);
            out->set("propagationDelayMs", _propagationDelayMs);
            return jsonReply(200, json::stringify(out));
        }
        if (path == "/_sim/requests")
        {
            if (method != "DELETE")
            {
                return wrongMethod("DELETE");
            }
            _counts.clear();
            return emptyReply(204);
        }
    }
    catch (const json::Invalid& e)
    {
        return textReply(400, std::string("Bad Request: ") + e.what());
    }
    catch (const core::UsageError& e)
    {
        return textReply(400, std::string("Bad Request: ") + e.what());
    }
    catch (const std::invalid_argument& e)
    {
        return textReply(400, std::string("Bad Request: ") + e.what());
    }
    return errorsReply(404, kErrorSimulatorBase + 404, "Not Found");
}

} // namespace rotator::sim
