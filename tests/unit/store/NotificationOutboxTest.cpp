// The notification outbox: a notification is queued in the same transaction as its event.

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "rotator/core/Time.h"
#include "rotator/store/Journal.h"
#include "rotator/store/SqliteStateStore.h"
#include "support/TempDir.h"

namespace rotator::store
{
namespace
{

constexpr std::int64_t kT0 = 1'700'000'000'000;

EventRow event(const std::string& kind, const std::string& credential = "billing")
{
    EventRow e;
    e.atMs = kT0;
    e.credential = credential;
    e.event = kind;
    e.detail = "after 3 consecutive failures";
    return e;
}

class NotificationOutbox : public ::testing::Test
{
protected:
    NotificationOutbox() : _store(_dir.file("rotator.db"))
    {
        _store.routeNotifications(
            {{"oncall", {"failed", "quarantined"}}, {"chat", {"quarantined"}}});
        _store.onNotificationQueued([this] { ++_wakes; });
    }

    test::TempDir _dir;
    SqliteStateStore _store;
    int _wakes = 0;
};

} // namespace

TEST_F(NotificationOutbox, AnEventQueuesOneNotificationPerNotifierThatWantsIt)
{
    const std::int64_t id = _store.appendEvent(event("quarantined"));
    _store.appendEvent(event("promoted")); // nobody asked for it
    const auto due = _store.dueNotifications(kT0, 10);
    ASSERT_EQ(due.size(), 2U);
    EXPECT_EQ(due[0].notifier, "oncall");
    EXPECT_EQ(due[1].notifier, "chat");
    for (const auto& n : due)
    {
        EXPECT_EQ(n.event.id, id);
        EXPECT_EQ(n.event.event, "quarantined");
        EXPECT_EQ(n.event.credential, "billing");
        EXPECT_EQ(n.event.detail, "after 3 consecutive failures");
        EXPECT_EQ(n.attempts, 0);
        EXPECT_EQ(n.createdMs, kT0);
        EXPECT_EQ(n.idempotencyKey,
                  _store.installationId() + "-" + std::to_string(id) + "-" + n.notifier);
    }
    const auto backlog = _store.notificationBacklog();
    EXPECT_EQ(backlog.pending, 2);
    EXPECT_EQ(backlog.failed, 0);
    EXPECT_EQ(backlog.oldestPendingMs, kT0);
    EXPECT_EQ(_wakes, 1); // the quarantine only: the promotion queued nothing
}

TEST_F(NotificationOutbox, ARolledBackEventLeavesNoNotificationAndWakesNobody)
{
    EXPECT_THROW(_store.runInTransaction(
                     [&]
                     {
                         _store.appendEvent(event("failed"));
                         EXPECT_EQ(_wakes, 0) << "woken before the commit";
                         throw std::runtime_error("the step failed");
                     }),
                 std::runtime_error);
    EXPECT_TRUE(_store.history({}).empty());
    EXPECT_TRUE(_store.dueNotifications(kT0, 10).empty());
    EXPECT_EQ(_wakes, 0);
}

TEST_F(NotificationOutbox, TheNotifierIsWokenOnlyOnceTheStepCommitted)
{
    // Through the journal, as the engine writes: the step's transaction commits, then the wake.
    const auto journal = makeJournal(_store, 1);
    journal->commit("failed (+ quarantined)",
                    [&]
                    {
                        journal->rows().appendEvent(event("failed"));
                        journal->rows().appendEvent(event("quarantined"));
                        EXPECT_EQ(_wakes, 0);
                    });
    EXPECT_EQ(_wakes, 1);
    EXPECT_EQ(journal->rows().dueNotifications(kT0, 10).size(), 3U);
}

TEST_F(NotificationOutbox, EventsTheInventoryRecordsAreRoutedToo)
{
    _store.routeNotifications({{"audit", {"discovered"}}});
    core::ClientInfo client;
    client.clientId = std::string(24, 'a');
    client.roles = {"role-a"};
    client.generatedOnMs = kT0 - 1000;
    client.generatedOn = core::formatRfc3339Ms(client.generatedOnMs);
    _store.syncInventory({client}, kT0);
    const auto due = _store.dueNotifications(kT0, 10);
    ASSERT_EQ(due.size(), 1U);
    EXPECT_EQ(due[0].notifier, "audit");
    EXPECT_EQ(due[0].event.clientId, client.clientId);
    EXPECT_EQ(_wakes, 1);
    // The new routes replaced the old ones.
    _store.appendEvent(event("quarantined"));
    EXPECT_EQ(_store.dueNotifications(kT0, 10).size(), 1U);
}

TEST_F(NotificationOutbox, AttemptsAreKeptAndDeliveredOrRefusedRowsLeaveTheBacklog)
{
    _store.appendEvent(event("quarantined"));
    auto due = _store.dueNotifications(kT0, 10);
    ASSERT_EQ(due.size(), 2U);
    due[0].attempts = 1;
    due[0].nextAttemptMs = kT0 + 5000;
    due[0].lastStatus = 503;
    due[0].lastError = "notify.oncall answered HTTP 503";
    _store.saveNotification(due[0]);
    due[1].attempts = 1;
    due[1].failedMs = kT0;
    due[1].lastStatus = 404;
    _store.saveNotification(due[1]);

    EXPECT_TRUE(_store.dueNotifications(kT0 + 4999, 10).empty());
    EXPECT_EQ(_store.nextNotificationMs(), kT0 + 5000);
    const auto retry = _store.dueNotifications(kT0 + 5000, 10);
    ASSERT_EQ(retry.size(), 1U);
    EXPECT_EQ(retry[0].attempts, 1);
    EXPECT_EQ(retry[0].lastStatus, 503);
    EXPECT_EQ(retry[0].lastError, "notify.oncall answered HTTP 503");
    EXPECT_EQ(retry[0].idempotencyKey, due[0].idempotencyKey);
    EXPECT_EQ(_store.notificationBacklog().pending, 1);
    EXPECT_EQ(_store.notificationBacklog().failed, 1);

    auto delivered = retry[0];
    delivered.deliveredMs = kT0 + 5001;
    _store.saveNotification(delivered);
    const auto backlog = _store.notificationBacklog();
    EXPECT_EQ(backlog.pending, 0);
    EXPECT_FALSE(backlog.oldestPendingMs.has_value());
    EXPECT_FALSE(_store.nextNotificationMs().has_value());
}

TEST_F(NotificationOutbox, QueuedNotificationsSurviveAReopenWithoutRoutes)
{
    _store.appendEvent(event("failed"));
    const auto before = _store.dueNotifications(kT0, 10);
    // Another connection (a restarted daemon, `status`) reads the same rows and keys.
    const auto reader = SqliteStateStore::openReadOnly(_dir.file("rotator.db"));
    const auto after = reader->dueNotifications(kT0, 10);
    ASSERT_EQ(after.size(), 1U);
    EXPECT_EQ(after[0].idempotencyKey, before[0].idempotencyKey);
    EXPECT_EQ(reader->notificationBacklog().pending, 1);
}

} // namespace rotator::store
