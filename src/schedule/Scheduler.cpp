#include "rotator/schedule/Scheduler.h"

#include <algorithm>
#include <chrono>

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

Scheduler::Scheduler(rotation::RotationEngine& engine, core::Clock& clock,
                     std::int64_t syncIntervalMs, std::int64_t minPauseMs)
    : _engine(engine), _clock(clock), _syncIntervalMs(std::max<std::int64_t>(1000, syncIntervalMs)),
      _minPauseMs(minPauseMs)
{
}

void Scheduler::run()
{
    std::int64_t errorPause = _minPauseMs;
    std::int64_t lastSync = 0;
    bool syncDue = true;
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
        std::int64_t pause = 0;
        try
        {
            if (syncDue || requests.empty())
            {
                const auto report = _engine.runPass();
                lastSync = _clock.nowMs();
                std::lock_guard<std::mutex> lock(_mutex);
                _lastPassMs = lastSync;
                _lastPassReachedApi = !report.listFailed;
                ++_passes;
                if (report.rotated || report.failed || report.revoked || report.orphansRevoked)
                {
                    logger().information(
                        "pass: %d rotated, %d failed, %d revoked, %d confirmed, %d orphans revoked",
                        report.rotated, report.failed, report.revoked, report.confirmed,
                        report.orphansRevoked);
                }
            }
            for (const auto& name : requests)
            {
                if (_engine.stopRequested())
                {
                    break;
                }
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
            errorPause = _minPauseMs;
        }
        catch (const std::exception& e)
        {
            // Catch at the top of the thread: log, back off, try again.
            logger().error("pass failed: %s; next attempt in %Ld ms", std::string(e.what()),
                           static_cast<Poco::Int64>(errorPause));
            pause = errorPause;
            errorPause = std::min(errorPause * 2, _syncIntervalMs);
        }
        const std::int64_t now = _clock.nowMs();
        std::int64_t wakeAt = lastSync + _syncIntervalMs;
        if (const auto next = _engine.nextWakeMs(); next && *next < wakeAt)
        {
            wakeAt = *next;
        }
        wakeAt = std::max(wakeAt, now + std::max(pause, _minPauseMs));
        std::unique_lock<std::mutex> lock(_mutex);
        const bool woken = _wake.wait_for(lock, std::chrono::milliseconds(wakeAt - now),
                                          [this] { return _stopping || !_requests.empty(); });
        // A manual request wakes us without a sync; a timeout is a scheduled pass.
        syncDue = !woken || _clock.nowMs() - lastSync >= _syncIntervalMs;
    }
}

void Scheduler::stop()
{
    _engine.requestStop();
    {
        std::lock_guard<std::mutex> lock(_mutex);
        _stopping = true;
    }
    _wake.notify_all();
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
    }
    _wake.notify_all();
    return true;
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

} // namespace rotator::schedule
