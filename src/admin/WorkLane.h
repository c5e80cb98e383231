#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "HttpFrontEnd.h"

namespace rotator::admin
{

/// A complete request on its way to a worker; the connection stays the event loop's.
struct Job
{
    std::uint64_t id = 0;
    int fd = -1;
    bool lastRequest = false;
    std::unique_ptr<Incoming> incoming;
};

/// Worker threads over a bounded queue of jobs: one for the probes, one for everything else,
/// so that neither can take the other's threads. Thread-safe.
class WorkLane
{
public:
    WorkLane(int threads, std::size_t maxQueued, std::function<void(Job&)> run);
    ~WorkLane();
    WorkLane(const WorkLane&) = delete;
    WorkLane& operator=(const WorkLane&) = delete;

    /// Queues `job` (moved from); false when the queue is full or the lane stopped, and the
    /// caller answers 503.
    bool offer(Job& job);
    /// Drops queued jobs and waits for running ones. Idempotent.
    void stop();

private:
    void work();

    const std::size_t _maxQueued;
    const std::function<void(Job&)> _run;
    std::mutex _mutex;
    std::condition_variable _ready;
    std::deque<Job> _jobs;
    bool _stopping = false;
    std::vector<std::thread> _threads;
};

} // namespace rotator::admin
