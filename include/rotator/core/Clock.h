#pragma once

#include <cstdint>

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
};

/// The real clock.
class SystemClock final : public Clock
{
public:
    std::int64_t nowMs() const override;
    void sleepMs(std::int64_t ms) override;
};

} // namespace rotator::core
