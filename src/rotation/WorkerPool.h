#pragma once

#include <atomic>
#include <cstddef>
#include <functional>

#include "rotator/config/Settings.h"
#include "rotator/store/Journal.h"

namespace rotator::rotation
{

/// Runs the items of a pass's step (rotations, revocations) on up to `scheduler.concurrency`
/// threads, so that their round trips overlap.
///
/// Each thread is registered as a writer of the journal (a group-committing journal waits for
/// its steps, see `GroupCommitJournal`) and charged to the "rotation" CPU account. No new item
/// starts once `stop` is set. Borrows the settings, the journal and the flag, which must
/// outlive it.
class WorkerPool
{
public:
    WorkerPool(const config::Settings& settings, store::Journal& journal,
               const std::atomic<bool>& stop)
        : _settings(settings), _journal(journal), _stop(stop)
    {
    }

    /// Runs work(0..count-1), each worker taking the next item; rethrows the first exception
    /// after every thread has finished its current item.
    void forEach(std::size_t count, const std::function<void(std::size_t)>& work) const;

private:
    const config::Settings& _settings;
    store::Journal& _journal;
    const std::atomic<bool>& _stop;
};

} // namespace rotator::rotation
