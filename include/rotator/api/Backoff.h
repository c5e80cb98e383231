#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <random>

#include "rotator/core/Clock.h"

namespace rotator::api
{

/// Capped exponential backoff with full jitter (AWS architecture blog's "full jitter").
/// The delay before retry `attempt` (1-based) is uniform in [0, min(cap, base * 2^(attempt-1))],
/// or exactly the server's Retry-After when it gave one (capped at `maxRetryAfterMs`).
/// Deterministic for a given seed. Not thread-safe; one instance per call sequence.
class Backoff
{
public:
    struct Policy
    {
        std::int64_t baseMs = 250;
        std::int64_t capMs = 10'000;
        std::int64_t maxRetryAfterMs = 60'000;
    };

    Backoff(Policy policy, std::uint64_t seed) : _policy(policy), _random(seed) {}

    std::int64_t delayMs(int attempt, std::optional<std::int64_t> retryAfterMs);

private:
    Policy _policy;
    std::mt19937_64 _random;
};

/// A token bucket allowing `ratePerSecond` requests on average and bursts of `burst`.
/// `acquire` waits (through the clock) until a request may go. Thread-safe.
class RateLimiter
{
public:
    RateLimiter(core::Clock& clock, double ratePerSecond, double burst);

    /// Blocks until a request may be sent; returns the milliseconds waited.
    std::int64_t acquire();

private:
    core::Clock& _clock;
    double _ratePerMs;
    double _burst;
    std::mutex _mutex;
    double _tokens;
    std::int64_t _lastMs;
};

} // namespace rotator::api
