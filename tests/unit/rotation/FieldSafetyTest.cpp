// The engine in the deployments users really run (issue "field safety"): other installations on
// the same org, hostile or wrong create answers, interrupted commands, clients that vanish,
// credentials that leave the configuration.

#include <algorithm>

#include <sqlite3.h>

#include "RotationEngineFixture.h"
#include "rotator/core/Marker.h"
#include "rotator/core/Token.h"
#include "rotator/report/Reports.h"
#include "rotator/rotation/InventorySync.h"

namespace
{

using FieldSafety = RotationEngineTest;

core::Failure lostAnswer()
{
    return failure(core::FailureKind::Transient, "POST /v2/clientIdSecrets: timed out", 0, true);
}

int count(const std::vector<std::string>& events, const std::string& name)
{
    return static_cast<int>(std::count(events.begin(), events.end(), name));
}

std::vector<store::EventRow> eventsOf(const store::StateStore& store, const std::string& clientId)
{
    store::HistoryQuery q;
    q.clientId = clientId;
    q.limit = 1000;
    return store.history(q);
}

int count(const std::vector<store::EventRow>& events, const std::string& name)
{
    return static_cast<int>(std::count_if(
        events.begin(), events.end(), [&](const store::EventRow& e) { return e.event == name; }));
}

constexpr const char* kOtherInstallation = "0123456789abcdef";

/// Makes `engine` throw Crash at `point`, as if the process were killed there.
void crashAt(rotation::RotationEngine& engine, const std::string& point)
{
    engine.setCrashHook([point](std::string_view at) {
        if (at == point)
        {
            throw Crash{std::string(at)};
        }
    });
}

} // namespace

TEST_F(FieldSafety, EveryDatabaseHasItsOwnInstallationIdAndItsMarkersCarryIt)
{
    test::TempDir other;
    store::SqliteStateStore second(other.file("rotator.db"));
    EXPECT_TRUE(core::isInstallationId(store->installationId()));
    EXPECT_NE(store->installationId(), second.installationId());

    store->ensureCredentials({"billing"}, clock.nowMs());
    second.ensureCredentials({"billing"}, clock.nowMs());
    const auto mine = store->beginRotation("billing", "schedule", "", clock.nowMs());
    const auto theirs = second.beginRotation("billing", "schedule", "", clock.nowMs());
    EXPECT_EQ(mine.id, theirs.id) << "both databases count rotations from 1";
    EXPECT_NE(mine.marker, theirs.marker);
    EXPECT_EQ(mine.marker, "astra-rotator " + store->installationId() + " billing 1");

    const auto installation = store->installationId();
    reopenStore();
    EXPECT_EQ(store->installationId(), installation) << "kept across reopening";
}

TEST_F(FieldSafety, AClientOfAnotherInstallationIsReportedOnceAsForeignAndNeverRevoked)
{
    // Another installation's lost create of its rotation 1 of "billing", generated right now:
    // the same credential name and rotation id as this installation's first rotation.
    api.failNext(FakeTokenApi::Call::Create, lostAnswer());
    const auto foreign = api.seedClient({api.roles[1].id}, clock.nowMs(),
                                        core::formatMarker(kOtherInstallation, "billing", 1));
    othersClients.insert(foreign);
    auto report = engine()->runPass();
    EXPECT_EQ(report.foreign, 1);
    EXPECT_TRUE(api.exists(foreign));
    clock.advanceMs(2 * kHour);
    for (int i = 0; i < 4; ++i)
    {
        report = engine()->runPass();
        EXPECT_EQ(report.foreign, 0) << "reported again in pass " << i;
        clock.advanceMs(2 * kHour);
    }
    EXPECT_TRUE(api.exists(foreign));
    const auto events = eventsOf(*store, foreign);
    EXPECT_EQ(count(events, "foreign"), 1);
    EXPECT_EQ(count(events, "orphan_revoked"), 0);
    const auto row = store->findClient(foreign);
    ASSERT_TRUE(row);
    EXPECT_EQ(row->status, "foreign");
    EXPECT_TRUE(row->credential.empty());
    EXPECT_FALSE(credential().currentClientId.empty()) << "this installation still bootstraps";
    checkInvariants("converged");
}

TEST_F(FieldSafety, OurMarkerOnAClientGeneratedOutsideTheMintWindowIsNotAttributed)
{
    // A restored backup: this database's rotation 1 loses its create, and a client carrying the
    // very same marker exists, but it was generated a day before the mint.
    api.failNext(FakeTokenApi::Call::Create, lostAnswer());
    const std::string marker = core::formatMarker(store->installationId(), "billing", 1);
    const auto old = api.seedClient({api.roles[1].id}, clock.nowMs() - kDay, marker);
    engine()->runPass();
    clock.advanceMs(2 * kHour);
    engine()->runPass();
    EXPECT_TRUE(api.exists(old)) << "a client older than the mint window was revoked";
    EXPECT_EQ(count(eventsOf(*store, old), "unattributed"), 1);
}

TEST_F(FieldSafety, OurMarkerInsideTheMintWindowIsStillRevokedAsAnOrphan)
{
    api.commitThenFailNextCreate(lostAnswer());
    auto report = engine()->runPass();
    EXPECT_EQ(report.orphansRevoked, 1);
    EXPECT_EQ(count(events(), "orphan_revoked"), 1);
    checkInvariants("after the lost create");
}

TEST_F(FieldSafety, AnOldFormMarkerAttributesOnlyToThisDatabasesOpenRotation)
{
    // A database made before installation ids: its open rotation 1 journaled the old marker.
    store->ensureCredentials({"billing"}, clock.nowMs());
    auto open = store->beginRotation("billing", "schedule", "", clock.nowMs());
    {
        // What a schema-2 database held: the marker without an installation id.
        sqlite3* db = nullptr;
        ASSERT_EQ(sqlite3_open(dir.file("rotator.db").c_str(), &db), SQLITE_OK);
        ASSERT_EQ(sqlite3_exec(db,
                               "UPDATE rotations SET marker = 'astra-rotator billing 1',"
                               " mint_started_ms = started_ms",
                               nullptr, nullptr, nullptr),
                  SQLITE_OK);
        sqlite3_close(db);
    }
    const auto orphan =
        api.seedClient({api.roles[1].id}, clock.nowMs() + 1000, "astra-rotator billing 1");
    // The same old marker on a client of another (old) installation, long before: not ours.
    const auto elsewhere =
        api.seedClient({api.roles[1].id}, clock.nowMs() - 30 * kDay, "astra-rotator billing 1");
    clock.advanceMs(kHour);
    engine()->runPass();
    EXPECT_FALSE(api.exists(orphan)) << "the open rotation's lost create was not revoked";
    EXPECT_TRUE(api.exists(elsewhere));
    EXPECT_EQ(store->findRotation(open.id)->stage, rotator::core::Stage::RolledBack);
}

TEST_F(FieldSafety, AnOldFormMarkerOfAFinishedRotationIsNeverRevoked)
{
    engine()->runPass(); // rotation 1 bootstraps (new-form marker) and finishes
    // Another old installation's client, made now, carrying the old-form marker of rotation 1.
    const auto theirs = api.seedClient({api.roles[1].id}, clock.nowMs(), "astra-rotator billing 1");
    engine()->runPass();
    EXPECT_TRUE(api.exists(theirs));
}

TEST_F(FieldSafety, ACreateAnswerNamingAKnownClientIsRefusedAndTheKnownClientKept)
{
    adoptOldClient();
    engine()->runPass(); // adopt; this pass rotates too
    clock.advanceMs(2 * kHour);
    engine()->runPass(); // grace over: the old client is revoked
    clock.advanceMs(31 * kDay);
    // The server mints a client but answers with the ID of the unmanaged one (self-consistent).
    api.tamperNextCreateAnswer(
        [&](core::CreatedClient& created)
        {
            created.clientId = unmanaged;
            created.token = core::makeToken(unmanaged, created.secret);
        });
    const auto current = credential().currentClientId;
    const auto before = api.clientIds();
    const auto report = engine()->runPass();
    EXPECT_EQ(report.rotated, 0);
    EXPECT_TRUE(api.exists(unmanaged)) << "the known client was revoked";
    EXPECT_TRUE(api.exists(current));
    EXPECT_EQ(a->clientId, current) << "a sink got the wrong client";
    EXPECT_EQ(credential().currentClientId, current);
    EXPECT_EQ(report.orphansRevoked, 1) << "the client really minted is found by its marker";
    EXPECT_EQ(api.clientIds(), before);
    checkInvariants("after the refused answer");
}

TEST_F(FieldSafety, ACreateAnswerWithAnUnsafeSecretIsRefusedAndItsClientRevoked)
{
    settings.scheduler.maxFailures = 10;
    for (const std::string& secret : {std::string("has\"quote"), std::string("has space"),
                                      std::string("back\\slash"), std::string(513, 'x')})
    {
        SCOPED_TRACE(secret.substr(0, 20));
        std::string minted;
        api.tamperNextCreateAnswer(
            [&](core::CreatedClient& created)
            {
                minted = created.clientId;
                created.secret = core::Secret(secret);
                created.token = core::makeToken(created.clientId, created.secret);
            });
        const auto report = engine()->runPass();
        EXPECT_EQ(report.rotated, 0);
        EXPECT_FALSE(minted.empty());
        EXPECT_FALSE(api.exists(minted)) << "the refused client is left alive";
        EXPECT_TRUE(a->clientId.empty()) << "a sink got the unsafe secret";
        clock.advanceMs(kDay);
    }
}

TEST_F(FieldSafety, NoGraceSurvivesAnInterruptedRotation)
{
    adoptOldClient(10 * kDay);
    engine()->runPass();
    auto e = engine();
    crashAt(*e, "after-sink:a");
    EXPECT_THROW(e->rotateNow("billing", true), Crash);
    ASSERT_TRUE(api.exists(oldClient));
    EXPECT_TRUE(store->lastRotation("billing")->noGrace);

    const auto report = engine()->runPass(); // resumes: delivers b, promotes, revokes at once
    EXPECT_EQ(report.rotated, 1);
    EXPECT_EQ(report.revoked, 1);
    EXPECT_FALSE(api.exists(oldClient)) << "the --no-grace choice was forgotten";
    store::HistoryQuery q;
    q.credential = "billing";
    const auto history = store->history(q);
    const auto promoted = std::find_if(history.begin(), history.end(),
                                       [](const auto& ev) { return ev.event == "promoted"; });
    ASSERT_NE(promoted, history.end());
    EXPECT_NE(promoted->detail.find("revoked at once"), std::string::npos) << promoted->detail;
    checkInvariants("after the resumed rotation");
}

TEST_F(FieldSafety, RotateAfterAnInterruptedDeliveryReportsThatRotation)
{
    adoptOldClient(10 * kDay);
    engine()->runPass();
    auto e = engine();
    crashAt(*e, "after-sink:a");
    EXPECT_THROW(e->rotateNow("billing", false), Crash);
    const auto interrupted = store->lastRotation("billing")->id;
    const auto outcome = engine()->rotateNow("billing", false);
    EXPECT_TRUE(outcome.ok) << outcome.message;
    EXPECT_TRUE(outcome.resumed);
    EXPECT_EQ(outcome.rotationId, interrupted);
    EXPECT_EQ(outcome.message,
              "resumed interrupted rotation " + std::to_string(interrupted) + " and delivered it");
    EXPECT_EQ(a->clientId, credential().currentClientId);
    EXPECT_EQ(b->clientId, credential().currentClientId);
}

TEST_F(FieldSafety, RotateAfterTheGracePeriodEndedRevokesInsteadOfRefusing)
{
    adoptOldClient();
    engine()->runPass(); // rotated; the old client is in grace
    clock.advanceMs(2 * kHour);
    const auto outcome = engine()->rotateNow("billing", false);
    EXPECT_TRUE(outcome.ok) << outcome.message;
    EXPECT_FALSE(api.exists(oldClient));
}

TEST_F(FieldSafety, TheLateCreateReasonIsSetNotAppendedPassAfterPass)
{
    settings.astra.timeoutMs = 20'000;
    api.failNext(FakeTokenApi::Call::Create, lostAnswer());
    engine()->runPass();
    const auto id = store->lastRotation("billing")->id;
    for (int i = 0; i < 5; ++i)
    {
        clock.advanceMs(10'000);
        engine()->runPass();
    }
    const auto rotation = store->findRotation(id);
    ASSERT_TRUE(rotation);
    ASSERT_TRUE(rotation->error);
    const std::string& error = *rotation->error;
    const std::string waiting = "waiting for a possibly late create";
    ASSERT_NE(error.find(waiting), std::string::npos) << error;
    EXPECT_EQ(error.find(waiting), error.rfind(waiting)) << error;
}

TEST_F(FieldSafety, ACurrentClientThatVanishesIsReplacedAtOnceWithNothingRevoked)
{
    adoptOldClient(10 * kDay);
    engine()->runPass();
    ASSERT_EQ(credential().currentClientId, oldClient);
    ASSERT_TRUE(api.deleteClient(oldClient)); // revoked by someone else
    const int deletes = api.calls(FakeTokenApi::Call::Delete);

    auto report = engine()->runPass();
    EXPECT_EQ(report.currentMissing, std::vector<std::string>{"billing"});
    EXPECT_EQ(report.rotated, 1);
    EXPECT_EQ(api.calls(FakeTokenApi::Call::Delete), deletes) << "nothing to revoke";
    const auto row = credential();
    EXPECT_NE(row.currentClientId, oldClient);
    EXPECT_TRUE(row.previousClientId.empty());
    EXPECT_EQ(row.state, rotator::core::CredentialState::Idle);
    EXPECT_EQ(a->clientId, row.currentClientId);
    EXPECT_EQ(store->lastRotation("billing")->trigger, "bootstrap");
    EXPECT_EQ(count(events(), "current_missing"), 1);

    report = engine()->runPass();
    EXPECT_TRUE(report.currentMissing.empty());
    EXPECT_EQ(report.rotated, 0);
    EXPECT_EQ(count(events(), "current_missing"), 1);
}

TEST_F(FieldSafety, AVanishedCurrentClientShowsInStatusUntilReplaced)
{
    adoptOldClient(10 * kDay);
    engine()->runPass();
    ASSERT_TRUE(api.deleteClient(oldClient));
    api.failNext(FakeTokenApi::Call::Create,
                 failure(core::FailureKind::Permanent, "POST /v2/clientIdSecrets: 400", 400));
    const auto report = engine()->runPass();
    EXPECT_EQ(report.failed, 1);
    const auto views = report::credentialViews(settings, *store, clock.nowMs());
    ASSERT_EQ(views.size(), 1u);
    EXPECT_TRUE(views[0].currentMissing);
    EXPECT_EQ(views[0].state, "failed");
    EXPECT_NE(report::credentialsJson(views).find(R"("currentMissing":true)"), std::string::npos);
}

TEST_F(FieldSafety, AgesLabelsTheNewClientDuringDeliveryAndKeepsTheCredentialOfRevokedOnes)
{
    adoptOldClient();
    auto e = engine();
    crashAt(*e, "after-sink:a");
    EXPECT_THROW(e->runPass(), Crash);
    const auto fresh = store->lastRotation("billing")->newClientId;
    ASSERT_EQ(a->clientId, fresh);
    auto row = store->findClient(fresh);
    ASSERT_TRUE(row);
    EXPECT_EQ(row->status, "rotating") << "a client a sink holds shows as " << row->status;
    EXPECT_EQ(row->credential, "billing");

    engine()->runPass(); // resumes and promotes
    clock.advanceMs(2 * kHour);
    engine()->runPass(); // revokes the old client and confirms it gone
    engine()->runPass(); // the next list finds it gone
    row = store->findClient(oldClient);
    ASSERT_TRUE(row);
    EXPECT_EQ(row->status, "revoked");
    EXPECT_EQ(row->credential, "billing");

    const auto now = clock.nowMs();
    auto visible = report::clientViews(*store, now, false, std::nullopt);
    EXPECT_TRUE(std::none_of(visible.begin(), visible.end(),
                             [&](const auto& v) { return v.clientId == oldClient; }))
        << "a revoked client confirmed gone is shown by default";
    visible = report::clientViews(*store, now, false, std::nullopt, true);
    EXPECT_TRUE(std::any_of(visible.begin(), visible.end(),
                            [&](const auto& v) {
                                return v.clientId == oldClient && v.status == "revoked" &&
                                       v.credential == "billing";
                            }));
}

TEST_F(FieldSafety, ARemovedCredentialIsRetiredKeptAliveAndRevokedOnlyOnRequest)
{
    engine()->runPass(); // bootstrap
    const auto client = credential().currentClientId;
    const auto billing = settings.credentials[0];
    settings.credentials.clear();

    const auto report = engine()->runPass();
    EXPECT_EQ(report.rotated, 0);
    EXPECT_TRUE(api.exists(client));
    EXPECT_EQ(store->findClient(client)->status, "retired");
    EXPECT_EQ(count(events(), "retired"), 1);
    engine()->runPass();
    EXPECT_EQ(count(events(), "retired"), 1) << "reported once";

    const auto views = report::credentialViews(settings, *store, clock.nowMs());
    ASSERT_EQ(views.size(), 1u);
    EXPECT_EQ(views[0].state, "retired");
    const auto plan = engine()->plan();
    ASSERT_EQ(plan.size(), 1u);
    EXPECT_EQ(plan[0].reason, "retired: no longer configured");

    settings.credentials = {billing};
    EXPECT_FALSE(engine()->retire("billing", true).ok) << "retired while configured";
    settings.credentials.clear();
    const auto retired = engine()->retire("billing", true);
    ASSERT_TRUE(retired.ok) << retired.message;
    EXPECT_EQ(retired.revoked, std::vector<std::string>{client});
    EXPECT_FALSE(api.exists(client));
    EXPECT_EQ(store->findClient(client)->status, "revoked");
    EXPECT_EQ(store->findClient(client)->credential, "billing");
    EXPECT_TRUE(report::credentialViews(settings, *store, clock.nowMs()).empty());
}

TEST_F(FieldSafety, RetireWithoutRevokeLeavesTheClientAliveAndUnmanaged)
{
    engine()->runPass();
    const auto client = credential().currentClientId;
    settings.credentials.clear();
    engine()->runPass();
    const auto retired = engine()->retire("billing", false);
    ASSERT_TRUE(retired.ok) << retired.message;
    EXPECT_EQ(retired.released, std::vector<std::string>{client});
    EXPECT_TRUE(api.exists(client));
    EXPECT_EQ(store->findClient(client)->status, "unmanaged");
}

TEST_F(FieldSafety, AnAdoptedClientWithOtherRolesIsWarnedAboutNamingBothRoleSets)
{
    adoptOldClient(10 * kDay); // seeded with Database Administrator, as configured
    auto& c = settings.credentials[0];
    EXPECT_FALSE(rotation::adoptedRoleWarning(c, {api.roles[1].id}, api.roles));
    c.roles = {"R/W Svc Acct"};
    const auto warning = rotation::adoptedRoleWarning(c, {api.roles[1].id}, api.roles);
    ASSERT_TRUE(warning);
    EXPECT_NE(warning->find("[Database Administrator]"), std::string::npos) << *warning;
    EXPECT_NE(warning->find("[R/W Svc Acct]"), std::string::npos) << *warning;
    engine()->runPass();
    const auto plan = engine()->plan();
    ASSERT_EQ(plan.size(), 1u);
    ASSERT_EQ(plan[0].warnings.size(), 1u);
    EXPECT_EQ(plan[0].warnings[0], *warning);
    EXPECT_TRUE(plan[0].problems.empty());
}
