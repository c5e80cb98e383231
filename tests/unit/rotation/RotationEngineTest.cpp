#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <map>
#include <set>

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <sys/stat.h>

#include "RotationEngineFixture.h"
#include "rotator/report/Reports.h"
#include "rotator/rotation/RotationEngine.h"
#include "rotator/store/GroupCommitJournal.h"
#include "rotator/store/SqliteStateStore.h"
#include "support/ForwardingTokenApi.h"

TEST_F(RotationEngineTest, BootstrapsACredentialWithNoClientAndRevokesNothing)
{
    const auto report = engine()->runPass();
    EXPECT_EQ(report.rotated, 1);
    EXPECT_EQ(report.revoked, 0);
    const auto row = credential();
    ASSERT_FALSE(row.currentClientId.empty());
    EXPECT_EQ(row.state, rotator::core::CredentialState::Idle);
    EXPECT_TRUE(row.previousClientId.empty());
    EXPECT_EQ(a->token, api.tokenOf(row.currentClientId));
    EXPECT_EQ(b->token, a->token);
    EXPECT_EQ(store->lastRotation("billing")->stage, rotator::core::Stage::Done);
    EXPECT_EQ(store->lastRotation("billing")->trigger, "bootstrap");
    EXPECT_EQ(pendingFiles(), 0u);
    EXPECT_EQ(api.clientIds().size(), 2u);
    checkInvariants("after bootstrap");
}

TEST_F(RotationEngineTest, RotatesADueClientKeepsItThroughGraceThenRevokesAndConfirms)
{
    adoptOldClient();
    auto report = engine()->runPass();
    EXPECT_EQ(report.rotated, 1);
    auto row = credential();
    EXPECT_NE(row.currentClientId, oldClient);
    EXPECT_EQ(row.previousClientId, oldClient);
    EXPECT_EQ(row.state, rotator::core::CredentialState::Grace);
    EXPECT_EQ(*row.revokeAfterMs, clock.nowMs() + kHour);
    EXPECT_TRUE(api.exists(oldClient)) << "revoked before the grace period";
    EXPECT_EQ(a->clientId, row.currentClientId);

    clock.advanceMs(30 * 60'000);
    report = engine()->runPass();
    EXPECT_EQ(report.revoked, 0);
    EXPECT_TRUE(api.exists(oldClient));

    clock.advanceMs(31 * 60'000);
    report = engine()->runPass();
    EXPECT_EQ(report.revoked, 1);
    EXPECT_EQ(report.confirmed, 1);
    EXPECT_FALSE(api.exists(oldClient));
    row = credential();
    EXPECT_TRUE(row.previousClientId.empty());
    EXPECT_EQ(row.state, rotator::core::CredentialState::Idle);
    EXPECT_EQ(store->lastRotation("billing")->stage, rotator::core::Stage::Done);
    EXPECT_EQ(events(), (std::vector<std::string>{"adopted", "created", "verified",
                                                  "delivered", "delivered", "promoted", "revoked",
                                                  "revoke_confirmed"}));
    EXPECT_EQ(store->findClient(oldClient)->status, "revoked");
    checkInvariants("done");
}

/// Passes every call to the fake org; its client list waits (up to 30 s) for the roles list to
/// be asked for, and records whether it was: a pass that asks for the roles only after the list
/// would find it was not.
class RolesDuringListProbe final : public test::ForwardingTokenApi
{
public:
    explicit RolesDuringListProbe(api::TokenApi& api) : ForwardingTokenApi(api) {}
    core::Outcome<std::vector<core::ClientInfo>> listClients() override
    {
        {
            std::unique_lock<std::mutex> lock(_mutex);
            rolesAskedDuringList = _asked.wait_for(lock, std::chrono::seconds(30),
                                                   [&] { return _rolesAsked; });
        }
        return ForwardingTokenApi::listClients();
    }
    core::Outcome<std::vector<core::Role>> listRoles() override
    {
        {
            std::lock_guard<std::mutex> lock(_mutex);
            _rolesAsked = true;
        }
        _asked.notify_all();
        return ForwardingTokenApi::listRoles();
    }

    bool rolesAskedDuringList = false;

private:
    std::mutex _mutex;
    std::condition_variable _asked;
    bool _rolesAsked = false;
};

TEST_F(RotationEngineTest, APassWithARotationDueAsksForTheRolesWhileItListsTheClients)
{
    adoptOldClient();
    RolesDuringListProbe probe(api);
    std::map<std::string, std::unique_ptr<sink::SecretSink>> sinks;
    sinks["a"] = std::make_unique<test::RecordingSink>("a", a);
    sinks["b"] = std::make_unique<test::RecordingSink>("b", b);
    store::GroupCommitJournal journal(*store);
    rotation::RotationEngine engine(settings, probe, journal, std::move(sinks),
                                    rotation::PendingFiles(dir.file("pending")), clock);
    const auto report = engine.runPass();
    EXPECT_TRUE(probe.rolesAskedDuringList);
    EXPECT_EQ(report.rotated, 1);
    EXPECT_EQ(api.calls(FakeTokenApi::Call::Roles), 1) << "the answer asked ahead was not used";
    checkInvariants("rotated");
}

TEST_F(RotationEngineTest, APassWithNothingDueAsksForNoRoles)
{
    adoptOldClient(10 * kDay);
    engine()->runPass(); // adopts: before it the store knew nothing, so the roles were asked
    const int before = api.calls(FakeTokenApi::Call::Roles);
    const auto report = engine()->runPass();
    EXPECT_EQ(report.rotated, 0);
    EXPECT_EQ(api.calls(FakeTokenApi::Call::Roles), before);
    EXPECT_EQ(api.calls(FakeTokenApi::Call::List), 2);
}

TEST_F(RotationEngineTest, ARolesListAskedAheadThatFailedFailsTheRotationWithoutAskingAgain)
{
    adoptOldClient();
    api.failNext(FakeTokenApi::Call::Roles,
                 failure(core::FailureKind::Transient, "GET /v2/organizations/roles: 503", 503));
    const auto report = engine()->runPass();
    EXPECT_EQ(report.rotated, 0);
    EXPECT_EQ(report.failed, 1);
    ASSERT_EQ(report.errors.size(), 1U);
    EXPECT_NE(report.errors[0].find("cannot list the org's roles"), std::string::npos)
        << report.errors[0];
    EXPECT_EQ(api.calls(FakeTokenApi::Call::Roles), 1);
    EXPECT_EQ(api.calls(FakeTokenApi::Call::Create), 0);
    EXPECT_TRUE(api.exists(oldClient));
}

TEST_F(RotationEngineTest, DoesNothingBeforeMaxAge)
{
    adoptOldClient(10 * kDay);
    const auto report = engine()->runPass();
    EXPECT_EQ(report.rotated, 0);
    EXPECT_EQ(api.calls(FakeTokenApi::Call::Create), 0);
    EXPECT_EQ(credential().currentClientId, oldClient);
}

TEST_F(RotationEngineTest, ALostCreateAnswerLeavesNoOrphanWithDescriptions)
{
    adoptOldClient();
    api.commitThenFailNextCreate(
        failure(core::FailureKind::Transient, "connection dropped", 0, true));
    const auto report = engine()->runPass();
    EXPECT_EQ(report.orphansRevoked, 1);
    EXPECT_EQ(report.rotated, 0);
    EXPECT_EQ(api.clientIds().size(), 2u) << "the orphan survived";
    EXPECT_TRUE(api.exists(oldClient));
    EXPECT_TRUE(a->clientId.empty());
    checkInvariants("after the lost create");
    const auto ev = events();
    EXPECT_NE(std::find(ev.begin(), ev.end(), "orphan_revoked"), ev.end());
    clock.advanceMs(2 * 60'000);
    converge();
    EXPECT_NE(credential().currentClientId, oldClient);
    EXPECT_FALSE(api.exists(oldClient));
}

TEST_F(RotationEngineTest, ALostCreateAnswerLeavesNoOrphanWithoutDescriptions)
{
    adoptOldClient();
    api.setReturnsDescriptions(false);
    api.commitThenFailNextCreate(failure(core::FailureKind::Transient, "timeout", 0, true));
    const auto report = engine()->runPass();
    EXPECT_EQ(report.orphansRevoked, 1);
    EXPECT_EQ(api.clientIds().size(), 2u);
    checkInvariants("after the lost create");
}

TEST_F(RotationEngineTest, NeverRevokesAClientItCannotAttribute)
{
    adoptOldClient();
    api.setReturnsDescriptions(false);
    api.commitThenFailNextCreate(failure(core::FailureKind::Transient, "timeout", 0, true));
    // Someone else creates a client with the same roles inside the mint window.
    const auto stranger = api.seedClient({api.roles[1].id}, clock.nowMs());
    const auto report = engine()->runPass();
    EXPECT_EQ(report.orphansRevoked, 0);
    EXPECT_EQ(report.unattributed, 2);
    EXPECT_TRUE(api.exists(stranger));
    EXPECT_EQ(api.clientIds().size(), 4u);
    EXPECT_EQ(store->lastRotation("billing")->stage, rotator::core::Stage::Failed);
}

TEST_F(RotationEngineTest, AnUnwritableFirstSinkRollsBack)
{
    adoptOldClient();
    a->failures.push_back(failure(core::FailureKind::Permanent, "permission denied"));
    const auto report = engine()->runPass();
    EXPECT_EQ(report.rotated, 0);
    EXPECT_EQ(store->lastRotation("billing")->stage, rotator::core::Stage::RolledBack);
    EXPECT_TRUE(api.exists(oldClient));
    EXPECT_EQ(api.clientIds().size(), 2u) << "the new client was not revoked";
    EXPECT_TRUE(a->clientId.empty());
    EXPECT_TRUE(b->clientId.empty()) << "the second sink was written after the first failed";
    EXPECT_EQ(credential().currentClientId, oldClient);
    EXPECT_EQ(credential().consecutiveFailures, 1);
    EXPECT_EQ(pendingFiles(), 0u);
    checkInvariants("after rollback");
}

TEST_F(RotationEngineTest, ASinkFailingAfterAnotherWasWrittenRollsForwardAndNeverRevokes)
{
    adoptOldClient();
    b->failures.push_back(failure(core::FailureKind::Transient, "disk full"));
    b->failures.push_back(failure(core::FailureKind::Transient, "disk full"));
    auto report = engine()->runPass();
    EXPECT_EQ(report.rotated, 0);
    const auto rotation = store->lastRotation("billing").value();
    EXPECT_EQ(rotation.stage, rotator::core::Stage::Delivering);
    EXPECT_TRUE(api.exists(rotation.newClientId));
    EXPECT_TRUE(api.exists(oldClient));
    EXPECT_EQ(a->clientId, rotation.newClientId);
    EXPECT_EQ(credential().currentClientId, oldClient);
    EXPECT_EQ(pendingFiles(), 1u);
    checkInvariants("rolling forward");

    // Before the backoff ends nothing is retried.
    clock.advanceMs(30'000);
    engine()->runPass();
    EXPECT_TRUE(b->clientId.empty());
    // The retry fails once more (backoff doubles), then succeeds.
    clock.advanceMs(31'000);
    engine()->runPass();
    EXPECT_TRUE(b->clientId.empty());
    EXPECT_EQ(credential().consecutiveFailures, 2);
    clock.advanceMs(121'000);
    report = engine()->runPass();
    EXPECT_EQ(report.rotated, 1);
    EXPECT_EQ(b->clientId, rotation.newClientId);
    EXPECT_EQ(credential().currentClientId, rotation.newClientId);
    EXPECT_EQ(credential().consecutiveFailures, 0);
    EXPECT_EQ(pendingFiles(), 0u);
    checkInvariants("delivered everywhere");
}

// An exec hook that timed out or died by a signal after it could read its stdin may have
// installed the new client (Failure::ambiguous): its sink "may hold" it, so the rotation only
// rolls forward, even when the hook is the only sink and a retry then exits non-zero.
TEST_F(RotationEngineTest, AHookThatMayHaveInstalledTheClientOnlyRollsForwardUntilItSucceeds)
{
    adoptOldClient();
    settings.credentials[0].sinks = {"a"};
    a->failures.push_back(failure(core::FailureKind::Transient,
                                  "exec sink a: timed out after 200ms (process group killed); "
                                  "the hook may have installed the credential",
                                  0, true));
    a->failures.push_back(failure(core::FailureKind::Transient, "exec sink a: exited with 1"));
    auto report = engine()->runPass();
    EXPECT_EQ(report.rotated, 0);
    const auto rotation = store->lastRotation("billing").value();
    const auto sinkRow = [&] { return store->sinkStates(rotation.id).at(0); };
    const auto rollingForward = [&](const std::string& when, int attempts)
    {
        SCOPED_TRACE(when);
        EXPECT_EQ(store->findRotation(rotation.id)->stage, rotator::core::Stage::Delivering);
        EXPECT_TRUE(api.exists(rotation.newClientId)) << "revoked a client the hook may hold";
        EXPECT_TRUE(api.exists(oldClient));
        EXPECT_EQ(api.calls(FakeTokenApi::Call::Delete), 0);
        EXPECT_EQ(credential().currentClientId, oldClient);
        EXPECT_EQ(sinkRow().state, rotator::core::SinkDelivery::Pending)
            << "not journaled as \"may hold\"";
        EXPECT_EQ(sinkRow().attempts, attempts);
        EXPECT_EQ(pendingFiles(), 1u);
        checkInvariants(when);
    };
    rollingForward("after the timeout", 1);

    // The retry exits non-zero ("not installed"), but the timed-out attempt may have
    // installed it: still "may hold".
    clock.advanceMs(61'000);
    engine()->runPass();
    EXPECT_TRUE(a->failures.empty()) << "the hook was not retried";
    rollingForward("after a clean failure of the retry", 2);

    clock.advanceMs(121'000);
    report = engine()->runPass();
    EXPECT_EQ(report.rotated, 1) << ::testing::PrintToString(report.errors);
    EXPECT_EQ(a->clientId, rotation.newClientId);
    EXPECT_EQ(credential().currentClientId, rotation.newClientId);
    EXPECT_EQ(credential().previousClientId, oldClient);
    EXPECT_EQ(sinkRow().state, rotator::core::SinkDelivery::Delivered);
    EXPECT_EQ(pendingFiles(), 0u);
}

// Metrics see every attempt with what it means for the rotation: may_hold (ambiguous), failed,
// delivered.
TEST_F(RotationEngineTest, TellsTheSinkObserverTheResultOfEveryAttempt)
{
    adoptOldClient();
    settings.credentials[0].sinks = {"a"};
    a->failures.push_back(failure(core::FailureKind::Transient, "exec sink a: timed out", 0, true));
    a->failures.push_back(failure(core::FailureKind::Transient, "exec sink a: exited with 1"));
    std::mutex mutex;
    std::vector<std::string> seen;
    const auto pass = [&]
    {
        auto e = engine();
        e->setSinkObserver(
            [&](const std::string& sink, const std::string& result, std::int64_t ms)
            {
                std::lock_guard lock(mutex);
                EXPECT_GE(ms, 0);
                seen.push_back(sink + ":" + result);
            });
        return e->runPass();
    };
    pass();
    clock.advanceMs(61'000);
    pass();
    clock.advanceMs(121'000);
    EXPECT_EQ(pass().rotated, 1);
    EXPECT_EQ(seen, (std::vector<std::string>{"a:may_hold", "a:failed", "a:delivered"}));
}

TEST_F(RotationEngineTest, AHookThatKeepsDyingAfterReadingIsQuarantinedWithBothClientsAlive)
{
    adoptOldClient();
    settings.credentials[0].sinks = {"a"};
    a->failAlways = true;
    a->always = failure(core::FailureKind::Transient,
                        "exec sink a: /usr/local/bin/push was killed by signal 9 (SIGKILL); "
                        "the hook may have installed the credential",
                        0, true);
    for (int i = 0; i < 4; ++i)
    {
        engine()->runPass();
        clock.advanceMs(kDay);
    }
    const auto rotation = store->lastRotation("billing").value();
    EXPECT_EQ(rotation.stage, rotator::core::Stage::Quarantined);
    EXPECT_EQ(credential().state, rotator::core::CredentialState::Quarantined);
    EXPECT_TRUE(api.exists(oldClient));
    EXPECT_TRUE(api.exists(rotation.newClientId));
    EXPECT_EQ(api.calls(FakeTokenApi::Call::Delete), 0);
    EXPECT_EQ(api.calls(FakeTokenApi::Call::Create), 1) << "a new rotation was started";
    checkInvariants("quarantined");
}

TEST_F(RotationEngineTest, ATokenThatNeverAuthenticatesRollsBackAfterThePropagationTimeout)
{
    adoptOldClient();
    api.failNext(FakeTokenApi::Call::CurrentOrgWith,
                 failure(core::FailureKind::Auth, "GET /v2/currentOrg: HTTP 401", 401), 100);
    const auto start = clock.nowMs();
    engine()->runPass();
    EXPECT_GE(clock.nowMs() - start, 5'000) << "gave up without waiting for propagation";
    EXPECT_LE(clock.nowMs() - start, 10'000);
    EXPECT_EQ(store->lastRotation("billing")->stage, rotator::core::Stage::RolledBack);
    EXPECT_EQ(api.clientIds().size(), 2u);
    EXPECT_TRUE(a->clientId.empty());
}

TEST_F(RotationEngineTest, ATokenThatAuthenticatesLateIsDelivered)
{
    adoptOldClient();
    api.failNext(FakeTokenApi::Call::CurrentOrgWith,
                 failure(core::FailureKind::Auth, "GET /v2/currentOrg: HTTP 401", 401), 3);
    const auto report = engine()->runPass();
    EXPECT_EQ(report.rotated, 1);
}

TEST_F(RotationEngineTest, QuarantinesAfterMaxFailuresAndRotateLiftsIt)
{
    adoptOldClient();
    for (int i = 0; i < 3; ++i)
    {
        api.failNext(FakeTokenApi::Call::Create,
                     failure(core::FailureKind::Permanent, "POST: HTTP 400", 400));
        engine()->runPass();
        clock.advanceMs(kDay);
    }
    EXPECT_EQ(credential().state, rotator::core::CredentialState::Quarantined);
    const auto creates = api.calls(FakeTokenApi::Call::Create);
    engine()->runPass();
    EXPECT_EQ(api.calls(FakeTokenApi::Call::Create), creates) << "automation did not stop";
    EXPECT_TRUE(api.exists(oldClient));
    auto ev = events();
    EXPECT_NE(std::find(ev.begin(), ev.end(), "quarantined"), ev.end());

    const auto outcome = engine()->rotateNow("billing", false);
    EXPECT_TRUE(outcome.ok) << outcome.message;
    EXPECT_EQ(credential().state, rotator::core::CredentialState::Grace);
    EXPECT_EQ(credential().consecutiveFailures, 0);
}

TEST_F(RotationEngineTest, QuarantinedRollForwardIsResumedByRotate)
{
    adoptOldClient();
    b->failAlways = true;
    b->always = failure(core::FailureKind::Transient, "exit status 1");
    for (int i = 0; i < 4; ++i)
    {
        engine()->runPass();
        clock.advanceMs(kDay);
    }
    const auto rotation = store->lastRotation("billing").value();
    EXPECT_EQ(rotation.stage, rotator::core::Stage::Quarantined);
    EXPECT_TRUE(api.exists(oldClient));
    EXPECT_TRUE(api.exists(rotation.newClientId));
    checkInvariants("quarantined");

    b->failAlways = false;
    const auto outcome = engine()->rotateNow("billing", false);
    EXPECT_TRUE(outcome.ok) << outcome.message;
    EXPECT_EQ(outcome.rotationId, rotation.id);
    EXPECT_EQ(b->clientId, rotation.newClientId);
    EXPECT_EQ(credential().currentClientId, rotation.newClientId);
}

TEST_F(RotationEngineTest, AFailingDeleteIsRetriedOnTheNextPass)
{
    adoptOldClient();
    engine()->runPass();
    clock.advanceMs(2 * kHour);
    api.failNext(FakeTokenApi::Call::Delete,
                 failure(core::FailureKind::Transient, "DELETE: HTTP 503", 503));
    auto report = engine()->runPass();
    EXPECT_EQ(report.revoked, 0);
    EXPECT_TRUE(api.exists(oldClient));
    report = engine()->runPass();
    EXPECT_EQ(report.revoked, 1);
    EXPECT_FALSE(api.exists(oldClient));
}

// The DELETEs of a pass overlap; one commit afterwards journals all their outcomes (a DELETE
// is idempotent, so a crash before it only makes the next pass ask again).
TEST_F(RotationEngineTest, OneCommitJournalsEveryRevocationOfAPassAndAFailedOneStaysDue)
{
    adoptOldClient();
    std::map<std::string, std::string> oldClients = {{"billing", oldClient}};
    for (const std::string name : {"audit", "crm"})
    {
        auto c = settings.credentials[0];
        c.name = name;
        c.sinks = {name};
        c.clientId = api.seedClient({api.roles[1].id}, clock.nowMs() - 31 * kDay);
        oldClients[name] = c.clientId;
        extraSinks[name] = std::make_shared<test::SinkRecord>();
        settings.credentials.push_back(c);
    }
    settings.scheduler.concurrency = 3;
    engine()->runPass(); // three rotations; every old client in grace
    clock.advanceMs(2 * kHour);

    // From here on, count the commits (savepoint releases are not commits).
    int commits = 0;
    store.reset();
    store::Database db(dir.file("rotator.db"));
    sqlite3_commit_hook(
        db.handle(), [](void* n) { return ++*static_cast<int*>(n), 0; }, &commits);
    store = std::make_unique<store::SqliteStateStore>(std::move(db));
    api.failNext(FakeTokenApi::Call::Delete,
                 failure(core::FailureKind::Transient, "DELETE: HTTP 503", 503));
    auto report = engine()->runPass();
    const int commitsForThree = commits;
    EXPECT_EQ(report.revoked, 2);
    EXPECT_EQ(report.confirmed, 2);
    ASSERT_EQ(report.errors.size(), 1U);
    EXPECT_NE(report.errors[0].find("revoking the previous client failed"), std::string::npos);
    std::string stillAlive;
    for (const auto& [name, id] : oldClients)
    {
        if (api.exists(id))
        {
            EXPECT_TRUE(stillAlive.empty()) << "two DELETEs failed";
            stillAlive = name;
        }
        else
        {
            EXPECT_EQ(store->findClient(id)->status, "revoked") << name;
        }
    }
    ASSERT_FALSE(stillAlive.empty());
    const auto waiting = store->findCredential(stillAlive).value();
    EXPECT_EQ(waiting.state, rotator::core::CredentialState::Grace);
    EXPECT_EQ(waiting.previousClientId, oldClients[stillAlive]);

    commits = 0;
    report = engine()->runPass(); // the failed one is asked again
    EXPECT_EQ(report.revoked, 1);
    EXPECT_EQ(report.confirmed, 1);
    EXPECT_FALSE(api.exists(oldClients[stillAlive]));
    EXPECT_TRUE(store->unfinishedRotations().empty());
    // Three outcomes cost the commits one does: a commit for the revocations, one for the
    // confirmations, however many there are.
    EXPECT_EQ(commitsForThree, commits);
}

TEST_F(RotationEngineTest, RotateNoGraceRevokesAtOnce)
{
    adoptOldClient(2 * kDay);
    const auto outcome = engine()->rotateNow("billing", true);
    EXPECT_TRUE(outcome.ok) << outcome.message;
    EXPECT_FALSE(api.exists(oldClient));
    EXPECT_EQ(outcome.stage, "done");
    EXPECT_EQ(credential().state, rotator::core::CredentialState::Idle);
    checkInvariants("after rotate --no-grace");
}

TEST_F(RotationEngineTest, RotateRefusesWhileThePreviousClientIsInGrace)
{
    adoptOldClient();
    engine()->runPass();
    const auto outcome = engine()->rotateNow("billing", false);
    EXPECT_FALSE(outcome.ok);
    EXPECT_NE(outcome.message.find("grace"), std::string::npos);
    EXPECT_TRUE(api.exists(oldClient));
}

TEST_F(RotationEngineTest, PlanExplainsAndChangesNothing)
{
    adoptOldClient();
    engine()->runPass(); // rotates; old client in grace
    clock.advanceMs(2 * kHour);
    const auto before = store->history({});
    const auto creates = api.calls(FakeTokenApi::Call::Create);
    const auto deletes = api.calls(FakeTokenApi::Call::Delete);
    const auto items = engine()->plan();
    ASSERT_EQ(items.size(), 1u);
    ASSERT_FALSE(items[0].actions.empty());
    EXPECT_NE(items[0].actions[0].find("would revoke the previous client " + oldClient),
              std::string::npos);
    EXPECT_EQ(api.calls(FakeTokenApi::Call::Create), creates);
    EXPECT_EQ(api.calls(FakeTokenApi::Call::Delete), deletes);
    EXPECT_EQ(store->history({}).size(), before.size());
    EXPECT_TRUE(api.exists(oldClient));
}

TEST_F(RotationEngineTest, NextWakeIsTheEarliestDueThing)
{
    adoptOldClient(10 * kDay);
    engine()->runPass();
    const auto client = store->findClient(oldClient).value();
    EXPECT_EQ(engine()->nextWakeMs(), client.generatedOnMs + 30 * kDay);
}

// An orphan the pass's reconcile revokes is still in the list that pass took: it is revoked
// once, not asked again by the check for revoked clients that stay listed.
TEST_F(RotationEngineTest, AnOrphanRevokedByThePassIsNotRevokedAgainFromTheSameList)
{
    adoptOldClient();
    bool crashed = false;
    {
        auto e = engine();
        e->setCrashHook([&](std::string_view at) {
            if (!crashed && at == "after-create")
            {
                crashed = true;
                throw Crash{std::string(at)};
            }
        });
        EXPECT_THROW(e->runPass(), Crash);
    }
    ASSERT_TRUE(crashed);
    reopenStore();
    const int deletesBefore = api.calls(FakeTokenApi::Call::Delete);
    const auto report = engine()->runPass();
    EXPECT_EQ(report.orphansRevoked, 1);
    const auto ev = events();
    EXPECT_EQ(std::count(ev.begin(), ev.end(), "orphan_revoked"), 1) << ::testing::PrintToString(ev);
    // The orphan's DELETE and, the rotation being retried at once, none other before grace.
    EXPECT_EQ(api.calls(FakeTokenApi::Call::Delete) - deletesBefore, 1);
}

// The step before the first sink is written holds the verification, the stage "delivering",
// every sink's row and the first sink's attempt: a crash right after it finds them all.
TEST_F(RotationEngineTest, TheDeliveryStartStepJournalsEverySinkAndTheFirstAttempt)
{
    adoptOldClient();
    {
        auto e = engine();
        e->setCrashHook(
            [&](std::string_view at)
            {
                if (at == "delivering")
                {
                    throw Crash{std::string(at)};
                }
            });
        EXPECT_THROW(e->runPass(), Crash);
    }
    reopenStore();
    const auto rotation = store->lastRotation("billing").value();
    EXPECT_EQ(rotation.stage, rotator::core::Stage::Delivering);
    EXPECT_FALSE(rotation.error);
    EXPECT_EQ(events(), (std::vector<std::string>{"adopted", "created", "verified"}));
    const auto sinks = store->sinkStates(rotation.id);
    ASSERT_EQ(sinks.size(), 2U);
    EXPECT_EQ(sinks[0].sink, "a");
    EXPECT_EQ(sinks[0].state, rotator::core::SinkDelivery::Pending);
    EXPECT_EQ(sinks[0].attempts, 1) << "the first sink's attempt is journaled with the start";
    EXPECT_EQ(sinks[1].sink, "b");
    EXPECT_EQ(sinks[1].state, rotator::core::SinkDelivery::Pending);
    EXPECT_EQ(sinks[1].attempts, 0);
    EXPECT_TRUE(a->clientId.empty());
}

/// Crash (throw) at every stage boundary, rebuild the engine from the same database and
/// pending directory, and check every invariant after each later pass.
class CrashEverywhere : public RotationEngineTest,
                        public ::testing::WithParamInterface<std::tuple<std::string, bool>>
{
};

TEST_P(CrashEverywhere, ResumesAndKeepsEveryInvariant)
{
    const auto& [point, descriptions] = GetParam();
    api.setReturnsDescriptions(descriptions);
    adoptOldClient();
    if (point == "before-revoke" || point == "after-revoke")
    {
        engine()->runPass();
        clock.advanceMs(2 * kHour);
    }
    bool crashed = false;
    {
        auto e = engine();
        e->setCrashHook([&](std::string_view at) {
            if (!crashed && at == point)
            {
                crashed = true;
                throw Crash{std::string(at)};
            }
        });
        EXPECT_THROW(e->runPass(), Crash);
    }
    ASSERT_TRUE(crashed) << "never reached " << point;
    reopenStore(); // a new process: new connection, same files
    checkInvariants("right after the crash", true);
    converge();
    const auto row = credential();
    EXPECT_NE(row.currentClientId, oldClient);
    EXPECT_TRUE(row.previousClientId.empty());
    EXPECT_FALSE(api.exists(oldClient));
    EXPECT_TRUE(api.exists(row.currentClientId));
    EXPECT_EQ(a->clientId, row.currentClientId);
    EXPECT_EQ(b->clientId, row.currentClientId);
    EXPECT_EQ(api.clientIds().size(), 2u) << "an orphan survived";
    EXPECT_EQ(pendingFiles(), 0u);
    EXPECT_TRUE(store->unfinishedRotations().empty());
}

INSTANTIATE_TEST_SUITE_P(
    EveryStageBoundary, CrashEverywhere,
    ::testing::Combine(::testing::Values("planned", "before-create", "after-create",
                                         "after-pending", "minted", "delivering",
                                         "before-sink:a", "after-sink:a", "before-sink:b",
                                         "after-sink:b", "promoted", "before-revoke",
                                         "after-revoke"),
                       ::testing::Bool()),
    [](const auto& param) {
        std::string name =
            std::get<0>(param.param) + (std::get<1>(param.param) ? "_desc" : "_nodesc");
        for (auto& ch : name)
        {
            if (!std::isalnum(static_cast<unsigned char>(ch)))
            {
                ch = '_';
            }
        }
        return name;
    });

TEST_F(RotationEngineTest, StatusShowsTheLastRotationAndItsError)
{
    adoptOldClient();
    a->failures.push_back(failure(core::FailureKind::Permanent, "permission denied"));
    engine()->runPass();
    const auto views = report::credentialViews(settings, *store, clock.nowMs());
    ASSERT_EQ(views.size(), 1u);
    ASSERT_TRUE(views[0].lastRotation);
    EXPECT_EQ(views[0].lastRotation->state, "rolled_back");
    ASSERT_TRUE(views[0].lastRotation->error);
    EXPECT_NE(views[0].lastRotation->error->find("permission denied"), std::string::npos);
    EXPECT_NE(report::credentialsJson(views).find(R"("state":"rolled_back")"), std::string::npos);
}

TEST_F(RotationEngineTest, ALostPendingFileAfterASinkGotTheClientQuarantinesAndRevokesNothing)
{
    adoptOldClient();
    b->failures.push_back(failure(core::FailureKind::Transient, "disk full"));
    engine()->runPass(); // a holds the new client, b failed: rolling forward
    const auto rotation = store->lastRotation("billing").value();
    ASSERT_EQ(rotation.stage, rotator::core::Stage::Delivering);
    std::filesystem::remove_all(dir.file("pending"));
    ::mkdir(dir.file("pending").c_str(), 0700);
    clock.advanceMs(kDay);
    engine()->runPass();
    EXPECT_EQ(store->findRotation(rotation.id)->stage, rotator::core::Stage::Quarantined);
    EXPECT_EQ(credential().state, rotator::core::CredentialState::Quarantined);
    EXPECT_TRUE(api.exists(oldClient));
    EXPECT_TRUE(api.exists(rotation.newClientId));
    checkInvariants("pending file lost");
    const auto ev = events();
    EXPECT_EQ(std::count(ev.begin(), ev.end(), "quarantined"), 1);
}
