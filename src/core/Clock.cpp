#include "rotator/core/Clock.h"

#include <algorithm>
#include <chrono>
#include <thread>

namespace rotator::core
{

std::int64_t SystemClock::nowMs() const
{
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

void SystemClock::sleepMs(std::int64_t ms)
{
    if (ms > 0)
    {
        std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    }
}

bool SystemClock::waitFor(std::unique_lock<std::mutex>& lock, std::condition_variable& wake,
                          std::int64_t ms, const std::function<bool()>& woken)
{
    return wake.wait_for(lock, std::chrono::milliseconds(std::max<std::int64_t>(0, ms)), woken);
}

} // namespace rotator::core
