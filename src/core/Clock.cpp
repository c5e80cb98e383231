#include "rotator/core/Clock.h"

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

} // namespace rotator::core
