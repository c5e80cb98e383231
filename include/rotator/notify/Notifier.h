#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "rotator/api/Backoff.h"
#include "rotator/api/HttpChannel.h"
#include "rotator/config/Settings.h"
#include "rotator/config/TokenSource.h"
#include "rotator/core/Clock.h"
#include "rotator/store/StateStore.h"

namespace rotator::notify
{

/// What one attempt's answer means: `delivered` (2xx), `rejected` (refused for good: a 4xx
/// other than 408 and 429, the same request gets the same answer) or `retry` (no answer, a 5xx,
/// 408, 429, or anything else).
const char* attemptResult(std::optional<int> status);

/// The wait before retrying a notification whose attempt number `attempts` failed: the
/// back-off's draw (full jitter, capped; a Retry-After instead when the receiver gave one), but
/// at least a quarter of the base delay, so that a draw of 0 never retries a failing receiver
/// at once.
std::int64_t retryDelayMs(api::Backoff& backoff, const api::Backoff::Policy& policy, int attempts,
                          std::optional<std::int64_t> retryAfterMs);

/// Sends the notification outbox (`notify.<name>.*` webhooks): at least once, in the order the
/// events happened, each attempt with the same `Idempotency-Key` header so that a receiver can
/// drop the copies a crash or a lost answer makes.
///
/// A notification is a row committed with its event (store::SqliteStateStore's
/// routeNotifications); it stays until the receiver answers 2xx. A 5xx, 408, 429 or no answer
/// is retried after a capped, jittered back-off (`api::Backoff`, counted from the row's
/// attempts, so a restart keeps the schedule; a Retry-After is honoured); another 4xx is a
/// refusal that the same request would get again: the row is marked failed with the status and
/// kept for `status`, never retried. Rows of a notifier no longer configured are marked failed
/// too. Failure messages and the stored last error never quote the URL's path (a Slack webhook
/// path is its secret), a header or a body.
///
/// `run()` blocks in its thread until `stop()`: it sends what is due, then waits for the next
/// retry or a `wake()` (a notification was committed); it never polls. `deliverDue()` is one
/// round, for tests. `wake` and `stop` are thread-safe; `run`/`deliverDue` belong to one
/// thread. Store failures in a round are logged and retried at the next wake or retry.
class Notifier
{
public:
    /// Called after every attempt with the notifier's name and `delivered`, `retry` (failed,
    /// will be retried) or `rejected` (failed for good).
    using Observer = std::function<void(const std::string& notifier, const std::string& result)>;

    struct Options
    {
        api::Backoff::Policy backoff{
            .baseMs = 1000, .capMs = 10 * 60'000, .maxRetryAfterMs = 60 * 60'000};
        std::uint64_t jitterSeed = 1;
        int batch = 32; ///< rows read per round
    };

    /// Reads each `tokenFile` now (core::ConfigError as config::TokenSource::follow). Borrows
    /// `rows` and `clock`, which must outlive it.
    Notifier(const std::vector<config::NotifierSettings>& notifiers, store::StateStore& rows,
             core::Clock& clock, Options options, std::vector<std::string>& warnings);
    ~Notifier();
    Notifier(const Notifier&) = delete;
    Notifier& operator=(const Notifier&) = delete;

    void setObserver(Observer observer) { _observer = std::move(observer); }

    void run();
    void stop();
    /// A notification was committed: send it now.
    void wake();

    /// Sends every due notification once; returns when the next one is due (nothing: none
    /// pending).
    std::optional<std::int64_t> deliverDue();

private:
    struct Target;
    void deliver(store::NotificationRow row);

    store::StateStore& _rows;
    core::Clock& _clock;
    Options _options;
    api::Backoff _backoff;
    std::map<std::string, std::unique_ptr<Target>> _targets;
    Observer _observer;
    std::mutex _mutex;
    std::condition_variable _wake;
    bool _woken = false;
    bool _stopping = false;
};

} // namespace rotator::notify
