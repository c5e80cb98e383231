#pragma once

#include <cstdint>
#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "rotator/core/Lifecycle.h"
#include "rotator/core/Model.h"

namespace rotator::store
{

/// What a sync changed.
struct SyncResult
{
    int discovered = 0;  ///< clients seen for the first time
    int disappeared = 0; ///< clients known and present before, absent from this list
    int reappeared = 0;  ///< clients marked missing before, present again
    int present = 0;     ///< clients in this list
};

/// A client of the inventory, with the status the `token_ages` view derives.
struct ClientRow
{
    std::string clientId;
    std::vector<std::string> roles;
    std::string generatedOn; ///< RFC 3339 as the API sent it
    std::int64_t generatedOnMs = 0;
    std::optional<std::string> description;
    std::optional<std::string> tokenExpiry;
    std::int64_t firstSeenMs = 0;
    std::int64_t lastSeenMs = 0;
    std::optional<std::int64_t> disappearedMs;
    std::optional<std::int64_t> revokedMs;
    /// No longer listed, and not because this rotator revoked it (someone else did).
    bool goneElsewhere() const { return disappearedMs.has_value() && !revokedMs.has_value(); }
    std::string credential; ///< the credential it is, was or will be the client of; empty if none
    /// retired | current | previous | rotating | revoked | missing | foreign | unmanaged
    std::string status;
};

/// One row of the append-only history.
struct EventRow
{
    std::int64_t id = 0;
    std::int64_t atMs = 0;
    std::string credential; ///< empty when not about a credential
    std::string clientId;   ///< empty when not about a client
    std::optional<std::int64_t> rotationId;
    std::string event; ///< discovered, disappeared, adopted, created, ... (PRODUCT.md §6)
    std::string detail;
};

/// Filters of `history` (all optional; newest first).
struct HistoryQuery
{
    std::string credential;
    std::string clientId;
    std::optional<std::int64_t> sinceMs;
    std::vector<std::string> events; ///< only these kinds; empty: every kind
    int limit = 100;
};

/// A managed credential's persistent state.
struct CredentialRow
{
    std::string name;
    std::string currentClientId;  ///< empty: none yet (to be bootstrapped)
    std::string previousClientId; ///< empty: none in grace
    std::optional<std::int64_t> revokeAfterMs;
    core::CredentialState state = core::CredentialState::Idle;
    int consecutiveFailures = 0;
    std::optional<std::int64_t> nextAttemptMs; ///< backoff after a failure
    std::optional<std::int64_t> lastRotationId;
    std::optional<std::int64_t> lastSuccessMs;
    std::optional<std::int64_t> retiredMs; ///< no longer configured since then
    std::int64_t createdMs = 0; ///< set on insert (0: use updatedMs)
    std::int64_t updatedMs = 0; ///< the caller's "now" when saving
};

/// One row of the rotation journal (table `rotations`).
struct RotationRow
{
    std::int64_t id = 0;
    std::string credential;
    core::Stage stage = core::Stage::Planned;
    std::string trigger;     ///< schedule | manual | bootstrap | api
    std::string marker;      ///< `astra-rotator <installation-id> <credential> <id>`
    std::string oldClientId; ///< empty: a bootstrap
    std::string newClientId; ///< empty until minted
    std::string orgId;
    std::optional<std::int64_t> mintStartedMs;
    std::optional<std::int64_t> mintFinishedMs;
    std::int64_t startedMs = 0;
    std::int64_t updatedMs = 0;
    std::optional<std::int64_t> finishedMs;
    std::optional<std::string> error;
    int attempts = 0;
    bool noGrace = false; ///< revoke the old client at once when promoted (`rotate --no-grace`)
};

/// Delivery state of one sink in one rotation (table `rotation_sinks`).
struct SinkStateRow
{
    std::string sink;
    core::SinkDelivery state = core::SinkDelivery::Pending;
    int attempts = 0;
    std::optional<std::string> lastError;
    std::optional<std::int64_t> deliveredMs;
};

/// One notification of the outbox (table `notifications`), with the event it tells of.
struct NotificationRow
{
    std::int64_t id = 0;
    std::string notifier;       ///< `notify.<name>`
    std::string idempotencyKey; ///< `<installation id>-<event id>-<notifier>`: the same every try
    EventRow event;
    std::int64_t createdMs = 0;
    int attempts = 0;
    std::int64_t nextAttemptMs = 0;
    std::optional<std::int64_t> deliveredMs;
    std::optional<std::int64_t> failedMs; ///< given up: the receiver refused it for good
    std::optional<int> lastStatus;        ///< the receiver's last HTTP status
    std::optional<std::string> lastError; ///< never a secret (no URL path, header or body)
};

/// The outbox's backlog, for `status` and the metrics.
struct NotificationBacklog
{
    std::int64_t pending = 0;                    ///< neither delivered nor given up
    std::int64_t failed = 0;                     ///< given up
    std::optional<std::int64_t> oldestPendingMs; ///< when the oldest pending one was queued
};

/// Persistent state of the rotator: inventory, credentials, rotations, history.
///
/// The interface keeps SQL out of every other module and leaves room for a second
/// implementation (PostgreSQL, PRODUCT.md §10). It reads and writes rows; durability (which
/// writes commit together) is a `Journal`'s (Journal.h). Methods that change several rows do so
/// atomically. The rows hold the lifecycle enums (core/Lifecycle.h); an implementation converts
/// them to and from its own representation, and a value it cannot read (text no version of
/// this program writes) throws `core::StoreError` naming the table, column and value. Failures
/// throw `core::StoreError`. An instance is used by one thread at a time;
/// other processes may read concurrently (WAL).
class StateStore
{
public:
    virtual ~StateStore() = default;

    /// This database's installation id (16 hex digits, random, made with the database and
    /// never changed): every marker it sends carries it.
    virtual std::string installationId() const = 0;

    /// Replaces the view of the org's clients with `clients` (the full list) in one
    /// transaction: inserts new ones (`discovered`), updates present ones (last seen),
    /// marks absent ones missing (`disappeared`), unless they are already revoked or missing.
    virtual SyncResult syncInventory(const std::vector<core::ClientInfo>& clients,
                                     std::int64_t nowMs) = 0;

    /// Every client of the inventory, oldest generatedOn first.
    virtual std::vector<ClientRow> listClients() const = 0;
    virtual std::optional<ClientRow> findClient(const std::string& clientId) const = 0;

    /// Records that the rotator revoked `clientId` (status `revoked` from then on, keeping the
    /// credential it belonged to; a later list without it marks it gone, with no event). Returns
    /// false when the client is unknown or already marked. Records no event: the caller appends
    /// `revoked` with its rotation.
    virtual bool markClientRevoked(const std::string& clientId, std::int64_t nowMs) = 0;

    /// Newest first.
    virtual std::vector<EventRow> history(const HistoryQuery& query) const = 0;
    virtual std::int64_t appendEvent(const EventRow& event) = 0;

    /// Creates missing credential rows (state idle) for the configured names.
    virtual void ensureCredentials(const std::vector<std::string>& names, std::int64_t nowMs) = 0;
    /// Marks every credential row whose name is not in `configured` as retired (since
    /// `nowMs`, once) and clears the mark of configured ones. Returns the names retired now
    /// that still have a current or previous client.
    virtual std::vector<std::string> retireUnconfigured(const std::vector<std::string>& configured,
                                                        std::int64_t nowMs) = 0;
    virtual std::vector<CredentialRow> listCredentials() const = 0;
    virtual std::optional<CredentialRow> findCredential(const std::string& name) const = 0;
    /// Inserts or updates the row (all fields; `updated_ms` from `row.updatedMs`).
    virtual void saveCredential(const CredentialRow& row) = 0;

    /// Records a client the rotator just minted for `credential`, so the next sync does not
    /// report it as discovered. A no-op for a known client.
    virtual void recordClient(const core::ClientInfo& client, const std::string& credential,
                              std::int64_t nowMs) = 0;

    // The rotation journal.

    /// Inserts a `planned` rotation with its marker (`core::formatMarker`).
    virtual RotationRow beginRotation(const std::string& credential, const std::string& trigger,
                                      const std::string& oldClientId, std::int64_t nowMs) = 0;
    /// Updates every mutable field of the row (`updated_ms` from `row.updatedMs`).
    virtual void saveRotation(const RotationRow& row) = 0;
    virtual std::optional<RotationRow> findRotation(std::int64_t id) const = 0;
    /// Rotations whose `finished_ms` is NULL, oldest first.
    virtual std::vector<RotationRow> unfinishedRotations() const = 0;
    /// The newest rotation of a credential.
    virtual std::optional<RotationRow> lastRotation(const std::string& credential) const = 0;
    virtual void saveSinkState(std::int64_t rotationId, const SinkStateRow& row) = 0;
    virtual std::vector<SinkStateRow> sinkStates(std::int64_t rotationId) const = 0;

    // The notification outbox: rows are queued with their event (SqliteStateStore's
    // routeNotifications), sent by notify::Notifier.

    /// Pending notifications whose next attempt is due at `nowMs`, oldest first, at most `limit`.
    virtual std::vector<NotificationRow> dueNotifications(std::int64_t nowMs, int limit) const = 0;
    /// The earliest next attempt of a pending notification.
    virtual std::optional<std::int64_t> nextNotificationMs() const = 0;
    /// Updates the attempt fields of the row (attempts, next attempt, delivered, failed, last
    /// status and error).
    virtual void saveNotification(const NotificationRow& row) = 0;
    virtual NotificationBacklog notificationBacklog() const = 0;
};

/// A backend of the rows that can make them durable: a `StateStore` with transactions. A
/// `Journal` is built on one (SqliteStateStore; a PostgreSQL store would be another); the
/// engine never sees these calls.
class TransactionalStore : public StateStore
{
public:
    /// Runs `work` as one transaction: every store call inside commits together or not at all
    /// (an exception rolls back and propagates).
    virtual void runInTransaction(const std::function<void()>& work) = 0;

    /// Group commit: runs each unit as a savepoint of one transaction and commits once, so the
    /// writes of several threads share one fsync. Returns what each unit threw (null when it
    /// ran and is stored); a unit that threw leaves nothing behind and the others still commit.
    /// When SQLite abandons the transaction (full disk, I/O error) or the commit fails, nothing
    /// of the batch is stored and every unit gets that error.
    virtual std::vector<std::exception_ptr>
    runBatch(const std::vector<std::function<void()>>& units) = 0;
};

} // namespace rotator::store
