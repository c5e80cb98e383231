#pragma once

#include <mutex>

#include "rotator/rotation/RotationEngine.h"

namespace rotator::rotation
{

/// Serialises every call to a `StateStore` (SQLite connections are used by one thread at a
/// time), so concurrent rotations can share one store. Recursive, because `runInTransaction`
/// calls back into the store from the same thread.
class RotationEngine::LockedStore final : public store::StateStore
{
public:
    explicit LockedStore(store::StateStore& inner) : _inner(inner) {}

    store::SyncResult syncInventory(const std::vector<core::ClientInfo>& c,
                                    std::int64_t now) override
    {
        Lock lock(_mutex);
        return _inner.syncInventory(c, now);
    }
    std::vector<store::ClientRow> listClients() const override
    {
        Lock lock(_mutex);
        return _inner.listClients();
    }
    std::optional<store::ClientRow> findClient(const std::string& id) const override
    {
        Lock lock(_mutex);
        return _inner.findClient(id);
    }
    bool markClientRevoked(const std::string& id, std::int64_t now) override
    {
        Lock lock(_mutex);
        return _inner.markClientRevoked(id, now);
    }
    std::vector<store::EventRow> history(const store::HistoryQuery& q) const override
    {
        Lock lock(_mutex);
        return _inner.history(q);
    }
    std::int64_t appendEvent(const store::EventRow& e) override
    {
        Lock lock(_mutex);
        return _inner.appendEvent(e);
    }
    void ensureCredentials(const std::vector<std::string>& names, std::int64_t now) override
    {
        Lock lock(_mutex);
        _inner.ensureCredentials(names, now);
    }
    std::vector<store::CredentialRow> listCredentials() const override
    {
        Lock lock(_mutex);
        return _inner.listCredentials();
    }
    std::optional<store::CredentialRow> findCredential(const std::string& name) const override
    {
        Lock lock(_mutex);
        return _inner.findCredential(name);
    }
    void saveCredential(const store::CredentialRow& row) override
    {
        Lock lock(_mutex);
        _inner.saveCredential(row);
    }
    void recordClient(const core::ClientInfo& c, std::int64_t now) override
    {
        Lock lock(_mutex);
        _inner.recordClient(c, now);
    }
    store::RotationRow beginRotation(const std::string& credential, const std::string& trigger,
                                     const std::string& old, std::int64_t now) override
    {
        Lock lock(_mutex);
        return _inner.beginRotation(credential, trigger, old, now);
    }
    void saveRotation(const store::RotationRow& row) override
    {
        Lock lock(_mutex);
        _inner.saveRotation(row);
    }
    std::optional<store::RotationRow> findRotation(std::int64_t id) const override
    {
        Lock lock(_mutex);
        return _inner.findRotation(id);
    }
    std::vector<store::RotationRow> unfinishedRotations() const override
    {
        Lock lock(_mutex);
        return _inner.unfinishedRotations();
    }
    std::optional<store::RotationRow> lastRotation(const std::string& credential) const override
    {
        Lock lock(_mutex);
        return _inner.lastRotation(credential);
    }
    void saveSinkState(std::int64_t id, const store::SinkStateRow& row) override
    {
        Lock lock(_mutex);
        _inner.saveSinkState(id, row);
    }
    std::vector<store::SinkStateRow> sinkStates(std::int64_t id) const override
    {
        Lock lock(_mutex);
        return _inner.sinkStates(id);
    }
    void runInTransaction(const std::function<void()>& work) override
    {
        Lock lock(_mutex);
        _inner.runInTransaction(work);
    }

private:
    using Lock = std::lock_guard<std::recursive_mutex>;
    store::StateStore& _inner;
    mutable std::recursive_mutex _mutex;
};

} // namespace rotator::rotation
