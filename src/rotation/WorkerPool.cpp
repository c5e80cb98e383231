#include "WorkerPool.h"

#include <algorithm>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "rotator/core/CpuAccount.h"

namespace rotator::rotation
{

void WorkerPool::forEach(std::size_t count, const std::function<void(std::size_t)>& work) const
{
    std::atomic<std::size_t> next{0};
    std::exception_ptr failure;
    std::mutex failureMutex;
    const std::size_t threads = std::min<std::size_t>(
        count, static_cast<std::size_t>(std::max(1, _settings.scheduler.concurrency)));
    auto worker = [&]
    {
        const core::cpu_account::Scope account("rotation");
        const store::Journal::Writer writer(_journal); // its commits wait for the others
        try
        {
            for (;;)
            {
                const std::size_t i = next++;
                if (i >= count || _stop)
                {
                    return;
                }
                work(i);
            }
        }
        catch (...)
        {
            std::lock_guard<std::mutex> lock(failureMutex);
            if (!failure)
            {
                failure = std::current_exception();
            }
            next = count; // the others finish their current item and stop
        }
    };
    if (threads <= 1)
    {
        worker();
    }
    else
    {
        std::vector<std::thread> pool;
        for (std::size_t t = 0; t < threads; ++t)
        {
            pool.emplace_back(worker);
        }
        for (auto& t : pool)
        {
            t.join();
        }
    }
    if (failure)
    {
        std::rethrow_exception(failure);
    }
}

} // namespace rotator::rotation
