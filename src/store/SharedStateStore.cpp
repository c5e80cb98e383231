#include "rotator/store/SharedStateStore.h"

#include <algorithm>
#include <optional>
#include <type_traits>
#include <utility>

#include "rotator/core/CpuAccount.h"

namespace rotator::store
{
namespace
{

/// The store whose batch this thread is running: its units' writes go straight in.
thread_local const SharedStateStore* tBatchOf = nullptr;

} // namespace

/// One writer's work, queued for the next batch. Its writer waits on `wake`, which is
/// signalled only when the unit is done or the writer is next in line to lead: every wake-up
/// costs a context switch, so nobody is woken just to wait again.
struct SharedStateStore::Unit
{
    const std::function<void()>& work;
    std::exception_ptr error;
    bool done = false;
    std::condition_variable wake;
};

template <typename Fn> auto SharedStateStore::write(Fn&& fn)
{
    using Result = std::invoke_result_t<Fn>;
    if (tBatchOf == this)
    {
        return fn(); // called by a unit of the batch this thread is running
    }
    if constexpr (std::is_void_v<Result>)
    {
        commitAsUnit(fn);
    }
    else
    {
        std::optional<Result> result;
        commitAsUnit([&] { result.emplace(fn()); });
        return std::move(*result);
    }
}

template <typename Fn> auto SharedStateStore::read(Fn&& fn) const
{
    const core::cpu_account::Scope account("journal-read");
    std::lock_guard<std::recursive_mutex> lock(_connection);
    return fn();
}

SharedStateStore::Writer::Writer(SharedStateStore& store) : _store(store)
{
    std::lock_guard<std::mutex> lock(_store._queueMutex);
    ++_store._writers;
}

SharedStateStore::Writer::~Writer()
{
    std::lock_guard<std::mutex> lock(_store._queueMutex);
    --_store._writers;
    _store.wakeDelayingLeaderIfAllQueued(); // it may have waited for this writer
}

bool SharedStateStore::allWritersQueued() const
{
    return _queue.size() >= _writers;
}

void SharedStateStore::wakeDelayingLeaderIfAllQueued()
{
    if (_delaying && allWritersQueued())
    {
        _arrived.notify_one();
    }
}

void SharedStateStore::commitAsUnit(const std::function<void()>& work)
{
    const core::cpu_account::Scope account("journal-write");
    Unit unit{work, nullptr, false, {}};
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

void SharedStateStore::runBatchOf(const std::vector<Unit*>& batch) noexcept
{
    std::lock_guard<std::recursive_mutex> lock(_connection);
    try
    {
        std::vector<std::function<void()>> works;
        works.reserve(batch.size());
        for (auto* u : batch)
        {
            works.emplace_back([u] { u->work(); });
        }
        tBatchOf = this;
        const auto errors = _inner.runBatch(works);
        tBatchOf = nullptr;
        for (std::size_t i = 0; i < batch.size(); ++i)
        {
            batch[i]->error = i < errors.size() ? errors[i] : nullptr;
        }
    }
    catch (...)
    {
        tBatchOf = nullptr;
        for (auto* u : batch)
        {
            u->error = std::current_exception();
        }
    }
}

std::size_t SharedStateStore::queuedWriters() const
{
    std::lock_guard<std::mutex> lock(_queueMutex);
    return _queue.size();
}

std::string SharedStateStore::installationId() const
{
    return _inner.installationId(); // fixed at construction: no lock needed
}

SyncResult SharedStateStore::syncInventory(const std::vector<core::ClientInfo>& clients,
                                           std::int64_t nowMs)
{
    return write([&] { return _inner.syncInventory(clients, nowMs); });
}

std::vector<ClientRow> SharedStateStore::listClients() const
{
    return read([&] { return _inner.listClients(); });
}

std::optional<ClientRow> SharedStateStore::findClient(const std::string& clientId) const
{
    return read([&] { return _inner.findClient(clientId); });
}

bool SharedStateStore::markClientRevoked(const std::string& clientId, std::int64_t nowMs)
{
    return write([&] { return _inner.markClientRevoked(clientId, nowMs); });
}

std::vector<EventRow> SharedStateStore::history(const HistoryQuery& query) const
{
    return read([&] { return _inner.history(query); });
}

std::int64_t SharedStateStore::appendEvent(const EventRow& event)
{
    return write([&] { return _inner.appendEvent(event); });
}

void SharedStateStore::ensureCredentials(const std::vector<std::string>& names,
                                         std::int64_t nowMs)
{
    write([&] { _inner.ensureCredentials(names, nowMs); });
}

std::vector<CredentialRow> SharedStateStore::listCredentials() const
{
    return read([&] { return _inner.listCredentials(); });
}

std::optional<CredentialRow> SharedStateStore::findCredential(const std::string& name) const
{
    return read([&] { return _inner.findCredential(name); });
}

void SharedStateStore::saveCredential(const CredentialRow& row)
{
    write([&] { _inner.saveCredential(row); });
}

std::vector<std::string>
SharedStateStore::retireUnconfigured(const std::vector<std::string>& configured, std::int64_t nowMs)
{
    return write([&] { return _inner.retireUnconfigured(configured, nowMs); });
}

void SharedStateStore::recordClient(const core::ClientInfo& client, const std::string& credential,
                                    std::int64_t nowMs)
{
    write([&] { _inner.recordClient(client, credential, nowMs); });
}

RotationRow SharedStateStore::beginRotation(const std::string& credential,
                                            const std::string& trigger,
                                            const std::string& oldClientId, std::int64_t nowMs)
{
    return write([&] { return _inner.beginRotation(credential, trigger, oldClientId, nowMs); });
}

void SharedStateStore::saveRotation(const RotationRow& row)
{
    write([&] { _inner.saveRotation(row); });
}

std::optional<RotationRow> SharedStateStore::findRotation(std::int64_t id) const
{
    return read([&] { return _inner.findRotation(id); });
}

std::vector<RotationRow> SharedStateStore::unfinishedRotations() const
{
    return read([&] { return _inner.unfinishedRotations(); });
}

std::optional<RotationRow> SharedStateStore::lastRotation(const std::string& credential) const
{
    return read([&] { return _inner.lastRotation(credential); });
}

void SharedStateStore::saveSinkState(std::int64_t rotationId, const SinkStateRow& row)
{
    write([&] { _inner.saveSinkState(rotationId, row); });
}

std::vector<SinkStateRow> SharedStateStore::sinkStates(std::int64_t rotationId) const
{
    return read([&] { return _inner.sinkStates(rotationId); });
}

void SharedStateStore::runInTransaction(const std::function<void()>& work)
{
    if (tBatchOf == this)
    {
        // Nested inside a unit it is a savepoint of it, as in the inner store.
        _inner.runInTransaction(work);
        return;
    }
    // A unit is all or nothing already (its batch's transaction or its own savepoint).
    commitAsUnit(work);
}

std::vector<std::exception_ptr>
SharedStateStore::runBatch(const std::vector<std::function<void()>>& units)
{
    std::vector<std::exception_ptr> errors(units.size());
    try
    {
        write([&] { errors = _inner.runBatch(units); });
    }
    catch (...)
    {
        std::fill(errors.begin(), errors.end(), std::current_exception());
    }
    return errors;
}

} // namespace rotator::store
