#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <vector>

#include "rotator/store/Journal.h"

namespace rotator::store
{

/// A `Journal` with group commit: the steps of concurrent threads share one commit.
///
/// An SQLite connection is used by one thread at a time, and every step must be durable (fsync)
/// before the rotation goes on. Serialising those fsyncs made concurrent rotations wait for
/// each other. Here a writer queues its step and waits; the first writer to find nobody
/// committing becomes the leader, takes every queued step, runs them as one transaction
/// (`TransactionalStore::runBatch`, a savepoint each) and wakes their writers. While a leader
/// waits for its fsync the next writers queue up, so rotations at the same step share one
/// fsync. Every commit still returns only once it is durable, or throws what its step threw or
/// what failed the commit: journal-first is unchanged.
///
/// Concurrent rotations drift apart (each waits on its own files' fsyncs), so most batches would
/// hold one step. Threads that commit side by side therefore register as `Writer`s, and a
/// leader holding fewer steps than there are registered writers waits up to `commitDelay`
/// (1 ms by default) for the others before it commits (PostgreSQL's commit_delay and
/// commit_siblings). The steps that commit together send their next requests together and
/// meet again at their next commit, so a pass commits fewer, larger batches.
///
/// Reads take the connection's (recursive) mutex directly. A step's writes run on the thread
/// that leads the batch, inside it. Borrows the backend, which must outlive it.
class GroupCommitJournal final : public Journal
{
public:
    static constexpr std::chrono::microseconds kDefaultCommitDelay{1000};

    explicit GroupCommitJournal(TransactionalStore& backend,
                                std::chrono::microseconds commitDelay = kDefaultCommitDelay);

    /// Writers waiting for the next batch (for tests and diagnostics).
    std::size_t queuedWriters() const;

protected:
    void commitOutermost(const JournalStep& step) override;
    void writerJoined() override;
    void writerLeft() override;

private:
    struct Unit;
    /// With _queueMutex held: every registered writer has a unit queued.
    bool allWritersQueued() const;
    /// With _queueMutex held: ends the leader's commit delay once it has every writer's unit.
    void wakeDelayingLeaderIfAllQueued();
    void runBatchOf(const std::vector<Unit*>& batch) noexcept;

    mutable std::mutex _queueMutex;           ///< guards the members below but the last
    std::vector<Unit*> _queue;                ///< units waiting for the next batch
    bool _leading = false;                    ///< a writer is running a batch
    bool _delaying = false;                   ///< the leader waits for the other writers
    std::condition_variable _arrived;         ///< the leader has every writer's unit
    std::size_t _writers = 0;                 ///< registered Writers
    const std::chrono::microseconds _commitDelay;
};

} // namespace rotator::store
