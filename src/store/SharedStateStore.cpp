#include "rotator/store/SharedStateStore.h"

#include <optional>
#include <type_traits>
#include <utility>

#include "rotator/core/CpuAccount.h"

namespace rotator::store
{

template <typename Fn> auto SharedStateStore::write(Fn&& fn)
{
    using Result = std::invoke_result_t<Fn>;
    if constexpr (std::is_void_v<Result>)
    {
        _write(fn);
    }
    else
    {
        std::optional<Result> result;
        _write([&] { result.emplace(fn()); });
        return std::move(*result);
    }
}

template <typename Fn> auto SharedStateStore::read(Fn&& fn) const
{
    const core::cpu_account::Scope account("journal-read");
    std::lock_guard<std::recursive_mutex> lock(_connection);
    return fn();
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

std::vector<NotificationRow> SharedStateStore::dueNotifications(std::int64_t nowMs, int limit) const
{
    return read([&] { return _inner.dueNotifications(nowMs, limit); });
}

std::optional<std::int64_t> SharedStateStore::nextNotificationMs() const
{
    return read([&] { return _inner.nextNotificationMs(); });
}

void SharedStateStore::saveNotification(const NotificationRow& row)
{
    write([&] { _inner.saveNotification(row); });
}

NotificationBacklog SharedStateStore::notificationBacklog() const
{
    return read([&] { return _inner.notificationBacklog(); });
}

} // namespace rotator::store
