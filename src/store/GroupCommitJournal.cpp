#include "rotator/store/GroupCommitJournal.h"

#include <exception>
#include <utility>

#include "rotator/core/CpuAccount.h"

namespace rotator::store
{

GroupCommitJournal::GroupCommitJournal(TransactionalStore& backend,
                                       std::chrono::microseconds commitDelay)
    : Journal(backend), _commitDelay(commitDelay)
{
}

/// One writer's work, queued for the next batch. Its writer waits on `wake`, which is
/// signalled only when the unit is done or the writer is next in line to lead: every wake-up
/// costs a context switch, so nobody is woken just to wait again.
struct GroupCommitJournal::Unit
{
    const std::function<void()>& work;
    std::exception_ptr error;
    bool done = false;
    std::condition_variable wake;
};

void GroupCommitJournal::writerJoined()
{
    std::lock_guard<std::mutex> lock(_queueMutex);
    ++_writers;
}

void GroupCommitJournal::writerLeft()
{
    std::lock_guard<std::mutex> lock(_queueMutex);
    --_writers;
    wakeDelayingLeaderIfAllQueued(); // it may have waited for this writer
}

bool GroupCommitJournal::allWritersQueued() const
{
    return _queue.size() >= _writers;
}

void GroupCommitJournal::wakeDelayingLeaderIfAllQueued()
{
    if (_delaying && allWritersQueued())
    {
        _arrived.notify_one();
    }
}

void GroupCommitJournal::commitOutermost(const JournalStep& step)
{
    const core::cpu_account::Scope account("journal-write");
    Unit unit{step.writes, nullptr, false, {}};
    std::unique_lock<std::mutex> queue(_queueMutex);
    _queue.push_back(&unit);
    wakeDelayingLeaderIfAllQueued();
    while (!unit.done)
    {
        if (_leading)
        {
            unit.wake.wait(queue);
            continue;
        }
        _leading = true;
        if (!allWritersQueued() && _commitDelay.count() > 0)
        {
            // Units queued meanwhile join this batch (the next writers see _leading).
            _delaying = true;
            _arrived.wait_for(queue, _commitDelay, [&] { return allWritersQueued(); });
            _delaying = false;
        }
        std::vector<Unit*> batch;
        batch.swap(_queue);
        queue.unlock();
        runBatchOf(batch);
        queue.lock();
        _leading = false;
        for (auto* u : batch)
        {
            u->done = true;
            u->wake.notify_one(); // under the lock: a done writer returns and takes its Unit away
        }
        if (!_queue.empty())
        {
            _queue.front()->wake.notify_one(); // queued during the batch: it leads the next one
        }
    }
    if (unit.error)
    {
        std::rethrow_exception(unit.error);
    }
}

void GroupCommitJournal::runBatchOf(const std::vector<Unit*>& batch) noexcept
{
    const std::lock_guard<std::recursive_mutex> lock(_connection);
    try
    {
        std::vector<std::function<void()>> works;
        works.reserve(batch.size());
        for (auto* u : batch)
        {
            works.emplace_back([u] { u->work(); });
        }
        const RunningSteps running(*this);
        const auto errors = _backend.runBatch(works);
        for (std::size_t i = 0; i < batch.size(); ++i)
        {
            batch[i]->error = i < errors.size() ? errors[i] : nullptr;
        }
    }
    catch (...)
    {
        for (auto* u : batch)
        {
            u->error = std::current_exception();
        }
    }
}

std::size_t GroupCommitJournal::queuedWriters() const
{
    std::lock_guard<std::mutex> lock(_queueMutex);
    return _queue.size();
}

} // namespace rotator::store
