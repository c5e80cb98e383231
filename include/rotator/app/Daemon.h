#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <thread>

#include "rotator/admin/AdminServer.h"
#include "rotator/admin/Metrics.h"
#include "rotator/api/AstraClient.h"
#include "rotator/app/Runtime.h"
#include "rotator/cli/CommandTable.h"
#include "rotator/cli/Commands.h"
#include "rotator/config/Settings.h"
#include "rotator/notify/Notifier.h"
#include "rotator/schedule/Scheduler.h"

namespace rotator::app
{

/// The daemon of `serve`, built from the settings alone so that a test can run it on
/// 127.0.0.1:0 without the Application.
///
/// Owns, in construction order: the metrics, the Runtime (state directory lock, store, API
/// client, sinks, engine), the scheduler, the adapter the admin API reads it through, the admin
/// server (only with `admin.listen`), the notifier (only with `notify.*`), the scheduler's
/// thread, the notifier's and a thread that reopens the log file on SIGHUP. `stop()` ends them
/// in the reverse order: the SIGHUP thread, then the scheduler (the engine starts nothing new,
/// the current step finishes), then the notifier (what it has not sent stays queued for the
/// next start), then the admin server; the destructor stops a started daemon and destroys the
/// rest in reverse.
///
/// Fails like its parts: the constructor throws core::ConfigError / core::StoreError (a second
/// writer on the state directory, no admin token...), `start()` core::ConfigError naming
/// `admin.tokenFile` or `admin.listen` (e.g. the port is taken). `start`/`stop` are for one
/// thread; `adminPort()` and `scheduler()` may be used from any thread once started.
class Daemon
{
public:
    /// Builds the daemon's API client; `observer` counts its HTTP exchanges in the metrics.
    using ApiFactory = std::function<std::unique_ptr<api::TokenApi>(
        const config::Settings&, core::Secret, api::RequestObserver)>;

    /// `settings` and `env` must outlive the daemon. Without `makeApi`, the client is
    /// `AstraClient` over HTTPS (`env.makeApi` is not used: it cannot feed the metrics).
    Daemon(const config::Settings& settings, cli::Environment& env, ApiFactory makeApi = {});
    ~Daemon();
    Daemon(const Daemon&) = delete;
    Daemon& operator=(const Daemon&) = delete;

    /// Starts the admin server, then the scheduler's thread (its first pass begins at once),
    /// then the SIGHUP thread. Once only.
    void start();
    /// Lets the current step finish and stops everything `start` started, in reverse.
    /// Idempotent; returns at once when the daemon was never started.
    void stop();

    /// The admin API's bound port (the real one for `admin.listen = 127.0.0.1:0`); 0 without
    /// an admin server or before `start`.
    std::uint16_t adminPort() const;
    /// The scheduler, for its status and to await its passes (thread-safe).
    schedule::Scheduler& scheduler() { return _scheduler; }

private:
    admin::Metrics _metrics;
    cli::Environment _env; ///< the caller's, with the metered API factory
    Runtime _runtime;
    schedule::Scheduler _scheduler;
    admin::SchedulerAdapter _control;
    std::unique_ptr<admin::AdminServer> _admin;
    std::unique_ptr<notify::Notifier> _notifier; ///< only with notify.* configured
    std::thread _worker;
    std::thread _notifying;
    std::thread _hangups;
    std::atomic<bool> _stopping{false}; ///< tells the SIGHUP thread that its wake-up is the last
    bool _started = false;
    bool _stopped = false;
};

/// The `serve` command: a Daemon from `start` to `env.waitForTermination()`, then `stop`.
cli::Command serveCommand();

} // namespace rotator::app
