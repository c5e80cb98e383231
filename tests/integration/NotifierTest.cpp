// The notifier against a real webhook receiver over TLS on 127.0.0.1:0: at least once, one
// Idempotency-Key per notification, retries, a receiver that is down, refusals, no secrets.

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <limits>
#include <map>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "rotator/core/Clock.h"
#include "rotator/notify/Notifier.h"
#include "rotator/store/Journal.h"
#include "rotator/store/SqliteStateStore.h"
#include "support/LogCapture.h"
#include "support/TempDir.h"
#include "support/TestCerts.h"
#include "support/WebhookReceiver.h"

namespace rotator
{
namespace
{

using namespace std::chrono_literals;

constexpr const char* kBearer = "hook-bearer-Zq81xP0v3";
// A Slack webhook's path is its secret: it must stay out of messages and the database.
constexpr const char* kSecretPath = "/services/T0001/B0002/XyZsecretPart123";

/// A store routed to `oncall`, a journal on it, and a notifier for `url`, as the daemon wires
/// them; the notifier's results are counted for the awaits.
class Outbox
{
public:
    explicit Outbox(const std::string& url,
                    config::NotifyFormat format = config::NotifyFormat::Json)
        : _store(_dir.file("rotator.db")), _journal(store::makeJournal(_store, 1))
    {
        test::writeFile(_dir.file("hook.token"), std::string(kBearer) + "\n", 0600);
        config::NotifierSettings n;
        n.name = "oncall";
        n.url = url;
        n.events = config::kDefaultNotifyEvents;
        n.format = format;
        n.tokenFile = _dir.file("hook.token");
        n.caFile = test::sharedTestCerts().caFile;
        n.timeoutMs = 5000;
        _store.routeNotifications({{n.name, n.events}});
        std::vector<std::string> warnings;
        notify::Notifier::Options options;
        options.backoff = {.baseMs = 40, .capMs = 160, .maxRetryAfterMs = 160};
        _notifier = std::make_unique<notify::Notifier>(std::vector{n}, _journal->rows(), _clock,
                                                       options, warnings);
        _notifier->setObserver(
            [this](const std::string&, const std::string& result)
            {
                {
                    std::lock_guard<std::mutex> lock(_mutex);
                    ++_results[result];
                }
                _changed.notify_all();
            });
        _store.onNotificationQueued([this] { _notifier->wake(); });
    }

    ~Outbox() { stop(); }

    void start()
    {
        _thread = std::thread([this] { _notifier->run(); });
    }
    void stop()
    {
        if (_thread.joinable())
        {
            _notifier->stop();
            _thread.join();
        }
    }

    /// Records `kind` for `billing` through the journal, as the engine does.
    std::int64_t record(const std::string& kind)
    {
        store::EventRow e;
        e.atMs = _clock.nowMs();
        e.credential = "billing";
        e.event = kind;
        e.detail = "the vault sink answered 503";
        std::int64_t id = 0;
        _journal->commit("failed", [&] { id = _journal->rows().appendEvent(e); });
        return id;
    }

    bool awaitResults(const std::string& result, int count)
    {
        std::unique_lock<std::mutex> lock(_mutex);
        return _changed.wait_for(lock, 20s, [&] { return _results[result] >= count; });
    }

    store::StateStore& rows() { return _journal->rows(); }
    notify::Notifier& notifier() { return *_notifier; }
    /// The database and its WAL, as a leak scan reads them.
    std::string databaseText() const
    {
        std::string text = test::readFile(_dir.file("rotator.db"));
        if (std::filesystem::exists(_dir.file("rotator.db-wal")))
        {
            text += test::readFile(_dir.file("rotator.db-wal"));
        }
        return text;
    }

private:
    test::TempDir _dir;
    core::SystemClock _clock;
    store::SqliteStateStore _store;
    std::unique_ptr<store::Journal> _journal;
    std::unique_ptr<notify::Notifier> _notifier;
    std::thread _thread;
    std::mutex _mutex;
    std::condition_variable _changed;
    std::map<std::string, int> _results;
};

std::vector<store::NotificationRow> allRows(store::StateStore& rows)
{
    return rows.dueNotifications(std::numeric_limits<std::int64_t>::max(), 100);
}

} // namespace

TEST(Notifier, DeliversEachNotificationOnceWithItsIdempotencyKeyAndBearer)
{
    test::WebhookReceiver receiver([](const test::WebhookRequest&) { return 200; });
    Outbox outbox(receiver.url("/hooks/rotator?team=ops"));
    const std::int64_t eventId = outbox.record("quarantined");
    outbox.record("promoted"); // not a default event: queues nothing

    EXPECT_FALSE(outbox.notifier().deliverDue().has_value());
    const auto requests = receiver.requests();
    ASSERT_EQ(requests.size(), 1U);
    const auto& r = requests.front();
    EXPECT_EQ(r.method, "POST");
    EXPECT_EQ(r.target, "/hooks/rotator?team=ops");
    EXPECT_EQ(r.authorization, std::string("Bearer ") + kBearer);
    EXPECT_EQ(r.contentType, "application/json");
    EXPECT_NE(r.idempotencyKey.find("-" + std::to_string(eventId) + "-oncall"), std::string::npos);
    EXPECT_NE(r.body.find("\"event\":\"quarantined\""), std::string::npos) << r.body;
    EXPECT_NE(r.body.find("\"fix\":\"astra-rotator rotate billing\""), std::string::npos);
    EXPECT_EQ(r.body.find(kBearer), std::string::npos);

    EXPECT_EQ(outbox.rows().notificationBacklog().pending, 0);
    outbox.notifier().deliverDue();
    EXPECT_EQ(receiver.requests().size(), 1U); // delivered: never sent again
}

TEST(Notifier, A500IsRetriedWithTheSameIdempotencyKey)
{
    int calls = 0;
    std::mutex mutex;
    test::WebhookReceiver receiver(
        [&](const test::WebhookRequest&)
        {
            std::lock_guard<std::mutex> lock(mutex);
            return ++calls == 1 ? 500 : 200;
        });
    Outbox outbox(receiver.url("/hook"));
    outbox.start();
    outbox.record("failed");
    ASSERT_TRUE(receiver.awaitProcessed(1, 20s));
    ASSERT_TRUE(outbox.awaitResults("delivered", 1));
    const auto requests = receiver.requests();
    ASSERT_EQ(requests.size(), 2U);
    EXPECT_EQ(requests[0].status, 500);
    EXPECT_EQ(requests[1].status, 200);
    EXPECT_FALSE(requests[0].idempotencyKey.empty());
    EXPECT_EQ(requests[0].idempotencyKey, requests[1].idempotencyKey);
    EXPECT_EQ(requests[0].body, requests[1].body);
    EXPECT_EQ(outbox.rows().notificationBacklog().pending, 0);
}

TEST(Notifier, WhileTheReceiverIsDownTheBacklogGrowsAndIsDeliveredWhenItIsBack)
{
    std::uint16_t port = 0;
    {
        test::WebhookReceiver probe([](const test::WebhookRequest&) { return 200; });
        port = probe.port(); // closed again: nobody listens there now
    }
    test::LogCapture log;
    Outbox outbox("https://127.0.0.1:" + std::to_string(port) + kSecretPath);
    outbox.start();
    outbox.record("failed");
    outbox.record("quarantined");
    ASSERT_TRUE(outbox.awaitResults("retry", 4)); // both tried, twice each at least
    outbox.record("rolled_back");
    const auto backlog = outbox.rows().notificationBacklog();
    EXPECT_EQ(backlog.pending, 3);
    ASSERT_TRUE(backlog.oldestPendingMs.has_value());
    int tried = 0;
    for (const auto& row : allRows(outbox.rows()))
    {
        if (row.attempts > 0) // the last one may not have been tried yet
        {
            ++tried;
            ASSERT_TRUE(row.lastError.has_value());
            EXPECT_EQ(row.lastError->find("XyZsecretPart123"), std::string::npos) << *row.lastError;
        }
    }
    EXPECT_GE(tried, 2);

    test::WebhookReceiver receiver([](const test::WebhookRequest&) { return 204; }, true, port);
    ASSERT_TRUE(receiver.awaitProcessed(3, 20s));
    ASSERT_TRUE(outbox.awaitResults("delivered", 3));
    EXPECT_EQ(outbox.rows().notificationBacklog().pending, 0);
    for (const auto& [key, count] : receiver.seen())
    {
        EXPECT_EQ(count, 1) << key; // the receiver was down before: no copies
    }
    outbox.stop();
    EXPECT_EQ(log.text().find("XyZsecretPart123"), std::string::npos);
    EXPECT_EQ(log.text().find(kBearer), std::string::npos);
    EXPECT_EQ(outbox.databaseText().find("XyZsecretPart123"), std::string::npos);
}

TEST(Notifier, AFinal4xxIsRecordedAndNotRetried)
{
    test::WebhookReceiver receiver([](const test::WebhookRequest&) { return 404; });
    Outbox outbox(receiver.url("/gone"));
    outbox.record("quarantined");
    EXPECT_FALSE(outbox.notifier().deliverDue().has_value()); // nothing left to retry
    EXPECT_EQ(receiver.requests().size(), 1U);
    const auto backlog = outbox.rows().notificationBacklog();
    EXPECT_EQ(backlog.pending, 0);
    EXPECT_EQ(backlog.failed, 1);
    EXPECT_TRUE(
        outbox.rows().dueNotifications(std::numeric_limits<std::int64_t>::max(), 10).empty());
}

TEST(Notifier, SlackFormatSendsATextObjectWithoutSecrets)
{
    test::WebhookReceiver receiver([](const test::WebhookRequest&) { return 200; });
    Outbox outbox(receiver.url(kSecretPath), config::NotifyFormat::Slack);
    outbox.record("rolled_back");
    outbox.notifier().deliverDue();
    const auto requests = receiver.requests();
    ASSERT_EQ(requests.size(), 1U);
    EXPECT_EQ(requests[0].target, kSecretPath);
    EXPECT_EQ(
        requests[0].body.rfind("{\"text\":\"astra-rotator: rolled_back (credential billing)", 0),
        0U)
        << requests[0].body;
    EXPECT_EQ(requests[0].body.find(kBearer), std::string::npos);
    EXPECT_EQ(requests[0].body.find("XyZsecretPart123"), std::string::npos);
}

} // namespace rotator
