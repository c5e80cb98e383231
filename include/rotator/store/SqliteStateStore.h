#pragma once

#include <functional>
#include <memory>
#include <string>

#include "rotator/store/Database.h"
#include "rotator/store/StateStore.h"

namespace rotator::store
{

class Statement;

/// The `StateStore` on one SQLite file (`<state.dir>/rotator.db`).
///
/// Owns its `Database` connection. Every method that changes several rows runs in one IMMEDIATE
/// transaction; `listClients` and `findClient` read through the `token_ages` view so that the
/// CLI, the admin API and an ops `sqlite3` session agree. Not thread-safe: one thread at a time
/// (other processes may read concurrently, WAL). Failures throw `core::StoreError`; writing
/// through a store opened read-only throws too.
class SqliteStateStore final : public TransactionalStore
{
public:
    /// Opens (creating) the database read-write and migrates it to the embedded schema.
    explicit SqliteStateStore(const std::string& path);
    /// Adopts an open database, which must already be at the embedded schema (nothing is
    /// migrated; a read-only connection gives a read-only store).
    explicit SqliteStateStore(Database db);
    /// For commands that must not write (`status`, `ages`, `history`, `plan`): opens read-only
    /// and requires the current schema. Works while a daemon writes (WAL).
    static std::unique_ptr<SqliteStateStore> openReadOnly(const std::string& path);

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
    void runInTransaction(const std::function<void()>& work) override;
    std::vector<std::exception_ptr>
    runBatch(const std::vector<std::function<void()>>& units) override;

    const std::string& path() const { return _db.path(); }

    /// A notifier and the event kinds it tells of.
    struct NotificationRoute
    {
        std::string notifier;
        std::vector<std::string> events;
    };
    /// From now on, every event this connection records queues one notification per route
    /// that names its kind, in the same statement (so in the same transaction) as the event:
    /// a TEMP trigger of this connection, whose routes each call replaces. Throws
    /// core::StoreError when read-only.
    void routeNotifications(const std::vector<NotificationRoute>& routes);
    /// `queued` is called once a transaction that queued a notification has committed (on the
    /// committing thread, with the connection in use: it must only wake someone up). Set it
    /// before other threads use the store.
    void onNotificationQueued(std::function<void()> queued) { _queued = std::move(queued); }

private:
    void requireWritable() const;
    /// After a write: tells `_queued` when a notification was queued and is now committed.
    void announceCommitted();
    std::vector<ClientRow> queryClients(const std::string* clientId) const;
    std::vector<CredentialRow> queryCredentials(const std::string* name) const;
    /// The rotations `where` selects; `bind` binds its parameters.
    std::vector<RotationRow> queryRotations(const std::string& where,
                                            const std::function<void(Statement&)>& bind) const;

    // Reading prepares statements, which changes the connection but not the store.
    mutable Database _db;
    std::string _installationId; ///< read once: it never changes
    std::function<void()> _queued;
    /// The trigger queued a notification since the last commit (on the heap: the SQL function
    /// holds its address, which a move of the store must not change).
    std::unique_ptr<bool> _queuedUncommitted = std::make_unique<bool>(false);
};

} // namespace rotator::store
