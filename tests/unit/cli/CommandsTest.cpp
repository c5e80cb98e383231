#include <sstream>

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <Poco/JSON/Parser.h>
#include <Poco/Util/PropertyFileConfiguration.h>

#include "rotator/app/Commands.h"
#include "rotator/cli/CommandLine.h"
#include "rotator/cli/Commands.h"
#include "rotator/config/SettingsLoader.h"
#include "rotator/core/Errors.h"
#include "rotator/core/Time.h"
#include "rotator/store/SqliteStateStore.h"
#include "support/FakeClock.h"
#include "support/FakeTokenApi.h"
#include "support/ForwardingTokenApi.h"
#include "support/TempDir.h"

using namespace rotator;

namespace
{

constexpr std::int64_t kDay = 86'400'000;

/// A configuration, a fake org and captured output, for running one command at a time.
class CommandsTest : public ::testing::Test
{
protected:
    CommandsTest() : api(clock)
    {
        test::writeFile(dir.file("admin.token"), "AstraCS:admin\n", 0600);
        properties = "astra.url = https://127.0.0.1:1\n"
                     "astra.tokenFile = " + dir.file("admin.token") + "\n"
                     "state.dir = " + dir.file("state") + "\n"
                     "credentials.billing.roles = Database Administrator\n"
                     "credentials.billing.maxAge = 30d\n"
                     "credentials.billing.gracePeriod = 1h\n"
                     "credentials.billing.sinks = billing-file\n"
                     "sinks.billing-file.type = file\n"
                     "sinks.billing-file.path = " + dir.file("billing.json") + "\n";
    }

    config::Settings settings(const std::string& extra = "")
    {
        std::istringstream in(properties + extra);
        Poco::AutoPtr<Poco::Util::PropertyFileConfiguration> cfg(
            new Poco::Util::PropertyFileConfiguration(in));
        return config::loadSettings(*cfg);
    }

    int run(const std::vector<std::string>& args, const std::string& extra = "")
    {
        out.str("");
        err.str("");
        const auto cl = commands.parse(args);
        const auto s = settings(extra);
        cli::Environment env{out, err, clock, [](const char*) -> const char* { return nullptr; },
                             [this](const config::Settings&, core::Secret) {
                                 return std::unique_ptr<api::TokenApi>(
                                     new test::ForwardingTokenApi(api));
                             }};
        return commands.run(cl, s, env);
    }

    const cli::CommandTable commands = app::commandTable();
    test::TempDir dir;
    test::FakeClock clock{1'790'000'000'000};
    test::FakeTokenApi api;
    std::string properties;
    std::ostringstream out;
    std::ostringstream err;
};

Poco::JSON::Object::Ptr parseObject(const std::string& text)
{
    Poco::JSON::Parser parser;
    return parser.parse(text).extract<Poco::JSON::Object::Ptr>();
}

} // namespace

TEST_F(CommandsTest, SyncRecordsTheOrgAndAgesListsItOldestFirst)
{
    const auto old = api.seedClient({api.roles[1].id}, clock.nowMs() - 100 * kDay);
    const auto young = api.seedClient({api.roles[1].id}, clock.nowMs() - 2 * kDay);
    ASSERT_EQ(run({"sync"}), 0) << err.str();
    EXPECT_NE(out.str().find("2 client(s) in the org: 2 discovered"), std::string::npos)
        << out.str();

    ASSERT_EQ(run({"ages"}), 0) << err.str();
    const std::string table = out.str();
    EXPECT_NE(table.find("CLIENT ID"), std::string::npos);
    EXPECT_LT(table.find(old), table.find(young));
    EXPECT_NE(table.find("100d 0h"), std::string::npos) << table;
    EXPECT_NE(table.find("unmanaged"), std::string::npos);
}

TEST_F(CommandsTest, AgesJsonHasTheDocumentedShape)
{
    const auto id = api.seedClient({api.roles[1].id}, clock.nowMs() - 3 * kDay);
    ASSERT_EQ(run({"sync"}), 0);
    ASSERT_EQ(run({"ages", "--json"}), 0);
    const auto root = parseObject(out.str());
    const auto clients = root->getArray("clients");
    ASSERT_EQ(clients->size(), 1u);
    const auto c = clients->getObject(0);
    EXPECT_EQ(c->getValue<std::string>("clientId"), id);
    EXPECT_EQ(c->getValue<std::int64_t>("ageSeconds"), 3 * 86400);
    EXPECT_EQ(c->getValue<std::string>("status"), "unmanaged");
    EXPECT_TRUE(c->isNull("credential"));
    EXPECT_EQ(c->getArray("roles")->getElement<std::string>(0), api.roles[1].id);
}

TEST_F(CommandsTest, AgesOlderThanExitsOneWhenStaleClientsExist)
{
    api.seedClient({api.roles[1].id}, clock.nowMs() - 100 * kDay);
    api.seedClient({api.roles[1].id}, clock.nowMs() - 10 * kDay);
    ASSERT_EQ(run({"sync"}), 0);
    EXPECT_EQ(run({"ages", "--older-than=90d"}), 1);
    const std::string table = out.str();
    EXPECT_EQ(std::count(table.begin(), table.end(), '\n'), 2) << table; // header + one row
    EXPECT_EQ(run({"ages", "--older-than=200d"}), 0);
    EXPECT_NE(out.str().find("no clients"), std::string::npos);
    EXPECT_THROW(run({"ages", "--older-than=ninety"}), core::UsageError);
}

TEST_F(CommandsTest, SyncAdoptsTheConfiguredClientAndStatusShowsIt)
{
    const auto id = api.seedClient({api.roles[1].id}, clock.nowMs() - 10 * kDay);
    const std::string adopt = "credentials.billing.clientId = " + id + "\n";
    ASSERT_EQ(run({"sync"}, adopt), 0) << err.str();
    EXPECT_NE(out.str().find("1 adopted"), std::string::npos);

    ASSERT_EQ(run({"status", "--json"}, adopt), 0);
    const auto cred = parseObject(out.str())->getArray("credentials")->getObject(0);
    EXPECT_EQ(cred->getValue<std::string>("name"), "billing");
    EXPECT_EQ(cred->getValue<std::string>("clientId"), id);
    EXPECT_EQ(cred->getValue<std::int64_t>("ageSeconds"), 10 * 86400);
    EXPECT_EQ(cred->getValue<std::int64_t>("maxAgeSeconds"), 30 * 86400);
    EXPECT_EQ(cred->getValue<std::string>("state"), "idle");
    EXPECT_TRUE(cred->isNull("previousClientId"));
    EXPECT_TRUE(cred->isNull("lastRotation")) << "no rotation happened yet";

    ASSERT_EQ(run({"ages"}, adopt), 0);
    EXPECT_NE(out.str().find("current"), std::string::npos);

    ASSERT_EQ(run({"history", "--credential=billing"}, adopt), 0);
    EXPECT_NE(out.str().find("adopted"), std::string::npos);
}

TEST_F(CommandsTest, SyncWarnsWhenTheConfiguredClientIsNotInTheOrg)
{
    ASSERT_EQ(run({"sync"}, "credentials.billing.clientId = AbCdEfGhIjKlMnOpQrStUvWx\n"), 0);
    EXPECT_NE(err.str().find("AbCdEfGhIjKlMnOpQrStUvWx is not in the org"), std::string::npos);
}

TEST_F(CommandsTest, AFailedListChangesNothing)
{
    api.seedClient({api.roles[1].id}, clock.nowMs() - kDay);
    ASSERT_EQ(run({"sync"}), 0);
    api.failNext(test::FakeTokenApi::Call::List,
                 test::makeTestFailure(core::FailureKind::Permanent,
                                       "malformed API answer: \"clients\" is not an array"));
    EXPECT_EQ(run({"sync"}), 1);
    EXPECT_NE(err.str().find("inventory unchanged"), std::string::npos);
    EXPECT_NE(err.str().find("not an array"), std::string::npos);
    ASSERT_EQ(run({"history", "--json"}), 0);
    const auto events = parseObject(out.str())->getArray("events");
    ASSERT_EQ(events->size(), 1u);
    EXPECT_EQ(events->getObject(0)->getValue<std::string>("event"), "discovered");
}

TEST_F(CommandsTest, HistoryRecordsDisappearanceAndFilters)
{
    const auto a = api.seedClient({api.roles[1].id}, clock.nowMs() - kDay);
    const auto b = api.seedClient({api.roles[1].id}, clock.nowMs() - kDay);
    ASSERT_EQ(run({"sync"}), 0);
    clock.advanceMs(8 * kDay);
    ASSERT_TRUE(api.deleteClient(a));
    ASSERT_EQ(run({"sync"}), 0);
    EXPECT_NE(out.str().find("1 disappeared"), std::string::npos);

    ASSERT_EQ(run({"history", "--client", a, "--json"}), 0);
    auto events = parseObject(out.str())->getArray("events");
    ASSERT_EQ(events->size(), 2u);
    EXPECT_EQ(events->getObject(0)->getValue<std::string>("event"), "disappeared");
    EXPECT_EQ(events->getObject(1)->getValue<std::string>("event"), "discovered");

    ASSERT_EQ(run({"history", "--since=7d", "--json"}), 0);
    events = parseObject(out.str())->getArray("events");
    ASSERT_EQ(events->size(), 1u);

    ASSERT_EQ(run({"history", "--limit=1", "--json"}), 0);
    EXPECT_EQ(parseObject(out.str())->getArray("events")->size(), 1u);
    EXPECT_THROW(run({"history", "--limit=0"}), core::UsageError);

    // --event: repeatable, or a comma-separated list; an unknown kind gets a guess.
    ASSERT_EQ(run({"history", "--event=disappeared", "--json"}), 0);
    events = parseObject(out.str())->getArray("events");
    ASSERT_EQ(events->size(), 1u);
    EXPECT_EQ(events->getObject(0)->getValue<std::string>("clientId"), a);
    ASSERT_EQ(run({"history", "--event=discovered", "--event", "disappeared", "--json"}), 0);
    EXPECT_EQ(parseObject(out.str())->getArray("events")->size(), 3u);
    ASSERT_EQ(run({"history", "--event=discovered,disappeared", "--json"}), 0);
    EXPECT_EQ(parseObject(out.str())->getArray("events")->size(), 3u);
    try
    {
        run({"history", "--event=dicovered"});
        FAIL() << "an unknown event kind was accepted";
    }
    catch (const core::UsageError& e)
    {
        EXPECT_NE(std::string(e.what()).find("no event kind \"dicovered\" (did you mean "
                                             "\"discovered\"?)"),
                  std::string::npos)
            << e.what();
    }

    // The table shows each event to the second.
    ASSERT_EQ(run({"history", "--event=disappeared"}), 0);
    const std::string at = core::formatRfc3339Seconds(clock.nowMs());
    EXPECT_NE(out.str().find(at.substr(0, 10) + " " + at.substr(11, 8) + "  "), std::string::npos)
        << out.str();

    ASSERT_EQ(run({"ages", "--json"}), 0);
    const auto clients = parseObject(out.str())->getArray("clients");
    for (std::size_t i = 0; i < clients->size(); ++i)
    {
        const auto c = clients->getObject(static_cast<unsigned>(i));
        EXPECT_EQ(c->getValue<std::string>("status"),
                  c->getValue<std::string>("clientId") == a ? "missing" : "unmanaged");
    }
    (void)b;
}

TEST_F(CommandsTest, ReadOnlyCommandsDoNotCreateTheDatabase)
{
    EXPECT_THROW(run({"ages"}), core::StoreError);
    EXPECT_THROW(run({"status"}), core::StoreError);
    EXPECT_TRUE(test::readFile(dir.file("state/rotator.db")).empty());
}

TEST_F(CommandsTest, MigrateCreatesAPrivateStateDirectory)
{
    ASSERT_EQ(run({"migrate"}), 0) << err.str();
    struct stat st
    {
    };
    ASSERT_EQ(::stat(dir.file("state").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u);
    ASSERT_EQ(::stat(dir.file("state/rotator.db").c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0077, 0u);
}

TEST_F(CommandsTest, CheckConfigResolvesRoleNamesOrNamesTheKey)
{
    EXPECT_EQ(run({"check-config"}), 0) << err.str();
    EXPECT_NE(out.str().find("configuration OK"), std::string::npos);
    try
    {
        run({"check-config"}, "credentials.billing.roles = Nobody Role\n");
        FAIL() << "expected a ConfigError";
    }
    catch (const core::ConfigError& e)
    {
        EXPECT_EQ(e.key(), "credentials.billing.roles");
        EXPECT_NE(std::string(e.what()).find("Nobody Role"), std::string::npos);
    }
    EXPECT_EQ(run({"check-config", "--offline"}, "credentials.billing.roles = Nobody Role\n"), 0);
}

// Adopting the admin token's own client would rotate (and revoke) the token the rotator uses.
TEST_F(CommandsTest, EveryCommandThatConnectsRefusesACredentialAdoptingTheAdminClient)
{
    api.adminClient = api.seedClient({"Organization Administrator"}, clock.nowMs() - kDay);
    const std::string adopt = "credentials.billing.clientId = " + api.adminClient + "\n";
    for (const std::vector<std::string>& command : {std::vector<std::string>{"check-config"},
                                                    {"check-config", "--offline"},
                                                    {"sync"},
                                                    {"run-once"},
                                                    {"rotate", "billing"},
                                                    {"plan"}})
    {
        try
        {
            run(command, adopt);
            ADD_FAILURE() << command.front() << ": expected a ConfigError";
        }
        catch (const core::ConfigError& e)
        {
            EXPECT_EQ(e.key(), "credentials.billing.clientId");
            const std::string message = e.what();
            EXPECT_NE(message.find("is the admin token's own client"), std::string::npos)
                << message;
            EXPECT_NE(message.find("astra.selfRotation"), std::string::npos) << message;
            EXPECT_NE(message.find("astra.selfRotation.maxAge"), std::string::npos) << message;
        }
    }
    EXPECT_EQ(api.calls(test::FakeTokenApi::Call::Create), 0);
    EXPECT_EQ(api.calls(test::FakeTokenApi::Call::Delete), 0);
    EXPECT_TRUE(api.exists(api.adminClient));
    EXPECT_EQ(run({"check-config"}), 0) << err.str();
}

TEST_F(CommandsTest, CommandsAcceptOnlyTheirOwnOptions)
{
    EXPECT_THROW(commands.parse({"sync", "--json"}), core::UsageError);
    EXPECT_THROW(commands.parse({"ages", "extra"}), core::UsageError);
    EXPECT_THROW(commands.parse({"rotate", "a", "b"}),
                 core::UsageError); // bare `rotate`: see SelfRotationTest
    EXPECT_THROW(commands.parse({"history", "--limit"}), core::UsageError);
    EXPECT_THROW(commands.parse({"--json"}), core::UsageError);
    EXPECT_THROW(commands.parse({}), core::UsageError);
    const auto cl =
        commands.parse({"--config", "/x.properties", "history", "--since", "7d", "--json"});
    EXPECT_EQ(cl.configPath, "/x.properties");
    EXPECT_EQ(cl.command, "history");
    EXPECT_EQ(cl.get("since").value_or(""), "7d");
    EXPECT_TRUE(cl.has("json"));
    EXPECT_EQ(commands.parse({"rotate", "billing", "--no-grace"}).arguments.at(0), "billing");
}

TEST_F(CommandsTest, CheckConfigNamesASinkThatCannotBeWritten)
{
    try
    {
        run({"check-config", "--offline"},
            "sinks.billing-file.path = " + dir.file("missing-dir/billing.json") + "\n");
        FAIL() << "expected a ConfigError";
    }
    catch (const core::ConfigError& e)
    {
        EXPECT_EQ(e.key(), "sinks.billing-file");
        EXPECT_NE(std::string(e.what()).find("missing-dir"), std::string::npos) << e.what();
    }
}

// A secret store is asked only online: --offline checks its keys, not the store.
TEST_F(CommandsTest, CheckConfigOfflineDoesNotContactAStoreSink)
{
    const std::string vault = "sinks.v.type = vault\nsinks.v.address = http://127.0.0.1:1\n"
                              "sinks.v.path = apps/billing\nsinks.v.tokenFile = " +
                              dir.file("no-vault-token") + "\n";
    EXPECT_EQ(run({"check-config", "--offline"}, vault), 0) << err.str();
    try
    {
        run({"check-config"}, vault);
        FAIL() << "expected a ConfigError";
    }
    catch (const core::ConfigError& e)
    {
        EXPECT_EQ(e.key(), "sinks.v");
        EXPECT_NE(std::string(e.what()).find("sinks.v.tokenFile"), std::string::npos) << e.what();
    }
}

TEST_F(CommandsTest, CheckConfigOfflineDoesNotAskASecretStore)
{
    // Nothing listens on port 1: an attempt to reach the store would fail the command.
    EXPECT_EQ(run({"check-config", "--offline"}, "credentials.billing.sinks = sm\n"
                                                 "sinks.sm.type = aws-secretsmanager\n"
                                                 "sinks.sm.region = eu-west-1\n"
                                                 "sinks.sm.secretId = billing\n"
                                                 "sinks.sm.endpoint = https://127.0.0.1:1\n"),
              0)
        << err.str();
}

TEST_F(CommandsTest, StatusShowsTheTimeTheSchedulerWillActOnWindowIncluded)
{
    const auto id = api.seedClient({api.roles[1].id}, clock.nowMs() - 40 * kDay);
    const std::string extra = "credentials.billing.clientId = " + id + "\n" +
                              "credentials.billing.window = Mon 02:00-03:00\n";
    ASSERT_EQ(run({"sync"}, extra), 0);
    ASSERT_EQ(run({"status", "--json"}, extra), 0);
    const auto cred = parseObject(out.str())->getArray("credentials")->getObject(0);
    const auto next = core::parseRfc3339(cred->getValue<std::string>("nextRotationAt"));
    ASSERT_TRUE(next);
    // Overdue since 10 days, but the window holds it to the next Monday 02:00-03:00 UTC.
    EXPECT_GE(next->unixMs(), clock.nowMs());
    EXPECT_LT(next->unixMs(), clock.nowMs() + 7 * kDay + 3'600'000);
    const std::int64_t days = next->unixMs() / kDay;
    EXPECT_EQ((days + 3) % 7, 0) << "not a Monday"; // 1970-01-01 was a Thursday
    const std::int64_t minuteOfDay = (next->unixMs() % kDay) / 60'000;
    EXPECT_GE(minuteOfDay, 120);
    EXPECT_LT(minuteOfDay, 180);
}

TEST_F(CommandsTest, SyncAndCheckConfigWarnWhenTheAdoptedClientHasOtherRoles)
{
    // The adopted client is an Organization Administrator; the credential asks for less.
    const auto id = api.seedClient({api.roles[0].id}, clock.nowMs() - 10 * kDay);
    const std::string adopt = "credentials.billing.clientId = " + id + "\n";
    const std::string warning = "warning: credentials.billing.clientId: the adopted client " + id +
                                " has roles [Organization Administrator] but "
                                "credentials.billing.roles names [Database Administrator]";
    ASSERT_EQ(run({"sync"}, adopt), 0) << err.str();
    EXPECT_NE(err.str().find(warning), std::string::npos) << err.str();
    ASSERT_EQ(run({"check-config"}, adopt), 0) << err.str();
    EXPECT_NE(err.str().find(warning), std::string::npos) << err.str();

    const auto same = api.seedClient({api.roles[1].id}, clock.nowMs() - 10 * kDay);
    ASSERT_EQ(run({"check-config"}, "credentials.billing.clientId = " + same + "\n"), 0);
    EXPECT_EQ(err.str().find("warning"), std::string::npos) << err.str();
}

TEST_F(CommandsTest, StatusNamesTheInstallationAndAgesHidesRevokedClientsGone)
{
    ASSERT_EQ(run({"migrate"}), 0);
    ASSERT_EQ(run({"status", "--json"}), 0);
    const std::string installation =
        parseObject(out.str())->getValue<std::string>("installationId");
    EXPECT_EQ(installation.size(), 16u);
    ASSERT_EQ(run({"status"}), 0);
    EXPECT_EQ(out.str().rfind("installation " + installation + "\n", 0), 0u) << out.str();

    const auto gone = api.seedClient({api.roles[1].id}, clock.nowMs() - kDay);
    ASSERT_EQ(run({"sync"}), 0);
    {
        store::SqliteStateStore store(dir.file("state/rotator.db"));
        ASSERT_TRUE(store.markClientRevoked(gone, clock.nowMs()));
    }
    ASSERT_TRUE(api.deleteClient(gone));
    ASSERT_EQ(run({"sync"}), 0);
    ASSERT_EQ(run({"ages"}), 0);
    EXPECT_EQ(out.str().find(gone), std::string::npos) << out.str();
    ASSERT_EQ(run({"ages", "--all"}), 0);
    EXPECT_NE(out.str().find(gone), std::string::npos) << out.str();
}

// Self-rotation replaces the token file by a rename: a link there (a Kubernetes secret volume's
// file) cannot be, and check-config names astra.tokenFile, the key the user wrote.
TEST_F(CommandsTest, CheckConfigNamesTheTokenFileWhenSelfRotationCannotWriteIt)
{
    test::writeFile(dir.file("real.token"), "AstraCS:admin\n", 0600);
    ASSERT_EQ(::unlink(dir.file("admin.token").c_str()), 0);
    ASSERT_EQ(::symlink("real.token", dir.file("admin.token").c_str()), 0);
    EXPECT_EQ(run({"check-config", "--offline"}), 0) << err.str();
    try
    {
        run({"check-config", "--offline"}, "astra.selfRotation.maxAge = 30d\n");
        FAIL() << "expected a ConfigError";
    }
    catch (const core::ConfigError& e)
    {
        EXPECT_EQ(e.key(), "astra.tokenFile") << e.what();
    }
}

// Self-rotation writes the token file with the mode (owner, group) the file has; check-config
// checks that, not the default 0600. Without root, a setuid bit is a mode the write refuses.
TEST_F(CommandsTest, CheckConfigChecksTheTokenFileWithTheModeItWillBeWrittenWith)
{
    ASSERT_EQ(::chmod(dir.file("admin.token").c_str(), 04600), 0);
    try
    {
        run({"check-config", "--offline"}, "astra.selfRotation.maxAge = 30d\n");
        FAIL() << "expected a ConfigError";
    }
    catch (const core::ConfigError& e)
    {
        EXPECT_EQ(e.key(), "astra.tokenFile") << e.what();
        EXPECT_NE(std::string(e.what()).find("beyond 0777"), std::string::npos) << e.what();
    }
}

// A command run without a daemon queues its notifications (the daemon sends them when it next
// runs); `status` shows the outbox's backlog.
TEST_F(CommandsTest, StatusShowsTheNotificationsACommandQueued)
{
    ASSERT_EQ(run({"migrate"}), 0);
    ASSERT_EQ(run({"status"}), 0);
    EXPECT_EQ(out.str().find("notifications:"), std::string::npos) << out.str();

    const std::string notify = "notify.oncall.type = webhook\n"
                               "notify.oncall.url = https://alerts.example.com/hook\n"
                               "notify.oncall.events = discovered\n";
    api.seedClient({api.roles[1].id}, clock.nowMs() - kDay);
    api.seedClient({api.roles[1].id}, clock.nowMs() - kDay);
    ASSERT_EQ(run({"sync"}, notify), 0) << err.str();
    clock.advanceMs(5 * 60'000);
    ASSERT_EQ(run({"status"}, notify), 0);
    EXPECT_NE(out.str().find("notifications: 2 pending, the oldest queued 5m 0s ago"),
              std::string::npos)
        << out.str();
    ASSERT_EQ(run({"status", "--json"}, notify), 0);
    const auto n = parseObject(out.str())->getObject("notifications");
    ASSERT_TRUE(n);
    EXPECT_EQ(n->getValue<int>("pending"), 2);
    EXPECT_EQ(n->getValue<int>("failed"), 0);
    EXPECT_EQ(n->getValue<int>("oldestPendingSeconds"), 300);
    EXPECT_EQ(n->getValue<std::string>("oldestPendingAt"),
              core::formatRfc3339Seconds(clock.nowMs() - 5 * 60'000));
}
