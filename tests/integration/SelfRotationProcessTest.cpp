// Self-rotation of the admin token (issue 16 item 1) as users run it: the built `astra-rotator`
// running `serve` against the simulator, rotating its own token twice while it rotates two
// application credentials, and killed with SIGKILL while the create of a new admin client is
// in flight.

#include <sys/stat.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "rotator/sim/FaultRule.h"
#include "rotator/sim/Simulator.h"
#include "support/AdminHarness.h"
#include "support/LeakScan.h"
#include "support/ProcessRunner.h"
#include "support/SelfRotationFixture.h"
#include "support/SinkProbe.h"
#include "support/TempDir.h"
#include "support/TestCerts.h"

namespace
{

using namespace rotator;
using namespace std::chrono_literals;
using test::ChildProcess;
using test::readFile;
using test::writeFile;

const std::string kRotator = std::string(ROTATOR_BIN_DIR) + "/astra-rotator";

/// `serve` on its own token file, with self-rotation every `maxAge` (grace 1s) and the
/// application credentials `apps` (maxAge 2s, grace 1s, a json file sink each in out/).
class SelfRotationProcessTest : public ::testing::Test
{
protected:
    SelfRotationProcessTest() : sim(test::tlsSimulatorOptions()) {}

    std::string config(const std::string& maxAge, const std::vector<std::string>& apps,
                       const std::string& extra = "")
    {
        std::filesystem::create_directories(dir.file("out"));
        writeFile(tokenFile(), sim.adminToken().reveal() + "\n", 0600);
        std::string text = "astra.url = https://127.0.0.1:" + std::to_string(sim.port()) +
                           "\nastra.tokenFile = " + tokenFile() +
                           "\nastra.caFile = " + test::sharedTestCerts().caFile +
                           "\nstate.dir = " + dir.file("state") +
                           "\nastra.selfRotation.maxAge = " + maxAge +
                           "\nastra.selfRotation.gracePeriod = 1s\n";
        for (const auto& app : apps)
        {
            text += "credentials." + app + ".roles = Database Administrator\ncredentials." + app +
                    ".maxAge = 2s\ncredentials." + app + ".gracePeriod = 1s\ncredentials." + app +
                    ".sinks = " + app + "\nsinks." + app + ".type = file\nsinks." + app +
                    ".path = " + dir.file("out/" + app + ".json") + "\n";
        }
        writeFile(dir.file("rotator.properties"), text + extra, 0600);
        return "--config=" + dir.file("rotator.properties");
    }

    std::string tokenFile() const { return dir.file("admin.token"); }

    /// The token the token file holds now.
    std::string token() const { return test::tokenIn(tokenFile()); }

    std::set<std::string> simClients() const
    {
        std::set<std::string> ids;
        for (const auto& c : sim.clients())
        {
            ids.insert(c.clientId);
        }
        return ids;
    }

    int status(const std::string& token) const
    {
        return test::currentOrgStatus(sim.port(), test::sharedTestCerts().caFile, token);
    }

    /// Polls `condition` until it holds (true) or `serve` stops or 30 s pass (false).
    static bool await(ChildProcess& serve, const std::function<bool()>& condition)
    {
        const auto deadline = std::chrono::steady_clock::now() + 30s;
        while (serve.running() && std::chrono::steady_clock::now() < deadline)
        {
            if (condition())
            {
                return true;
            }
            std::this_thread::sleep_for(20ms);
        }
        return condition();
    }

    /// The client of an application's json sink (empty before the first delivery).
    std::string appClient(const std::string& app) const
    {
        const auto c = test::readJsonSink(dir.file("out/" + app + ".json"));
        return c ? c->clientId : std::string();
    }

    /// The simulator holds its answer to the first `method` request on the clients path (it
    /// has acted on it); once `acted` holds, serve is SIGKILLed, started again on the same
    /// state, and must end with a new live admin token that is the only admin client left.
    void killWhileHeldAndRecover(const std::string& method, const std::function<bool()>& acted)
    {
        sim::FaultRule hold;
        hold.kind = sim::FaultKind::Trickle;
        hold.method = method;
        hold.pathPrefix = "/v2/clientIdSecrets";
        hold.count = 1;
        hold.delayMs = 60'000;
        sim.addFault(hold);
        const std::string args = config("3s", {});
        const std::string first = token();
        {
            ChildProcess serve({kRotator, args, "serve"}, test::minimalEnvironment());
            ASSERT_TRUE(await(serve, acted)) << method << " never reached the simulator\n"
                                             << serve.stderrText();
            serve.kill();
        }
        ChildProcess serve({kRotator, args, "serve"}, test::minimalEnvironment());
        // The interrupted rotation finishes (else the next could not start), the next one too.
        for (const std::string& before : {first, std::string()})
        {
            const std::string previous = before.empty() ? token() : before;
            ASSERT_TRUE(await(serve,
                              [&]
                              {
                                  return token() != previous &&
                                         simClients() ==
                                             std::set<std::string>{test::clientIdOfToken(token())};
                              }))
                << "admin clients at the simulator: " << simClients().size() << "\n"
                << serve.stderrText();
            EXPECT_EQ(status(token()), 200);
        }
        serve.signal(SIGTERM);
        EXPECT_TRUE(serve.waitFor(5s).has_value());
    }

    test::TempDir dir;
    sim::Simulator sim;
};

// No admin token it ever held (the first and each one it minted) appears in the log at trace
// level, its output, the database and its WAL, the state directory or the admin API's answers.
TEST_F(SelfRotationProcessTest, ServeRotatesItsOwnTokenTwiceWhileApplicationsKeepRotating)
{
    const std::string bearer = "admin-api-bearer-0123456789";
    writeFile(dir.file("api.token"), bearer + "\n", 0600);
    const std::uint16_t adminPort = test::freeLoopbackPort();
    ChildProcess serve(
        {kRotator,
         config("3s", {"app1", "app2"},
                "admin.listen = 127.0.0.1:" + std::to_string(adminPort) +
                    "\nadmin.tokenFile = " + dir.file("api.token") +
                    "\nlog.level = trace\nlog.file = " + dir.file("rotator.log") + "\n"),
         "serve"},
        test::minimalEnvironment());
    std::string previous = token();
    std::vector<std::string> adminTokens = {previous};
    for (int round = 1; round <= 2; ++round)
    {
        const std::string before = previous;
        ASSERT_TRUE(await(serve, [&] { return token() != before; }))
            << "self-rotation " << round << " did not happen\n"
            << serve.stderrText();
        const std::string current = token();
        EXPECT_EQ(status(current), 200) << "round " << round;
        // The old admin client is revoked after the grace period, with the new token.
        const std::string oldId = test::clientIdOfToken(before);
        ASSERT_TRUE(await(serve, [&] { return simClients().count(oldId) == 0; }))
            << "round " << round << ": the old admin client is still alive\n"
            << serve.stderrText();
        EXPECT_EQ(status(before), 401);
        // Every application credential keeps rotating on the new token.
        for (const std::string app : {"app1", "app2"})
        {
            const std::string was = appClient(app);
            ASSERT_TRUE(
                await(serve, [&] { return appClient(app) != was && !appClient(app).empty(); }))
                << app << " stopped rotating after self-rotation " << round << "\n"
                << serve.stderrText();
            EXPECT_EQ(status(test::readJsonSink(dir.file("out/" + app + ".json"))->token.reveal()),
                      200);
        }
        previous = current;
        adminTokens.push_back(current);
    }
    std::string answers;
    for (const std::string target : {"/v1/credentials", "/v1/credentials/(admin)", "/v1/clients",
                                     "/v1/history?limit=500", "/metrics", "/readyz"})
    {
        const auto answer = test::get(adminPort, target, bearer);
        EXPECT_EQ(answer.status, 200) << target << ": " << answer.body;
        answers += answer.body;
    }
    EXPECT_NE(answers.find(test::clientIdOfToken(previous)), std::string::npos);
    serve.signal(SIGTERM);
    const auto exited = serve.waitFor(5s);
    ASSERT_TRUE(exited.has_value());
    EXPECT_TRUE(exited->ok()) << exited->describe() << "\n" << serve.stderrText();
    EXPECT_EQ(status(token()), 200);
    if (token() != adminTokens.back())
    {
        adminTokens.push_back(token()); // one more self-rotation before SIGTERM
    }

    const std::string log = readFile(dir.file("rotator.log"));
    ASSERT_NE(log.find("(admin)"), std::string::npos) << "nothing was logged at trace level";
    std::vector<std::string> secrets;
    for (const auto& t : adminTokens)
    {
        for (auto& form : test::tokenLeakForms(t))
        {
            secrets.push_back(std::move(form));
        }
    }
    std::map<std::string, std::string> searched = {
        {"the log file", log},
        {"stdout and stderr", serve.stdoutText() + serve.stderrText()},
        {"the admin API's answers", answers},
    };
    test::addStateFiles(searched, dir.file("state"));
    test::expectNoSecretIn(searched, secrets);
    // The search itself works: the token file holds the last token.
    EXPECT_NE(readFile(tokenFile()).find(secrets[secrets.size() - 1]), std::string::npos);
}

// SIGKILL while the simulator holds the answer to the create of the new admin client (it has
// committed it): the restarted serve authenticates with the token file, revokes that orphan
// (found by its description marker), rotates, and leaves exactly one admin client.
TEST_F(SelfRotationProcessTest, KilledWhileTheNewAdminClientsCreateIsInFlightServeRecovers)
{
    killWhileHeldAndRecover("POST", [&] { return sim.clients().size() == 2; });
}

// SIGKILL while the simulator holds the answer to the revocation of the old admin client (it
// is gone already): the restarted serve, on the new token from the file, revokes it again
// (404 counts as gone) and confirms.
TEST_F(SelfRotationProcessTest, KilledWhileTheOldAdminClientsRevocationIsInFlightServeRecovers)
{
    const std::string oldId = test::clientIdOfToken(sim.adminToken().reveal());
    killWhileHeldAndRecover("DELETE", [&] { return simClients().count(oldId) == 0; });
}

// An admin token from the environment cannot be rotated: check-config and serve refuse the
// configuration with exit 78, naming the key, before anything runs.
TEST_F(SelfRotationProcessTest, CheckConfigAndServeExit78ForSelfRotationOfAnEnvironmentToken)
{
    const std::string args = config("30d", {});
    std::string properties = readFile(dir.file("rotator.properties"));
    const auto at = properties.find("astra.tokenFile = ");
    properties.erase(at, properties.find('\n', at) - at + 1);
    writeFile(dir.file("rotator.properties"), properties, 0600);
    auto env = test::minimalEnvironment();
    env.push_back("ASTRA_TOKEN=" + sim.adminToken().reveal());
    for (const std::string command : {"check-config", "serve"})
    {
        const auto result = test::runProcess({kRotator, args, command}, env);
        ASSERT_TRUE(result.status.has_value()) << command;
        EXPECT_EQ(result.status->code, 78) << command << ": " << result.err;
        EXPECT_NE(result.err.find("astra.tokenFile"), std::string::npos) << result.err;
        EXPECT_NE(result.err.find("astra.selfRotation.maxAge"), std::string::npos) << result.err;
        EXPECT_EQ(result.err.find(sim.adminToken().reveal()), std::string::npos);
    }
    EXPECT_EQ(sim.clients().size(), 1u) << "nothing was created";
}

} // namespace
