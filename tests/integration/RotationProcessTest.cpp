// The built `astra-rotator` executable as users run it: killed with SIGKILL at many points of
// run-once and serve against the `astra-devops-sim` executable, stopped with SIGTERM, and
// searched for every secret it ever handled.

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include <Poco/JSON/Parser.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/StreamCopier.h>

#include "rotator/core/Token.h"
#include "rotator/sim/Simulator.h"
#include "rotator/store/Database.h"
#include "rotator/store/Statement.h"
#include "support/ProcessRunner.h"
#include "support/AdminHarness.h"
#include "support/LeakScan.h"
#include "support/RotationHarness.h"
#include "support/SinkProbe.h"
#include "support/TempDir.h"
#include "support/TestCerts.h"

namespace
{

using namespace rotator;
using namespace std::chrono_literals;
using test::ChildProcess;
using test::freeLoopbackPort;
using test::listing;
using test::readFile;
using test::runProcess;
using test::writeFile;

const std::string kRotator = std::string(ROTATOR_BIN_DIR) + "/astra-rotator";
const std::string kSimulator = std::string(ROTATOR_BIN_DIR) + "/astra-devops-sim";

/// Writes `dir`/admin.token and `dir`/rotator.properties (the simulator, its CA, state in
/// `dir`/state, then `extra`) and returns the configuration's path.
std::string writeServeConfig(const test::TempDir& dir, const sim::Simulator& sim,
                             const std::string& extra)
{
    writeFile(dir.file("admin.token"), sim.adminToken().reveal() + "\n", 0600);
    writeFile(dir.file("rotator.properties"),
              "astra.url = https://127.0.0.1:" + std::to_string(sim.port()) +
                  "\nastra.tokenFile = " + dir.file("admin.token") + "\nastra.caFile = " +
                  test::sharedTestCerts().caFile + "\nstate.dir = " + dir.file("state") + "\n" +
                  extra);
    return dir.file("rotator.properties");
}

/// One credential `app` with a json file sink at `dir`/out/app.json (the directory is made).
std::string appCredential(const test::TempDir& dir, const std::string& maxAge,
                          const std::string& gracePeriod)
{
    std::filesystem::create_directories(dir.file("out"));
    return "credentials.app.roles = Database Administrator\ncredentials.app.maxAge = " + maxAge +
           "\ncredentials.app.gracePeriod = " + gracePeriod +
           "\ncredentials.app.sinks = app-json\nsinks.app-json.type = file\n"
           "sinks.app-json.path = " +
           dir.file("out/app.json") + "\n";
}

std::string trim(std::string s)
{
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
    {
        s.pop_back();
    }
    return s;
}

Poco::JSON::Object::Ptr parseObject(const std::string& text)
{
    return Poco::JSON::Parser().parse(text).extract<Poco::JSON::Object::Ptr>();
}

/// A string member, or empty when absent or null.
std::string stringOf(const Poco::JSON::Object::Ptr& o, const std::string& key)
{
    return o->has(key) && o->get(key).isString() ? o->get(key).toString() : std::string();
}

/// One HTTPS call to a simulator on 127.0.0.1 with the admin token; returns the body, throws
/// on a non-2xx status.
std::string simCall(std::uint16_t port, const std::string& adminToken, const std::string& method,
                    const std::string& path, const std::string& body = {})
{
    Poco::Net::Context::Params params;
    params.caLocation = test::sharedTestCerts().caFile;
    params.verificationMode = Poco::Net::Context::VERIFY_STRICT;
    params.loadDefaultCAs = false;
    Poco::Net::Context::Ptr context =
        new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, params);
    Poco::Net::HTTPSClientSession session("127.0.0.1", port, context);
    session.setTimeout(Poco::Timespan(10, 0));
    Poco::Net::HTTPRequest request(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
    request.set("Authorization", "Bearer " + adminToken);
    if (!body.empty())
    {
        request.setContentType("application/json");
        request.setContentLength(static_cast<std::streamsize>(body.size()));
        session.sendRequest(request) << body;
    }
    else
    {
        session.sendRequest(request);
    }
    Poco::Net::HTTPResponse response;
    std::string answer;
    Poco::StreamCopier::copyToString(session.receiveResponse(response), answer);
    const int status = static_cast<int>(response.getStatus());
    if (status < 200 || status > 299)
    {
        throw std::runtime_error(method + " " + path + ": HTTP " + std::to_string(status));
    }
    return answer;
}

/// The `astra-devops-sim` executable over TLS on a free port, stopped with SIGTERM.
class SimProcess
{
public:
    SimProcess(const test::TempDir& dir, const std::vector<std::string>& extra)
        : _tokenFile(dir.file("sim-admin.token"))
    {
        const std::string portFile = dir.file("sim-port");
        std::vector<std::string> argv = {kSimulator,
                                         "--tls-cert=" + test::sharedTestCerts().serverCert,
                                         "--tls-key=" + test::sharedTestCerts().serverKey,
                                         "--admin-token-file=" + _tokenFile,
                                         "--port-file=" + portFile,
                                         "--quiet"};
        argv.insert(argv.end(), extra.begin(), extra.end());
        _child = std::make_unique<ChildProcess>(argv, test::minimalEnvironment(),
                                                dir.file("sim.out"), dir.file("sim.err"));
        const auto deadline = std::chrono::steady_clock::now() + 20s;
        std::string port;
        while ((port = trim(readFile(portFile))).empty() && _child->running() &&
               std::chrono::steady_clock::now() < deadline)
        {
            std::this_thread::sleep_for(10ms);
        }
        if (port.empty())
        {
            throw std::runtime_error("astra-devops-sim did not start: " + _child->stderrText());
        }
        _port = static_cast<std::uint16_t>(std::stoi(port));
        _adminToken = trim(readFile(_tokenFile));
    }

    ~SimProcess()
    {
        _child->signal(SIGTERM);
        _child->waitFor(5s);
    }

    std::uint16_t port() const { return _port; }
    const std::string& adminToken() const { return _adminToken; }
    const std::string& tokenFile() const { return _tokenFile; }

    /// The clientIds the simulator holds (control endpoint: no latency, no counters).
    std::set<std::string> clientIds() const
    {
        const auto state = parseObject(simCall(_port, _adminToken, "GET", "/_sim/state"));
        std::set<std::string> ids;
        const auto clients = state->getArray("clients");
        for (unsigned i = 0; i < clients->size(); ++i)
        {
            ids.insert(stringOf(clients->getObject(i), "clientId"));
        }
        return ids;
    }

    /// A client made at the simulator directly, not by the rotator.
    std::string seedClient(const std::string& role, const std::string& generatedOn)
    {
        const auto created = parseObject(simCall(_port, _adminToken, "POST", "/_sim/clients",
                                                 R"({"roles":[")" + role +
                                                     R"("],"description":"not the rotator's",)"
                                                     R"("generatedOn":")" +
                                                     generatedOn + R"("})"));
        return stringOf(created, "clientId");
    }

private:
    std::string _tokenFile;
    std::unique_ptr<ChildProcess> _child;
    std::uint16_t _port = 0;
    std::string _adminToken;
};

/// The token in an `env` sink file; empty when there is none.
std::string envToken(const std::string& path)
{
    std::istringstream in(readFile(path));
    std::string line;
    const std::string key = "ASTRA_DB_APPLICATION_TOKEN=";
    while (std::getline(in, line))
    {
        if (line.rfind(key, 0) == 0)
        {
            return line.substr(key.size());
        }
    }
    return {};
}

std::string integrityCheck(const std::string& databasePath)
{
    store::Database db(databasePath, store::OpenMode::ReadOnly);
    auto statement = db.prepare("PRAGMA integrity_check");
    return statement.step() ? statement.getText(0) : std::string("no row");
}

/// The last line of a log file without its timestamp, shortened: where a killed run stopped.
std::string lastStep(const std::string& logPath)
{
    std::istringstream in(readFile(logPath));
    std::string line;
    std::string last = "(nothing logged)";
    while (std::getline(in, line))
    {
        if (!line.empty())
        {
            last = line;
        }
    }
    const auto space = last.find(' ');
    if (space != std::string::npos && last.rfind("20", 0) == 0)
    {
        last = last.substr(space + 1);
    }
    for (char& ch : last)
    {
        ch = std::isalpha(static_cast<unsigned char>(ch)) ? ch : ' ';
    }
    // Words only, client IDs (24 letters) folded, so that equal steps group together.
    std::istringstream words(last);
    std::string word;
    std::string step;
    while (words >> word)
    {
        step += (step.empty() ? "" : " ") + (word.size() == 24 ? std::string("<id>") : word);
    }
    return step.substr(0, 70);
}

} // namespace

TEST(RotationProcess, KilledAtRandomPointsTheNextRunOnceRestoresEveryInvariant)
{
    test::TempDir dir;
    SimProcess sim(dir, {"--latency=150"});
    const std::string unmanaged = sim.seedClient("Database Administrator", "2020-01-02T03:04:05Z");
    ASSERT_FALSE(unmanaged.empty());
    const std::string adminClientId = test::clientIdOfToken(sim.adminToken());
    ASSERT_FALSE(adminClientId.empty());

    for (const char* d : {"out-alpha", "out-hook", "out-beta"})
    {
        std::filesystem::create_directories(dir.file(d));
    }
    const std::string hook = dir.file("hook.sh");
    writeFile(hook, "#!/bin/sh\numask 077\ncat > \"$1.tmp\" && mv \"$1.tmp\" \"$1\"\n", 0700);
    const auto config = [&](const std::string& logFile)
    {
        return "astra.url = https://127.0.0.1:" + std::to_string(sim.port()) +
               "\nastra.tokenFile = " + sim.tokenFile() +
               "\nastra.caFile = " + test::sharedTestCerts().caFile +
               "\nastra.timeout = 5s\nastra.propagationTimeout = 5s\n"
               "astra.requestsPerSecond = 100\n"
               "state.dir = " +
               dir.file("state") +
               "\nscheduler.concurrency = 2\nscheduler.retryBackoff = 1s\n"
               "scheduler.maxFailures = 100\nscheduler.syncInterval = 1s\n"
               "log.level = debug\nlog.file = " +
               logFile +
               "\n"
               // Due all the time: every run mints, delivers, revokes and confirms.
               "credentials.alpha.roles = Database Administrator\n"
               "credentials.alpha.maxAge = 1s\ncredentials.alpha.gracePeriod = 0s\n"
               "credentials.alpha.sinks = alpha-json, alpha-hook\n"
               "credentials.beta.roles = R/W Svc Acct\n"
               "credentials.beta.maxAge = 1s\ncredentials.beta.gracePeriod = 0s\n"
               "credentials.beta.sinks = beta-env\n"
               "sinks.alpha-json.type = file\nsinks.alpha-json.path = " +
               dir.file("out-alpha/alpha.json") +
               "\nsinks.alpha-hook.type = exec\nsinks.alpha-hook.command = " + hook + " " +
               dir.file("out-hook/alpha.json") +
               "\nsinks.beta-env.type = file\nsinks.beta-env.format = env\n"
               "sinks.beta-env.path = " +
               dir.file("out-beta/beta.env") + "\n";
    };
    writeFile(dir.file("victim.properties"), config(dir.file("victim.log")));
    writeFile(dir.file("recovery.properties"), config(dir.file("recovery.log")));
    const std::string victimConfig = "--config=" + dir.file("victim.properties");
    const std::string recoveryConfig = "--config=" + dir.file("recovery.properties");
    const auto env = test::minimalEnvironment();

    const auto checkInvariants = [&](const std::string& when)
    {
        SCOPED_TRACE(when);
        const auto status = runProcess({kRotator, recoveryConfig, "status", "--json"}, env, 20s);
        ASSERT_TRUE(status.ok()) << status.describe();
        const auto ages = runProcess({kRotator, recoveryConfig, "ages", "--json"}, env, 20s);
        ASSERT_TRUE(ages.ok()) << ages.describe();

        std::map<std::string, std::string> current;
        std::set<std::string> accounted = {adminClientId, unmanaged};
        const auto credentials = parseObject(status.out)->getArray("credentials");
        for (unsigned i = 0; i < credentials->size(); ++i)
        {
            const auto c = credentials->getObject(i);
            current[stringOf(c, "name")] = stringOf(c, "clientId");
            accounted.insert(stringOf(c, "clientId"));
            accounted.insert(stringOf(c, "previousClientId"));
        }
        std::map<std::string, std::string> statusOf;
        const auto clients = parseObject(ages.out)->getArray("clients");
        for (unsigned i = 0; i < clients->size(); ++i)
        {
            const auto c = clients->getObject(i);
            statusOf[stringOf(c, "clientId")] = stringOf(c, "status");
        }

        // No orphan; nothing that is not ours was revoked.
        const auto atSim = sim.clientIds();
        EXPECT_TRUE(atSim.count(unmanaged)) << "the unmanaged client was revoked";
        EXPECT_TRUE(atSim.count(adminClientId));
        for (const auto& id : atSim)
        {
            EXPECT_TRUE(accounted.count(id))
                << "orphan " << id << " (ages says " << statusOf[id] << ")\n"
                << status.out;
            if (id != adminClientId && id != unmanaged)
            {
                EXPECT_TRUE(statusOf[id] == "current" || statusOf[id] == "previous")
                    << id << " is " << statusOf[id];
            }
        }

        // Every sink holds a token valid at the API: the current one after a completed pass.
        const auto alpha = test::readJsonSink(dir.file("out-alpha/alpha.json"));
        ASSERT_TRUE(alpha.has_value());
        EXPECT_EQ(alpha->clientId, current["alpha"]);
        EXPECT_EQ(test::currentOrgStatus(sim.port(), test::sharedTestCerts().caFile,
                                         alpha->token.reveal()),
                  200);
        const auto hooked = test::readJsonSink(dir.file("out-hook/alpha.json"));
        ASSERT_TRUE(hooked.has_value());
        EXPECT_EQ(test::currentOrgStatus(sim.port(), test::sharedTestCerts().caFile,
                                         hooked->token.reveal()),
                  200);
        const std::string beta = envToken(dir.file("out-beta/beta.env"));
        EXPECT_EQ(test::clientIdOfToken(beta), current["beta"]);
        EXPECT_EQ(test::currentOrgStatus(sim.port(), test::sharedTestCerts().caFile, beta), 200);

        EXPECT_EQ(listing(dir.file("state/pending")), std::vector<std::string>{});
        EXPECT_EQ(listing(dir.file("out-alpha")), std::vector<std::string>{"alpha.json"});
        EXPECT_EQ(listing(dir.file("out-beta")), std::vector<std::string>{"beta.env"});
        EXPECT_EQ(integrityCheck(dir.file("state/rotator.db")), "ok");
    };

    std::mt19937 random(20'240'611);
    // run-once takes about a second here (150 ms per API call): kill it inside that second;
    // serve runs pass after pass, so its kills may land later.
    std::uniform_int_distribution<int> runOnceDelayMs(150, 1150);
    std::uniform_int_distribution<int> serveDelayMs(50, 2500);
    int kills = 0;
    int rounds = 0;
    std::int64_t recoveryMs = 0;
    std::map<std::string, int> stops;
    const auto started = std::chrono::steady_clock::now();
    // scripts/soak asks for more kills (ROTATOR_SOAK_KILLS); the test suite's default is 10.
    const char* wanted = std::getenv("ROTATOR_SOAK_KILLS");
    const int targetKills = wanted ? std::max(1, std::atoi(wanted)) : 10;
    const int maxRounds = targetKills * 2 + 10;
    for (int i = 0; kills < targetKills && i < maxRounds && !::testing::Test::HasFatalFailure();
         ++i)
    {
        ++rounds;
        static const char* const kCommands[] = {"run-once", "serve", "rotate"};
        const std::string command = kCommands[i % 3];
        const int delay = command == "serve" ? serveDelayMs(random) : runOnceDelayMs(random);
        std::filesystem::remove(dir.file("victim.log"));
        {
            std::vector<std::string> argv = {kRotator, victimConfig, command};
            if (command == "rotate")
            {
                argv.push_back(i % 2 == 0 ? "alpha" : "beta");
                argv.push_back("--no-grace");
            }
            ChildProcess victim(argv, env, dir.file("victim.out"), dir.file("victim.err"));
            if (!victim.waitFor(std::chrono::milliseconds(delay)))
            {
                victim.kill();
                ++kills;
                ++stops[command + ": " + lastStep(dir.file("victim.log"))];
            }
            else
            {
                ++stops[command + ": finished before the kill"];
            }
        }
        const auto recoveryStart = std::chrono::steady_clock::now();
        const auto recovery = runProcess({kRotator, recoveryConfig, "run-once"}, env, 30s);
        recoveryMs += std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now() - recoveryStart)
                          .count();
        const std::string when = "after " + command + " killed at " + std::to_string(delay) +
                                 " ms (round " + std::to_string(i) + ")";
        ASSERT_TRUE(recovery.status.has_value()) << when << ": " << recovery.describe();
        EXPECT_EQ(recovery.status->code, 0) << when << ": " << recovery.describe();
        checkInvariants(when);
    }
    const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(
        std::chrono::steady_clock::now() - started);
    EXPECT_GE(kills, targetKills);
    std::cout << "[          ] kills survived: " << kills << " in " << seconds.count()
              << " s; a full run-once takes " << recoveryMs / std::max(1, rounds)
              << " ms on average; the killed process had logged last:\n";
    for (const auto& [where, n] : stops)
    {
        std::cout << "[          ]   " << n << " x " << where << "\n";
    }
}

TEST(RotationProcess, ServeRotatesADueCredentialAndExitsZeroPromptlyOnSigterm)
{
    test::TempDir dir;
    sim::Simulator sim(test::tlsSimulatorOptions());
    const std::string config = writeServeConfig(dir, sim, appCredential(dir, "1h", "10m"));

    ChildProcess serve({kRotator, "--config=" + config, "serve"}, test::minimalEnvironment());
    // A credential with no client is due at once: wait (bounded) until it is delivered.
    std::optional<sink::Credential> delivered;
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (!(delivered = test::readJsonSink(dir.file("out/app.json"))) && serve.running() &&
           std::chrono::steady_clock::now() < deadline)
    {
        std::this_thread::sleep_for(20ms);
    }
    ASSERT_TRUE(delivered.has_value()) << serve.stderrText();
    EXPECT_TRUE(core::tokenMatches(delivered->clientId, delivered->secret, delivered->token));
    EXPECT_EQ(test::currentOrgStatus(sim.port(), test::sharedTestCerts().caFile,
                                     delivered->token.reveal()),
              200);
    ASSERT_TRUE(serve.running());

    const auto signalled = std::chrono::steady_clock::now();
    serve.signal(SIGTERM);
    const auto exited = serve.waitFor(5s);
    const auto tookMs = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now() - signalled)
                            .count();
    ASSERT_TRUE(exited.has_value()) << "serve ignored SIGTERM for 5 s";
    EXPECT_TRUE(exited->ok()) << exited->describe() << "\n" << serve.stderrText();
    EXPECT_LE(tookMs, 2000) << "serve took " << tookMs << " ms to stop";

    std::set<std::string> ids;
    for (const auto& c : sim.clients())
    {
        ids.insert(c.clientId);
    }
    EXPECT_EQ(ids, (std::set<std::string>{test::clientIdOfToken(sim.adminToken().reveal()),
                                          delivered->clientId}));
}

TEST(RotationProcess, NoSecretOrTokenAppearsInLogsStateLeftoversOrTheHooksArgvAndEnvironment)
{
    test::TempDir dir;
    sim::SimulatorOptions options;
    options.tlsCertFile = test::sharedTestCerts().serverCert;
    options.tlsKeyFile = test::sharedTestCerts().serverKey;
    sim::Simulator sim(options);
    const std::string adminToken = sim.adminToken().reveal();
    for (const char* d : {"json", "env", "token", "hook", "hook-stdin"})
    {
        std::filesystem::create_directories(dir.file(d));
    }
    const std::string hook = dir.file("hook.sh");
    writeFile(hook,
              "#!/bin/sh\n"
              "umask 077\n"
              "printf '%s\\n' \"$0\" \"$@\" >> " +
                  dir.file("hook/argv.txt") +
                  "\n"
                  "env >> " +
                  dir.file("hook/env.txt") +
                  "\n"
                  "cat > " +
                  dir.file("hook-stdin/app.json") + "\n",
              0700);
    // The admin token comes from the environment (ASTRA_TOKEN): it must not reach the hook.
    writeFile(dir.file("rotator.properties"),
              "astra.url = https://127.0.0.1:" + std::to_string(sim.port()) +
                  "\nastra.caFile = " + test::sharedTestCerts().caFile +
                  "\nastra.propagationTimeout = 10s\n"
                  "state.dir = " +
                  dir.file("state") + "\nlog.level = trace\nlog.file = " + dir.file("rotator.log") +
                  "\n"
                  "credentials.app.roles = Database Administrator\n"
                  "credentials.app.maxAge = 1h\ncredentials.app.gracePeriod = 10m\n"
                  "credentials.app.sinks = app-json, app-env, app-token, app-hook\n"
                  "sinks.app-json.type = file\nsinks.app-json.path = " +
                  dir.file("json/app.json") +
                  "\nsinks.app-env.type = file\nsinks.app-env.format = env\n"
                  "sinks.app-env.path = " +
                  dir.file("env/app.env") +
                  "\nsinks.app-token.type = file\nsinks.app-token.format = token\n"
                  "sinks.app-token.path = " +
                  dir.file("token/app.token") +
                  "\nsinks.app-hook.type = exec\nsinks.app-hook.command = " + hook +
                  " --target 'prod env'\n");
    auto env = test::minimalEnvironment();
    env.push_back("ASTRA_TOKEN=" + adminToken);
    const std::string config = "--config=" + dir.file("rotator.properties");

    std::vector<std::string> secrets = test::tokenLeakForms(adminToken);
    std::string output;
    const auto collect = [&](const test::ProcessResult& r, const std::string& what)
    {
        EXPECT_TRUE(r.ok()) << what << ": " << r.describe();
        output += r.out + r.err;
        const auto c = test::readJsonSink(dir.file("json/app.json"));
        ASSERT_TRUE(c.has_value()) << what;
        const std::string token = c->token.reveal();
        secrets.push_back(c->secret.reveal());
        secrets.push_back(c->secret.reveal().substr(0, 24)); // a truncated leak counts too
        for (auto& form : test::tokenLeakForms(token))
        {
            secrets.push_back(std::move(form));
        }
    };
    collect(runProcess({kRotator, config, "run-once"}, env), "bootstrap");
    sim.setPropagationDelayMs(700); // verify retries on 401 are logged too
    collect(runProcess({kRotator, config, "rotate", "app", "--no-grace"}, env), "rotate 1");
    collect(runProcess({kRotator, config, "rotate", "app"}, env), "rotate 2");
    const auto inGrace = runProcess({kRotator, config, "run-once"}, env); // nothing due
    EXPECT_TRUE(inGrace.ok()) << inGrace.describe();
    output += inGrace.out + inGrace.err;
    collect(runProcess({kRotator, config, "rotate", "app", "--no-grace"}, env), "rotate 3");
    output += runProcess({kRotator, config, "history", "--json"}, env).out;
    output += runProcess({kRotator, config, "status", "--json"}, env).out;
    output += runProcess({kRotator, config, "ages", "--json"}, env).out;
    std::set<std::string> distinct(secrets.begin(), secrets.end());
    ASSERT_EQ(distinct.size(), secrets.size()) << "a rotation did not deliver a new client";
    EXPECT_GE(sim.requestCount("GET", "/v2/currentOrg", 401), 1);
    const std::string log = readFile(dir.file("rotator.log"));
    ASSERT_NE(log.find("rotation"), std::string::npos) << "nothing was logged at trace level";

    std::map<std::string, std::string> searched = {
        {"the log file", log},
        {"stdout and stderr", output},
        {"the hook's argv", readFile(dir.file("hook/argv.txt"))},
        {"the hook's environment", readFile(dir.file("hook/env.txt"))},
    };
    test::addStateFiles(searched, dir.file("state"));
    test::expectNoSecretIn(searched, secrets);

    // The search itself works: the sink does hold the last secret and token.
    EXPECT_NE(readFile(dir.file("json/app.json")).find(secrets[secrets.size() - 4]),
              std::string::npos);
    EXPECT_NE(readFile(dir.file("token/app.token")).find(secrets.back()), std::string::npos);

    // Nothing left next to any sink: no temp files, no backups; no pending file.
    EXPECT_EQ(listing(dir.file("json")), std::vector<std::string>{"app.json"});
    EXPECT_EQ(listing(dir.file("env")), std::vector<std::string>{"app.env"});
    EXPECT_EQ(listing(dir.file("token")), std::vector<std::string>{"app.token"});
    EXPECT_EQ(listing(dir.file("hook-stdin")), std::vector<std::string>{"app.json"});
    EXPECT_EQ(listing(dir.file("state/pending")), std::vector<std::string>{});

    // The hook ran once per delivery with its configured argv and a minimal environment.
    const std::string argv = readFile(dir.file("hook/argv.txt"));
    EXPECT_NE(argv.find(hook + "\n--target\nprod env\n"), std::string::npos) << argv;
    const std::string hookEnv = readFile(dir.file("hook/env.txt"));
    EXPECT_EQ(hookEnv.find("ASTRA_TOKEN"), std::string::npos) << hookEnv;
    EXPECT_NE(hookEnv.find("ASTRA_CLIENT_ID="), std::string::npos) << hookEnv;
    EXPECT_NE(hookEnv.find("ASTRA_ROTATOR_CREDENTIAL=app"), std::string::npos) << hookEnv;
    EXPECT_EQ(readFile(dir.file("hook-stdin/app.json")), readFile(dir.file("json/app.json")));
}

// The daemon as ops run it: serve with the admin API and JSON logs. It rotates on its own,
// answers the API (including a rotation asked over the API), writes one JSON object per log
// line, and neither the log nor any response carries a secret or token.
namespace
{

/// One request to the admin API on 127.0.0.1:`port` with `bearer` (none when empty): status
/// and body.
std::pair<int, std::string> adminCall(std::uint16_t port, const std::string& method,
                                      const std::string& path, const std::string& bearer)
{
    Poco::Net::HTTPClientSession session("127.0.0.1", port);
    session.setTimeout(Poco::Timespan(5, 0));
    Poco::Net::HTTPRequest request(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
    if (!bearer.empty())
    {
        request.set("Authorization", "Bearer " + bearer);
    }
    request.setContentLength(0);
    session.sendRequest(request);
    Poco::Net::HTTPResponse response;
    std::string body;
    Poco::StreamCopier::copyToString(session.receiveResponse(response), body);
    return {static_cast<int>(response.getStatus()), body};
}

/// Asks the admin API to rotate `credential`. The previous rotation may not be promoted yet
/// (409 until then): retried, bounded.
std::pair<int, std::string> requestRotation(std::uint16_t port, const std::string& credential,
                                            const std::string& bearer)
{
    std::pair<int, std::string> answer;
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    do
    {
        answer = adminCall(port, "POST", "/v1/credentials/" + credential + "/rotate", bearer);
        if (answer.first == 409)
        {
            std::this_thread::sleep_for(20ms);
        }
    } while (answer.first == 409 && std::chrono::steady_clock::now() < deadline);
    return answer;
}

/// The json sink at `path` once it holds a client other than `previous` (any client when
/// empty), waited for at most 20 s while `serve` runs; nullopt otherwise.
std::optional<sink::Credential> awaitDelivery(ChildProcess& serve, const std::string& path,
                                              const std::string& previous = "")
{
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (serve.running() && std::chrono::steady_clock::now() < deadline)
    {
        auto delivered = test::readJsonSink(path);
        if (delivered && delivered->clientId != previous)
        {
            return delivered;
        }
        std::this_thread::sleep_for(20ms);
    }
    return std::nullopt;
}

} // namespace

TEST(RotationProcess, ServeWithTheAdminApiAndJsonLogsLeaksNoSecret)
{
    test::TempDir dir;
    sim::Simulator sim(test::tlsSimulatorOptions());
    writeFile(dir.file("api.token"), "admin-api-bearer-0123456789\n", 0600);
    const std::uint16_t adminPort = freeLoopbackPort();
    const std::string config = writeServeConfig(
        dir, sim,
        "admin.listen = 127.0.0.1:" + std::to_string(adminPort) +
            "\nadmin.tokenFile = " + dir.file("api.token") +
            "\nlog.level = trace\nlog.format = json\nlog.file = " + dir.file("rotator.log") +
            "\n" + appCredential(dir, "1h", "0s"));

    ChildProcess serve({kRotator, "--config=" + config, "serve"}, test::minimalEnvironment());
    const auto first = awaitDelivery(serve, dir.file("out/app.json"));
    ASSERT_TRUE(first.has_value()) << serve.stderrText();

    auto get = [&](const std::string& method, const std::string& path, bool auth)
    { return adminCall(adminPort, method, path, auth ? "admin-api-bearer-0123456789" : ""); };
    std::string responses;
    auto [healthStatus, health] = get("GET", "/healthz", false);
    EXPECT_EQ(healthStatus, 200);
    auto [unauthorized, denied] = get("GET", "/v1/credentials", false);
    EXPECT_EQ(unauthorized, 401);
    const auto [rotateStatus, rotated] =
        requestRotation(adminPort, "app", "admin-api-bearer-0123456789");
    EXPECT_EQ(rotateStatus, 202) << rotated;
    // The API-requested rotation replaces the first client (grace 0s: then revoked).
    const auto second = awaitDelivery(serve, dir.file("out/app.json"), first->clientId);
    ASSERT_TRUE(second && second->clientId != first->clientId) << serve.stderrText();
    for (const auto& path : {"/v1/credentials", "/v1/clients", "/v1/history?limit=50", "/metrics",
                             "/readyz"})
    {
        auto [status, body] = get("GET", path, true);
        EXPECT_EQ(status, 200) << path << ": " << body;
        responses += body;
    }
    EXPECT_NE(responses.find(second->clientId), std::string::npos);
    EXPECT_NE(responses.find("astra_rotator_rotations_total"), std::string::npos);

    serve.signal(SIGTERM);
    const auto exited = serve.waitFor(5s);
    ASSERT_TRUE(exited.has_value());
    EXPECT_TRUE(exited->ok()) << exited->describe();

    const std::string log = readFile(dir.file("rotator.log"));
    std::istringstream lines(log);
    std::string line;
    int objects = 0;
    while (std::getline(lines, line))
    {
        Poco::JSON::Parser parser;
        ASSERT_NO_THROW(parser.parse(line)) << line;
        ++objects;
    }
    EXPECT_GT(objects, 5);
    EXPECT_NE(log.find("\"credential\":\"app\""), std::string::npos);
    const std::string everything = log + responses + serve.stderrText();
    for (const auto& c : {*first, *second})
    {
        EXPECT_EQ(everything.find(c.secret.reveal()), std::string::npos);
        EXPECT_EQ(everything.find(c.token.reveal()), std::string::npos);
        EXPECT_EQ(everything.find(c.token.reveal().substr(33)), std::string::npos);
    }
    EXPECT_EQ(everything.find(sim.adminToken().reveal().substr(33)), std::string::npos);
    EXPECT_EQ(everything.find("admin-api-bearer-0123456789"), std::string::npos);
}

// Issue 13, item 8, against the built daemon: 64 connections that trickle one byte each hold no
// worker thread, so /healthz still answers within a second. The per-address limit is raised so
// that all 64 stay open (with the default 8, each new one would close the oldest).
// A taken admin port is a start-up failure a supervisor may retry (exit 1), not a configuration
// error (78, which the systemd unit does not restart).
TEST(RotationProcess, ServeExitsOneWhenTheAdminPortIsTaken)
{
    test::TempDir dir;
    sim::Simulator sim(test::tlsSimulatorOptions());
    Poco::Net::ServerSocket taken;
    taken.bind(Poco::Net::SocketAddress("127.0.0.1", 0), true, false);
    taken.listen();
    const std::string config = writeServeConfig(
        dir, sim,
        "admin.listen = 127.0.0.1:" + std::to_string(taken.address().port()) + "\n" +
            appCredential(dir, "1h", "0s"));
    const auto result =
        runProcess({kRotator, "--config=" + config, "serve"}, test::minimalEnvironment());
    ASSERT_TRUE(result.status && result.status->exited) << result.describe();
    EXPECT_EQ(result.status->code, 1) << result.describe();
    EXPECT_NE(result.err.find("error: admin.listen: cannot listen on 127.0.0.1:"),
              std::string::npos)
        << result.describe();
    EXPECT_NE(result.err.find("address already in use"), std::string::npos) << result.describe();
}

TEST(RotationProcess, ServeAnswersHealthzWithinASecondWhileSixtyFourClientsTrickle)
{
    test::TempDir dir;
    sim::Simulator sim(test::tlsSimulatorOptions());
    const std::uint16_t adminPort = freeLoopbackPort();
    const std::string config = writeServeConfig(
        dir, sim,
        "admin.listen = 127.0.0.1:" + std::to_string(adminPort) +
            "\nadmin.requestDeadline = 60s\nadmin.maxConnectionsPerAddress = 128\n" +
            appCredential(dir, "1h", "0s"));
    ChildProcess serve({kRotator, "--config=" + config, "serve"}, test::minimalEnvironment());

    const auto healthz = [&]
    {
        Poco::Net::HTTPClientSession session("127.0.0.1", adminPort);
        session.setTimeout(Poco::Timespan(5, 0));
        Poco::Net::HTTPRequest request("GET", "/healthz", Poco::Net::HTTPMessage::HTTP_1_1);
        session.sendRequest(request);
        Poco::Net::HTTPResponse response;
        std::string body;
        Poco::StreamCopier::copyToString(session.receiveResponse(response), body);
        return static_cast<int>(response.getStatus());
    };
    // Up when the admin API answers (nothing to await but the port: poll it, bounded).
    int status = 0;
    const auto upDeadline = std::chrono::steady_clock::now() + 20s;
    while (status != 200 && serve.running() && std::chrono::steady_clock::now() < upDeadline)
    {
        try
        {
            status = healthz();
        }
        catch (const Poco::Exception&)
        {
            std::this_thread::sleep_for(20ms); // not listening yet
        }
    }
    ASSERT_EQ(status, 200) << serve.stderrText();

    std::vector<std::unique_ptr<Poco::Net::StreamSocket>> slow;
    for (int i = 0; i < 64; ++i)
    {
        slow.push_back(std::make_unique<Poco::Net::StreamSocket>(
            Poco::Net::SocketAddress("127.0.0.1", adminPort)));
        slow.back()->sendBytes("G", 1); // and the next byte would come much later
    }
    const auto before = std::chrono::steady_clock::now();
    EXPECT_EQ(healthz(), 200);
    EXPECT_LT(std::chrono::steady_clock::now() - before, 1s) << "/healthz took more than 1 s";
    // /healthz's connection was accepted after the 64, so a refusal of any of them (a 503 or a
    // close) has been written by now: each one is still open with nothing to read.
    int held = 0;
    for (const auto& socket : slow)
    {
        held += socket->poll(Poco::Timespan(0), Poco::Net::Socket::SELECT_READ) ? 0 : 1;
    }
    EXPECT_EQ(held, 64) << "the admin API did not hold all 64 trickling connections";

    serve.signal(SIGTERM);
    const auto exited = serve.waitFor(5s);
    ASSERT_TRUE(exited.has_value()) << "serve did not stop while 64 connections were open";
    EXPECT_TRUE(exited->ok()) << exited->describe();
}

// An idle serve sleeps: once its start-up pass is done, no thread wakes up until something is
// due or the sync interval passes (its SIGHUP watcher once polled five times a second).
TEST(RotationProcess, AnIdleServeDoesNotWakeUp)
{
    test::TempDir dir;
    sim::Simulator sim(test::tlsSimulatorOptions());
    const std::string config = writeServeConfig(
        dir, sim, "log.file = " + dir.file("rotator.log") + "\n" + appCredential(dir, "30d", "1h"));
    ChildProcess serve({kRotator, "--config=" + config, "serve"}, test::minimalEnvironment());
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (readFile(dir.file("rotator.log")).find("pass: 1 rotated") == std::string::npos &&
           std::chrono::steady_clock::now() < deadline && serve.running())
    {
        std::this_thread::sleep_for(20ms);
    }
    ASSERT_NE(readFile(dir.file("rotator.log")).find("pass: 1 rotated"), std::string::npos)
        << serve.stderrText();
    // Voluntary context switches of every thread: each is a thread that blocked and woke again.
    const auto switches = [&] {
        long total = 0;
        for (const auto& task : std::filesystem::directory_iterator(
                 "/proc/" + std::to_string(serve.pid()) + "/task"))
        {
            std::istringstream status(readFile(task.path().string() + "/status"));
            for (std::string line; std::getline(status, line);)
            {
                if (line.rfind("voluntary_ctxt_switches:", 0) == 0)
                {
                    total += std::stol(line.substr(line.find(':') + 1));
                }
            }
        }
        return total;
    };
    const long before = switches();
    // Nothing is due for 30 days and the next sync is 5 minutes away: the absence of wake-ups
    // over this interval is what is measured, there is nothing to await.
    std::this_thread::sleep_for(1500ms);
    const long woken = switches() - before;
    EXPECT_LE(woken, 2) << "an idle serve woke up " << woken << " times in 1.5 s";
    serve.signal(SIGTERM);
    const auto exited = serve.waitFor(5s);
    ASSERT_TRUE(exited.has_value());
    EXPECT_TRUE(exited->ok()) << exited->describe();
}

// logrotate moves the log file away and sends SIGHUP (systemctl reload): serve reopens it.
TEST(RotationProcess, ServeReopensItsLogFileOnSighup)
{
    test::TempDir dir;
    sim::Simulator sim(test::tlsSimulatorOptions());
    const std::string config =
        writeServeConfig(dir, sim, "log.file = " + dir.file("rotator.log") + "\n");
    ChildProcess serve({kRotator, "--config=" + config, "serve"}, test::minimalEnvironment());
    const auto waitForText = [&](const std::string& path, const std::string& text) {
        const auto deadline = std::chrono::steady_clock::now() + 10s;
        while (std::chrono::steady_clock::now() < deadline && serve.running())
        {
            if (readFile(path).find(text) != std::string::npos)
            {
                return true;
            }
            std::this_thread::sleep_for(20ms);
        }
        return false;
    };
    ASSERT_TRUE(waitForText(dir.file("rotator.log"), "serving")) << serve.stderrText();
    std::filesystem::rename(dir.file("rotator.log"), dir.file("rotator.log.1"));
    serve.signal(SIGHUP);
    EXPECT_TRUE(waitForText(dir.file("rotator.log"), "log file reopened")) << serve.stderrText();
    EXPECT_TRUE(serve.running()) << "SIGHUP ended the daemon";
    serve.signal(SIGTERM);
    const auto exited = serve.waitFor(5s);
    ASSERT_TRUE(exited.has_value());
    EXPECT_TRUE(exited->ok()) << exited->describe();
    EXPECT_NE(readFile(dir.file("rotator.log")).find("stopped"), std::string::npos);
    EXPECT_EQ(readFile(dir.file("rotator.log.1")).find("stopped"), std::string::npos);
}

namespace
{

/// One installation of the two-installations test: its own state directory and sinks, the same
/// credential names as the other, the same org and admin token.
struct Installation
{
    std::string name;
    std::string config;
    std::string jsonSink;
    std::string envSink;

    Installation(const test::TempDir& dir, const std::string& n, const SimProcess& sim)
        : name(n), jsonSink(dir.file(n + "/out/app.json")), envSink(dir.file(n + "/out/svc.env"))
    {
        std::filesystem::create_directories(dir.file(n + "/out"));
        writeFile(dir.file(n + ".properties"),
                  "astra.url = https://127.0.0.1:" + std::to_string(sim.port()) +
                      "\nastra.tokenFile = " + sim.tokenFile() +
                      "\nastra.caFile = " + test::sharedTestCerts().caFile +
                      "\nastra.timeout = 5s\nastra.propagationTimeout = 5s\n"
                      "astra.requestsPerSecond = 100\nstate.dir = " +
                      dir.file(n + "/state") +
                      "\nscheduler.retryBackoff = 1s\nscheduler.maxFailures = 100\n"
                      // Due at every run: each one mints, delivers, revokes and confirms.
                      "credentials.app.roles = Database Administrator\n"
                      "credentials.app.maxAge = 1s\ncredentials.app.gracePeriod = 0s\n"
                      "credentials.app.sinks = app-json\n"
                      "credentials.svc.roles = R/W Svc Acct\n"
                      "credentials.svc.maxAge = 1s\ncredentials.svc.gracePeriod = 0s\n"
                      "credentials.svc.sinks = svc-env\n"
                      "sinks.app-json.type = file\nsinks.app-json.path = " +
                      jsonSink +
                      "\nsinks.svc-env.type = file\nsinks.svc-env.format = env\n"
                      "sinks.svc-env.path = " +
                      envSink + "\n");
        config = "--config=" + dir.file(n + ".properties");
    }

    /// The clients of each event kind in this installation's history.
    std::map<std::string, std::set<std::string>> clientsByEvent() const
    {
        const auto history = runProcess({kRotator, config, "history", "--json", "--limit=100000"},
                                        test::minimalEnvironment(), 20s);
        EXPECT_TRUE(history.ok()) << history.describe();
        std::map<std::string, std::set<std::string>> out;
        const auto events = parseObject(history.out)->getArray("events");
        for (unsigned i = 0; i < events->size(); ++i)
        {
            const auto e = events->getObject(i);
            out[stringOf(e, "event")].insert(stringOf(e, "clientId"));
        }
        return out;
    }
};

} // namespace

TEST(RotationProcess, TwoInstallationsOnOneOrgNeverRevokeEachOthersClients)
{
    test::TempDir dir;
    SimProcess sim(dir, {"--latency=20"});
    Installation a(dir, "alpha", sim);
    Installation b(dir, "beta", sim);
    const auto env = test::minimalEnvironment();
    const auto caFile = test::sharedTestCerts().caFile;

    const auto checkSinks = [&](const Installation& i, const std::string& when) {
        SCOPED_TRACE(i.name + " " + when);
        const auto app = test::readJsonSink(i.jsonSink);
        ASSERT_TRUE(app.has_value());
        EXPECT_EQ(test::currentOrgStatus(sim.port(), caFile, app->token.reveal()), 200)
            << "the app sink holds a revoked token";
        const std::string svc = envToken(i.envSink);
        ASSERT_FALSE(svc.empty());
        EXPECT_EQ(test::currentOrgStatus(sim.port(), caFile, svc), 200)
            << "the svc sink holds a revoked token";
    };

    constexpr int kRounds = 8;
    for (int round = 0; round < kRounds; ++round)
    {
        const std::string when = "round " + std::to_string(round);
        // Faults on some rounds: a create whose answer is lost after the server committed it
        // (an orphan to find by its marker), and lists answered 429, each hitting whichever
        // installation asks first.
        if (round % 3 == 1)
        {
            simCall(sim.port(), sim.adminToken(), "POST", "/_sim/faults",
                    R"({"kind":"drop_after_commit","method":"POST",)"
                    R"("path":"/v2/clientIdSecrets","count":1})");
        }
        if (round % 3 == 2)
        {
            simCall(sim.port(), sim.adminToken(), "POST", "/_sim/faults",
                    R"({"kind":"rate_limit","method":"GET","path":"/v2/clientIdSecrets",)"
                    R"("count":2,"retryAfter":1})");
        }
        // Both at once, then in turns (rotate, due or not), so that each lists the other's fresh
        // clients.
        {
            ChildProcess first({kRotator, a.config, "run-once"}, env);
            ChildProcess second({kRotator, b.config, "run-once"}, env);
            for (auto* child : {&first, &second})
            {
                const auto exited = child->waitFor(60s);
                ASSERT_TRUE(exited.has_value()) << when << ": run-once hangs";
                EXPECT_LE(exited->code, 1) << when << ": " << child->stderrText();
            }
        }
        for (const auto* i : {&a, &b})
        {
            for (const char* credential : {"app", "svc"})
            {
                const auto run = runProcess(
                    {kRotator, i->config, "rotate", credential, "--no-grace"}, env, 60s);
                ASSERT_TRUE(run.status.has_value()) << when << ": " << run.describe();
                EXPECT_LE(run.status->code, 1) << when << ": " << run.describe();
            }
        }
        simCall(sim.port(), sim.adminToken(), "DELETE", "/_sim/faults");
        if (round > 0)
        {
            checkSinks(a, when);
            checkSinks(b, when);
        }
    }
    // Without faults each converges: a rotation of each credential, then a clean pass.
    for (const auto* i : {&a, &b})
    {
        for (const char* credential : {"app", "svc"})
        {
            const auto run =
                runProcess({kRotator, i->config, "rotate", credential, "--no-grace"}, env, 60s);
            EXPECT_TRUE(run.ok()) << i->name << ": " << run.describe();
        }
        const auto run = runProcess({kRotator, i->config, "run-once"}, env, 60s);
        EXPECT_TRUE(run.ok()) << i->name << ": " << run.describe();
        checkSinks(*i, "at the end");
    }

    const auto ofA = a.clientsByEvent();
    const auto ofB = b.clientsByEvent();
    const auto revokedBy = [](const std::map<std::string, std::set<std::string>>& events) {
        std::set<std::string> out;
        for (const char* kind : {"revoked", "orphan_revoked"})
        {
            if (const auto it = events.find(kind); it != events.end())
            {
                out.insert(it->second.begin(), it->second.end());
            }
        }
        return out;
    };
    const auto createdBy = [](const std::map<std::string, std::set<std::string>>& events) {
        const auto it = events.find("created");
        return it == events.end() ? std::set<std::string>() : it->second;
    };
    ASSERT_GE(createdBy(ofA).size(), static_cast<std::size_t>(2 * kRounds));
    ASSERT_GE(createdBy(ofB).size(), static_cast<std::size_t>(2 * kRounds));
    for (const auto& id : revokedBy(ofA))
    {
        EXPECT_EQ(createdBy(ofB).count(id), 0u) << "alpha revoked beta's client " << id;
    }
    for (const auto& id : revokedBy(ofB))
    {
        EXPECT_EQ(createdBy(ofA).count(id), 0u) << "beta revoked alpha's client " << id;
    }
    // Each saw the other's clients and left them alone, saying so once per client.
    EXPECT_FALSE(ofA.count("foreign") == 0 || ofA.at("foreign").empty());
    EXPECT_FALSE(ofB.count("foreign") == 0 || ofB.at("foreign").empty());

    // No orphan of either: every client at the simulator is a current client of one of them,
    // or the admin token's own.
    std::set<std::string> accounted = {test::clientIdOfToken(sim.adminToken())};
    for (const auto* i : {&a, &b})
    {
        const auto status = runProcess({kRotator, i->config, "status", "--json"}, env, 20s);
        ASSERT_TRUE(status.ok()) << status.describe();
        const auto root = parseObject(status.out);
        EXPECT_EQ(stringOf(root, "installationId").size(), 16u);
        const auto credentials = root->getArray("credentials");
        for (unsigned k = 0; k < credentials->size(); ++k)
        {
            accounted.insert(stringOf(credentials->getObject(k), "clientId"));
        }
    }
    for (const auto& id : sim.clientIds())
    {
        EXPECT_TRUE(accounted.count(id)) << "orphan " << id;
    }
}

namespace
{

/// How the token files are replaced under a running serve (issue 16, item 2).
enum class Replacement
{
    Rename,      ///< `mv new admin.token`: a new inode under the same name
    SecretVolume ///< Kubernetes: `admin.token -> ..data/admin.token`, `..data` swapped
};

/// Publishes both token files in `dir` as a Kubernetes secret volume's `stamp` directory:
/// written there, then a `..data_tmp` link renamed over `..data` (atomic, as the kubelet does).
void publishVolume(const test::TempDir& dir, const std::string& stamp, const std::string& admin,
                   const std::string& bearer)
{
    ASSERT_EQ(::mkdir(dir.file(stamp).c_str(), 0755), 0);
    writeFile(dir.file(stamp + "/admin.token"), admin + "\n", 0400);
    writeFile(dir.file(stamp + "/api.token"), bearer + "\n", 0400);
    ASSERT_EQ(::symlink(stamp.c_str(), dir.file("..data_tmp").c_str()), 0);
    ASSERT_EQ(std::rename(dir.file("..data_tmp").c_str(), dir.file("..data").c_str()), 0);
}

/// Replaces `dir`/admin.token and `dir`/api.token the way `replacement` says.
void replaceTokenFiles(const test::TempDir& dir, Replacement replacement, const std::string& stamp,
                       const std::string& admin, const std::string& bearer)
{
    if (replacement == Replacement::SecretVolume)
    {
        publishVolume(dir, stamp, admin, bearer);
        return;
    }
    for (const auto& [name, token] : {std::pair{"admin.token", admin}, {"api.token", bearer}})
    {
        writeFile(dir.file("staged"), token + "\n", 0600);
        ASSERT_EQ(std::rename(dir.file("staged").c_str(), dir.file(name).c_str()), 0);
    }
}

void PrintTo(Replacement replacement, std::ostream* out)
{
    *out << (replacement == Replacement::Rename ? "Rename" : "SecretVolume");
}

class TokenFollowProcess : public ::testing::TestWithParam<Replacement>
{
};

} // namespace

// Someone else rotates the admin token (a new admin client, the file replaced, the old client
// revoked) and the admin API's bearer under a running serve: the next pass lists, rotates and
// revokes with the new token, the admin API takes the new bearer, and nothing restarts.
TEST_P(TokenFollowProcess, ServeFollowsTokenFilesReplacedUnderIt)
{
    test::TempDir dir;
    sim::Simulator sim(test::tlsSimulatorOptions());
    const std::string firstBearer = "admin-api-bearer-first-0123456789";
    const std::string secondBearer = "admin-api-bearer-second-9876543210";
    const std::uint16_t adminPort = freeLoopbackPort();
    const std::string config =
        writeServeConfig(dir, sim,
                         "admin.listen = 127.0.0.1:" + std::to_string(adminPort) +
                             "\nadmin.tokenFile = " + dir.file("api.token") +
                             "\nlog.level = debug\nlog.file = " + dir.file("rotator.log") + "\n" +
                             appCredential(dir, "1h", "0s"));
    if (GetParam() == Replacement::SecretVolume)
    {
        ASSERT_EQ(::unlink(dir.file("admin.token").c_str()), 0);
        publishVolume(dir, "..2026_12_03_10_00_00.1", sim.adminToken().reveal(), firstBearer);
        ASSERT_EQ(::symlink("..data/admin.token", dir.file("admin.token").c_str()), 0);
        ASSERT_EQ(::symlink("..data/api.token", dir.file("api.token").c_str()), 0);
    }
    else
    {
        writeFile(dir.file("api.token"), firstBearer + "\n", 0600);
    }

    ChildProcess serve({kRotator, "--config=" + config, "serve"}, test::minimalEnvironment());
    const auto first = awaitDelivery(serve, dir.file("out/app.json"));
    ASSERT_TRUE(first.has_value()) << serve.stderrText();

    const std::string oldAdmin = test::clientIdOfToken(sim.adminToken().reveal());
    sim::ClientSeed seed;
    seed.roles = {"Organization Administrator"};
    const auto newAdmin = sim.createClient(seed);
    replaceTokenFiles(dir, GetParam(), "..2026_12_03_11_00_00.2", newAdmin.token.reveal(),
                      secondBearer);
    ASSERT_TRUE(sim.revokeClient(oldAdmin));

    EXPECT_EQ(adminCall(adminPort, "GET", "/v1/credentials", firstBearer).first, 401);
    const auto rotate = requestRotation(adminPort, "app", secondBearer);
    EXPECT_EQ(rotate.first, 202) << rotate.second;

    // Rotated with the new admin token, and the first client revoked with it (grace 0s).
    const auto second = awaitDelivery(serve, dir.file("out/app.json"), first->clientId);
    ASSERT_TRUE(second.has_value()) << serve.stderrText();
    // The revocation is the rotation's only DELETE; the simulator counts it after its effect.
    ASSERT_TRUE(sim.awaitRequestCount("DELETE", "/v2/clientIdSecrets/{clientId}", 1, 20s))
        << serve.stderrText();
    std::set<std::string> atSim;
    for (const auto& c : sim.clients())
    {
        atSim.insert(c.clientId);
    }
    EXPECT_EQ(atSim, (std::set<std::string>{newAdmin.clientId, second->clientId}));
    EXPECT_EQ(
        test::currentOrgStatus(sim.port(), test::sharedTestCerts().caFile, second->token.reveal()),
        200);
    const auto metrics = adminCall(adminPort, "GET", "/metrics", secondBearer);
    EXPECT_NE(metrics.second.find("astra_rotator_admin_token_valid 1"), std::string::npos)
        << metrics.second;
    ASSERT_TRUE(serve.running());

    serve.signal(SIGTERM);
    const auto exited = serve.waitFor(5s);
    ASSERT_TRUE(exited.has_value());
    EXPECT_TRUE(exited->ok()) << exited->describe();
    const std::string log = readFile(dir.file("rotator.log"));
    EXPECT_NE(log.find("astra.tokenFile: token file " + dir.file("admin.token") + " changed"),
              std::string::npos)
        << log;
    const std::string everything = log + serve.stderrText() + metrics.second;
    for (const auto& token : {sim.adminToken().reveal(), newAdmin.token.reveal()})
    {
        EXPECT_EQ(everything.find(token.substr(33)), std::string::npos);
    }
    EXPECT_EQ(everything.find(newAdmin.secret.reveal()), std::string::npos);
    EXPECT_EQ(everything.find(firstBearer), std::string::npos);
    EXPECT_EQ(everything.find(secondBearer), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(RotationProcess, TokenFollowProcess,
                         ::testing::Values(Replacement::Rename, Replacement::SecretVolume),
                         [](const ::testing::TestParamInfo<Replacement>& p)
                         { return p.param == Replacement::Rename ? "Rename" : "SecretVolume"; });
