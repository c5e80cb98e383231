#include "support/RotationHarness.h"

#include <algorithm>
#include <chrono>
#include <filesystem>

#include <gtest/gtest.h>

#include <Poco/AutoPtr.h>
#include <Poco/Util/PropertyFileConfiguration.h>

#include "rotator/app/Commands.h"
#include "rotator/app/Runtime.h"
#include "rotator/cli/CommandLine.h"
#include "rotator/config/SettingsLoader.h"
#include "rotator/store/Database.h"
#include "rotator/store/Statement.h"
#include "support/ForwardingTokenApi.h"
#include "support/SinkProbe.h"
#include "support/TestCerts.h"

namespace rotator::test
{

std::vector<std::string> listing(const std::string& directory)
{
    std::vector<std::string> names;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(directory, ec))
    {
        names.push_back(e.path().filename().string());
    }
    std::sort(names.begin(), names.end());
    return names;
}

std::string integrityCheck(const std::string& databasePath)
{
    store::Database db(databasePath, store::OpenMode::ReadOnly);
    auto statement = db.prepare("PRAGMA integrity_check");
    return statement.step() ? statement.getText(0) : std::string("no row");
}

RotationHarness::~RotationHarness()
{
    _sharedApi.reset();
    // Stop serving before the clocks go: a request still in flight may read `clock`.
    if (simulator)
    {
        simulator->stop();
    }
}

void RotationHarness::startSimulator(bool descriptions)
{
    sim::SimulatorOptions options = tlsSimulatorOptions();
    options.descriptions = descriptions;
    if (simulatorOnFakeClock)
    {
        // Not owned: the harness outlives the simulator (see the destructor).
        options.clock = std::shared_ptr<core::Clock>(std::shared_ptr<void>(), &clock);
    }
    simulator = std::make_unique<sim::Simulator>(options);
    writeFile(dir.file("admin.token"), simulator->adminToken().reveal() + "\n", 0600);
    adminClientId = clientIdOfToken(simulator->adminToken().reveal());
    ASSERT_FALSE(adminClientId.empty());
    std::filesystem::create_directories(dir.file("out"));
}

std::string RotationHarness::configText(const std::string& extra) const
{
    std::string text = "astra.url = https://127.0.0.1:" + std::to_string(simulator->port()) +
                       "\n"
                       "astra.tokenFile = " +
                       dir.file("admin.token") +
                       "\n"
                       "astra.caFile = " +
                       sharedTestCerts().caFile +
                       "\n"
                       "astra.timeout = 5s\n"
                       "astra.maxAttempts = 2\n"
                       "astra.requestsPerSecond = 200\n"
                       "state.dir = " +
                       dir.file("state") +
                       "\n"
                       "scheduler.concurrency = 1\n"
                       "scheduler.retryBackoff = 1m\n"
                       "scheduler.maxFailures = 3\n";
    return text + extra;
}

void RotationHarness::configure(const std::string& extra)
{
    std::istringstream in(configText(extra));
    Poco::AutoPtr<Poco::Util::PropertyFileConfiguration> cfg =
        new Poco::Util::PropertyFileConfiguration(in);
    settings = config::loadSettings(*cfg);
}

std::string RotationHarness::writeConfig(const std::string& extra) const
{
    const std::string path = dir.file("rotator.properties");
    writeFile(path, configText(extra), 0600);
    return path;
}

cli::Environment RotationHarness::environment()
{
    return cli::Environment{
        out, err, *engineClock, [](const char*) -> const char* { return nullptr; },
        [this](const config::Settings& s, core::Secret token)
        {
            const auto connect = [&]
            {
                return cli::makeAstraClient(
                    s, std::move(token), *apiClock,
                    [this](std::string_view method, std::string_view path, int status)
                    {
                        std::lock_guard<std::mutex> lock(_sentMutex);
                        ++_sent[{std::string(method), std::string(path), status}];
                    });
            };
            std::unique_ptr<api::TokenApi> client;
            if (reuseApiClient)
            {
                if (!_sharedApi)
                {
                    _sharedApi = connect();
                }
                client = std::make_unique<ForwardingTokenApi>(*_sharedApi);
            }
            else
            {
                client = connect();
            }
            return wrapApi ? wrapApi(std::move(client)) : std::move(client);
        }};
}

rotation::PassReport RotationHarness::pass()
{
    auto env = environment();
    app::Runtime runtime(settings, env, app::Runtime::Mode::Write);
    return runtime.engine().runPass();
}

int RotationHarness::command(const std::vector<std::string>& args)
{
    const auto commands = app::commandTable();
    const auto commandLine = commands.parse(args);
    auto env = environment();
    return commands.run(commandLine, settings, env);
}

std::unique_ptr<store::SqliteStateStore> RotationHarness::openStore() const
{
    return store::SqliteStateStore::openReadOnly(databasePath());
}

std::string RotationHarness::databasePath() const
{
    return dir.file("state/rotator.db");
}

store::CredentialRow RotationHarness::credential(const std::string& name) const
{
    return openStore()->findCredential(name).value();
}

store::RotationRow RotationHarness::lastRotation(const std::string& name) const
{
    return openStore()->lastRotation(name).value();
}

std::vector<std::string> RotationHarness::events(const std::string& name) const
{
    store::HistoryQuery q;
    q.credential = name;
    q.limit = 1000;
    std::vector<std::string> names;
    for (const auto& e : openStore()->history(q))
    {
        names.insert(names.begin(), e.event);
    }
    return names;
}

std::set<std::string> RotationHarness::simClientIds() const
{
    std::set<std::string> ids;
    for (const auto& c : simulator->clients())
    {
        ids.insert(c.clientId);
    }
    return ids;
}

bool RotationHarness::alive(const std::string& clientId) const
{
    return simClientIds().count(clientId) > 0;
}

std::string RotationHarness::seedClient(std::int64_t ageMs, const std::string& role)
{
    sim::ClientSeed seed;
    seed.roles = {role};
    seed.generatedOnMs = (simulatorOnFakeClock ? clock.nowMs() : realClock.nowMs()) - ageMs;
    return simulator->createClient(seed).clientId;
}

int RotationHarness::tokenStatus(const std::string& token) const
{
    return currentOrgStatus(simulator->port(), sharedTestCerts().caFile, token);
}

sink::Credential RotationHarness::jsonSink(const std::string& path) const
{
    auto c = readJsonSink(path);
    EXPECT_TRUE(c.has_value()) << path << " does not hold the json form";
    return c.value_or(sink::Credential{});
}

std::int64_t RotationHarness::requests(const std::string& method) const
{
    std::int64_t n = 0;
    for (const auto& r : simulator->requestCounts())
    {
        n += r.method == method ? r.count : 0;
    }
    return n;
}

std::int64_t RotationHarness::sent(const std::string& method, const std::string& pathTemplate,
                                   std::optional<int> status) const
{
    std::lock_guard<std::mutex> lock(_sentMutex);
    std::int64_t total = 0;
    for (const auto& [key, n] : _sent)
    {
        const auto& [m, p, s] = key;
        if (m == method && p == pathTemplate && (!status || *status == s))
        {
            total += n;
        }
    }
    return total;
}

void RotationHarness::awaitSimulatorWrites() const
{
    std::map<std::pair<std::string, std::string>, std::int64_t> writes;
    {
        std::lock_guard<std::mutex> lock(_sentMutex);
        for (const auto& [key, n] : _sent)
        {
            const auto& [method, path, status] = key;
            if (method == "POST" || method == "DELETE")
            {
                writes[{method, path}] += n;
            }
        }
    }
    for (const auto& [key, n] : writes)
    {
        EXPECT_TRUE(
            simulator->awaitRequestCount(key.first, key.second, n, std::chrono::seconds(10)))
            << "the simulator handled " << simulator->requestCount(key.first, key.second)
            << " of the " << n << " " << key.first << " " << key.second
            << " requests the rotator sent";
    }
}

} // namespace rotator::test
