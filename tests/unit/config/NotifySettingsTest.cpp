// notify.<name>.*: the webhooks failures are sent to.

#include <gtest/gtest.h>

#include <sstream>

#include <Poco/AutoPtr.h>
#include <Poco/Util/PropertyFileConfiguration.h>

#include "rotator/config/SettingsLoader.h"
#include "rotator/core/Errors.h"

using rotator::config::NotifyFormat;
using rotator::config::Settings;
using rotator::core::ConfigError;

namespace
{

const std::string kCredential = "credentials.billing.roles = Database Administrator\n"
                                "credentials.billing.maxAge = 30d\n"
                                "credentials.billing.gracePeriod = 1h\n"
                                "credentials.billing.sinks = billing-file\n"
                                "sinks.billing-file.type = file\n"
                                "sinks.billing-file.path = /etc/billing/astra.json\n";

Settings load(const std::string& notify)
{
    std::istringstream in(kCredential + notify);
    Poco::AutoPtr<Poco::Util::PropertyFileConfiguration> cfg(
        new Poco::Util::PropertyFileConfiguration(in));
    return rotator::config::loadSettings(*cfg);
}

void expectError(const std::string& notify, const std::string& key, const std::string& fragment)
{
    try
    {
        load(notify);
        ADD_FAILURE() << "no ConfigError; expected one for " << key;
    }
    catch (const ConfigError& e)
    {
        EXPECT_EQ(e.key(), key) << e.what();
        EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos)
            << "\"" << e.what() << "\" lacks \"" << fragment << "\"";
    }
}

const std::string kWebhook = "notify.oncall.type = webhook\n"
                             "notify.oncall.url = https://hooks.example.com/services/T1/B2?x=1\n";

} // namespace

TEST(NotifySettings, AWebhookKeepsItsPathAndQueryAndTellsOfFailuresByDefault)
{
    const Settings s = load(kWebhook);
    ASSERT_EQ(s.notifiers.size(), 1U);
    const auto& n = s.notifiers.front();
    EXPECT_EQ(n.name, "oncall");
    EXPECT_EQ(n.url, "https://hooks.example.com/services/T1/B2?x=1");
    EXPECT_EQ(n.format, NotifyFormat::Json);
    EXPECT_EQ(n.events,
              (std::vector<std::string>{"failed", "quarantined", "rolled_back", "unattributed",
                                        "foreign", "admin_token_invalid"}));
    EXPECT_TRUE(n.tokenFile.empty());
    EXPECT_EQ(n.timeoutMs, 10'000);
}

TEST(NotifySettings, EveryKeyIsRead)
{
    const Settings s = load(kWebhook + "notify.oncall.events = quarantined, foreign\n"
                                       "notify.oncall.format = slack\n"
                                       "notify.oncall.tokenFile = /etc/rotator/hook.token\n"
                                       "notify.oncall.caFile = /etc/rotator/ca.pem\n"
                                       "notify.oncall.timeout = 3s\n"
                                       "notify.local.type = webhook\n"
                                       "notify.local.url = http://127.0.0.1:9000\n");
    ASSERT_EQ(s.notifiers.size(), 2U);
    EXPECT_EQ(s.notifiers[0].name, "local"); // sorted by name
    EXPECT_EQ(s.notifiers[0].url, "http://127.0.0.1:9000/");
    const auto& n = s.notifiers[1];
    EXPECT_EQ(n.events, (std::vector<std::string>{"quarantined", "foreign"}));
    EXPECT_EQ(n.format, NotifyFormat::Slack);
    EXPECT_EQ(n.tokenFile, "/etc/rotator/hook.token");
    EXPECT_EQ(n.caFile, "/etc/rotator/ca.pem");
    EXPECT_EQ(n.timeoutMs, 3000);
}

TEST(NotifySettings, RefusesWhatCannotWork)
{
    expectError("notify.oncall.type = webhook\n", "notify.oncall.url", "missing");
    expectError("notify.oncall.url = https://h.example.com/x\n", "notify.oncall.type", "missing");
    expectError(kWebhook + "notify.oncall.type = email\n", "notify.oncall.type", "webhook");
    expectError(kWebhook + "notify.oncall.url = http://hooks.example.com/x\n", "notify.oncall.url",
                "plain http is allowed only for loopback hosts");
    expectError(kWebhook + "notify.oncall.url = https://user:pw@hooks.example.com/x\n",
                "notify.oncall.url", "user information");
    expectError(kWebhook + "notify.oncall.url = https://hooks.example.com/x#frag\n",
                "notify.oncall.url", "no fragment");
    expectError(kWebhook + "notify.oncall.url = ftp://hooks.example.com/x\n", "notify.oncall.url",
                "https://HOST[:PORT]/PATH");
    expectError(kWebhook + "notify.oncall.format = xml\n", "notify.oncall.format", "json, slack");
    expectError(kWebhook + "notify.oncall.tokenFile = hook.token\n", "notify.oncall.tokenFile",
                "absolute");
    expectError(kWebhook + "notify.oncall.events = failed, failed\n", "notify.oncall.events",
                "twice");
}

TEST(NotifySettings, UnknownKeysAndEventsGetADidYouMean)
{
    expectError(kWebhook + "notify.oncall.evnets = failed\n", "notify.oncall.evnets", "events");
    expectError(kWebhook + "notify.oncall.events = quarantine\n", "notify.oncall.events",
                "did you mean \"quarantined\"");
    expectError(kWebhook + "notify.oncall.events = rollback\n", "notify.oncall.events",
                "rolled_back");
    expectError("notfy.oncall.type = webhook\n", "notfy.oncall.type", "did you mean notify?");
}

TEST(NotifySettings, TheAstraUrlStillRefusesAPath)
{
    // serviceUrl and webhookUrl share their checks; only the webhook keeps a path.
    expectError("astra.url = https://api.astra.datastax.com/v2\n", "astra.url", "no path allowed");
    expectError("astra.url = https://api.astra.datastax.com?x=1\n", "astra.url", "no query");
}
