#include "rotator/store/SqliteStateStore.h"

#include <sqlite3.h>

#include <utility>

#include "rotator/core/Errors.h"
#include "rotator/store/Statement.h"
#include "rotator/store/Transaction.h"

// The notification outbox of SqliteStateStore: the TEMP trigger that queues a notification with
// its event, and the rows the notifier reads and updates.

namespace rotator::store
{
namespace
{

constexpr const char* kQueuedFunction = "rotator_notification_queued";

/// Called by the trigger when it queued a notification: raises the flag `announceCommitted`
/// reads after the commit.
void markQueued(sqlite3_context* context, int, sqlite3_value**)
{
    *static_cast<bool*>(sqlite3_user_data(context)) = true;
    sqlite3_result_null(context);
}

constexpr const char* kNotificationColumns =
    "SELECT n.id, n.notifier, n.idempotency_key, n.created_ms, n.attempts, n.next_attempt_ms,"
    " n.delivered_ms, n.failed_ms, n.last_status, n.last_error, e.id, e.at_ms, e.credential,"
    " e.client_id, e.rotation_id, e.event, e.detail"
    " FROM notifications AS n JOIN events AS e ON e.id = n.event_id";

constexpr const char* kPending = "n.delivered_ms IS NULL AND n.failed_ms IS NULL";

NotificationRow notificationOf(const Statement& s)
{
    NotificationRow row;
    row.id = s.getInt64(0);
    row.notifier = s.getText(1);
    row.idempotencyKey = s.getText(2);
    row.createdMs = s.getInt64(3);
    row.attempts = s.getInt(4);
    row.nextAttemptMs = s.getInt64(5);
    row.deliveredMs = s.getOptionalInt64(6);
    row.failedMs = s.getOptionalInt64(7);
    if (const auto status = s.getOptionalInt64(8))
    {
        row.lastStatus = static_cast<int>(*status);
    }
    row.lastError = s.getOptionalText(9);
    row.event.id = s.getInt64(10);
    row.event.atMs = s.getInt64(11);
    row.event.credential = s.getText(12);
    row.event.clientId = s.getText(13);
    row.event.rotationId = s.getOptionalInt64(14);
    row.event.event = s.getText(15);
    row.event.detail = s.getText(16);
    return row;
}

} // namespace

void SqliteStateStore::routeNotifications(const std::vector<NotificationRoute>& routes)
{
    requireWritable();
    if (sqlite3_create_function_v2(_db.handle(), kQueuedFunction, 0, SQLITE_UTF8,
                                   _queuedUncommitted.get(), markQueued, nullptr, nullptr,
                                   nullptr) != SQLITE_OK)
    {
        throw core::StoreError(_db.path() + ": cannot register " + kQueuedFunction + ": " +
                               sqlite3_errmsg(_db.handle()));
    }
    // The routes are a few rows: no temporary file for them (ProtectSystem, a full /tmp).
    _db.exec("PRAGMA temp_store = MEMORY");
    Transaction transaction(_db);
    _db.exec("CREATE TEMP TABLE IF NOT EXISTS notify_routes ("
             " notifier TEXT NOT NULL, event TEXT NOT NULL, PRIMARY KEY (notifier, event))");
    _db.exec("DELETE FROM temp.notify_routes");
    Statement insert = _db.prepare("INSERT OR IGNORE INTO temp.notify_routes (notifier, event)"
                                   " VALUES (?1, ?2)");
    for (const auto& route : routes)
    {
        for (const auto& event : route.events)
        {
            insert.reset();
            insert.bind(1, route.notifier).bind(2, event);
            insert.execute();
        }
    }
    // A TEMP trigger: the routes are this connection's configuration, not the schema's, and
    // it fires for every path that records an event (appendEvent, syncInventory...).
    _db.exec("CREATE TEMP TRIGGER IF NOT EXISTS notify_outbox AFTER INSERT ON main.events "
             "BEGIN"
             " INSERT INTO notifications (notifier, event_id, idempotency_key, created_ms,"
             "  next_attempt_ms)"
             " SELECT r.notifier, NEW.id,"
             "  (SELECT installation_id FROM main.installation) || '-' || NEW.id || '-' ||"
             "  r.notifier, NEW.at_ms, NEW.at_ms"
             " FROM temp.notify_routes AS r WHERE r.event = NEW.event;"
             " SELECT rotator_notification_queued()"
             "  WHERE EXISTS (SELECT 1 FROM temp.notify_routes WHERE event = NEW.event);"
             "END");
    transaction.commit();
}

void SqliteStateStore::announceCommitted()
{
    if (*_queuedUncommitted && _db.autocommit())
    {
        *_queuedUncommitted = false; // a rolled-back one only makes a wake-up for nothing
        if (_queued)
        {
            _queued();
        }
    }
}

std::vector<NotificationRow> SqliteStateStore::dueNotifications(std::int64_t nowMs, int limit) const
{
    Statement query = _db.prepare(std::string(kNotificationColumns) + " WHERE " + kPending +
                                  " AND n.next_attempt_ms <= ?1 ORDER BY n.id LIMIT ?2");
    query.bind(1, nowMs).bind(2, limit);
    std::vector<NotificationRow> rows;
    while (query.step())
    {
        rows.push_back(notificationOf(query));
    }
    return rows;
}

std::optional<std::int64_t> SqliteStateStore::nextNotificationMs() const
{
    Statement query = _db.prepare("SELECT min(next_attempt_ms) FROM notifications AS n WHERE " +
                                  std::string(kPending));
    return query.step() ? query.getOptionalInt64(0) : std::nullopt;
}

void SqliteStateStore::saveNotification(const NotificationRow& row)
{
    requireWritable();
    Statement update = _db.prepare(
        "UPDATE notifications SET attempts = ?2, next_attempt_ms = ?3, delivered_ms = ?4,"
        " failed_ms = ?5, last_status = ?6, last_error = ?7 WHERE id = ?1");
    update.bind(1, row.id)
        .bind(2, row.attempts)
        .bind(3, row.nextAttemptMs)
        .bind(4, row.deliveredMs)
        .bind(5, row.failedMs)
        .bind(6, row.lastStatus)
        .bind(7, row.lastError);
    if (update.execute() != 1)
    {
        throw core::StoreError(_db.path() + ": no notification " + std::to_string(row.id));
    }
}

NotificationBacklog SqliteStateStore::notificationBacklog() const
{
    NotificationBacklog backlog;
    Statement pending = _db.prepare("SELECT count(*), min(created_ms) FROM notifications AS n"
                                    " WHERE " +
                                    std::string(kPending));
    if (pending.step())
    {
        backlog.pending = pending.getInt64(0);
        backlog.oldestPendingMs = pending.getOptionalInt64(1);
    }
    backlog.failed = _db.queryInt("SELECT count(*) FROM notifications WHERE failed_ms IS NOT NULL");
    return backlog;
}

} // namespace rotator::store
