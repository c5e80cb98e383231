#include "rotator/api/Backoff.h"

#include <algorithm>
#include <cmath>

namespace rotator::api
{

std::int64_t Backoff::delayMs(int attempt, std::optional<std::int64_t> retryAfterMs)
{
    if (retryAfterMs && *retryAfterMs >= 0)
    {
        return std::min(*retryAfterMs, _policy.maxRetryAfterMs);
    }
    const int shift = std::clamp(attempt - 1, 0, 30);
    const std::int64_t ceiling = std::min(_policy.capMs, _policy.baseMs << shift);
    std::uniform_int_distribution<std::int64_t> dist(0, std::max<std::int64_t>(ceiling, 0));
    return dist(_random);
}

RateLimiter::RateLimiter(core::Clock& clock, double ratePerSecond, double burst)
    : _clock(clock), _ratePerMs(ratePerSecond / 1000.0), _burst(std::max(1.0, burst)),
      _tokens(_burst), _lastMs(clock.nowMs())
{
}

std::int64_t RateLimiter::acquire()
{
    std::int64_t waitMs = 0;
    {
        std::lock_guard<std::mutex> lock(_mutex);
        const std::int64_t now = _clock.nowMs();
        _tokens = std::min(_burst, _tokens + static_cast<double>(now - _lastMs) * _ratePerMs);
        _lastMs = now;
        _tokens -= 1.0;
        if (_tokens < 0.0)
        {
            // Reserve the slot now and wait outside the lock, so waiters queue fairly.
            waitMs = static_cast<std::int64_t>(std::ceil(-_tokens / _ratePerMs));
        }
    }
    if (waitMs > 0)
    {
        _clock.sleepMs(waitMs);
    }
    return waitMs;
}

} // namespace rotator::api
