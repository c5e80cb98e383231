#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <mutex>
#include <vector>

#include "rotator/store/StateStore.h"

namespace rotator::store
{

/// A `StateStore` that many threads can use at once, with group commit.
///
/// An SQLite connection is used by one thread at a time, and every write of the journal must
/// be durable (fsync) before the rotation goes on. Serialising those fsyncs made concurrent
/// rotations wait for each other. Here a writer queues its work and waits; the first writer to
/// find nobody committing becomes the leader, takes every queued unit, runs them as one
/// transaction (`StateStore::runBatch`, a savepoint each) and wakes their writers. While a
/// leader waits for its fsync the next writers queue up, so rotations at the same step share
/// one fsync. Every write still returns only once it is durable, or throws what it threw or
/// what failed the commit: journal-first is unchanged.
///
/// Concurrent rotations drift apart (each waits on its own files' fsyncs), so most batches would
/// hold one unit. Threads that write side by side therefore register as `Writer`s, and a
/// leader holding fewer units than there are registered writers waits up to `commitDelay`
/// (1 ms by default) for the others before it commits (PostgreSQL's commit_delay and
/// commit_siblings). The units that commit together send their next requests together and
/// meet again at their next commit, so a pass commits fewer, larger batches.
///
/// Reads take the connection's (recursive) mutex directly. A unit's work may call back into
/// this store from the thread running the batch; those calls run at once, inside the batch.
/// Borrows the inner store, which must outlive it.
class SharedStateStore final : public StateStore
{
public:
    static constexpr std::chrono::microseconds kDefaultCommitDelay{1000};

    explicit SharedStateStore(StateStore& inner,
                              std::chrono::microseconds commitDelay = kDefaultCommitDelay)
        : _inner(inner), _commitDelay(commitDelay)
    {
    }

    /// Registers the constructing thread as one that writes concurrently with the others (a
    /// rotation worker) until the Writer is destroyed.
    class Writer
    {
    public:
        explicit Writer(SharedStateStore& store);
        ~Writer();
        Writer(const Writer&) = delete;
        Writer& operator=(const Writer&) = delete;

    private:
        SharedStateStore& _store;
    };

    std::string installationId() const override;
    SyncResult syncInventory(const std::vector<core::ClientInfo>& clients,
                             std::int64_t nowMs) override;
    std::vector<ClientRow> listClients() const override;
    std::optional<ClientRow> findClient(const std::string& clientId) const override;
    bool markClientRevoked(const std::string& clientId, std::int64_t nowMs) override;
    std::vector<EventRow> history(const HistoryQuery& query) const override;
    std::int64_t appendEvent(const EventRow& event) override;
    void ensureCredentials(const std::vector<std::string>& names, std::int64_t nowMs) override;
    std::vector<std::string> retireUnconfigured(const std::vector<std::string>& configured,
                                                std::int64_t nowMs) override;
    std::vector<CredentialRow> listCredentials() const override;
    std::optional<CredentialRow> findCredential(const std::string& name) const override;
    void saveCredential(const CredentialRow& row) override;
    void recordClient(const core::ClientInfo& client, const std::string& credential,
                      std::int64_t nowMs) override;
    RotationRow beginRotation(const std::string& credential, const std::string& trigger,
                              const std::string& oldClientId, std::int64_t nowMs) override;
    void saveRotation(const RotationRow& row) override;
    std::optional<RotationRow> findRotation(std::int64_t id) const override;
    std::vector<RotationRow> unfinishedRotations() const override;
    std::optional<RotationRow> lastRotation(const std::string& credential) const override;
    void saveSinkState(std::int64_t rotationId, const SinkStateRow& row) override;
    std::vector<SinkStateRow> sinkStates(std::int64_t rotationId) const override;
    /// One unit of the next batch: atomic, and durable when it returns.
    void runInTransaction(const std::function<void()>& work) override;
    /// The units run as one unit of the next batch (each in its own savepoint).
    std::vector<std::exception_ptr>
    runBatch(const std::vector<std::function<void()>>& units) override;

    /// Writers waiting for the next batch (for tests and diagnostics).
    std::size_t queuedWriters() const;

private:
    struct Unit;
    template <typename Fn> auto write(Fn&& fn);
    template <typename Fn> auto read(Fn&& fn) const;
    void commitAsUnit(const std::function<void()>& work);
    /// With _queueMutex held: every registered writer has a unit queued.
    bool allWritersQueued() const;
    /// With _queueMutex held: ends the leader's commit delay once it has every writer's unit.
    void wakeDelayingLeaderIfAllQueued();
    void runBatchOf(const std::vector<Unit*>& batch) noexcept;

    StateStore& _inner;
    mutable std::recursive_mutex _connection; ///< reads, and the leader's batch
    mutable std::mutex _queueMutex;           ///< guards the members below but the last
    std::vector<Unit*> _queue;                ///< units waiting for the next batch
    bool _leading = false;                    ///< a writer is running a batch
    bool _delaying = false;                   ///< the leader waits for the other writers
    std::condition_variable _arrived;         ///< the leader has every writer's unit
    std::size_t _writers = 0;                 ///< registered Writers
    const std::chrono::microseconds _commitDelay;
};

} // namespace rotator::store
