#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <random>
#include <string>

#include "rotator/core/Clock.h"
#include "rotator/rotation/RotationEngine.h"

namespace rotator::schedule
{

/// Drives the engine for `serve`: a pass, then sleep until the next due time or the sync
/// interval, whichever comes first (never a busy poll: at least `minPauseMs` after a pass that
/// listed, the back-off below after one that failed), woken early by a manual rotation request
/// or a stop. Every wait goes through the clock, so a fake clock runs the loop without real
/// waiting.
///
/// A pass fails when the inventory list fails (no answer, a 5xx, a 401...) or it throws; failed
/// passes in a row back off: the next one waits `scheduler.retryBackoff`, then twice that,
/// and so on up to `scheduler.syncInterval`, each wait shortened by up to a quarter at random
/// (seeded by `jitterSeed`, so tests are deterministic) so that daemons knocked over by the
/// same outage do not retry in step. A pass that lists again resets the back-off. Each failed
/// pass is logged once (the engine's error line, or an error here when the pass threw) with a
/// warning naming the back-off.
///
/// `run()` blocks in the calling thread until `stop()` is called (from another thread, or from
/// inside a pass); a stop lets the current step finish (the engine starts nothing new) and
/// returns promptly. `requestRotation`, the status accessors and the awaits are thread-safe.
class Scheduler
{
public:
    /// How long to wait between passes.
    struct Timing
    {
        std::int64_t syncIntervalMs = 5 * 60'000; ///< at least 1 s
        std::int64_t retryBackoffMs = 60'000;     ///< the first wait after a failed pass
        std::int64_t minPauseMs = 1000; ///< between passes, even when something is due at once
        std::uint64_t jitterSeed = std::random_device{}();
    };

    Scheduler(rotation::RotationEngine& engine, core::Clock& clock, Timing timing);

    void run();
    void stop();

    /// Queues `rotate NAME` for the scheduler thread; false when that credential is already
    /// queued.
    bool requestRotation(const std::string& name);

    /// For `/readyz` and metrics.
    std::optional<std::int64_t> lastPassMs() const;
    bool lastPassReachedApi() const;
    std::int64_t passes() const;
    /// Whether the admin token authenticated at the last list that told (an answer, or a
    /// 401); nullopt before one did.
    std::optional<bool> adminTokenValid() const;
    /// Why the admin token was refused, while the last list that told answered 401.
    std::optional<std::string> adminTokenRefusal() const;

    /// For a thread other than the scheduler's (tests, a daemon's caller): blocks until
    /// `passes()` reaches `count`, `stop()` was called or `timeout` of real time passed (not the
    /// clock's: `run()` goes on in another thread meanwhile); whether the count was reached.
    bool awaitPasses(std::int64_t count, std::chrono::milliseconds timeout) const;
    /// Like `awaitPasses`, until every rotation queued by `requestRotation` before this call has
    /// been run (its outcome journaled and logged) or skipped by a stop; false when `timeout`
    /// passed first, or a stop came before the scheduler took them.
    bool awaitRequests(std::chrono::milliseconds timeout) const;

private:
    /// One pass, its outcome recorded for the accessors; the reason when it failed.
    std::optional<std::string> runPass();
    void runRequests(const std::deque<std::string>& requests);
    /// The wait after the `failures`-th failed pass in a row.
    std::int64_t backoffMs(int failures);

    rotation::RotationEngine& _engine;
    core::Clock& _clock;
    std::int64_t _syncIntervalMs;
    std::int64_t _retryBackoffMs;
    std::int64_t _minPauseMs;
    std::mt19937_64 _random; ///< the back-off's jitter; used by the scheduler thread only
    mutable std::mutex _mutex;
    std::condition_variable _wake;
    mutable std::condition_variable _progress; ///< a pass or a batch of requests finished
    bool _stopping = false;
    std::deque<std::string> _requests;
    std::optional<std::int64_t> _lastPassMs;
    bool _lastPassReachedApi = false;
    std::int64_t _passes = 0;
    std::int64_t _requested = 0; ///< rotations queued so far
    std::int64_t _handled = 0;   ///< of those, how many have run
    std::optional<std::string> _adminTokenRefusal;
    std::optional<bool> _adminTokenValid;
};

} // namespace rotator::schedule
