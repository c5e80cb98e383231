// Self-rotation of the admin token (astra.selfRotation, issue 16 item 1) end to end in one
// process: app::Runtime (the real store, AstraClient over TLS following astra.tokenFile, the
// token file sink, the engine) against the in-process simulator on 127.0.0.1:0. The engine runs
// on a FakeClock so that maxAge and the grace period pass on demand.

#include <algorithm>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <Poco/JSON/Parser.h>

#include <sys/stat.h>

#include "rotator/admin/AdminServer.h"
#include "rotator/admin/Metrics.h"
#include "rotator/app/Runtime.h"
#include "rotator/core/Errors.h"
#include "rotator/core/Token.h"
#include "rotator/os/AtomicFile.h"
#include "rotator/sim/Simulator.h"
#include "support/AdminHarness.h"
#include "support/FakeOrgDaemon.h"
#include "support/ForwardingTokenApi.h"
#include "support/RotationHarness.h"
#include "support/SelfRotationFixture.h"
#include "support/SinkProbe.h"
#include "support/SystemProbes.h"
#include "support/TempDir.h"

namespace
{

using namespace rotator;
using test::readFile;
using test::writeFile;

using test::kMinute;
using test::kSelfRotation;
using test::tokenIn;

constexpr std::int64_t kHour = 60 * kMinute;

unsigned fileMode(const std::string& path)
{
    return test::lstatOf(path).st_mode & 07777u;
}

class SelfRotationTest : public test::SelfRotationFixture
{
protected:
    /// The roles the simulator gives a client.
    std::vector<std::string> simRoles(const std::string& clientId) const
    {
        for (const auto& c : simulator->clients())
        {
            if (c.clientId == clientId)
            {
                auto roles = c.roles;
                std::sort(roles.begin(), roles.end());
                return roles;
            }
        }
        return {};
    }

    /// One pass that must reach the API and report no error.
    void cleanPass()
    {
        const auto report = pass();
        ASSERT_FALSE(report.listFailed);
        ASSERT_TRUE(report.errors.empty()) << report.errors.front();
    }

    /// Self-rotation configured, the admin client adopted, then rotated: the old client is in
    /// its grace period.
    void rotateOnce()
    {
        configure(kSelfRotation);
        pass();
        clock.advanceMs(2 * kHour);
        ASSERT_NO_FATAL_FAILURE(cleanPass());
    }
};

TEST_F(SelfRotationTest, RotatesTheAdminTokenThroughTheTokenFileAndRevokesTheOldClientWithTheNewOne)
{
    configure(kSelfRotation);
    const std::string oldToken = tokenIn(tokenFile());
    ASSERT_NO_FATAL_FAILURE(cleanPass()); // adopts the admin client; not due yet
    EXPECT_EQ(credential("(admin)").currentClientId, adminClientId);
    EXPECT_EQ(tokenIn(tokenFile()), oldToken);

    clock.advanceMs(2 * kHour);
    ASSERT_NO_FATAL_FAILURE(cleanPass());
    const std::string newToken = tokenIn(tokenFile());
    const std::string newId = test::clientIdOfToken(newToken);
    ASSERT_NE(newId, adminClientId);
    ASSERT_FALSE(newId.empty());
    const auto row = credential("(admin)");
    EXPECT_EQ(row.currentClientId, newId);
    EXPECT_EQ(row.previousClientId, adminClientId);
    EXPECT_EQ(simRoles(newId), simRoles(adminClientId)) << "exactly the old client's roles";
    EXPECT_EQ(tokenStatus(newToken), 200);
    EXPECT_EQ(tokenStatus(oldToken), 200) << "the old admin token lives through the grace period";
    EXPECT_EQ(readFile(tokenFile()), newToken + "\n") << "the token alone, as it is read";
    EXPECT_EQ(fileMode(tokenFile()), 0600u);
    EXPECT_TRUE(test::listing(dir.file("state/pending")).empty());

    clock.advanceMs(11 * kMinute);
    ASSERT_NO_FATAL_FAILURE(cleanPass());
    EXPECT_FALSE(alive(adminClientId));
    EXPECT_EQ(tokenStatus(oldToken), 401);
    EXPECT_EQ(simClientIds(), std::set<std::string>{newId}) << "no admin client left behind";
    EXPECT_EQ(lastRotation("(admin)").stage, core::Stage::Done);
    const auto events = this->events("(admin)");
    for (const std::string e :
         {"adopted", "created", "verified", "delivered", "promoted", "revoked", "revoke_confirmed"})
    {
        EXPECT_NE(std::find(events.begin(), events.end(), e), events.end()) << e;
    }
    // A later run (a new process) starts from the new token in the file.
    ASSERT_NO_FATAL_FAILURE(cleanPass());
}

TEST_F(SelfRotationTest, KeepsTheTokenFilesModeAndRotatesAgainFromTheNewToken)
{
    ASSERT_EQ(::chmod(tokenFile().c_str(), 0400), 0);
    configure(kSelfRotation);
    ASSERT_NO_FATAL_FAILURE(cleanPass());
    std::set<std::string> seen = {adminClientId};
    for (int round = 0; round < 2; ++round)
    {
        clock.advanceMs(2 * kHour);           // due, and the last grace period is over
        ASSERT_NO_FATAL_FAILURE(cleanPass()); // revokes the client of the last round
        ASSERT_NO_FATAL_FAILURE(cleanPass()); // rotates
        const std::string id = test::clientIdOfToken(tokenIn(tokenFile()));
        EXPECT_TRUE(seen.insert(id).second) << "round " << round << " minted no new client";
        EXPECT_EQ(fileMode(tokenFile()), 0400u);
    }
    clock.advanceMs(11 * kMinute);
    ASSERT_NO_FATAL_FAILURE(cleanPass());
    EXPECT_EQ(simClientIds(), std::set<std::string>{test::clientIdOfToken(tokenIn(tokenFile()))});
}

/// Answers the admin token check with a 403, as a token that may read the org but not list.
class RefusingAdminCheck final : public test::ForwardingTokenApi
{
public:
    using ForwardingTokenApi::ForwardingTokenApi;
    core::Outcome<void> checkAdminToken(const core::Secret&) override
    {
        return core::fail(core::FailureKind::Permanent, "403 from GET /v2/clientIdSecrets", 403);
    }
};

TEST_F(SelfRotationTest, RollsBackANewAdminTokenThatCannotListAndKeepsTheOldOne)
{
    std::vector<std::unique_ptr<api::TokenApi>> kept;
    wrapApi = [&](std::unique_ptr<api::TokenApi> api)
    {
        auto wrapped = std::make_unique<RefusingAdminCheck>(*api);
        kept.push_back(std::move(api));
        return wrapped;
    };
    configure(kSelfRotation);
    const std::string oldToken = tokenIn(tokenFile());
    pass();
    clock.advanceMs(2 * kHour);
    const auto report = pass();
    EXPECT_EQ(report.failed, 1);
    EXPECT_EQ(tokenIn(tokenFile()), oldToken);
    EXPECT_EQ(lastRotation("(admin)").stage, core::Stage::RolledBack);
    EXPECT_EQ(simClientIds(), std::set<std::string>{adminClientId}) << "the new client is revoked";
}

TEST_F(SelfRotationTest, ChecksAnAdminTokenByListingClientsAndRolesNotJustReadingTheOrg)
{
    configure("");
    auto env = environment();
    auto api = env.makeApi(settings, simulator->adminToken());
    EXPECT_TRUE(api->checkAdminToken(simulator->adminToken()));

    sim::ClientSeed seed;
    seed.roles = {"RO Svc Acct"}; // may read the org, not list tokens
    const auto reader = simulator->createClient(seed);
    EXPECT_EQ(tokenStatus(reader.token.reveal()), 200) << "it reads the org";
    const auto check = api->checkAdminToken(reader.token);
    ASSERT_FALSE(check);
    EXPECT_EQ(check.error().httpStatus, 403);
    EXPECT_FALSE(api->checkAdminToken(
        core::Secret("AstraCS:AAAAAAAAAAAAAAAAAAAAAAAA:" + std::string(64, '0'))));
}

TEST_F(SelfRotationTest, NeverRevokesTheClientWhoseTokenIsInUse)
{
    const std::string oldToken = tokenIn(tokenFile());
    ASSERT_NO_FATAL_FAILURE(rotateOnce());
    // Someone puts the old token back while it is in its grace period.
    writeFile(tokenFile(), oldToken + "\n", 0600);
    clock.advanceMs(11 * kMinute);
    const auto report = pass();
    EXPECT_FALSE(report.listFailed);
    EXPECT_EQ(report.revoked, 0);
    EXPECT_TRUE(alive(adminClientId)) << "the rotator would have locked itself out";
    EXPECT_EQ(tokenStatus(oldToken), 200);
}

// The same after the DELETE: the server answered 404 ("already gone") but still lists the old
// client, and someone puts its token back. Asking again (the revoked client still listed) must
// not revoke the token in use either.
TEST_F(SelfRotationTest, NeverRevokesAgainTheStillListedClientWhoseTokenIsInUse)
{
    const std::string oldToken = tokenIn(tokenFile());
    ASSERT_NO_FATAL_FAILURE(rotateOnce());
    sim::FaultRule notGone; // the revoke and the same pass's second ask have no effect
    notGone.method = "DELETE";
    notGone.pathPrefix = "/v2/clientIdSecrets/" + adminClientId;
    notGone.status = 404;
    notGone.count = 2;
    simulator->addFault(notGone);
    clock.advanceMs(11 * kMinute);
    pass();
    ASSERT_EQ(lastRotation("(admin)").stage, core::Stage::Revoked);
    ASSERT_TRUE(alive(adminClientId));

    writeFile(tokenFile(), oldToken + "\n", 0600);
    pass();
    awaitSimulatorWrites();
    EXPECT_TRUE(alive(adminClientId)) << "the rotator would have locked itself out";
    EXPECT_EQ(tokenStatus(oldToken), 200);
    EXPECT_FALSE(pass().listFailed);
}

/// `app` and `app2` (maxAge 1h) adopting clients two hours old, each with a json file sink;
/// `app` also has the exec sink `hook`, whose script is `out/hook.sh`.
std::string twoApplications(test::RotationHarness& h, bool withHook)
{
    std::string text;
    for (const std::string name : {"app", "app2"})
    {
        text += "credentials." + name +
                ".roles = Database Administrator\n"
                "credentials." +
                name +
                ".maxAge = 1h\n"
                "credentials." +
                name +
                ".gracePeriod = 10m\n"
                "credentials." +
                name + ".clientId = " + h.seedClient(2 * kHour) +
                "\n"
                "sinks." +
                name +
                "-json.type = file\n"
                "sinks." +
                name + "-json.path = " + h.dir.file("out/" + name + ".json") + "\n";
    }
    text += "credentials.app.sinks = app-json" + std::string(withHook ? ", hook" : "") + "\n";
    text += "credentials.app2.sinks = app2-json\n";
    if (withHook)
    {
        text += "sinks.hook.type = exec\nsinks.hook.command = " + h.dir.file("out/hook.sh") + "\n";
    }
    return text;
}

/// The hook script: installs nothing (exit 1) or takes the credential (exit 0).
void hookExits(test::RotationHarness& h, int code)
{
    writeFile(h.dir.file("out/hook.sh"),
              "#!/bin/sh\ncat >/dev/null\nexit " + std::to_string(code) + "\n", 0700);
}

TEST_F(SelfRotationTest, WaitsForAnApplicationRotationInProgressBeforeRotatingItself)
{
    hookExits(*this, 1);
    configure(kSelfRotation + twoApplications(*this, true));
    const std::string oldToken = tokenIn(tokenFile());
    pass(); // app: delivered to its file, not to the hook: rolls forward, stays in progress
    ASSERT_EQ(lastRotation("app").stage, core::Stage::Delivering);
    clock.advanceMs(2 * kHour); // the admin token is due; the hook's retry too, and fails again
    pass();
    ASSERT_EQ(lastRotation("app").stage, core::Stage::Delivering);
    EXPECT_FALSE(openStore()->lastRotation("(admin)")) << "started beside an application rotation";
    EXPECT_EQ(tokenIn(tokenFile()), oldToken);

    hookExits(*this, 0);
    clock.advanceMs(2 * kMinute);
    pass(); // app finishes its delivery first, then the admin token rotates
    EXPECT_EQ(lastRotation("app").stage, core::Stage::Grace);
    EXPECT_EQ(lastRotation("(admin)").stage, core::Stage::Grace);
    EXPECT_NE(tokenIn(tokenFile()), oldToken);
}

TEST_F(SelfRotationTest, RotatesItselfAloneAndTheApplicationsDueAfterItHasSwitched)
{
    configure(kSelfRotation + twoApplications(*this, false) + "scheduler.concurrency = 4\n");
    clock.advanceMs(2 * kHour);
    ASSERT_NO_FATAL_FAILURE(cleanPass()); // all three are due
    store::HistoryQuery q;
    q.limit = 1000;
    auto history = openStore()->history(q);
    std::reverse(history.begin(), history.end());
    const auto at = [&](const std::string& credential, const std::string& event)
    {
        const auto it = std::find_if(history.begin(), history.end(),
                                     [&](const store::EventRow& e)
                                     { return e.credential == credential && e.event == event; });
        EXPECT_NE(it, history.end()) << credential << " " << event;
        return it - history.begin();
    };
    EXPECT_LT(at("(admin)", "promoted"), at("app", "created"));
    EXPECT_LT(at("(admin)", "promoted"), at("app2", "created"));
    EXPECT_EQ(lastRotation("app").stage, core::Stage::Grace);
    EXPECT_EQ(lastRotation("app2").stage, core::Stage::Grace);
}

TEST_F(SelfRotationTest, RotateSelfForcesOneAndParenthesisedAdminIsTheSame)
{
    configure(kSelfRotation);
    const std::string first = tokenIn(tokenFile());
    EXPECT_EQ(command({"rotate", "--self"}), 0) << err.str();
    const std::string second = tokenIn(tokenFile());
    EXPECT_NE(second, first);
    EXPECT_EQ(lastRotation("(admin)").trigger, "manual");
    EXPECT_EQ(command({"rotate", "(admin)", "--no-grace"}), 0) << err.str();
    EXPECT_NE(tokenIn(tokenFile()), second);
    // --no-grace revokes the client in its grace period first, and the replaced one at once.
    EXPECT_EQ(simClientIds(), std::set<std::string>{test::clientIdOfToken(tokenIn(tokenFile()))});
    EXPECT_EQ(tokenStatus(first), 401);
    EXPECT_EQ(tokenStatus(second), 401);

    configure("");
    EXPECT_THROW(command({"rotate", "--self"}), core::ConfigError);
    EXPECT_THROW(command({"rotate", "app", "--self"}), core::UsageError);
    EXPECT_THROW(command({"rotate"}), core::UsageError);
}

TEST_F(SelfRotationTest,
       ShowsTheAdminTokenInStatusHistoryAgesMetricsAndTheAdminApiLikeAnyCredential)
{
    configure(kSelfRotation);
    clock.advanceMs(2 * kHour);
    ASSERT_NO_FATAL_FAILURE(cleanPass());
    const std::string current = credential("(admin)").currentClientId;

    ASSERT_EQ(command({"status", "--json"}), 0);
    const auto status = Poco::JSON::Parser().parse(out.str()).extract<Poco::JSON::Object::Ptr>();
    const auto list = status->getArray("credentials");
    ASSERT_GT(list->size(), 0u);
    const auto admin = list->getObject(0);
    EXPECT_EQ(admin->getValue<std::string>("name"), "(admin)");
    EXPECT_EQ(admin->getValue<std::string>("clientId"), current);
    EXPECT_EQ(admin->getValue<std::string>("state"), "grace");
    EXPECT_TRUE(admin->has("ageSeconds") && !admin->isNull("ageSeconds"));
    EXPECT_TRUE(admin->has("nextRotationAt") && !admin->isNull("nextRotationAt"));
    EXPECT_EQ(admin->getValue<std::int64_t>("maxAgeSeconds"), 3600);

    out.str("");
    ASSERT_EQ(command({"history", "--credential=(admin)"}), 0);
    EXPECT_NE(out.str().find("promoted"), std::string::npos) << out.str();
    out.str("");
    ASSERT_EQ(command({"ages"}), 0);
    EXPECT_NE(out.str().find(current), std::string::npos);
    EXPECT_NE(out.str().find("(admin)"), std::string::npos) << out.str();

    const std::string metrics =
        admin::Metrics().render(settings, *openStore(), clock.nowMs(), admin::DaemonState{});
    for (const std::string family :
         {"astra_rotator_credential_age_seconds", "astra_rotator_next_rotation_timestamp_seconds",
          "astra_rotator_last_success_timestamp_seconds"})
    {
        EXPECT_NE(metrics.find(family + "{credential=\"(admin)\"}"), std::string::npos) << family;
    }

    test::listenOnAnyLoopbackPort(settings.admin);
    test::StubControl control;
    admin::Metrics served;
    admin::AdminServer server(settings, databasePath(), control, served, clock);
    server.start();
    for (const std::string target : {"/v1/credentials/(admin)", "/v1/credentials/%28admin%29"})
    {
        const auto answer = test::get(server.port(), target);
        ASSERT_EQ(answer.status, 200) << target << ": " << answer.body;
        EXPECT_EQ(answer.json()->getValue<std::string>("clientId"), current) << target;
    }
    EXPECT_NE(test::get(server.port(), "/metrics").body.find("credential=\"(admin)\""),
              std::string::npos);
    server.stop();
}

// README "If someone revokes the admin token": a token made by hand replaces it in the file,
// and the next pass adopts its client and rotates from there.
TEST_F(SelfRotationTest, AdoptsAnAdminTokenPutInTheFileByHandAfterTheOldOneWasRevoked)
{
    configure(kSelfRotation);
    ASSERT_NO_FATAL_FAILURE(cleanPass());
    ASSERT_TRUE(simulator->revokeClient(adminClientId));
    EXPECT_TRUE(pass().adminTokenRejected);

    sim::ClientSeed seed;
    seed.roles = {"Organization Administrator"};
    const auto byHand = simulator->createClient(seed);
    writeFile(tokenFile(), byHand.token.reveal() + "\n", 0600);
    ASSERT_NO_FATAL_FAILURE(cleanPass());
    EXPECT_EQ(credential("(admin)").currentClientId, byHand.clientId);
    const auto events = this->events("(admin)");
    EXPECT_EQ(std::count(events.begin(), events.end(), "adopted"), 2);

    clock.advanceMs(2 * kHour);
    ASSERT_NO_FATAL_FAILURE(cleanPass());
    EXPECT_NE(tokenIn(tokenFile()), byHand.token.reveal());
    EXPECT_EQ(tokenStatus(tokenIn(tokenFile())), 200);
}

TEST_F(SelfRotationTest, RetiringTheAdminCredentialNeverRevokesTheTokenInUse)
{
    configure(kSelfRotation);
    ASSERT_NO_FATAL_FAILURE(cleanPass());
    configure(""); // self-rotation turned off: "(admin)" is retired, its client stays alive
    pass();
    EXPECT_EQ(command({"retire", "(admin)", "--revoke"}), 1);
    EXPECT_NE(err.str().find("would lock the rotator out"), std::string::npos) << err.str();
    EXPECT_TRUE(alive(adminClientId));
    EXPECT_EQ(command({"retire", "(admin)"}), 0) << err.str();
    EXPECT_TRUE(alive(adminClientId));
}

struct Crash
{
    std::string point;
};

/// The crash point between the token file's rename and its `delivered` commit: the file holds
/// the new token while the journal says the sink may hold it. No engine crash point lies there;
/// the atomic write's test seam (called after the rename) throws instead.
const std::string kAfterTokenFileRename = "after-rename:(astra.tokenFile)";

/// While it lives, a write renamed over `path` (none when empty) throws `Crash` at once.
class CrashAfterRename
{
public:
    explicit CrashAfterRename(const std::string& path)
    {
        if (!path.empty())
        {
            os::detail::setAfterRenameHookForTests(
                [path](const std::string& target)
                {
                    if (target == path)
                    {
                        throw Crash{kAfterTokenFileRename};
                    }
                });
        }
    }
    ~CrashAfterRename() { os::detail::setAfterRenameHookForTests({}); }
    CrashAfterRename(const CrashAfterRename&) = delete;
    CrashAfterRename& operator=(const CrashAfterRename&) = delete;
};

/// Self-rotation with a second sink (`glass`, a token file a break-glass procedure reads).
const std::string kSelfRotationWithGlass = kSelfRotation + "astra.selfRotation.sinks = glass\n";

/// Kills the rotator (a throw from the crash hook ends the Runtime) at one stage boundary of
/// a self-rotation, starts a new one on the same state directory, database, token file and
/// simulator, and checks that it authenticates, finishes, and leaves no admin client behind.
class SelfRotationCrash : public SelfRotationTest, public ::testing::WithParamInterface<std::string>
{
protected:
    void SetUp() override
    {
        SelfRotationTest::SetUp();
        configure(kSelfRotationWithGlass +
                  "sinks.glass.type = file\nsinks.glass.format = token\n"
                  "sinks.glass.path = " +
                  dir.file("out/glass.token") + "\n");
    }

    /// One pass that the crash hook ends at `point`; false when it never got there.
    bool passCrashingAt(const std::string& point)
    {
        auto env = environment();
        app::Runtime runtime(settings, env, app::Runtime::Mode::Write);
        runtime.engine().setCrashHook(
            [&](std::string_view at)
            {
                if (at == point)
                {
                    throw Crash{std::string(at)};
                }
            });
        const CrashAfterRename renamed(point == kAfterTokenFileRename ? tokenFile() : "");
        try
        {
            runtime.engine().runPass();
        }
        catch (const Crash&)
        {
            return true;
        }
        return false;
    }

    /// Passes (past any grace period) until the last self-rotation is done; checks that each
    /// one authenticates.
    void converge()
    {
        for (int i = 0; i < 8; ++i)
        {
            const auto report = pass();
            ASSERT_FALSE(report.listFailed) << "the restarted rotator cannot authenticate";
            const auto last = openStore()->lastRotation("(admin)");
            if (last && last->stage == core::Stage::Done &&
                credential("(admin)").previousClientId.empty())
            {
                return;
            }
            clock.advanceMs(11 * kMinute);
        }
        FAIL() << "the self-rotation did not finish; last stage "
               << core::toString(lastRotation("(admin)").stage);
    }

    /// The token file holds a live token, which is the only admin client left.
    void expectOneLiveAdminClient()
    {
        awaitSimulatorWrites();
        const std::string token = tokenIn(tokenFile());
        EXPECT_EQ(tokenStatus(token), 200) << "the token file holds a dead token";
        const std::string id = test::clientIdOfToken(token);
        EXPECT_EQ(simClientIds(), std::set<std::string>{id}) << "an admin client was orphaned";
        EXPECT_EQ(credential("(admin)").currentClientId, id);
        EXPECT_EQ(tokenIn(dir.file("out/glass.token")), token);
        EXPECT_TRUE(openStore()->unfinishedRotations().empty());
        EXPECT_TRUE(test::listing(dir.file("state/pending")).empty());
    }
};

/// A crash point as a test name.
std::string pointName(const ::testing::TestParamInfo<std::string>& point)
{
    std::string name;
    for (const char c : point.param)
    {
        name += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
    }
    return name;
}

TEST_P(SelfRotationCrash, RestartsWithAWorkingTokenAndFinishesWithoutOrphans)
{
    const std::string point = GetParam();
    ASSERT_NO_FATAL_FAILURE(cleanPass());
    clock.advanceMs(2 * kHour);
    if (point == "before-revoke" || point == "after-revoke")
    {
        ASSERT_NO_FATAL_FAILURE(cleanPass());
        clock.advanceMs(11 * kMinute);
    }
    const std::string oldToken = tokenIn(tokenFile());
    ASSERT_TRUE(passCrashingAt(point)) << "never reached " << point;
    if (point == kAfterTokenFileRename)
    {
        ASSERT_NE(tokenIn(tokenFile()), oldToken) << "the crash came before the rename";
    }
    awaitSimulatorWrites();
    ASSERT_NO_FATAL_FAILURE(converge());
    expectOneLiveAdminClient();
    EXPECT_NE(credential("(admin)").currentClientId, adminClientId) << "no rotation happened";
}

INSTANTIATE_TEST_SUITE_P(EveryStageBoundary, SelfRotationCrash,
                         ::testing::Values("planned", "before-create", "after-create",
                                           "after-pending", "minted", "delivering",
                                           "before-sink:(astra.tokenFile)", kAfterTokenFileRename,
                                           "after-sink:(astra.tokenFile)", "before-sink:glass",
                                           "after-sink:glass", "promoted", "before-revoke",
                                           "after-revoke"),
                         pointName);

// The lock-out Vault's rotate-root had: the new token exists only in the pending file and the
// old one stops working (revoked by someone, here at the simulator) before the token file is
// rewritten. The next start finds the file's token refused and takes the pending one.
class SelfRotationRefusedAfterCrash : public SelfRotationCrash
{
};

TEST_P(SelfRotationRefusedAfterCrash, TakesThePendingTokenWhenTheTokenFilesIsRefused)
{
    const std::string point = GetParam();
    ASSERT_NO_FATAL_FAILURE(cleanPass());
    clock.advanceMs(2 * kHour);
    ASSERT_TRUE(passCrashingAt(point)) << "never reached " << point;
    ASSERT_TRUE(simulator->revokeClient(adminClientId));
    ASSERT_EQ(tokenStatus(tokenIn(tokenFile())), 401);
    ASSERT_NO_FATAL_FAILURE(converge());
    expectOneLiveAdminClient();
}

INSTANTIATE_TEST_SUITE_P(BeforeTheTokenFileIsWritten, SelfRotationRefusedAfterCrash,
                         ::testing::Values("after-pending", "minted", "delivering",
                                           "before-sink:(astra.tokenFile)"),
                         pointName);

// The same start from the pending token, but the new token then fails its verification (every
// roles request fails until it gives up): the roll-back must not revoke the client of the token
// the rotator now calls with, the only live admin token. It quarantines instead.
class SelfRotationRollBackAfterRefusal : public SelfRotationCrash
{
};

TEST_P(SelfRotationRollBackAfterRefusal, QuarantinesInsteadOfRevokingTheClientOfTheTokenInUse)
{
    ASSERT_NO_FATAL_FAILURE(cleanPass());
    clock.advanceMs(2 * kHour);
    ASSERT_TRUE(passCrashingAt(GetParam())) << "never reached " << GetParam();
    awaitSimulatorWrites();
    auto minted = simClientIds();
    minted.erase(adminClientId);
    ASSERT_EQ(minted.size(), 1u);
    const std::string newId = *minted.begin();
    ASSERT_TRUE(simulator->revokeClient(adminClientId));
    sim::FaultRule rolesFail;
    rolesFail.method = "GET";
    rolesFail.pathPrefix = "/v2/organizations/roles";
    rolesFail.status = 503;
    simulator->addFault(rolesFail);

    const auto report = pass();
    awaitSimulatorWrites();
    EXPECT_FALSE(report.listFailed);
    EXPECT_EQ(report.failed, 1);
    EXPECT_TRUE(alive(newId)) << "the rotator revoked the client of its own token";
    EXPECT_EQ(credential("(admin)").state, core::CredentialState::Quarantined);
    const auto rotation = lastRotation("(admin)");
    EXPECT_EQ(rotation.stage, core::Stage::Quarantined);
    EXPECT_NE(rotation.error.value_or("").find("the client of the admin token in use"),
              std::string::npos)
        << rotation.error.value_or("");

    simulator->clearFaults();
    EXPECT_FALSE(pass().listFailed) << "a new process cannot authenticate";
    EXPECT_TRUE(alive(newId));
    EXPECT_EQ(tokenStatus(tokenIn(tokenFile())), 401) << "the token file was not touched";
    // The pending token in use is not a token put in the token file: its client is not adopted.
    EXPECT_EQ(credential("(admin)").currentClientId, adminClientId);
    const auto events = this->events("(admin)");
    EXPECT_EQ(std::count(events.begin(), events.end(), "adopted"), 1);

    // The operator's `rotate (admin)` lifts the quarantine: the token in use goes to the file.
    EXPECT_EQ(command({"rotate", "(admin)"}), 0) << err.str();
    EXPECT_EQ(test::clientIdOfToken(tokenIn(tokenFile())), newId);
    EXPECT_EQ(credential("(admin)").currentClientId, newId);
}

INSTANTIATE_TEST_SUITE_P(BeforeTheTokenFileIsWritten, SelfRotationRollBackAfterRefusal,
                         ::testing::Values("after-pending", "minted"), pointName);

} // namespace

TEST_F(SelfRotationTest, SyncAdoptsTheAdminClientAsAPassDoes)
{
    configure(kSelfRotation);
    ASSERT_EQ(command({"sync"}), 0) << err.str();
    EXPECT_EQ(credential("(admin)").currentClientId, adminClientId);
    const auto events = this->events("(admin)");
    EXPECT_NE(std::find(events.begin(), events.end(), "adopted"), events.end());
}

TEST_F(SelfRotationTest, PlanShowsTheAdminClientsRolesAndTheStrongerCheck)
{
    configure(kSelfRotation);
    ASSERT_EQ(command({"sync"}), 0) << err.str();
    clock.advanceMs(2 * kHour);
    out.str("");
    ASSERT_EQ(command({"plan"}), 0) << err.str();
    const std::string plan = out.str();
    const auto at = plan.find("(admin)");
    ASSERT_NE(at, std::string::npos) << plan;
    const std::string admin = plan.substr(at);
    const auto roles = simRoles(adminClientId);
    ASSERT_FALSE(roles.empty());
    for (const auto& role : roles)
    {
        EXPECT_NE(admin.find(role), std::string::npos) << role << " in:\n" << plan;
    }
    EXPECT_EQ(admin.find("roles []"), std::string::npos) << plan;
    EXPECT_NE(admin.find("listing clients and roles"), std::string::npos) << plan;
    EXPECT_EQ(admin.find("GET /v2/currentOrg"), std::string::npos) << plan;
    EXPECT_NE(admin.find("would revoke " + adminClientId), std::string::npos) << plan;
}
