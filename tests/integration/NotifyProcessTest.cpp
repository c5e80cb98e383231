// The outbox with the built `astra-rotator serve` against an in-process simulator and webhook
// receiver: the rotator is killed (SIGKILL) after it committed a quarantine and while the
// receiver holds its notification, started again, and the receiver finds the notification
// delivered once per Idempotency-Key.

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <filesystem>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "rotator/sim/Simulator.h"
#include "rotator/store/Database.h"
#include "rotator/store/Statement.h"
#include "support/ProcessRunner.h"
#include "support/TempDir.h"
#include "support/TestCerts.h"
#include "support/WebhookReceiver.h"

namespace
{

using namespace rotator;
using namespace std::chrono_literals;

const std::string kRotator = std::string(ROTATOR_BIN_DIR) + "/astra-rotator";

struct OutboxRow
{
    std::string key;
    bool delivered = false;
};

/// The notifications table as another process sees it (read-only, WAL).
std::vector<OutboxRow> outboxRows(const std::string& database)
{
    store::Database db(database, store::OpenMode::ReadOnly);
    store::Statement query = db.prepare(
        "SELECT idempotency_key, delivered_ms IS NOT NULL FROM notifications ORDER BY id");
    std::vector<OutboxRow> rows;
    while (query.step())
    {
        rows.push_back({query.getText(0), query.getInt(1) != 0});
    }
    return rows;
}

/// Until every row of the outbox is delivered while `serve` runs (at most 20 s): the child
/// process offers nothing to wait on but its database.
bool awaitAllDelivered(test::ChildProcess& serve, const std::string& database)
{
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (serve.running() && std::chrono::steady_clock::now() < deadline)
    {
        const auto rows = outboxRows(database);
        if (!rows.empty() &&
            std::all_of(rows.begin(), rows.end(), [](const OutboxRow& r) { return r.delivered; }))
        {
            return true;
        }
        std::this_thread::sleep_for(20ms);
    }
    return false;
}

} // namespace

TEST(NotifyProcess, AKillBetweenTheEventAndItsDeliveryDeliversOncePerIdempotencyKey)
{
    test::TempDir dir;
    sim::Simulator sim(test::tlsSimulatorOptions());

    // The first request is held until the test has killed the rotator: the receiver processes
    // it, but the rotator never learns. Every later request is answered at once.
    std::mutex mutex;
    std::condition_variable released;
    bool release = false;
    bool holding = true;
    test::WebhookReceiver receiver(
        [&](const test::WebhookRequest&)
        {
            std::unique_lock<std::mutex> lock(mutex);
            if (holding)
            {
                holding = false;
                released.notify_all();
                released.wait_for(lock, 30s, [&] { return release; });
            }
            return 200;
        });

    // A hook that always refuses: the first rotation fails, and with maxFailures = 1 the
    // credential is quarantined in the same step.
    test::writeFile(dir.file("refuse.sh"), "#!/bin/sh\ncat > /dev/null\nexit 1\n", 0700);
    test::writeFile(dir.file("admin.token"), sim.adminToken().reveal() + "\n", 0600);
    test::writeFile(dir.file("hook.token"), "webhook-bearer-Kq29x\n", 0600);
    test::writeFile(
        dir.file("rotator.properties"),
        "astra.url = https://127.0.0.1:" + std::to_string(sim.port()) + "\nastra.tokenFile = " +
            dir.file("admin.token") + "\nastra.caFile = " + test::sharedTestCerts().caFile +
            "\nstate.dir = " + dir.file("state") +
            "\nscheduler.maxFailures = 1\n"
            "credentials.app.roles = Database Administrator\ncredentials.app.maxAge = 1h\n"
            "credentials.app.gracePeriod = 0s\ncredentials.app.sinks = hook\n"
            "sinks.hook.type = exec\nsinks.hook.command = " +
            dir.file("refuse.sh") + "\nnotify.oncall.type = webhook\nnotify.oncall.url = " +
            receiver.url("/hooks/rotator") +
            "\nnotify.oncall.events = quarantined\nnotify.oncall.caFile = " +
            test::sharedTestCerts().caFile +
            "\nnotify.oncall.tokenFile = " + dir.file("hook.token") + "\n");
    const std::vector<std::string> argv = {kRotator, "--config=" + dir.file("rotator.properties"),
                                           "serve"};
    const std::string database = dir.file("state/rotator.db");

    {
        test::ChildProcess serve(argv, test::minimalEnvironment());
        // The receiver holds the first request: the quarantine is committed, its delivery is not.
        const auto deadline = std::chrono::steady_clock::now() + 30s;
        bool arrived = false;
        {
            std::unique_lock<std::mutex> lock(mutex);
            arrived = released.wait_until(lock, deadline, [&] { return !holding; });
        }
        ASSERT_TRUE(arrived) << serve.stderrText();
        serve.kill();
        const auto rows = outboxRows(database);
        ASSERT_EQ(rows.size(), 1U);
        EXPECT_FALSE(rows[0].delivered); // killed between the commit and the delivery
    }
    {
        std::lock_guard<std::mutex> lock(mutex);
        release = true; // the held request is processed now: its answer goes nowhere
    }
    released.notify_all();
    ASSERT_TRUE(receiver.awaitRequests(1, 30s));

    test::ChildProcess again(argv, test::minimalEnvironment());
    ASSERT_TRUE(awaitAllDelivered(again, database)) << again.stderrText();
    again.signal(SIGTERM);
    const auto exited = again.waitFor(10s);
    ASSERT_TRUE(exited.has_value());
    EXPECT_TRUE(exited->ok()) << exited->describe() << again.stderrText();

    const auto rows = outboxRows(database);
    ASSERT_EQ(rows.size(), 1U); // one quarantine, one notification: the restart added none
    const auto processed = receiver.processed();
    ASSERT_EQ(processed.size(), 1U);
    EXPECT_EQ(processed.begin()->first, rows[0].key);
    EXPECT_EQ(processed.begin()->second, 1);
    EXPECT_EQ(receiver.seen().at(rows[0].key), 2); // sent twice, processed once
    for (const auto& r : receiver.requests())
    {
        EXPECT_EQ(r.idempotencyKey, rows[0].key);
        EXPECT_EQ(r.authorization, "Bearer webhook-bearer-Kq29x");
        EXPECT_NE(r.body.find("\"event\":\"quarantined\""), std::string::npos) << r.body;
        EXPECT_NE(r.body.find("\"fix\":\"astra-rotator rotate app\""), std::string::npos);
        EXPECT_EQ(r.body.find("webhook-bearer-Kq29x"), std::string::npos);
        EXPECT_EQ(r.body.find(sim.adminToken().reveal()), std::string::npos);
    }
}
