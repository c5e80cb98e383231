// The scheduler's loop on a fake clock: it waits through the clock, so `run()` goes through its
// passes in the test's thread without real waiting, and the waits are read off the fake time of
// each inventory list.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <sys/stat.h>

#include "rotator/rotation/RotationEngine.h"
#include "rotator/schedule/Scheduler.h"
#include "rotator/store/GroupCommitJournal.h"
#include "rotator/store/SqliteStateStore.h"
#include "support/FakeClock.h"
#include "support/FakeTokenApi.h"
#include "support/ForwardingTokenApi.h"
#include "support/LogCapture.h"
#include "support/RecordingSink.h"
#include "support/TempDir.h"

namespace rotator::schedule
{
namespace
{

constexpr std::int64_t kDay = 86'400'000;
constexpr std::int64_t kRetryBackoffMs = 1000;
constexpr std::int64_t kSyncIntervalMs = 10'000;

/// How the inventory list answers one pass.
enum class List
{
    Ok,          ///< the fake org's clients
    Unavailable, ///< 503 (after the client's own retries)
    Refused,     ///< 401: the admin token was revoked
    Throws,      ///< the pass throws (as a store error would)
};

/// The fake org, with the inventory list answering as scripted; calls `onList` with the
/// 0-based index of each list before answering it.
class ScriptedList final : public test::ForwardingTokenApi
{
public:
    ScriptedList(api::TokenApi& org, std::vector<List> script,
                 std::function<void(std::size_t)> onList)
        : ForwardingTokenApi(org), _script(std::move(script)), _onList(std::move(onList))
    {
    }

    core::Outcome<std::vector<core::ClientInfo>> listClients() override
    {
        const std::size_t call = _calls++;
        _onList(call);
        switch (call < _script.size() ? _script[call] : List::Ok)
        {
        case List::Ok:
            break;
        case List::Unavailable:
            return tl::unexpected(test::makeTestFailure(
                core::FailureKind::Transient, "GET /v2/clientIdSecrets: HTTP 503", 503, true));
        case List::Refused:
            return tl::unexpected(test::makeTestFailure(core::FailureKind::Auth,
                                                        "GET /v2/clientIdSecrets: HTTP 401", 401));
        case List::Throws:
            throw std::runtime_error("the store broke on purpose");
        }
        return ForwardingTokenApi::listClients();
    }

private:
    std::vector<List> _script;
    std::function<void(std::size_t)> _onList;
    std::size_t _calls = 0;
};

/// What the scheduler showed right before one list.
struct Seen
{
    std::int64_t atMs = 0;
    std::optional<bool> tokenValid;
    std::optional<std::string> refusal;
};

/// One credential whose adopted client is a day old (nothing due for 29 days), over a fake
/// org, a real SQLite file and a recording sink.
class SchedulerTest : public ::testing::Test
{
protected:
    SchedulerTest() : org(clock)
    {
        settings.state.dir = dir.path();
        settings.scheduler.concurrency = 1;
        config::CredentialSettings c;
        c.name = "billing";
        c.roles = {"Database Administrator"};
        c.maxAgeMs = 30 * kDay;
        c.sinks = {"a"};
        c.clientId = org.seedClient({org.roles[1].id}, clock.nowMs() - kDay);
        settings.credentials = {c};
        ::mkdir(dir.file("pending").c_str(), 0700);
    }

    /// Runs the scheduler until the last list of `script` has been answered; what it showed
    /// before each list.
    std::vector<Seen> run(std::vector<List> script, std::uint64_t seed = 1)
    {
        std::vector<Seen> seen;
        Scheduler* running = nullptr;
        const std::size_t last = script.size() - 1;
        ScriptedList api(org, std::move(script),
                         [&](std::size_t call)
                         {
                             seen.push_back({clock.nowMs(), running->adminTokenValid(),
                                             running->adminTokenRefusal()});
                             if (beforeList)
                             {
                                 beforeList(call, *running);
                             }
                             if (call == last)
                             {
                                 running->stop();
                             }
                         });
        store::SqliteStateStore store(dir.file("rotator.db"));
        std::map<std::string, std::unique_ptr<sink::SecretSink>> sinks;
        sinks["a"] = std::make_unique<test::RecordingSink>("a", record);
        rotator::store::GroupCommitJournal journal(store);
        rotation::RotationEngine engine(settings, api, journal, std::move(sinks),
                                        rotation::PendingFiles(dir.file("pending")), clock);
        Scheduler scheduler(engine, clock,
                            {.syncIntervalMs = kSyncIntervalMs,
                             .retryBackoffMs = kRetryBackoffMs,
                             .jitterSeed = seed});
        running = &scheduler;
        scheduler.run();
        after = {clock.nowMs(), scheduler.adminTokenValid(), scheduler.adminTokenRefusal()};
        return seen;
    }

    /// The waits between the lists.
    static std::vector<std::int64_t> waits(const std::vector<Seen>& seen)
    {
        std::vector<std::int64_t> out;
        for (std::size_t i = 1; i < seen.size(); ++i)
        {
            out.push_back(seen[i].atMs - seen[i - 1].atMs);
        }
        return out;
    }

    /// The back-off's wait after the `failures`-th failed pass in a row, before jitter.
    static std::int64_t nominal(int failures)
    {
        return std::min(kSyncIntervalMs, kRetryBackoffMs << (failures - 1));
    }

    test::TempDir dir;
    test::FakeClock clock;
    test::FakeTokenApi org;
    config::Settings settings;
    std::shared_ptr<test::SinkRecord> record = std::make_shared<test::SinkRecord>();
    Seen after; ///< what the scheduler showed once it stopped
    /// Called with each list's index before it is answered (after `seen` recorded it).
    std::function<void(std::size_t, Scheduler&)> beforeList;
};

::testing::AssertionResult withinJitter(std::int64_t wait, std::int64_t nominal)
{
    if (wait <= nominal && wait >= nominal - nominal / 4)
    {
        return ::testing::AssertionSuccess();
    }
    return ::testing::AssertionFailure()
           << wait << " ms is outside [" << nominal - nominal / 4 << ", " << nominal << "]";
}

TEST_F(SchedulerTest, FailedPassesWaitFromRetryBackoffDoublingUpToTheSyncInterval)
{
    test::LogCapture log;
    const auto seen = run(std::vector<List>(9, List::Unavailable));
    const auto w = waits(seen);
    ASSERT_EQ(w.size(), 8u);
    // 1 s, 2 s, 4 s, 8 s, then the 10 s cap, each less up to a quarter of jitter.
    bool jittered = false;
    for (std::size_t i = 0; i < w.size(); ++i)
    {
        const int failures = static_cast<int>(i) + 1;
        EXPECT_TRUE(withinJitter(w[i], nominal(failures))) << "after failed pass " << failures;
        jittered = jittered || w[i] != nominal(failures);
    }
    EXPECT_EQ(nominal(5), kSyncIntervalMs);
    EXPECT_TRUE(jittered) << "no wait was jittered";
    // One error line per failed pass (the engine's), with the scheduler's back-off beside it.
    int errors = 0;
    int backoffs = 0;
    for (const auto& line : log.lines())
    {
        errors += line.find("listing clients failed; nothing changed") != std::string::npos;
        backoffs += line.find("; next pass in ") != std::string::npos;
    }
    EXPECT_EQ(errors, 9) << log.text();
    EXPECT_EQ(backoffs, 9) << log.text();
}

TEST_F(SchedulerTest, TheJitterIsTheSeedsAlone)
{
    const std::vector<List> script(6, List::Unavailable);
    const auto first = waits(run(script, 7));
    EXPECT_EQ(waits(run(script, 7)), first);
    EXPECT_NE(waits(run(script, 8)), first);
}

TEST_F(SchedulerTest, ASuccessfulPassResetsTheBackoff)
{
    const auto w = waits(run({List::Unavailable, List::Unavailable, List::Unavailable, List::Ok,
                              List::Unavailable, List::Unavailable}));
    ASSERT_EQ(w.size(), 5u);
    EXPECT_TRUE(withinJitter(w[0], nominal(1)));
    EXPECT_TRUE(withinJitter(w[1], nominal(2)));
    EXPECT_TRUE(withinJitter(w[2], nominal(3)));
    // Listed: nothing is due for weeks, so the next pass is the sync interval away.
    EXPECT_EQ(w[3], kSyncIntervalMs);
    // And the next failure starts over.
    EXPECT_TRUE(withinJitter(w[4], nominal(1)));
}

TEST_F(SchedulerTest, APassThatThrowsBacksOffLikeAFailedList)
{
    const auto w = waits(run({List::Throws, List::Throws, List::Throws, List::Ok}));
    ASSERT_EQ(w.size(), 3u);
    EXPECT_TRUE(withinJitter(w[0], nominal(1)));
    EXPECT_TRUE(withinJitter(w[1], nominal(2)));
    EXPECT_TRUE(withinJitter(w[2], nominal(3)));
}

TEST_F(SchedulerTest, AnAdminTokenRefusalIsKnownUntilAListAuthenticatesAgain)
{
    const auto seen =
        run({List::Unavailable, List::Refused, List::Unavailable, List::Ok, List::Refused});
    ASSERT_EQ(seen.size(), 5u);
    // Before any answer, and after a 503, nothing is known about the token.
    EXPECT_EQ(seen[0].tokenValid, std::nullopt);
    EXPECT_EQ(seen[1].tokenValid, std::nullopt);
    // Refused: known as such, with the API's answer.
    EXPECT_EQ(seen[2].tokenValid, false);
    ASSERT_TRUE(seen[2].refusal.has_value());
    EXPECT_NE(seen[2].refusal->find("HTTP 401"), std::string::npos) << *seen[2].refusal;
    // A 503 tells nothing new; the refusal stands.
    EXPECT_EQ(seen[3].tokenValid, false);
    EXPECT_TRUE(seen[3].refusal.has_value());
    // A list that authenticated clears it.
    EXPECT_EQ(seen[4].tokenValid, true);
    EXPECT_EQ(seen[4].refusal, std::nullopt);
    EXPECT_EQ(after.tokenValid, false);
    // The refusal is a failed pass like any other: the back-off goes on through it.
    const auto w = waits(seen);
    EXPECT_TRUE(withinJitter(w[1], nominal(2)));
    EXPECT_TRUE(withinJitter(w[2], nominal(3)));
}

TEST_F(SchedulerTest, AManualRequestRunsRightAfterThePassAndWhatItLeftDueWaitsTheMinimumPause)
{
    std::vector<bool> accepted;
    beforeList = [&](std::size_t call, Scheduler& scheduler)
    {
        if (call == 0)
        {
            accepted.push_back(scheduler.requestRotation("billing"));
            accepted.push_back(scheduler.requestRotation("billing"));
        }
    };
    // List 0: the first pass; list 1: the manual rotation's; list 2: the next pass.
    const auto seen = run({List::Ok, List::Ok, List::Ok});
    EXPECT_EQ(accepted, (std::vector<bool>{true, false})) << "a queued name is queued once";
    ASSERT_EQ(seen.size(), 3u);
    EXPECT_EQ(seen[1].atMs, seen[0].atMs) << "the request waited";
    // Without a grace period the old client is due for revocation at once: the next pass comes
    // after the minimum pause (Timing::minPauseMs), never in a busy loop.
    EXPECT_EQ(seen[2].atMs - seen[1].atMs, Scheduler::Timing{}.minPauseMs);
    std::lock_guard<std::mutex> lock(record->mutex);
    EXPECT_EQ(record->deliveries, 1);
    const auto last = store::SqliteStateStore(dir.file("rotator.db")).lastRotation("billing");
    ASSERT_TRUE(last.has_value());
    EXPECT_EQ(last->trigger, "manual");
}

TEST_F(SchedulerTest, AwaitsReturnWhenTheSchedulerStops)
{
    store::SqliteStateStore store(dir.file("rotator.db"));
    std::map<std::string, std::unique_ptr<sink::SecretSink>> sinks;
    rotator::store::GroupCommitJournal journal(store);
    rotation::RotationEngine engine(settings, org, journal, std::move(sinks),
                                    rotation::PendingFiles(dir.file("pending")), clock);
    Scheduler scheduler(engine, clock, {.syncIntervalMs = kSyncIntervalMs});
    // Nothing queued: nothing to wait for.
    EXPECT_TRUE(scheduler.awaitRequests(std::chrono::milliseconds(0)));
    EXPECT_TRUE(scheduler.awaitPasses(0, std::chrono::milliseconds(0)));
    EXPECT_TRUE(scheduler.requestRotation("billing"));
    scheduler.stop();
    // A stopped scheduler runs no pass and no request: the awaits say so without waiting out
    // their (here day-long) timeout.
    EXPECT_FALSE(scheduler.awaitPasses(1, std::chrono::hours(24)));
    EXPECT_FALSE(scheduler.awaitRequests(std::chrono::hours(24)));
    EXPECT_EQ(scheduler.passes(), 0);
}

} // namespace
} // namespace rotator::schedule
