#pragma once

#include <atomic>
#include <cstddef>
#include <functional>

#include "rotator/config/Settings.h"
#include "rotator/store/SharedStateStore.h"

namespace rotator::rotation
{

/// Runs the items of a pass's step (rotations, revocations) on up to `scheduler.concurrency`
/// threads, so that their round trips overlap.
///
/// Each thread is registered as a writer of the shared store (its commits wait for the
/// others', see `SharedStateStore`) and charged to the "rotation" CPU account. No new item
/// starts once `stop` is set. Borrows the settings, the store and the flag, which must outlive
/// it.
class WorkerPool
{
public:
    WorkerPool(const config::Settings& settings, store::SharedStateStore& store,
               const std::atomic<bool>& stop)
        : _settings(settings), _store(store), _stop(stop)
    {
    }

    /// Runs work(0..count-1), each worker taking the next item; rethrows the first exception
    /// after every thread has finished its current item.
    void forEach(std::size_t count, const std::function<void(std::size_t)>& work) const;

private:
    const config::Settings& _settings;
    store::SharedStateStore& _store;
    const std::atomic<bool>& _stop;
};

} // namespace rotator::rotation
