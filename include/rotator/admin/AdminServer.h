#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "rotator/admin/Metrics.h"
#include "rotator/config/Settings.h"
#include "rotator/core/Clock.h"

namespace rotator::schedule
{
class Scheduler;
} // namespace rotator::schedule

namespace rotator::admin
{

/// What the admin API asks of the daemon's scheduler: a seam so that tests can run the server
/// without an engine. Implementations must be thread-safe (handlers run on pool threads).
class SchedulerControl
{
public:
    virtual ~SchedulerControl() = default;
    /// Queues a manual rotation; false when that credential is already queued.
    virtual bool requestRotation(const std::string& name) = 0;
    virtual std::optional<std::int64_t> lastPassMs() const = 0;
    virtual bool lastPassReachedApi() const = 0;
    /// Whether the admin token authenticated at the last list that told; nullopt before one.
    virtual std::optional<bool> adminTokenValid() const = 0;
    /// Why the admin token was refused, while the last list that told answered 401.
    virtual std::optional<std::string> adminTokenRefusal() const = 0;
};

/// `SchedulerControl` over the daemon's `schedule::Scheduler`, which must outlive it.
/// Thread-safe as the scheduler is.
class SchedulerAdapter final : public SchedulerControl
{
public:
    explicit SchedulerAdapter(schedule::Scheduler& scheduler) : _scheduler(scheduler) {}
    bool requestRotation(const std::string& name) override;
    std::optional<std::int64_t> lastPassMs() const override;
    bool lastPassReachedApi() const override;
    std::optional<bool> adminTokenValid() const override;
    std::optional<std::string> adminTokenRefusal() const override;

private:
    schedule::Scheduler& _scheduler;
};

/// The admin HTTP API of `serve` (PRODUCT.md §7): health, readiness, Prometheus metrics, the
/// JSON views of `status`/`ages`/`history`, and manual rotation requests.
///
/// Owns its listening socket (bound without SO_REUSEPORT, so a second daemon on the same
/// address fails instead of sharing the port), an HttpFrontEnd that reads requests on one
/// event-loop thread and answers them on worker threads (probes on their own; see
/// src/admin/HttpFrontEnd.h for the deadline and connection limits), the bearer token read
/// from `admin.tokenFile`, and a read-only connection of its own to the state database, used
/// by one handler at a time under a mutex (never the engine's connection). Requests are checked
/// for their `Host` (HostCheck) and, on /v1 and with `admin.metricsAuth` on /metrics, the
/// bearer. It reads `settings`, the scheduler and the metrics by reference: they must outlive
/// it. `start()` throws core::ConfigError naming `admin.tokenFile`, `admin.metricsAuth` or
/// `admin.listen` (e.g. "address already in use") and core::StoreError when the database
/// cannot be opened; after that, every failure inside a request is caught in its handler,
/// logged on the "admin" logger and answered 500. Every request gets one access-log line on
/// "admin" (client, method, path without the query, control bytes escaped, status,
/// milliseconds; never a header). `start`/`stop` are for one thread; `port()` is safe from any
/// thread after `start`.
class AdminServer
{
public:
    /// Request bodies above this get 413 (no endpoint takes a body).
    static constexpr std::size_t kMaxBodyBytes = 64 * 1024;

    AdminServer(const config::Settings& settings, std::string databasePath,
                SchedulerControl& scheduler, Metrics& metrics, core::Clock& clock);
    ~AdminServer();
    AdminServer(const AdminServer&) = delete;
    AdminServer& operator=(const AdminServer&) = delete;

    /// Reads the token file, opens the database read-only, binds `settings.admin.host:port`
    /// (port 0: any free port) and starts serving.
    void start();
    /// Stops accepting, closes open connections and waits for running handlers. Idempotent.
    void stop();
    /// The bound port (the real one when configured as 0); 0 before `start`.
    std::uint16_t port() const;

    class Impl;

private:
    std::unique_ptr<Impl> _impl;
};

} // namespace rotator::admin
