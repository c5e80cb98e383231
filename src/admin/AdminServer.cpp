#include "rotator/admin/AdminServer.h"

#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <mutex>
#include <sstream>
#include <utility>
#include <vector>

#include <Poco/Exception.h>
#include <Poco/JSON/Object.h>
#include <Poco/Logger.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/ThreadPool.h>
#include <Poco/URI.h>

#include "rotator/config/SettingsLoader.h"
#include "rotator/core/Duration.h"
#include "rotator/core/Errors.h"
#include "rotator/core/Secret.h"
#include "rotator/core/Time.h"
#include "rotator/report/Reports.h"
#include "rotator/rotation/StartRule.h"
#include "rotator/schedule/Scheduler.h"
#include "rotator/store/SqliteStateStore.h"

namespace rotator::admin
{

bool SchedulerAdapter::requestRotation(const std::string& name)
{
    return _scheduler.requestRotation(name);
}

std::optional<std::int64_t> SchedulerAdapter::lastPassMs() const
{
    return _scheduler.lastPassMs();
}

bool SchedulerAdapter::lastPassReachedApi() const
{
    return _scheduler.lastPassReachedApi();
}

std::optional<bool> SchedulerAdapter::adminTokenValid() const
{
    return _scheduler.adminTokenValid();
}

std::optional<std::string> SchedulerAdapter::adminTokenRefusal() const
{
    return _scheduler.adminTokenRefusal();
}

namespace
{

constexpr int kMaxThreads = 4;
constexpr int kMaxQueued = 32;
constexpr int kTimeoutSeconds = 10;
constexpr std::size_t kMaxLoggedPath = 200;
constexpr std::size_t kDiscardBytes = 1024 * 1024;
const char* const kJson = "application/json";

/// An answer, computed completely before anything is sent.
struct Reply
{
    int status = 200;
    std::string contentType = kJson;
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
    bool close = false; ///< the request body was not consumed: end the connection
};

std::string stringify(const Poco::JSON::Object& o)
{
    std::ostringstream out;
    o.stringify(out);
    return out.str();
}

Reply json(int status, const Poco::JSON::Object& o)
{
    Reply r;
    r.status = status;
    r.body = stringify(o);
    return r;
}

Reply statusReply(int status, const std::string& value, const std::string& reason = "")
{
    Poco::JSON::Object o(Poco::JSON_PRESERVE_KEY_ORDER);
    o.set("status", value);
    if (!reason.empty())
    {
        o.set("reason", reason);
    }
    return json(status, o);
}

Reply error(int status, const std::string& code, const std::string& message)
{
    Poco::JSON::Object::Ptr e = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
    e->set("code", code);
    e->set("message", message);
    Poco::JSON::Object o;
    o.set("error", e);
    return json(status, o);
}

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

/// The request target for the access log: the path only (a query may carry anything), bounded,
/// with control characters replaced so that a request cannot forge log lines.
std::string loggablePath(const std::string& uri)
{
    std::string path = uri.substr(0, uri.find('?'));
    const bool cut = path.size() > kMaxLoggedPath;
    path.resize(std::min(path.size(), kMaxLoggedPath));
    for (auto& c : path)
    {
        if (std::iscntrl(static_cast<unsigned char>(c)) != 0)
        {
            c = '?';
        }
    }
    return cut ? path + "..." : path;
}

enum class Endpoint
{
    Healthz,
    Readyz,
    Metrics,
    Credentials,
    Credential,
    Rotate,
    Clients,
    History
};

struct Route
{
    Endpoint endpoint;
    const char* method;
    std::string name; ///< the {name} of a credential path
};

std::optional<Route> match(const std::string& path)
{
    if (path == "/healthz")
    {
        return Route{Endpoint::Healthz, "GET", {}};
    }
    if (path == "/readyz")
    {
        return Route{Endpoint::Readyz, "GET", {}};
    }
    if (path == "/metrics")
    {
        return Route{Endpoint::Metrics, "GET", {}};
    }
    if (path == "/v1/credentials")
    {
        return Route{Endpoint::Credentials, "GET", {}};
    }
    if (path == "/v1/clients")
    {
        return Route{Endpoint::Clients, "GET", {}};
    }
    if (path == "/v1/history")
    {
        return Route{Endpoint::History, "GET", {}};
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

class AdminServer::Impl
{
public:
    Impl(const config::Settings& settings, std::string databasePath, SchedulerControl& scheduler,
         Metrics& metrics, core::Clock& clock)
        : _settings(settings), _databasePath(std::move(databasePath)), _scheduler(scheduler),
          _metrics(metrics), _clock(clock), _pool("admin", 1, kMaxThreads),
          _log(Poco::Logger::get("admin"))
    {
    }

    void start();
    void stop();
    std::uint16_t port() const { return _port.load(); }

    /// The top of every request: nothing escapes from here.
    void handle(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response);

private:
    Reply dispatch(Poco::Net::HTTPServerRequest& request);
    Reply serve(const Route& route, const Poco::URI& uri);
    Reply readiness();
    Reply metrics();
    Reply credential(const std::string& name);
    Reply history(const Poco::URI& uri);
    Reply rotate(const std::string& name);
    bool authorized(const Poco::Net::HTTPServerRequest& request) const;

    template <typename F> auto withStore(F&& work)
    {
        std::lock_guard<std::mutex> lock(_storeMutex);
        return work(static_cast<const store::StateStore&>(*_store));
    }

    const config::Settings& _settings;
    const std::string _databasePath;
    SchedulerControl& _scheduler;
    Metrics& _metrics;
    core::Clock& _clock;
    std::optional<core::Secret> _token; ///< set once in start(), read-only afterwards
    std::mutex _storeMutex;
    std::unique_ptr<store::StateStore> _store;
    Poco::ThreadPool _pool;
    std::unique_ptr<Poco::Net::HTTPServer> _server;
    std::atomic<std::uint16_t> _port{0};
    Poco::Logger& _log;
};

namespace
{

class AdminRequestHandler final : public Poco::Net::HTTPRequestHandler
{
public:
    explicit AdminRequestHandler(AdminServer::Impl& impl) : _impl(impl) {}
    void handleRequest(Poco::Net::HTTPServerRequest& request,
                       Poco::Net::HTTPServerResponse& response) override
    {
        _impl.handle(request, response);
    }

private:
    AdminServer::Impl& _impl;
};

class AdminHandlerFactory final : public Poco::Net::HTTPRequestHandlerFactory
{
public:
    explicit AdminHandlerFactory(AdminServer::Impl& impl) : _impl(impl) {}
    Poco::Net::HTTPRequestHandler*
    createRequestHandler(const Poco::Net::HTTPServerRequest&) override
    {
        return new AdminRequestHandler(_impl);
    }

private:
    AdminServer::Impl& _impl;
};

} // namespace

void AdminServer::Impl::start()
{
    const auto& admin = _settings.admin;
    if (!admin.tokenFile.empty())
    {
        std::vector<std::string> warnings;
        _token = config::readTokenFile(admin.tokenFile, "admin.tokenFile", warnings);
        for (const auto& w : warnings)
        {
            _log.warning(w);
        }
    }
    else
    {
        _log.information("admin.tokenFile is not set: /v1 is read-only and open to anyone who "
                         "can reach " +
                         admin.host);
    }
    _store = store::SqliteStateStore::openReadOnly(_databasePath);

    const std::string host = admin.host == "localhost" ? "127.0.0.1" : admin.host;
    const std::string shown = (host.find(':') != std::string::npos ? "[" + host + "]" : host) +
                              ":" + std::to_string(admin.port);
    Poco::Net::ServerSocket socket;
    try
    {
        // Not ServerSocket(address): that sets SO_REUSEPORT, and a second daemon would then
        // share the port silently instead of failing here.
        socket.bind(Poco::Net::SocketAddress(host, admin.port), true, false);
        socket.listen();
    }
    catch (const Poco::Exception& e)
    {
        const std::string why = e.code() == EADDRINUSE
                                    ? "address already in use (is another astra-rotator running?)"
                                    : e.displayText();
        throw core::ConfigError("admin.listen", "cannot listen on " + shown + ": " + why);
    }
    _port = socket.address().port();

    Poco::Net::HTTPServerParams::Ptr params = new Poco::Net::HTTPServerParams;
    params->setMaxThreads(kMaxThreads);
    params->setMaxQueued(kMaxQueued);
    params->setTimeout(Poco::Timespan(kTimeoutSeconds, 0));
    params->setKeepAlive(true);
    params->setKeepAliveTimeout(Poco::Timespan(kTimeoutSeconds, 0));
    params->setMaxKeepAliveRequests(100);
    params->setSoftwareVersion("astra-rotator");
    _server = std::make_unique<Poco::Net::HTTPServer>(new AdminHandlerFactory(*this), _pool, socket,
                                                      params);
    _server->start();
    _log.information("admin API listening on %s", socket.address().toString());
}

void AdminServer::Impl::stop()
{
    if (_server)
    {
        _server->stopAll(true);
        _pool.joinAll();
        _server.reset();
    }
}

void AdminServer::Impl::handle(Poco::Net::HTTPServerRequest& request,
                               Poco::Net::HTTPServerResponse& response)
{
    const auto started = std::chrono::steady_clock::now();
    const std::string method = request.getMethod();
    const std::string path = loggablePath(request.getURI());
    Reply reply;
    try
    {
        reply = dispatch(request);
    }
    catch (const Poco::Exception& e)
    {
        _log.error("%s %s failed: %s", method, path, e.displayText());
        reply = error(500, "internal", "internal error; the daemon's log has the cause");
    }
    catch (const std::exception& e)
    {
        _log.error("%s %s failed: %s", method, path, std::string(e.what()));
        reply = error(500, "internal", "internal error; the daemon's log has the cause");
    }
    catch (...)
    {
        _log.error("%s %s failed: unknown exception", method, path);
        reply = error(500, "internal", "internal error; the daemon's log has the cause");
    }

    try
    {
        response.setStatusAndReason(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(reply.status));
        response.setContentType(reply.contentType);
        response.set("Cache-Control", "no-store");
        response.set("X-Content-Type-Options", "nosniff");
        for (const auto& [name, value] : reply.headers)
        {
            response.set(name, value);
        }
        if (reply.close)
        {
            response.setKeepAlive(false);
        }
        response.setContentLength(static_cast<std::streamsize>(reply.body.size()));
        response.send() << reply.body;
    }
    catch (const std::exception& e)
    {
        // The client went away or timed out; nothing left to answer.
        _log.debug("%s %s: response not delivered: %s", method, path, std::string(e.what()));
    }

    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - started)
                        .count();
    const std::string line = request.clientAddress().host().toString() + " " + method + " " + path +
                             " " + std::to_string(reply.status) + " " + std::to_string(ms) + " ms";
    // Probes and scrapes come every few seconds: successful ones only at debug level.
    const bool routine =
        reply.status < 300 && (path == "/healthz" || path == "/readyz" || path == "/metrics");
    if (routine)
    {
        _log.debug(line);
    }
    else
    {
        _log.information(line);
    }
}

Reply AdminServer::Impl::dispatch(Poco::Net::HTTPServerRequest& request)
{
    // A declared oversized body is refused unread; the connection then closes, since the
    // body would otherwise be read as the next request.
    if (request.hasContentLength() &&
        request.getContentLength64() > static_cast<Poco::Int64>(AdminServer::kMaxBodyBytes))
    {
        Reply r = error(413, "payload_too_large", "request bodies are limited to 64 KiB");
        r.close = true;
        return r;
    }
    // No endpoint takes a body, but one sent must be consumed to keep the connection usable.
    // Without Content-Length or chunked encoding a request has no body (RFC 9112 §6.3).
    if (request.getChunkedTransferEncoding() || request.hasContentLength())
    {
        std::istream& in = request.stream();
        std::size_t total = 0;
        char buffer[4096];
        while (total <= AdminServer::kMaxBodyBytes && in.read(buffer, sizeof buffer).gcount() > 0)
        {
            total += static_cast<std::size_t>(in.gcount());
        }
        if (total > AdminServer::kMaxBodyBytes)
        {
            // Discard a bounded rest before closing: closing on unread data sends a reset,
            // which can destroy the 413 before the client reads it.
            while (total <= kDiscardBytes && in.read(buffer, sizeof buffer).gcount() > 0)
            {
                total += static_cast<std::size_t>(in.gcount());
            }
            Reply r = error(413, "payload_too_large", "request bodies are limited to 64 KiB");
            r.close = true;
            return r;
        }
    }

    std::optional<Poco::URI> uri;
    try
    {
        uri.emplace(request.getURI());
    }
    catch (const Poco::SyntaxException&)
    {
        return error(400, "bad_request", "the request target is not a valid URI");
    }
    const std::string path = uri->getPath();

    if (isV1(path) && _token && !authorized(request))
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

bool AdminServer::Impl::authorized(const Poco::Net::HTTPServerRequest& request) const
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
    return core::constantTimeEquals(std::string_view(header).substr(scheme.size()),
                                    _token->reveal());
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
        Poco::URI::QueryParameters parameters;
        try
        {
            parameters = uri.getQueryParameters();
        }
        catch (const Poco::Exception&)
        {
            return error(400, "bad_request", "the query string cannot be decoded");
        }
        for (const auto& [key, value] : parameters)
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
    Poco::URI::QueryParameters parameters;
    try
    {
        parameters = uri.getQueryParameters();
    }
    catch (const Poco::Exception&)
    {
        return error(400, "bad_request", "the query string cannot be decoded");
    }
    for (const auto& [key, value] : parameters)
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
        else
        {
            return error(400, "bad_request",
                         "unknown parameter " + quoted(key) +
                             "; use credential, client, since and limit");
        }
    }
    Reply r;
    r.body =
        report::eventsJson(withStore([&](const store::StateStore& s) { return s.history(query); }));
    return r;
}

Reply AdminServer::Impl::rotate(const std::string& name)
{
    if (!_settings.findCredential(name))
    {
        return error(404, "not_found", "no credential named " + quoted(name));
    }
    // The engine's rule (rotateNow without --no-grace), so that a request that cannot succeed
    // gets a 409 now instead of a 202 and a log line later.
    const auto conflict = withStore(
        [&](const store::StateStore& s) -> std::optional<std::string>
        {
            const auto last = s.lastRotation(name);
            const auto row = s.findCredential(name);
            const auto block = rotation::startBlock(last, row, _clock.nowMs());
            if (block == rotation::StartBlock::InProgress)
            {
                return "rotation " + std::to_string(last->id) + " of " + name +
                       " is in progress (stage " + std::string(core::toString(last->stage)) + ")";
            }
            if (block == rotation::StartBlock::InGrace)
            {
                return "the previous client " + row->previousClientId + " of " + name +
                       " is still in its grace period" +
                       (row->revokeAfterMs
                            ? " (until " + core::formatRfc3339Seconds(*row->revokeAfterMs) + ")"
                            : std::string()) +
                       "; a new rotation can start once a pass has revoked it";
            }
            return std::nullopt;
        });
    if (conflict)
    {
        return error(409, "conflict", *conflict);
    }
    if (!_scheduler.requestRotation(name))
    {
        return error(409, "conflict", "a rotation of " + name + " is already queued");
    }
    _log.information("rotation of %s requested through the admin API", name);
    Poco::JSON::Object o(Poco::JSON_PRESERVE_KEY_ORDER);
    o.set("rotation", Poco::Dynamic::Var());
    o.set("queued", true);
    return json(202, o);
}

AdminServer::AdminServer(const config::Settings& settings, std::string databasePath,
                         SchedulerControl& scheduler, Metrics& metrics, core::Clock& clock)
    : _impl(std::make_unique<Impl>(settings, std::move(databasePath), scheduler, metrics, clock))
{
}

AdminServer::~AdminServer()
{
    stop();
}

void AdminServer::start()
{
    _impl->start();
}

void AdminServer::stop()
{
    _impl->stop();
}

std::uint16_t AdminServer::port() const
{
    return _impl->port();
}

} // namespace rotator::admin
