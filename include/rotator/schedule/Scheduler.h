#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>

#include "rotator/core/Clock.h"
#include "rotator/rotation/RotationEngine.h"

namespace rotator::schedule
{

/// Drives the engine for `serve`: a pass, then sleep until the next due time or the sync
/// interval, whichever comes first (never a busy poll: at least `minPauseMs` between passes),
/// woken early by a manual rotation request or a stop.
///
/// `run()` blocks in the calling thread until `stop()` is called from another one; a stop
/// lets the current step finish (the engine starts nothing new) and returns promptly.
/// `requestRotation` and the status accessors are thread-safe. A pass that throws is logged
/// and retried after `minPauseMs` backoff, doubling up to the sync interval.
class Scheduler
{
public:
    Scheduler(rotation::RotationEngine& engine, core::Clock& clock, std::int64_t syncIntervalMs,
              std::int64_t minPauseMs = 1000);

    void run();
    void stop();

    /// Queues `rotate NAME` for the scheduler thread; false when that credential is already
    /// queued.
    bool requestRotation(const std::string& name);

    /// For `/readyz` and metrics.
    std::optional<std::int64_t> lastPassMs() const;
    bool lastPassReachedApi() const;
    std::int64_t passes() const;

private:
    rotation::RotationEngine& _engine;
    core::Clock& _clock;
    std::int64_t _syncIntervalMs;
    std::int64_t _minPauseMs;
    mutable std::mutex _mutex;
    std::condition_variable _wake;
    bool _stopping = false;
    std::deque<std::string> _requests;
    std::optional<std::int64_t> _lastPassMs;
    bool _lastPassReachedApi = false;
    std::int64_t _passes = 0;
};

} // namespace rotator::schedule
