// Answers no honest DevOps API would give: each is refused with a clear message, and nothing
// changes (inventory, credentials, sinks, the org).

#include <sstream>

#include <gtest/gtest.h>

#include <Poco/AutoPtr.h>
#include <Poco/Util/PropertyFileConfiguration.h>

#include "rotator/app/Commands.h"
#include "rotator/cli/CommandLine.h"
#include "rotator/cli/Commands.h"
#include "rotator/config/SettingsLoader.h"
#include "rotator/core/Time.h"
#include "rotator/core/Token.h"
#include "rotator/store/SqliteStateStore.h"
#include "support/ScriptedServer.h"
#include "support/TempDir.h"

using namespace rotator;

namespace
{

const std::string kOld = "AbCdEfGhIjKlMnOpQrStUvWx";
const std::string kRole = "b4ed0e9b-1f4b-4c8a-8a71-6a7c9e1d2f30";
const std::string kOrg = "0d4c1c2e-5a4f-4b0a-9a57-3f1c7d2b9e10";

std::string clientJson(const std::string& id, const std::string& generatedOn)
{
    return R"({"clientId":")" + id + R"(","roles":[")" + kRole + R"("],"generatedOn":")" +
           generatedOn + "\"}";
}

std::string listJson(const std::vector<std::string>& clients)
{
    std::string out = R"({"clients":[)";
    for (std::size_t i = 0; i < clients.size(); ++i)
    {
        out += (i ? "," : "") + clients[i];
    }
    return out + "]}";
}

const std::string kRoles =
    R"([{"ID":")" + kRole + R"(","Name":"Database Administrator","Type":"default"}])";

/// A configuration for one credential with one file sink, pointed at a scripted server.
class HostileApi : public ::testing::Test
{
protected:
    void configure(const std::string& url)
    {
        test::writeFile(dir.file("admin.token"),
                        "AstraCS:AdminAdminAdminAdminAdmin:" + std::string(64, 'a') + "\n", 0600);
        ::mkdir(dir.file("out").c_str(), 0700);
        std::istringstream in("astra.url = " + url + "\n"
                              "astra.tokenFile = " + dir.file("admin.token") + "\n"
                              "astra.timeout = 5s\n"
                              "astra.maxAttempts = 1\n"
                              "astra.propagationTimeout = 0s\n"
                              "state.dir = " + dir.file("state") + "\n"
                              "credentials.billing.roles = Database Administrator\n"
                              "credentials.billing.maxAge = 30d\n"
                              "credentials.billing.gracePeriod = 1h\n"
                              "credentials.billing.clientId = " + kOld + "\n"
                              "credentials.billing.sinks = file\n"
                              "sinks.file.type = file\n"
                              "sinks.file.path = " + dir.file("out/billing.json") + "\n");
        Poco::AutoPtr<Poco::Util::PropertyFileConfiguration> cfg(
            new Poco::Util::PropertyFileConfiguration(in));
        settings = config::loadSettings(*cfg);
    }

    int run(const std::vector<std::string>& args)
    {
        out.str("");
        err.str("");
        cli::Environment env{out, err, clock, [](const char*) -> const char* { return nullptr; },
                             [this](const config::Settings& s, core::Secret token) {
                                 return cli::makeAstraClient(s, std::move(token), clock);
                             }};
        const auto commands = app::commandTable();
        return commands.run(commands.parse(args), settings, env);
    }

    std::vector<store::EventRow> history()
    {
        return store::SqliteStateStore::openReadOnly(dir.file("state/rotator.db"))->history({});
    }

    test::TempDir dir;
    core::SystemClock clock;
    config::Settings settings;
    std::ostringstream out;
    std::ostringstream err;
};

} // namespace

TEST_F(HostileApi, AHundredMegabyteListIsRefusedAndChangesNothing)
{
    test::ScriptedServer server([](const std::string&, const std::string&, const std::string&) {
        test::ScriptedAnswer a;
        a.body = R"({"clients":[)" + std::string(8192, ' ');
        a.streamBytes = 100u * 1024 * 1024;
        return a;
    });
    configure(server.url());
    ASSERT_EQ(run({"migrate"}), 0);
    EXPECT_EQ(run({"sync"}), 1);
    EXPECT_NE(err.str().find("answer larger than 16 MiB"), std::string::npos) << err.str();
    EXPECT_TRUE(history().empty());
}

TEST_F(HostileApi, DeeplyNestedOrMistypedListsAreRefusedAndChangeNothing)
{
    std::string answer;
    test::ScriptedServer server([&](const std::string&, const std::string&, const std::string&) {
        test::ScriptedAnswer a;
        a.body = answer;
        return a;
    });
    configure(server.url());
    ASSERT_EQ(run({"migrate"}), 0);
    for (const std::string& body :
         {R"({"clients":)" + std::string(100000, '[') + std::string(100000, ']') + "}",
          std::string(R"({"clients":[{"clientId":12,"roles":[],"generatedOn":"x"}]})"),
          std::string(R"({"clients":"everything"})"),
          std::string(R"({"clients":[{"clientId":"AbCdEfGhIjKlMnOpQrStUvWx","roles":"admin",)"
                      R"("generatedOn":"2026-01-01T00:00:00Z"}]})")})
    {
        answer = body;
        EXPECT_EQ(run({"sync"}), 1);
        EXPECT_NE(err.str().find("malformed API answer"), std::string::npos) << err.str();
        EXPECT_NE(err.str().find("inventory unchanged"), std::string::npos);
        EXPECT_TRUE(history().empty());
    }
}

TEST_F(HostileApi, ACreateAnswerThatFailsItsSelfCheckIsRevokedAndNeverDelivered)
{
    const std::string created = "ZyXwVuTsRqPoNmLkJiHgFeDc";
    std::mutex m;
    bool minted = false;
    bool deleted = false;
    test::ScriptedServer server([&](const std::string& method, const std::string& path,
                                    const std::string&) {
        std::lock_guard<std::mutex> lock(m);
        test::ScriptedAnswer a;
        if (path == "/v2/organizations/roles")
        {
            a.body = kRoles;
        }
        else if (method == "GET" && path == "/v2/clientIdSecrets")
        {
            std::vector<std::string> clients = {clientJson(kOld, "2020-01-01T00:00:00.000Z")};
            if (minted && !deleted)
            {
                clients.push_back(clientJson(created, core::formatRfc3339Ms(
                                                          core::SystemClock().nowMs())));
            }
            a.body = listJson(clients);
        }
        else if (method == "POST")
        {
            minted = true;
            // A token that is not AstraCS:<clientId>:<sha256(secret)>.
            a.body = R"({"clientId":")" + created +
                     R"(","secret":"s3cr3t-value","orgId":")" + kOrg + R"(","roles":[")" +
                     kRole + R"("],"token":"AstraCS:)" + created + ":" + std::string(64, 'f') +
                     R"(","generatedOn":"2026-11-28T00:00:00.123456789Z"})";
        }
        else if (method == "DELETE" && path == "/v2/clientIdSecrets/" + created)
        {
            deleted = true;
            a.status = 204;
        }
        else
        {
            a.status = 404;
            a.body = R"({"errors":[{"ID":404,"message":"unexpected"}]})";
        }
        return a;
    });
    configure(server.url());
    EXPECT_EQ(run({"run-once"}), 1);
    EXPECT_TRUE(deleted) << "the client of a bad create answer was left alive";
    EXPECT_TRUE(test::readFile(dir.file("out/billing.json")).empty());
    const auto requests = server.requests();
    EXPECT_EQ(std::count(requests.begin(), requests.end(), "DELETE /v2/clientIdSecrets/" + kOld),
              0)
        << "the old client was revoked";
    const auto events = history();
    const bool selfCheckNamed =
        std::any_of(events.begin(), events.end(), [](const store::EventRow& e) {
            return e.detail.find("self-check") != std::string::npos;
        });
    EXPECT_TRUE(selfCheckNamed);
    for (const auto& e : events)
    {
        EXPECT_EQ(e.detail.find("s3cr3t-value"), std::string::npos);
    }
    EXPECT_EQ(err.str().find("s3cr3t-value"), std::string::npos);
}

TEST_F(HostileApi, AClientIdThatChangesCaseIsANewClientAndNothingIsRevoked)
{
    std::string listed = kOld;
    test::ScriptedServer server([&](const std::string& method, const std::string& path,
                                    const std::string&) {
        test::ScriptedAnswer a;
        if (method == "GET" && path == "/v2/clientIdSecrets")
        {
            a.body = listJson({clientJson(listed, "2026-11-20T00:00:00.000Z")});
        }
        else if (path == "/v2/organizations/roles")
        {
            a.body = kRoles;
        }
        else
        {
            a.status = 503; // no create, no delete may succeed here
            a.body = R"({"errors":[{"ID":503,"message":"unavailable"}]})";
        }
        return a;
    });
    configure(server.url());
    ASSERT_EQ(run({"sync"}), 0) << err.str();
    listed = "abCdEfGhIjKlMnOpQrStUvWx"; // the same letters, another case
    ASSERT_EQ(run({"sync"}), 0) << err.str();
    const auto events = history();
    auto has = [&](const std::string& id, const std::string& event) {
        return std::any_of(events.begin(), events.end(), [&](const store::EventRow& e) {
            return e.clientId == id && e.event == event;
        });
    };
    EXPECT_TRUE(has("abCdEfGhIjKlMnOpQrStUvWx", "discovered"));
    EXPECT_TRUE(has(kOld, "disappeared"));
    for (const auto& r : server.requests())
    {
        EXPECT_EQ(r.rfind("DELETE", 0), std::string::npos) << r;
    }
    const auto store = store::SqliteStateStore::openReadOnly(dir.file("state/rotator.db"));
    EXPECT_EQ(store->findClient("abCdEfGhIjKlMnOpQrStUvWx")->status, "unmanaged");
    EXPECT_EQ(store->findCredential("billing")->currentClientId, kOld);
}
