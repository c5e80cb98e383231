#pragma once

// The admin server's private parts, shared by AdminServer.cpp (lifecycle, the top of each
// request, rotate) and AdminRoutes.cpp (policy checks, routing and the read endpoints).

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <Poco/Logger.h>
#include <Poco/URI.h>

#include "HttpFrontEnd.h"
#include "rotator/admin/AdminServer.h"
#include "rotator/admin/HostCheck.h"
#include "rotator/admin/Reply.h"
#include "rotator/config/TokenSource.h"
#include "rotator/core/Secret.h"
#include "rotator/store/StateStore.h"

namespace rotator::admin
{

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

/// A user-supplied name for a message: quoted, bounded, printable.
std::string quoted(const std::string& text);

/// What a request is for, from its decoded path: the one answer to "is this a probe?" for the
/// front end's lanes, the Host check and the level of the access-log line.
enum class PathKind
{
    Health,    ///< /healthz
    Readiness, ///< /readyz
    Metrics,   ///< /metrics
    Api        ///< everything else, including a target that is not a valid URI
};
PathKind kindOf(const Incoming& incoming);

class AdminServer::Impl
{
public:
    Impl(const config::Settings& settings, std::string databasePath, SchedulerControl& scheduler,
         Metrics& metrics, core::Clock& clock);

    void start();
    void stop();
    std::uint16_t port() const { return _port.load(); }

    /// The top of every request: nothing escapes from here.
    Reply handle(const Incoming& incoming);

private:
    Reply dispatch(const Incoming& incoming);
    Reply serve(const Route& route, const Poco::URI& uri);
    Reply readiness();
    Reply metrics();
    Reply credential(const std::string& name);
    Reply history(const Poco::URI& uri);
    Reply rotate(const std::string& name);
    bool authorized(const Poco::Net::HTTPRequest& request) const;

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
    const HostCheck _hosts;
    /// Set once in start(); follows admin.tokenFile. Null: no token file, writes disabled.
    std::unique_ptr<config::TokenSource> _token;
    std::mutex _storeMutex;
    std::unique_ptr<store::StateStore> _store;
    std::unique_ptr<HttpFrontEnd> _frontEnd;
    std::atomic<std::uint16_t> _port{0};
    Poco::Logger& _log;
};

} // namespace rotator::admin
