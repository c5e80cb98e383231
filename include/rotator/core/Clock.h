#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>

namespace rotator::core
{

/// Wall time and waiting, injected so that tests never read the real clock or sleep.
/// Implementations are thread-safe.
class Clock
{
public:
    virtual ~Clock() = default;
    /// Milliseconds since the Unix epoch (UTC).
    virtual std::int64_t nowMs() const = 0;
    /// Blocks for about `ms` milliseconds (a fake clock advances instead).
    virtual void sleepMs(std::int64_t ms) = 0;
    /// Waits on `wake`, whose mutex `lock` holds, until `woken()` is true or about `ms`
    /// milliseconds passed; returns `woken()`. A fake clock advances by `ms` at once unless
    /// `woken()` already holds.
    virtual bool waitFor(std::unique_lock<std::mutex>& lock, std::condition_variable& wake,
                         std::int64_t ms, const std::function<bool()>& woken) = 0;
};

/// The real clock.
class SystemClock final : public Clock
{
public:
    std::int64_t nowMs() const override;
    void sleepMs(std::int64_t ms) override;
    bool waitFor(std::unique_lock<std::mutex>& lock, std::condition_variable& wake, std::int64_t ms,
                 const std::function<bool()>& woken) override;
};

} // namespace rotator::core
