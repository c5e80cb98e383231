#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "rotator/api/AstraClient.h"
#include "rotator/config/Settings.h"
#include "rotator/rotation/RotationEngine.h"
#include "rotator/store/StateStore.h"

namespace rotator::admin
{

/// What the scheduler knows at scrape time (gauges that the store cannot tell).
struct DaemonState
{
    std::optional<std::int64_t> lastPassMs;
    bool lastPassReachedApi = false;
    std::optional<bool> adminTokenValid; ///< nullopt until a list answered
};

/// The daemon's Prometheus metrics (PRODUCT.md §7).
///
/// Owns two counter families fed by observers: `astra_rotator_api_requests_total{method,code}`
/// (the API client's `RequestObserver`; code "0" when no answer came) and
/// `astra_rotator_rotations_total{credential,result}` (the engine's `ResultObserver`), and
/// `astra_rotator_sink_deliveries_total{sink,result}` with the histogram
/// `astra_rotator_sink_delivery_seconds{sink}` (the engine's `SinkObserver`), and
/// `astra_rotator_notifications_total{notifier,result}` (the notifier's observer). Gauges are
/// not kept here: `render` reads them from the store at scrape time, so they can never drift
/// from what `status` and `ages` show. `render` produces text format 0.0.4 with `# HELP` and
/// `# TYPE` for every family (also for a family that has no sample yet) and escaped label
/// values. Thread-safe: the observers may run on any thread while another one renders; the
/// observers returned capture `this`, so the `Metrics` must outlive the client and the engine.
/// Nothing here throws except `render`, which propagates the store's `core::StoreError`.
class Metrics
{
public:
    /// Counts one HTTP exchange with the DevOps API (status 0: no answer).
    void recordApiRequest(std::string_view method, int status);
    /// Counts one finished rotation attempt (`success`, `failed`, `quarantined`,
    /// `rolled_back`).
    void recordRotation(const std::string& credential, const std::string& result);

    /// Counts one sink delivery attempt (`delivered`, `failed`, `may_hold`) and its duration.
    void recordSinkDelivery(const std::string& sink, const std::string& result, std::int64_t ms);

    /// Counts one webhook delivery attempt (`delivered`, `retry`, `rejected`).
    void recordNotification(const std::string& notifier, const std::string& result);
    /// An observer for `notify::Notifier::setObserver`.
    std::function<void(const std::string&, const std::string&)> notificationObserver();

    /// An observer for `api::AstraClient` that calls `recordApiRequest`.
    api::RequestObserver apiObserver();
    /// An observer for `rotation::RotationEngine::setResultObserver`.
    rotation::ResultObserver rotationObserver();
    /// An observer for `rotation::RotationEngine::setSinkObserver`.
    rotation::SinkObserver sinkObserver();

    /// Upper bounds (seconds) of `astra_rotator_sink_delivery_seconds`'s buckets, +Inf aside.
    static constexpr std::array<double, 10> kSinkLatencyBuckets = {0.05, 0.1, 0.25, 0.5, 1,
                                                                   2.5,  5,   10,   30,  60};

    /// The whole exposition. `store` is read (not written) by the calling thread only.
    std::string render(const config::Settings& settings, const store::StateStore& store,
                       std::int64_t nowMs, const DaemonState& daemon) const;

    /// The exposition format's label value escaping: `\` -> `\\`, `"` -> `\"`, newline -> `\n`.
    static std::string escapeLabelValue(std::string_view value);
    /// Milliseconds as decimal seconds, exact and without trailing zeros: `1500` -> `1.5`.
    static std::string formatSeconds(std::int64_t ms);

private:
    mutable std::mutex _mutex;
    std::map<std::pair<std::string, std::string>, std::uint64_t> _apiRequests;
    std::map<std::pair<std::string, std::string>, std::uint64_t> _rotations;
    std::map<std::pair<std::string, std::string>, std::uint64_t> _sinkDeliveries;
    /// Per sink: cumulative bucket counts (kSinkLatencyBuckets, then +Inf) and the sum in ms.
    struct Latency
    {
        std::array<std::uint64_t, kSinkLatencyBuckets.size() + 1> buckets{};
        std::int64_t sumMs = 0;
    };
    std::map<std::string, Latency> _sinkLatency;
    std::map<std::pair<std::string, std::string>, std::uint64_t> _notifications;
};

} // namespace rotator::admin
