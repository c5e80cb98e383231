#pragma once

#include <functional>
#include <mutex>

#include "rotator/store/StateStore.h"

namespace rotator::store
{

/// The rows of a `Journal`, for many threads at once: forwards every call to the inner store,
/// reads under the connection's (recursive) mutex, and hands every write to the journal, which
/// runs it at once when the calling thread is inside one of its steps and otherwise commits it
/// as a step of its own. A journal owns one; the engine sees it as `Journal::rows()`.
///
/// Borrows the inner store and the mutex, which must outlive it.
class SharedStateStore final : public StateStore
{
public:
    /// `write` runs a write as the journal wants it (part of the caller's step, or its own).
    using WriteFn = std::function<void(const std::function<void()>&)>;

    SharedStateStore(StateStore& inner, std::recursive_mutex& connection, WriteFn write)
        : _inner(inner), _connection(connection), _write(std::move(write))
    {
    }

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
    std::vector<NotificationRow> dueNotifications(std::int64_t nowMs, int limit) const override;
    std::optional<std::int64_t> nextNotificationMs() const override;
    void saveNotification(const NotificationRow& row) override;
    NotificationBacklog notificationBacklog() const override;

private:
    template <typename Fn> auto write(Fn&& fn);
    template <typename Fn> auto read(Fn&& fn) const;

    StateStore& _inner;
    std::recursive_mutex& _connection;
    const WriteFn _write;
};

} // namespace rotator::store
