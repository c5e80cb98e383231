// The rotation protocol of PRODUCT.md §3 end to end in one process: app::Runtime (the real
// store, AstraClient over TLS, file and exec sinks, engine) against the in-process simulator on
// 127.0.0.1:0. The engine runs on a FakeClock where grace periods and backoffs must pass; the
// simulator and the HTTP client keep real time, which the protocol tolerates.

#include <algorithm>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <sys/stat.h>

#include <Poco/JSON/Parser.h>

#include "rotator/core/Errors.h"
#include "rotator/core/Token.h"
#include "rotator/sim/Simulator.h"
#include "rotator/store/SqliteStateStore.h"
#include "support/RotationHarness.h"
#include "support/SinkProbe.h"
#include "support/TempDir.h"

namespace
{

using namespace rotator;
using test::listing;
using test::readFile;
using test::writeFile;

constexpr std::int64_t kMinute = 60'000;
constexpr std::int64_t kHour = 60 * kMinute;
constexpr std::int64_t kDay = 24 * kHour;

unsigned fileMode(const std::string& path)
{
    struct stat st
    {
    };
    return ::stat(path.c_str(), &st) == 0 ? (st.st_mode & 07777u) : 0u;
}

bool contains(const std::vector<std::string>& values, const std::string& value)
{
    return std::find(values.begin(), values.end(), value) != values.end();
}

/// The rotation harness (tests/support/RotationHarness.h) as a gtest fixture, with the
/// helpers these flows share.
class RotationFlowTest : public ::testing::Test, protected test::RotationHarness
{
protected:
    /// A shell script in the TempDir, executable.
    std::string script(const std::string& name, const std::string& body)
    {
        const std::string path = dir.file(name);
        writeFile(path, "#!/bin/sh\n" + body, 0700);
        return path;
    }

    /// An old client adopted by `credential` (maxAge 1h), already due.
    std::string adoptedOldClientProperties(const std::string& credentialName, std::string& oldId)
    {
        oldId = seedClient(2 * kHour);
        return "credentials." + credentialName + ".clientId = " + oldId + "\n";
    }

    /// `app` (maxAge 1h, gracePeriod 10m) with one json file sink at out/app.json.
    std::string appWithJsonSink()
    {
        return "credentials.app.roles = Database Administrator\n"
               "credentials.app.maxAge = 1h\n"
               "credentials.app.gracePeriod = 10m\n"
               "credentials.app.sinks = app-json\n"
               "sinks.app-json.type = file\n"
               "sinks.app-json.path = " +
               dir.file("out/app.json") + "\n";
    }

    /// `app` with one json sink and a 2 s propagation timeout, its old client adopted, and a
    /// simulator whose new tokens answer 401 for 10 minutes: the rotation must roll back.
    void configureATokenThatNeverAuthenticates(std::string& oldId)
    {
        configure(adoptedOldClientProperties("app", oldId) + "astra.propagationTimeout = 2s\n" +
                  appWithJsonSink());
        simulator->setPropagationDelayMs(10 * kMinute);
    }

    /// A create whose answer is lost: no orphan is left, and a later pass rotates.
    void expectALostCreateLeavesNoOrphan(bool descriptions)
    {
        startSimulator(descriptions);
        const std::string unmanaged = seedClient(400 * kDay);
        std::string oldId;
        configure(adoptedOldClientProperties("app", oldId) + appWithJsonSink());
        sim::FaultRule drop;
        drop.kind = sim::FaultKind::DropAfterCommit;
        drop.method = "POST";
        drop.pathPrefix = "/v2/clientIdSecrets";
        drop.count = 1;
        simulator->addFault(drop);

        auto report = pass();
        EXPECT_EQ(simulator->requestCount("POST", "/v2/clientIdSecrets", 0), 1)
            << "the create was not dropped";
        EXPECT_EQ(report.rotated, 0);
        EXPECT_EQ(report.orphansRevoked, 1) << ::testing::PrintToString(report.errors);
        EXPECT_EQ(simClientIds(), (std::set<std::string>{adminClientId, unmanaged, oldId}))
            << "an orphan survived, or a client that was not ours was revoked";
        EXPECT_TRUE(contains(events("app"), "orphan_revoked"));
        EXPECT_EQ(credential("app").currentClientId, oldId);
        EXPECT_FALSE(std::filesystem::exists(dir.file("out/app.json")));
        EXPECT_EQ(listing(dir.file("state/pending")), std::vector<std::string>{});

        clock.advanceMs(2 * kMinute); // past the retry backoff
        report = pass();
        EXPECT_EQ(report.rotated, 1) << ::testing::PrintToString(report.errors);
        const auto row = credential("app");
        EXPECT_NE(row.currentClientId, oldId);
        EXPECT_EQ(row.previousClientId, oldId);
        EXPECT_EQ(simClientIds(),
                  (std::set<std::string>{adminClientId, unmanaged, oldId, row.currentClientId}));
        const auto json = jsonSink(dir.file("out/app.json"));
        EXPECT_EQ(json.clientId, row.currentClientId);
        EXPECT_EQ(tokenStatus(json.token.reveal()), 200);
    }
};

} // namespace

TEST_F(RotationFlowTest, RunOnceDeliversTheCurrentValidCredentialToEverySinkFormat)
{
    startSimulator();
    const std::string hook =
        script("hook.sh", "umask 077\ncat > \"$1.tmp\" && mv \"$1.tmp\" \"$1\"\n");
    configure("credentials.app.roles = Database Administrator\n"
              "credentials.app.maxAge = 30d\n"
              "credentials.app.gracePeriod = 1h\n"
              "credentials.app.sinks = app-json, app-env, app-token, app-hook\n"
              "sinks.app-json.type = file\n"
              "sinks.app-json.path = " +
              dir.file("out/app.json") +
              "\n"
              "sinks.app-json.format = json\n"
              "sinks.app-env.type = file\n"
              "sinks.app-env.path = " +
              dir.file("out/app.env") +
              "\n"
              "sinks.app-env.format = env\n"
              "sinks.app-token.type = file\n"
              "sinks.app-token.path = " +
              dir.file("out/app.token") +
              "\n"
              "sinks.app-token.format = token\n"
              "sinks.app-hook.type = exec\n"
              "sinks.app-hook.command = " +
              hook + " " + dir.file("out/hook.json") +
              "\n"
              "sinks.app-hook.timeout = 10s\n");

    EXPECT_EQ(command({"run-once"}), 0) << err.str();

    const auto row = credential("app");
    ASSERT_FALSE(row.currentClientId.empty());
    EXPECT_EQ(row.state, core::CredentialState::Idle);
    EXPECT_TRUE(alive(row.currentClientId));

    // json: exactly the six keys, a token that matches the secret, mode 0600.
    const std::string jsonText = readFile(dir.file("out/app.json"));
    const auto parsed = Poco::JSON::Parser().parse(jsonText).extract<Poco::JSON::Object::Ptr>();
    std::vector<std::string> keys;
    parsed->getNames(keys);
    std::sort(keys.begin(), keys.end());
    EXPECT_EQ(keys, (std::vector<std::string>{"clientId", "generatedOn", "orgId", "roles", "secret",
                                              "token"}));
    const auto json = jsonSink(dir.file("out/app.json"));
    EXPECT_EQ(json.clientId, row.currentClientId);
    EXPECT_TRUE(core::tokenMatches(json.clientId, json.secret, json.token));
    EXPECT_EQ(json.orgId, simulator->orgId());
    EXPECT_EQ(json.roles, std::vector<std::string>{simulator->roleId("Database Administrator")});
    EXPECT_EQ(fileMode(dir.file("out/app.json")), 0600u);
    EXPECT_EQ(tokenStatus(json.token.reveal()), 200);

    // env: three lines, the same client.
    EXPECT_EQ(readFile(dir.file("out/app.env")),
              "ASTRA_CLIENT_ID=" + json.clientId + "\nASTRA_CLIENT_SECRET=" + json.secret.reveal() +
                  "\nASTRA_DB_APPLICATION_TOKEN=" + json.token.reveal() + "\n");
    EXPECT_EQ(fileMode(dir.file("out/app.env")), 0600u);

    // token: the token and a newline.
    EXPECT_EQ(readFile(dir.file("out/app.token")), json.token.reveal() + "\n");
    EXPECT_EQ(fileMode(dir.file("out/app.token")), 0600u);

    // exec: the json form on stdin.
    EXPECT_EQ(readFile(dir.file("out/hook.json")), jsonText);

    EXPECT_EQ(simClientIds(), (std::set<std::string>{adminClientId, row.currentClientId}));
    EXPECT_EQ(listing(dir.file("state/pending")), std::vector<std::string>{});
}

TEST_F(RotationFlowTest, TheOldClientStaysValidThroughGraceThenIsRevokedAndConfirmed)
{
    startSimulator();
    std::string oldId;
    configure(adoptedOldClientProperties("app", oldId) + appWithJsonSink());

    auto report = pass();
    EXPECT_EQ(report.rotated, 1) << ::testing::PrintToString(report.errors);
    auto row = credential("app");
    const std::string newId = row.currentClientId;
    EXPECT_NE(newId, oldId);
    EXPECT_EQ(row.previousClientId, oldId);
    EXPECT_EQ(row.state, core::CredentialState::Grace);
    EXPECT_TRUE(alive(oldId)) << "revoked before the grace period";
    EXPECT_EQ(jsonSink(dir.file("out/app.json")).clientId, newId);
    EXPECT_EQ(requests("DELETE"), 0);

    clock.advanceMs(5 * kMinute);
    report = pass();
    EXPECT_EQ(report.revoked, 0);
    EXPECT_TRUE(alive(oldId)) << "revoked before the grace period ended";
    EXPECT_EQ(requests("DELETE"), 0);

    clock.advanceMs(6 * kMinute);
    report = pass();
    EXPECT_EQ(report.revoked, 1) << ::testing::PrintToString(report.errors);
    EXPECT_EQ(report.confirmed, 1);
    EXPECT_FALSE(alive(oldId));
    EXPECT_TRUE(alive(newId));
    row = credential("app");
    EXPECT_TRUE(row.previousClientId.empty());
    EXPECT_EQ(row.state, core::CredentialState::Idle);
    EXPECT_EQ(lastRotation("app").stage, core::Stage::Done);
    EXPECT_EQ(events("app"),
              (std::vector<std::string>{"adopted", "created", "verified", "delivered", "promoted",
                                        "revoked", "revoke_confirmed"}));
    EXPECT_EQ(tokenStatus(jsonSink(dir.file("out/app.json")).token.reveal()), 200);
}

TEST_F(RotationFlowTest, ALostCreateAnswerLeavesNoOrphanWhenTheServerListsDescriptions)
{
    expectALostCreateLeavesNoOrphan(true);
}

TEST_F(RotationFlowTest, ALostCreateAnswerLeavesNoOrphanWhenTheServerHidesDescriptions)
{
    expectALostCreateLeavesNoOrphan(false);
}

TEST_F(RotationFlowTest, AFailingDeleteIsRetriedOnLaterPassesAndSucceedsOnceTheFaultClears)
{
    startSimulator();
    std::string oldId;
    configure(adoptedOldClientProperties("app", oldId) + appWithJsonSink());
    ASSERT_EQ(pass().rotated, 1);
    const std::string newId = credential("app").currentClientId;

    sim::FaultRule unavailable;
    unavailable.kind = sim::FaultKind::Status;
    unavailable.status = 503;
    unavailable.method = "DELETE";
    unavailable.pathPrefix = "/v2/clientIdSecrets/";
    unavailable.count = 100; // far more than astra.maxAttempts per pass
    simulator->addFault(unavailable);
    clock.advanceMs(11 * kMinute);

    for (int i = 1; i <= 2; ++i)
    {
        const auto report = pass();
        EXPECT_EQ(report.revoked, 0);
        EXPECT_FALSE(report.errors.empty());
        EXPECT_TRUE(alive(oldId));
        EXPECT_EQ(simulator->requestCount("DELETE", "/v2/clientIdSecrets/{clientId}", 503), 2 * i)
            << "each pass tries astra.maxAttempts = 2 times";
        const auto row = credential("app");
        EXPECT_EQ(row.previousClientId, oldId);
        EXPECT_EQ(lastRotation("app").stage, core::Stage::Grace);
    }

    simulator->clearFaults();
    const auto report = pass();
    EXPECT_EQ(report.revoked, 1) << ::testing::PrintToString(report.errors);
    EXPECT_EQ(report.confirmed, 1);
    EXPECT_FALSE(alive(oldId));
    EXPECT_TRUE(alive(newId));
    EXPECT_TRUE(credential("app").previousClientId.empty());
    EXPECT_EQ(lastRotation("app").stage, core::Stage::Done);
    const auto ev = events("app");
    EXPECT_TRUE(contains(ev, "revoked"));
    EXPECT_TRUE(contains(ev, "revoke_confirmed"));
}

namespace
{

struct UnwritableCase
{
    const char* name;
    /// Prepares the TempDir and returns the first sink's path.
    std::string (*prepare)(const test::TempDir& dir);
};

} // namespace

class UnwritableFirstSink : public RotationFlowTest,
                            public ::testing::WithParamInterface<UnwritableCase>
{
};

TEST_P(UnwritableFirstSink, RollsBackRevokingTheNewClientAndChangesNoFile)
{
    startSimulator();
    const std::string unmanaged = seedClient(400 * kDay);
    const std::string brokenPath = GetParam().prepare(dir);
    std::string oldId;
    configure(adoptedOldClientProperties("app", oldId) +
              "credentials.app.roles = Database Administrator\n"
              "credentials.app.maxAge = 1h\n"
              "credentials.app.gracePeriod = 10m\n"
              "credentials.app.sinks = first, second\n"
              "sinks.first.type = file\n"
              "sinks.first.path = " +
              brokenPath +
              "\n"
              "sinks.second.type = file\n"
              "sinks.second.format = token\n"
              "sinks.second.path = " +
              dir.file("out/second.token") + "\n");
    const std::string parent = std::filesystem::path(brokenPath).parent_path().string();
    const auto parentBefore = listing(parent);
    const auto targetBefore = listing(brokenPath);

    const auto report = pass();
    EXPECT_EQ(report.rotated, 0);
    EXPECT_EQ(report.failed, 1);
    const auto rotation = lastRotation("app");
    EXPECT_EQ(rotation.stage, core::Stage::RolledBack);
    ASSERT_FALSE(rotation.newClientId.empty());
    EXPECT_FALSE(alive(rotation.newClientId)) << "the new client was not revoked";
    EXPECT_EQ(simulator->requestCount("DELETE", "/v2/clientIdSecrets/{clientId}", 204), 1);
    EXPECT_EQ(simClientIds(), (std::set<std::string>{adminClientId, unmanaged, oldId}));
    const auto row = credential("app");
    EXPECT_EQ(row.currentClientId, oldId);
    EXPECT_TRUE(row.previousClientId.empty());
    EXPECT_EQ(row.consecutiveFailures, 1);
    EXPECT_TRUE(contains(events("app"), "rolled_back"));

    // No file anywhere changed: the second sink was never written, nothing was left behind.
    EXPECT_EQ(listing(dir.file("out")), std::vector<std::string>{});
    EXPECT_EQ(listing(parent), parentBefore) << "a temporary file was left next to the target";
    EXPECT_EQ(listing(brokenPath), targetBefore);
    EXPECT_EQ(listing(dir.file("state/pending")), std::vector<std::string>{});
}

INSTANTIATE_TEST_SUITE_P(RotationFlow, UnwritableFirstSink,
                         ::testing::Values(UnwritableCase{"DirectoryMissing",
                                                          [](const test::TempDir& d)
                                                          { return d.file("missing/app.json"); }},
                                           UnwritableCase{"TargetIsADirectory",
                                                          [](const test::TempDir& d)
                                                          {
                                                              std::filesystem::create_directories(
                                                                  d.file("taken/app.json"));
                                                              return d.file("taken/app.json");
                                                          }}),
                         [](const auto& param) { return std::string(param.param.name); });

TEST_F(RotationFlowTest, ASinkFailingAfterAnotherWasWrittenRollsForwardThenPromotes)
{
    startSimulator();
    const std::string flag = dir.file("hook-fails");
    writeFile(flag, "");
    const std::string hook = script("hook.sh", "echo run >> " + dir.file("hook-runs") +
                                                   "\n"
                                                   "if [ -e " +
                                                   flag +
                                                   " ]; then echo 'refused' >&2; exit 1; fi\n"
                                                   "cat > " +
                                                   dir.file("out/hook.json") + "\n");
    std::string oldId;
    configure(adoptedOldClientProperties("app", oldId) +
              "credentials.app.roles = Database Administrator\n"
              "credentials.app.maxAge = 1h\n"
              "credentials.app.gracePeriod = 10m\n"
              "credentials.app.sinks = app-json, app-hook\n"
              "sinks.app-json.type = file\n"
              "sinks.app-json.path = " +
              dir.file("out/app.json") +
              "\n"
              "sinks.app-hook.type = exec\n"
              "sinks.app-hook.command = " +
              hook + "\n");

    auto report = pass();
    EXPECT_EQ(report.rotated, 0);
    const auto rotation = lastRotation("app");
    EXPECT_EQ(rotation.stage, core::Stage::Delivering);
    ASSERT_FALSE(rotation.newClientId.empty());
    EXPECT_TRUE(alive(oldId));
    EXPECT_TRUE(alive(rotation.newClientId));
    const auto json = jsonSink(dir.file("out/app.json"));
    EXPECT_EQ(json.clientId, rotation.newClientId);
    EXPECT_EQ(tokenStatus(json.token.reveal()), 200);
    EXPECT_FALSE(std::filesystem::exists(dir.file("out/hook.json")));
    EXPECT_EQ(credential("app").currentClientId, oldId);
    EXPECT_EQ(listing(dir.file("state/pending")).size(), 1u);
    EXPECT_EQ(readFile(dir.file("hook-runs")), "run\n");
    EXPECT_EQ(requests("DELETE"), 0) << "nothing may be revoked while rolling forward";

    // Before the backoff ends the hook is not run again.
    clock.advanceMs(30'000);
    report = pass();
    EXPECT_EQ(readFile(dir.file("hook-runs")), "run\n");
    EXPECT_EQ(lastRotation("app").stage, core::Stage::Delivering);

    std::filesystem::remove(flag);
    clock.advanceMs(31'000);
    report = pass();
    EXPECT_EQ(report.rotated, 1) << ::testing::PrintToString(report.errors);
    const auto row = credential("app");
    EXPECT_EQ(row.currentClientId, rotation.newClientId);
    EXPECT_EQ(row.previousClientId, oldId);
    EXPECT_EQ(row.state, core::CredentialState::Grace);
    EXPECT_EQ(lastRotation("app").id, rotation.id);
    EXPECT_EQ(readFile(dir.file("out/hook.json")), readFile(dir.file("out/app.json")));
    EXPECT_TRUE(alive(oldId)) << "grace starts only now";
    EXPECT_EQ(requests("DELETE"), 0);
    EXPECT_EQ(listing(dir.file("state/pending")), std::vector<std::string>{});
}

TEST_F(RotationFlowTest, ATokenStillRejectedAfterThePropagationTimeoutRollsBack)
{
    startSimulator();
    std::string oldId;
    configureATokenThatNeverAuthenticates(oldId);

    const auto slept = clock.sleptMs();
    const auto report = pass();
    EXPECT_EQ(report.rotated, 0);
    EXPECT_GE(clock.sleptMs() - slept, 1'000) << "gave up without waiting for propagation";
    EXPECT_LE(clock.sleptMs() - slept, 2'000);
    EXPECT_GE(simulator->requestCount("GET", "/v2/currentOrg", 401), 2);
    const auto rotation = lastRotation("app");
    EXPECT_EQ(rotation.stage, core::Stage::RolledBack);
    EXPECT_FALSE(alive(rotation.newClientId)) << "the unverified client was not revoked";
    EXPECT_TRUE(alive(oldId));
    EXPECT_EQ(credential("app").currentClientId, oldId);
    EXPECT_FALSE(std::filesystem::exists(dir.file("out/app.json")));
    EXPECT_EQ(simClientIds(), (std::set<std::string>{adminClientId, oldId}));
}

TEST_F(RotationFlowTest, ATokenThatAuthenticatesWithinThePropagationTimeoutIsDelivered)
{
    startSimulator();
    engineClock = &realClock; // the verify loop really waits for the simulator here
    std::string oldId;
    configure(adoptedOldClientProperties("app", oldId) + "astra.propagationTimeout = 10s\n" +
              appWithJsonSink());
    simulator->setPropagationDelayMs(800);

    const auto report = pass();
    EXPECT_EQ(report.rotated, 1) << ::testing::PrintToString(report.errors);
    EXPECT_GE(simulator->requestCount("GET", "/v2/currentOrg", 401), 1);
    EXPECT_EQ(simulator->requestCount("GET", "/v2/currentOrg", 200), 1);
    EXPECT_EQ(jsonSink(dir.file("out/app.json")).clientId, credential("app").currentClientId);
}

TEST_F(RotationFlowTest, QuarantinesAfterMaxFailuresStopsTryingAndRotateLiftsIt)
{
    startSimulator();
    std::string oldId;
    configure(adoptedOldClientProperties("app", oldId) + appWithJsonSink());
    sim::FaultRule refused;
    refused.kind = sim::FaultKind::TextError;
    refused.status = 400;
    refused.method = "POST";
    refused.pathPrefix = "/v2/clientIdSecrets";
    simulator->addFault(refused);

    for (int i = 0; i < 3; ++i) // scheduler.maxFailures = 3
    {
        const auto report = pass();
        EXPECT_EQ(report.failed, 1);
        clock.advanceMs(kDay); // past any backoff
    }
    EXPECT_EQ(credential("app").state, core::CredentialState::Quarantined);
    EXPECT_EQ(simulator->requestCount("POST", "/v2/clientIdSecrets", 400), 3);
    EXPECT_TRUE(contains(events("app"), "quarantined"));

    const auto before = requests("POST") + requests("DELETE");
    pass();
    clock.advanceMs(kDay);
    pass();
    EXPECT_EQ(requests("POST") + requests("DELETE"), before) << "automation did not stop";
    EXPECT_EQ(credential("app").state, core::CredentialState::Quarantined);
    EXPECT_TRUE(alive(oldId));
    EXPECT_FALSE(std::filesystem::exists(dir.file("out/app.json")));

    simulator->clearFaults();
    EXPECT_EQ(command({"rotate", "app"}), 0) << err.str();
    const auto row = credential("app");
    EXPECT_EQ(row.state, core::CredentialState::Grace);
    EXPECT_EQ(row.consecutiveFailures, 0);
    EXPECT_EQ(row.previousClientId, oldId);
    EXPECT_TRUE(alive(oldId));
    const auto json = jsonSink(dir.file("out/app.json"));
    EXPECT_EQ(json.clientId, row.currentClientId);
    EXPECT_EQ(tokenStatus(json.token.reveal()), 200);
}

TEST_F(RotationFlowTest, PlanChangesNothingInTheDatabaseOrAtTheApi)
{
    startSimulator();
    const std::string gracefulOld = seedClient(2 * kHour);
    const std::string dueOld = seedClient(30 * kMinute);
    configure("credentials.graceful.roles = Database Administrator\n"
              "credentials.graceful.maxAge = 1h\n"
              "credentials.graceful.gracePeriod = 1h\n"
              "credentials.graceful.clientId = " +
              gracefulOld +
              "\n"
              "credentials.graceful.sinks = graceful-json\n"
              "credentials.due.roles = R/W Svc Acct\n"
              "credentials.due.maxAge = 1h\n"
              "credentials.due.gracePeriod = 1h\n"
              "credentials.due.clientId = " +
              dueOld +
              "\n"
              "credentials.due.sinks = due-json\n"
              "sinks.graceful-json.type = file\n"
              "sinks.graceful-json.path = " +
              dir.file("out/graceful.json") +
              "\n"
              "sinks.due-json.type = file\n"
              "sinks.due-json.path = " +
              dir.file("out/due.json") + "\n");
    ASSERT_EQ(pass().rotated, 1);  // graceful rotates; due is 30 minutes old
    clock.advanceMs(45 * kMinute); // due is now past maxAge; graceful's old client in grace
    ASSERT_EQ(credential("graceful").state, core::CredentialState::Grace);

    const auto readDb = [this]
    {
        return std::vector<std::string>{readFile(dir.file("state/rotator.db")),
                                        readFile(dir.file("state/rotator.db-wal"))};
    };
    const auto dbBefore = readDb();
    const auto clientsBefore = simClientIds();
    const auto writesBefore = requests("POST") + requests("DELETE");
    const auto sinkBefore = readFile(dir.file("out/graceful.json"));
    const auto stateBefore = listing(dir.file("state"));

    EXPECT_EQ(command({"plan"}), 0) << out.str() << err.str();

    const std::string text = out.str();
    EXPECT_NE(text.find("due: due now"), std::string::npos) << text;
    EXPECT_NE(text.find("will revoke the previous client " + gracefulOld), std::string::npos)
        << text;
    EXPECT_TRUE(readDb() == dbBefore) << "plan changed the database";
    EXPECT_EQ(listing(dir.file("state")), stateBefore);
    EXPECT_EQ(simClientIds(), clientsBefore);
    EXPECT_EQ(requests("POST") + requests("DELETE"), writesBefore);
    EXPECT_EQ(readFile(dir.file("out/graceful.json")), sinkBefore);
    EXPECT_FALSE(std::filesystem::exists(dir.file("out/due.json")));
    EXPECT_TRUE(alive(gracefulOld));
    EXPECT_TRUE(alive(dueOld));
}

// A create that the server commits only after the rotator gave up on it (a timeout) and after
// its reconciling list. PRODUCT.md §3: "No client created by the rotator is left alive and
// unknown". The rotation stays open (planned) until a late commit can no longer happen, and a
// later pass finds the client by its marker and revokes it.
TEST_F(RotationFlowTest, ACreateCommittedAfterTheTimeoutAndTheReconcilingListIsNoOrphan)
{
    startSimulator();
    std::string oldId;
    configure(adoptedOldClientProperties("app", oldId) + "astra.timeout = 1s\n" +
              appWithJsonSink());
    sim::FaultRule slow;
    slow.kind = sim::FaultKind::Latency;
    slow.method = "POST";
    slow.pathPrefix = "/v2/clientIdSecrets";
    slow.delayMs = 4'000;
    slow.count = 1;
    simulator->addFault(slow);

    auto report = pass(); // the POST times out; the list right after does not show the client
    EXPECT_EQ(report.rotated, 0) << ::testing::PrintToString(report.errors);

    const auto lost = lastRotation("app");
    EXPECT_EQ(lost.stage, core::Stage::Planned) << "closed before a late create could be ruled out";
    // The server commits the create about a second later.
    awaitSimulatorWrites();
    ASSERT_EQ(simClientIds().size(), 3u) << "the slow create never committed";

    clock.advanceMs(2 * kMinute);
    report = pass();
    EXPECT_EQ(report.rotated, 1);
    const auto row = credential("app");
    EXPECT_EQ(openStore()->findRotation(lost.id)->stage, core::Stage::RolledBack);
    EXPECT_EQ(simClientIds(), (std::set<std::string>{adminClientId, oldId, row.currentClientId}))
        << "the late client of rotation " << lost.id << " is an orphan";

    // Nor does any later pass revoke or report it.
    clock.advanceMs(kDay);
    pass();
    for (const auto& id : simClientIds())
    {
        if (id == adminClientId || id == oldId || id == credential("app").currentClientId)
        {
            continue;
        }
        store::HistoryQuery q;
        q.clientId = id;
        std::string seen;
        for (const auto& e : openStore()->history(q))
        {
            seen += e.event + " ";
        }
        ADD_FAILURE() << "orphan " << id << " still alive after another pass; its events: " << seen;
    }
}

class RevokedButStillListed : public RotationFlowTest, public ::testing::WithParamInterface<bool>
{
};

// A roll-back's DELETE answered 404 while the server still had the client: the journal knows
// the ID, so the next pass revokes it again, with or without descriptions in the list.
TEST_P(RevokedButStillListed, IsRevokedAgainOnTheNextPass)
{
    startSimulator(GetParam());
    std::string oldId;
    configureATokenThatNeverAuthenticates(oldId);
    sim::FaultRule notFound;
    notFound.kind = sim::FaultKind::Status;
    notFound.status = 404;
    notFound.method = "DELETE";
    notFound.count = 1;
    simulator->addFault(notFound);

    auto report = pass();
    const auto rotation = lastRotation("app");
    ASSERT_EQ(rotation.stage, core::Stage::RolledBack);
    ASSERT_TRUE(alive(rotation.newClientId)) << "the 404 fault did not keep the client";

    report = pass(); // within the retry backoff: no new rotation, only the inventory
    EXPECT_EQ(report.orphansRevoked, 1) << ::testing::PrintToString(report.errors);
    EXPECT_FALSE(alive(rotation.newClientId)) << "a revoked client stayed alive";
    EXPECT_EQ(simClientIds(), (std::set<std::string>{adminClientId, oldId}));
    EXPECT_EQ(credential("app").currentClientId, oldId);
    EXPECT_FALSE(std::filesystem::exists(dir.file("out/app.json")));

    report = pass(); // gone from the list: nothing more to do
    EXPECT_EQ(report.orphansRevoked, 0);
}

INSTANTIATE_TEST_SUITE_P(RotationFlow, RevokedButStillListed, ::testing::Bool(),
                         [](const auto& param) {
                             return param.param ? "ListWithDescriptions"
                                                : "ListWithoutDescriptions";
                         });

TEST_F(RotationFlowTest, RunOnceExitsOneWhileACredentialStaysQuarantinedAndSaysWhy)
{
    startSimulator();
    configure(appWithJsonSink() + "scheduler.maxFailures = 1\n");
    sim::FaultRule refuse;
    refuse.kind = sim::FaultKind::Status;
    refuse.status = 400;
    refuse.method = "POST";
    refuse.pathPrefix = "/v2/clientIdSecrets";
    refuse.count = 1;
    simulator->addFault(refuse);

    EXPECT_EQ(command({"run-once"}), 1) << "the failing pass";
    EXPECT_EQ(credential("app").state, core::CredentialState::Quarantined);
    // Nothing is due while quarantined: this pass does nothing, and still fails.
    err.str("");
    EXPECT_EQ(command({"run-once"}), 1) << "a quarantined credential must fail cron's pass";
    EXPECT_NE(err.str().find("credential app is quarantined"), std::string::npos) << err.str();
    EXPECT_EQ(simulator->requestCount("POST", "/v2/clientIdSecrets"), 1);

    EXPECT_EQ(command({"rotate", "app"}), 0) << err.str();
    EXPECT_EQ(command({"run-once"}), 0) << err.str();
}

TEST_F(RotationFlowTest, ACurrentClientRevokedElsewhereIsReplacedByTheNextRunOnce)
{
    startSimulator();
    configure(appWithJsonSink());
    ASSERT_EQ(command({"run-once"}), 0) << err.str();
    const auto dead = credential("app").currentClientId;
    ASSERT_TRUE(simulator->revokeClient(dead));
    ASSERT_EQ(tokenStatus(jsonSink(dir.file("out/app.json")).token.reveal()), 401);

    EXPECT_EQ(command({"run-once"}), 0) << err.str();
    const auto row = credential("app");
    EXPECT_NE(row.currentClientId, dead);
    EXPECT_TRUE(row.previousClientId.empty());
    const auto json = jsonSink(dir.file("out/app.json"));
    EXPECT_EQ(json.clientId, row.currentClientId);
    EXPECT_EQ(tokenStatus(json.token.reveal()), 200);
    EXPECT_TRUE(contains(events("app"), "current_missing"));
    EXPECT_EQ(simulator->requestCount("DELETE", "/v2/clientIdSecrets/{clientId}"), 0)
        << "there was nothing to revoke";
}

TEST_F(RotationFlowTest, RetireRevokesTheClientsOfACredentialNoLongerConfigured)
{
    startSimulator();
    configure(appWithJsonSink());
    ASSERT_EQ(command({"run-once"}), 0) << err.str();
    const auto client = credential("app").currentClientId;

    EXPECT_THROW(command({"retire", "app", "--revoke"}), core::UsageError)
        << "retired while still configured";
    configure("");
    ASSERT_EQ(command({"run-once"}), 0) << err.str();
    EXPECT_TRUE(alive(client)) << "a credential leaving the configuration revoked its client";
    EXPECT_TRUE(contains(events("app"), "retired"));
    out.str("");
    ASSERT_EQ(command({"plan"}), 0) << err.str();
    EXPECT_NE(out.str().find("app: not scheduled\n  why: retired: no longer configured"),
              std::string::npos)
        << out.str();

    out.str("");
    EXPECT_EQ(command({"retire", "app", "--revoke"}), 0) << err.str();
    EXPECT_EQ(out.str(), "app: retired; revoked " + client + "\n");
    EXPECT_FALSE(alive(client));
    EXPECT_EQ(simClientIds(), std::set<std::string>{adminClientId});
}
