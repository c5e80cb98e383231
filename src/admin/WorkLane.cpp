#include "WorkLane.h"

namespace rotator::admin
{

WorkLane::WorkLane(int threads, std::size_t maxQueued, std::function<void(Job&)> run)
    : _maxQueued(maxQueued), _run(std::move(run))
{
    for (int i = 0; i < threads; ++i)
    {
        _threads.emplace_back([this] { work(); });
    }
}

WorkLane::~WorkLane()
{
    stop();
}

bool WorkLane::offer(Job& job)
{
    {
        std::lock_guard<std::mutex> lock(_mutex);
        if (_stopping || _jobs.size() >= _maxQueued)
        {
            return false;
        }
        _jobs.push_back(std::move(job));
    }
    _ready.notify_one();
    return true;
}

void WorkLane::stop()
{
    {
        std::lock_guard<std::mutex> lock(_mutex);
        _stopping = true;
        _jobs.clear();
    }
    _ready.notify_all();
    for (auto& t : _threads)
    {
        if (t.joinable())
        {
            t.join();
        }
    }
}

void WorkLane::work()
{
    for (;;)
    {
        Job job;
        {
            std::unique_lock<std::mutex> lock(_mutex);
            _ready.wait(lock, [this] { return _stopping || !_jobs.empty(); });
            if (_stopping)
            {
                return;
            }
            job = std::move(_jobs.front());
            _jobs.pop_front();
        }
        _run(job);
    }
}

} // namespace rotator::admin
