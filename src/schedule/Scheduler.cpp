#include "rotator/schedule/Scheduler.h"

#include <algorithm>

#include <Poco/Logger.h>

namespace rotator::schedule
{

namespace
{

Poco::Logger& logger()
{
    return Poco::Logger::get("scheduler");
}

} // namespace

Scheduler::Scheduler(rotation::RotationEngine& engine, core::Clock& clock, Timing timing)
    : _engine(engine), _clock(clock),
      _syncIntervalMs(std::max<std::int64_t>(1000, timing.syncIntervalMs)),
      _retryBackoffMs(std::max<std::int64_t>(1, timing.retryBackoffMs)),
      _minPauseMs(timing.minPauseMs), _random(timing.jitterSeed)
{
}

void Scheduler::run()
{
    int failures = 0;           // failed passes in a row
    std::int64_t passDueAt = 0; // by the sync interval, or by the back-off while passes fail
    bool passDue = true;
    for (;;)
    {
        std::deque<std::string> requests;
        {
            std::lock_guard<std::mutex> lock(_mutex);
            if (_stopping)
            {
                return;
            }
            requests.swap(_requests);
        }
        if (passDue)
        {
            const auto failure = runPass();
            failures = failure ? failures + 1 : 0;
            const std::int64_t wait = failure ? backoffMs(failures) : _syncIntervalMs;
            passDueAt = _clock.nowMs() + wait;
            if (failure)
            {
                logger().warning("pass failed (%d in a row): %s; next pass in %Ld ms", failures,
                                 *failure, static_cast<Poco::Int64>(wait));
            }
        }
        runRequests(requests);
        if (!requests.empty())
        {
            {
                std::lock_guard<std::mutex> lock(_mutex);
                _handled += static_cast<std::int64_t>(requests.size());
            }
            _progress.notify_all();
        }
        const std::int64_t now = _clock.nowMs();
        std::int64_t wakeAt = passDueAt;
        // While passes fail, what the engine has due waits for the list too.
        if (failures == 0)
        {
            if (const auto next = _engine.nextWakeMs(); next && *next < wakeAt)
            {
                wakeAt = *next;
            }
            wakeAt = std::max(wakeAt, now + _minPauseMs);
        }
        std::unique_lock<std::mutex> lock(_mutex);
        const bool woken = _clock.waitFor(lock, _wake, std::max<std::int64_t>(0, wakeAt - now),
                                          [this] { return _stopping || !_requests.empty(); });
        // A manual request wakes us without a pass unless one is due by then.
        passDue = !woken || _clock.nowMs() >= passDueAt;
    }
}

std::optional<std::string> Scheduler::runPass()
{
    try
    {
        const auto report = _engine.runPass();
        const std::int64_t now = _clock.nowMs();
        if (report.rotated || report.failed || report.revoked || report.orphansRevoked)
        {
            logger().information(
                "pass: %d rotated, %d failed, %d revoked, %d confirmed, %d orphans revoked",
                report.rotated, report.failed, report.revoked, report.confirmed,
                report.orphansRevoked);
        }
        std::optional<std::string> failure;
        if (report.listFailed)
        {
            failure = report.errors.empty() ? std::string("listing clients failed")
                                            : report.errors.front();
        }
        {
            std::lock_guard<std::mutex> lock(_mutex);
            _lastPassMs = now;
            _lastPassReachedApi = !report.listFailed;
            ++_passes;
            // Only an answer tells about the token: a 503 or a timeout leaves what is known.
            if (!report.listFailed)
            {
                _adminTokenValid = true;
                _adminTokenRefusal.reset();
            }
            else if (report.adminTokenRejected)
            {
                _adminTokenValid = false;
                _adminTokenRefusal = failure;
                failure = "the admin token was refused (401); " + *failure;
            }
        }
        _progress.notify_all();
        return failure;
    }
    catch (const std::exception& e)
    {
        // Catch at the top of the thread: log, back off, try again.
        logger().error("pass failed: %s", std::string(e.what()));
        return std::string(e.what());
    }
}

void Scheduler::runRequests(const std::deque<std::string>& requests)
{
    for (const auto& name : requests)
    {
        if (_engine.stopRequested())
        {
            break;
        }
        try
        {
            const auto outcome = _engine.rotateNow(name, false);
            if (outcome.ok)
            {
                logger().information("manual rotation of %s: rotation %Ld delivered", name,
                                     static_cast<Poco::Int64>(outcome.rotationId));
            }
            else
            {
                logger().warning("manual rotation of %s: %s", name, outcome.message);
            }
        }
        catch (const std::exception& e)
        {
            logger().error("manual rotation of %s failed: %s", name, std::string(e.what()));
        }
    }
}

std::int64_t Scheduler::backoffMs(int failures)
{
    std::int64_t nominal = _retryBackoffMs;
    for (int i = 1; i < failures && nominal < _syncIntervalMs; ++i)
    {
        nominal *= 2;
    }
    nominal = std::min(nominal, _syncIntervalMs);
    std::uniform_int_distribution<std::int64_t> jitter(0, nominal / 4);
    return nominal - jitter(_random);
}

void Scheduler::stop()
{
    _engine.requestStop();
    {
        std::lock_guard<std::mutex> lock(_mutex);
        _stopping = true;
    }
    _wake.notify_all();
    _progress.notify_all();
}

bool Scheduler::requestRotation(const std::string& name)
{
    {
        std::lock_guard<std::mutex> lock(_mutex);
        if (std::find(_requests.begin(), _requests.end(), name) != _requests.end())
        {
            return false;
        }
        _requests.push_back(name);
        ++_requested;
    }
    _wake.notify_all();
    return true;
}

bool Scheduler::awaitPasses(std::int64_t count, std::chrono::milliseconds timeout) const
{
    std::unique_lock<std::mutex> lock(_mutex);
    _progress.wait_for(lock, timeout, [&] { return _passes >= count || _stopping; });
    return _passes >= count;
}

bool Scheduler::awaitRequests(std::chrono::milliseconds timeout) const
{
    std::unique_lock<std::mutex> lock(_mutex);
    const std::int64_t queued = _requested;
    _progress.wait_for(lock, timeout, [&] { return _handled >= queued || _stopping; });
    return _handled >= queued;
}

std::optional<std::int64_t> Scheduler::lastPassMs() const
{
    std::lock_guard<std::mutex> lock(_mutex);
    return _lastPassMs;
}

bool Scheduler::lastPassReachedApi() const
{
    std::lock_guard<std::mutex> lock(_mutex);
    return _lastPassReachedApi;
}

std::int64_t Scheduler::passes() const
{
    std::lock_guard<std::mutex> lock(_mutex);
    return _passes;
}

std::optional<bool> Scheduler::adminTokenValid() const
{
    std::lock_guard<std::mutex> lock(_mutex);
    return _adminTokenValid;
}

std::optional<std::string> Scheduler::adminTokenRefusal() const
{
    std::lock_guard<std::mutex> lock(_mutex);
    return _adminTokenRefusal;
}

} // namespace rotator::schedule
