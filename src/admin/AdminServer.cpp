#include "rotator/admin/AdminServer.h"

#include <cerrno>
#include <utility>
#include <vector>

#include <Poco/Exception.h>
#include <Poco/JSON/Object.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>

#include "AdminImpl.h"
#include "SocketIo.h"
#include "rotator/config/SettingsLoader.h"
#include "rotator/core/Errors.h"
#include "rotator/core/Time.h"
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

constexpr std::size_t kMaxLoggedMethod = 32;
constexpr std::size_t kMaxLoggedPath = 200;

} // namespace

AdminServer::Impl::Impl(const config::Settings& settings, std::string databasePath,
                        SchedulerControl& scheduler, Metrics& metrics, core::Clock& clock)
    : _settings(settings), _databasePath(std::move(databasePath)), _scheduler(scheduler),
      _metrics(metrics), _clock(clock), _hosts(settings.admin.host, settings.admin.allowedHosts),
      _log(Poco::Logger::get("admin"))
{
}

void AdminServer::Impl::start()
{
    const auto& admin = _settings.admin;
    if (admin.metricsAuth && admin.tokenFile.empty())
    {
        // The settings loader refuses this; settings built in code must not open /metrics.
        throw core::ConfigError("admin.metricsAuth", "is true but admin.tokenFile is empty");
    }
    if (!admin.tokenFile.empty())
    {
        std::vector<std::string> warnings;
        _token = std::make_unique<config::TokenSource>(
            admin.tokenFile, "admin.tokenFile",
            config::readTokenFile(admin.tokenFile, "admin.tokenFile", warnings));
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
        if (e.code() == EADDRINUSE)
        {
            // The configuration may be right and the port busy for a while (a previous daemon
            // still stopping): a start-up failure a supervisor retries, not exit 78.
            throw core::StartupError("admin.listen: cannot listen on " + shown +
                                     ": address already in use (is another astra-rotator or "
                                     "another service using that port?)");
        }
        throw core::ConfigError("admin.listen", "cannot listen on " + shown + ": " + e.displayText());
    }
    _port = socket.address().port();
    const std::string bound = socket.address().toString();

    _frontEnd = std::make_unique<HttpFrontEnd>(
        std::move(socket), admin, [this](const Incoming& in) { return handle(in); },
        [](const Incoming& in)
        {
            switch (kindOf(in))
            {
            case PathKind::Health: // a constant answer: never waits for the store or a thread
                return HttpFrontEnd::Lane::Loop;
            case PathKind::Readiness:
            case PathKind::Metrics:
                return HttpFrontEnd::Lane::Reserved;
            case PathKind::Api:
                break;
            }
            return HttpFrontEnd::Lane::General;
        },
        _log);
    _frontEnd->start();
    _log.information("admin API listening on %s", bound);
}

void AdminServer::Impl::stop()
{
    if (_frontEnd)
    {
        _frontEnd->stop();
        _frontEnd.reset();
    }
}

Reply AdminServer::Impl::handle(const Incoming& incoming)
{
    const auto& uri = incoming.request.getURI();
    // Escaped as the JSON log format would: a request must not forge or colour log lines.
    const std::string method = escapeForLog(incoming.request.getMethod(), kMaxLoggedMethod);
    // The path only: a query may carry anything.
    const std::string path = escapeForLog(uri.substr(0, uri.find('?')), kMaxLoggedPath);
    Reply reply;
    try
    {
        reply = dispatch(incoming);
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

    const auto ms = nowMs() - incoming.arrivedMs;
    const std::string line = incoming.clientHost + " " + method + " " + path + " " +
                             std::to_string(reply.status) + " " + std::to_string(ms) + " ms";
    // Probes and scrapes come every few seconds: successful ones only at debug level.
    if (reply.status < 300 && kindOf(incoming) != PathKind::Api)
    {
        _log.debug(line);
    }
    else
    {
        _log.information(line);
    }
    return reply;
}

Reply AdminServer::Impl::rotate(const std::string& name)
{
    const auto* c = _settings.findCredential(name);
    if (!c)
    {
        return error(404, "not_found", "no credential named " + quoted(name));
    }
    // The engine's rule (rotateNow without --no-grace), so that a request that cannot succeed
    // gets a 409 now instead of a 202 and a log line later.
    const auto conflict = withStore(
        [&](const store::StateStore& s) -> std::optional<std::string>
        {
            const bool selfRotation = _settings.findCredential(config::kAdminCredential) != nullptr;
            if (auto why =
                    rotation::waitsForAnotherRotation(*c, selfRotation, s, s.unfinishedRotations()))
            {
                return name + " cannot start now: " + *why;
            }
            const auto last = s.lastRotation(name);
            const auto row = s.findCredential(name);
            const auto block = rotation::startBlock(last, row, _clock.nowMs());
            if (block == rotation::StartBlock::InProgress)
            {
                return rotation::inProgressRefusal(*last);
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
