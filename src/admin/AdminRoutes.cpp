// The admin API's request policy (body, Host, bearer), routing and read-only endpoints.

#include <algorithm>
#include <cctype>
#include <optional>
#include <string>

#include <Poco/Exception.h>
#include <Poco/JSON/Object.h>

#include "AdminImpl.h"
#include "rotator/core/Duration.h"
#include "rotator/core/Errors.h"
#include "rotator/core/EventKinds.h"
#include "rotator/report/Reports.h"

namespace rotator::admin
{

namespace
{

/// The endpoints without a {name}: all GET.
const std::pair<const char*, Endpoint> kFixedPaths[] = {
    {"/healthz", Endpoint::Healthz},    {"/readyz", Endpoint::Readyz},
    {"/metrics", Endpoint::Metrics},    {"/v1/credentials", Endpoint::Credentials},
    {"/v1/clients", Endpoint::Clients}, {"/v1/history", Endpoint::History}};

std::optional<Route> match(const std::string& path)
{
    for (const auto& [fixed, endpoint] : kFixedPaths)
    {
        if (path == fixed)
        {
            return Route{endpoint, "GET", {}};
        }
    }
    const std::string prefix = "/v1/credentials/";
    if (path.rfind(prefix, 0) != 0)
    {
        return std::nullopt;
    }
    const std::string rest = path.substr(prefix.size());
    const auto slash = rest.find('/');
    if (rest.empty() || slash == 0)
    {
        return std::nullopt;
    }
    if (slash == std::string::npos)
    {
        return Route{Endpoint::Credential, "GET", rest};
    }
    if (rest.substr(slash) == "/rotate")
    {
        return Route{Endpoint::Rotate, "POST", rest.substr(0, slash)};
    }
    return std::nullopt;
}

bool isV1(const std::string& path)
{
    return path == "/v1" || path.rfind("/v1/", 0) == 0;
}

/// The query parameters of `uri`; nullopt when they cannot be decoded.
std::optional<Poco::URI::QueryParameters> queryParameters(const Poco::URI& uri)
{
    try
    {
        return uri.getQueryParameters();
    }
    catch (const Poco::Exception&)
    {
        return std::nullopt;
    }
}

Reply undecodableQuery()
{
    return error(400, "bad_request", "the query string cannot be decoded");
}

/// Parses `limit` the way `history --limit` does: 1 to 1000000.
std::optional<int> parseLimit(const std::string& text)
{
    if (text.empty() || text.size() > 7)
    {
        return std::nullopt;
    }
    int n = 0;
    for (const char c : text)
    {
        if (c < '0' || c > '9')
        {
            return std::nullopt;
        }
        n = n * 10 + (c - '0');
    }
    if (n < 1 || n > 1'000'000)
    {
        return std::nullopt;
    }
    return n;
}

} // namespace

/// A user-supplied name for a message: quoted, bounded, printable.
std::string quoted(const std::string& text)
{
    std::string out = "\"";
    for (std::size_t i = 0; i < text.size() && i < 64; ++i)
    {
        const auto c = static_cast<unsigned char>(text[i]);
        out += std::isprint(c) != 0 ? static_cast<char>(c) : '?';
    }
    return out + (text.size() > 64 ? "...\"" : "\"");
}

PathKind kindOf(const Incoming& incoming)
{
    const std::string path = incoming.uri ? incoming.uri->getPath() : std::string();
    if (path == "/healthz")
    {
        return PathKind::Health;
    }
    if (path == "/readyz")
    {
        return PathKind::Readiness;
    }
    return path == "/metrics" ? PathKind::Metrics : PathKind::Api;
}

Reply AdminServer::Impl::dispatch(const Incoming& incoming)
{
    const auto& request = incoming.request;
    if (incoming.bodyTooLarge)
    {
        // The rest of the body is unread (or was discarded up to a bound): the connection
        // closes, since the body would otherwise be read as the next request.
        Reply r = error(413, "payload_too_large", "request bodies are limited to 64 KiB");
        r.close = true;
        return r;
    }

    const auto& uri = incoming.uri;
    if (!uri)
    {
        return error(400, "bad_request", "the request target is not a valid URI");
    }
    const std::string path = uri->getPath();

    // Against DNS rebinding. The probes are exempt: a kubelet sends Host = the pod's IP.
    const auto host = request.has("Host") ? std::optional(request.get("Host")) : std::nullopt;
    const PathKind kind = kindOf(incoming);
    if (kind != PathKind::Health && kind != PathKind::Readiness && !_hosts.allows(host))
    {
        return error(421, "misdirected_request",
                     (host ? "Host " + quoted(*host) : std::string("a request without Host")) +
                         " is not answered here: only the listen address, localhost, "
                         "127.0.0.1, [::1] and the names in admin.allowedHosts are (a page "
                         "that rebinds its DNS name to this address must not read the API)");
    }
    const bool needsToken = isV1(path) || (path == "/metrics" && _settings.admin.metricsAuth);
    if (needsToken && _token && !authorized(request))
    {
        Reply r = error(401, "unauthorized",
                        "this endpoint needs `Authorization: Bearer <token>` with the token of "
                        "admin.tokenFile");
        r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"astra-rotator\"");
        return r;
    }
    const auto route = match(path);
    if (!route)
    {
        return error(404, "not_found", "no such endpoint");
    }
    if (request.getMethod() != route->method)
    {
        Reply r = error(405, "method_not_allowed",
                        std::string("this endpoint only accepts ") + route->method);
        r.headers.emplace_back("Allow", route->method);
        return r;
    }
    if (route->endpoint == Endpoint::Rotate && !_token)
    {
        return error(403, "forbidden",
                     "write endpoints are disabled: set admin.tokenFile to enable them");
    }
    return serve(*route, *uri);
}

bool AdminServer::Impl::authorized(const Poco::Net::HTTPRequest& request) const
{
    const std::string header = request.get("Authorization", "");
    const std::string scheme = "bearer ";
    if (header.size() <= scheme.size())
    {
        return false;
    }
    for (std::size_t i = 0; i < scheme.size(); ++i)
    {
        if (std::tolower(static_cast<unsigned char>(header[i])) != scheme[i])
        {
            return false;
        }
    }
    return _token->matches(std::string_view(header).substr(scheme.size()));
}

Reply AdminServer::Impl::serve(const Route& route, const Poco::URI& uri)
{
    switch (route.endpoint)
    {
    case Endpoint::Healthz:
        return statusReply(200, "ok");
    case Endpoint::Readyz:
        return readiness();
    case Endpoint::Metrics:
        return metrics();
    case Endpoint::Credentials:
    {
        const auto now = _clock.nowMs();
        Reply r;
        r.body = withStore(
            [&](const store::StateStore& s)
            {
                return report::credentialsJson(report::credentialViews(_settings, s, now),
                                               s.installationId());
            });
        return r;
    }
    case Endpoint::Credential:
        return credential(route.name);
    case Endpoint::Clients:
    {
        // ?all=true adds revoked clients that a list confirmed gone (as `ages --all`).
        bool all = false;
        const auto parameters = queryParameters(uri);
        if (!parameters)
        {
            return undecodableQuery();
        }
        for (const auto& [key, value] : *parameters)
        {
            if (key != "all" || (value != "true" && value != "false"))
            {
                return error(400, "bad_request", "the only parameter is all=true or all=false");
            }
            all = value == "true";
        }
        const auto now = _clock.nowMs();
        Reply r;
        r.body = report::clientsJson(
            withStore([&](const store::StateStore& s)
                      { return report::clientViews(s, now, false, std::nullopt, all); }));
        return r;
    }
    case Endpoint::History:
        return history(uri);
    case Endpoint::Rotate:
        return rotate(route.name);
    }
    throw core::InvariantError("admin: unhandled endpoint");
}

Reply AdminServer::Impl::readiness()
{
    try
    {
        withStore([](const store::StateStore& s) { return s.listCredentials().size(); });
    }
    catch (const std::exception& e)
    {
        _log.warning("readiness: the database cannot be read: %s", std::string(e.what()));
        return statusReply(503, "not_ready", "the database cannot be read");
    }
    if (!_scheduler.lastPassMs())
    {
        return statusReply(503, "not_ready", "no pass has finished yet");
    }
    if (!_scheduler.lastPassReachedApi())
    {
        if (const auto refusal = _scheduler.adminTokenRefusal())
        {
            return statusReply(503, "not_ready", "the admin token was refused (401): " + *refusal);
        }
        return statusReply(503, "not_ready", "the last pass could not reach the DevOps API");
    }
    // Consumers of a credential whose current client vanished hold a dead token.
    // (Two lookups a credential: a probe every few seconds need not build the status views.)
    const auto missing = withStore(
        [&](const store::StateStore& s)
        {
            std::string names;
            for (const auto& c : _settings.credentials)
            {
                const auto row = s.findCredential(c.name);
                const auto client = row && !row->currentClientId.empty()
                                        ? s.findClient(row->currentClientId)
                                        : std::nullopt;
                if (client && client->goneElsewhere())
                {
                    names += (names.empty() ? "" : ", ") + c.name;
                }
            }
            return names;
        });
    if (!missing.empty())
    {
        return statusReply(503, "not_ready",
                           "the current client of " + missing +
                               " is no longer listed; consumers hold a dead token until the "
                               "replacement is delivered");
    }
    return statusReply(200, "ready");
}

Reply AdminServer::Impl::metrics()
{
    DaemonState daemon;
    daemon.lastPassMs = _scheduler.lastPassMs();
    daemon.lastPassReachedApi = _scheduler.lastPassReachedApi();
    daemon.adminTokenValid = _scheduler.adminTokenValid();
    const auto now = _clock.nowMs();
    Reply r;
    r.contentType = "text/plain; version=0.0.4; charset=utf-8";
    r.body = withStore([&](const store::StateStore& s)
                       { return _metrics.render(_settings, s, now, daemon); });
    return r;
}

Reply AdminServer::Impl::credential(const std::string& name)
{
    if (!_settings.findCredential(name))
    {
        return error(404, "not_found", "no credential named " + quoted(name));
    }
    const auto now = _clock.nowMs();
    const auto rows = withStore([&](const store::StateStore& s)
                                { return report::credentialViews(_settings, s, now); });
    for (const auto& row : rows)
    {
        if (row.name == name)
        {
            Reply r;
            r.body = report::credentialJson(row);
            return r;
        }
    }
    throw core::InvariantError("admin: configured credential " + name + " has no view");
}

Reply AdminServer::Impl::history(const Poco::URI& uri)
{
    store::HistoryQuery query;
    const auto parameters = queryParameters(uri);
    if (!parameters)
    {
        return undecodableQuery();
    }
    for (const auto& [key, value] : *parameters)
    {
        if (key == "credential")
        {
            query.credential = value;
        }
        else if (key == "client")
        {
            query.clientId = value;
        }
        else if (key == "since")
        {
            const auto ms = core::parseDurationMs(value);
            if (!ms)
            {
                return error(400, "bad_request",
                             "since: " + quoted(value) + " is not a duration like 7d, 12h or 30m");
            }
            query.sinceMs = _clock.nowMs() - *ms;
        }
        else if (key == "limit")
        {
            const auto limit = parseLimit(value);
            if (!limit)
            {
                return error(400, "bad_request",
                             "limit: " + quoted(value) + " is not a number from 1 to 1000000");
            }
            query.limit = *limit;
        }
        else if (key == "event")
        {
            // Repeatable: ?event=failed&event=quarantined.
            const auto& kinds = core::eventKinds();
            if (std::find(kinds.begin(), kinds.end(), value) == kinds.end())
            {
                return error(400, "bad_request", "event: " + quoted(value) + " is no event kind");
            }
            query.events.push_back(value);
        }
        else
        {
            return error(400, "bad_request",
                         "unknown parameter " + quoted(key) +
                             "; use credential, client, event, since and limit");
        }
    }
    Reply r;
    r.body =
        report::eventsJson(withStore([&](const store::StateStore& s) { return s.history(query); }));
    return r;
}

} // namespace rotator::admin
