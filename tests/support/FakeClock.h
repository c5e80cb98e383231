#pragma once

#include <atomic>
#include <cstdint>

#include "rotator/core/Clock.h"

namespace rotator::test
{

/// A clock that only moves when told to; `sleepMs` advances it and records the total slept,
/// and `waitFor` advances it by the whole wait unless woken already (so a loop that waits
/// through it, e.g. the scheduler's, runs without real waiting, in the calling thread).
class FakeClock final : public core::Clock
{
public:
    explicit FakeClock(std::int64_t startMs = 1'700'000'000'000) : _now(startMs) {}
    std::int64_t nowMs() const override { return _now.load(); }
    void sleepMs(std::int64_t ms) override
    {
        _slept += ms;
        _now += ms;
    }
    bool waitFor(std::unique_lock<std::mutex>&, std::condition_variable&, std::int64_t ms,
                 const std::function<bool()>& woken) override
    {
        if (woken())
        {
            return true;
        }
        _now += ms;
        return woken();
    }
    void advanceMs(std::int64_t ms) { _now += ms; }
    void setMs(std::int64_t ms) { _now = ms; }
    std::int64_t sleptMs() const { return _slept.load(); }

private:
    std::atomic<std::int64_t> _now;
    std::atomic<std::int64_t> _slept{0};
};

} // namespace rotator::test
