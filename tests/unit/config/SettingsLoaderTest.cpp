#include <gtest/gtest.h>

#include "rotator/config/SettingsLoader.h"
#include "rotator/core/Errors.h"
#include "support/TempDir.h"

#include <Poco/AutoPtr.h>
#include <Poco/Util/LayeredConfiguration.h>
#include <Poco/Util/MapConfiguration.h>
#include <Poco/Util/PropertyFileConfiguration.h>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <sstream>

using rotator::config::LogFormat;
using rotator::config::Settings;
using rotator::config::SinkFormat;
using rotator::config::SinkType;
using rotator::core::ConfigError;

namespace
{

/// One credential with one file sink: the smallest configuration without warnings.
const std::string kMinimal = "credentials.billing.roles = Database Administrator\n"
                             "credentials.billing.maxAge = 30d\n"
                             "credentials.billing.gracePeriod = 1h\n"
                             "credentials.billing.sinks = billing-file\n"
                             "sinks.billing-file.type = file\n"
                             "sinks.billing-file.path = /etc/billing/astra.json\n";

Settings load(const std::string& properties)
{
    std::istringstream in(properties);
    Poco::AutoPtr<Poco::Util::PropertyFileConfiguration> cfg(
        new Poco::Util::PropertyFileConfiguration(in));
    return rotator::config::loadSettings(*cfg);
}

/// Loads `properties`, expects a ConfigError naming `key` whose message contains `fragment`.
void expectError(const std::string& properties, const std::string& key, const std::string& fragment)
{
    try
    {
        load(properties);
        ADD_FAILURE() << "no ConfigError; expected one for " << key;
    }
    catch (const ConfigError& e)
    {
        EXPECT_EQ(e.key(), key) << e.what();
        EXPECT_NE(std::string(e.what()).find(key + ": "), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos)
            << "\"" << e.what() << "\" lacks \"" << fragment << "\"";
    }
}

/// kMinimal with one extra or replacing line (a later line wins in a property file).
std::string with(const std::string& lines)
{
    return kMinimal + lines + "\n";
}

bool hasWarning(const Settings& settings, const std::string& fragment)
{
    return std::any_of(settings.warnings.begin(), settings.warnings.end(),
                       [&](const std::string& w) { return w.find(fragment) != std::string::npos; });
}

} // namespace

// --- defaults and happy paths -------------------------------------------------------------------

TEST(SettingsLoader, FillsEveryDefaultFromAnEmptyConfiguration)
{
    const Settings s = load("");
    EXPECT_EQ(s.astra.url, "https://api.astra.datastax.com");
    EXPECT_EQ(s.astra.tokenFile, "");
    EXPECT_EQ(s.astra.timeoutMs, 20'000);
    EXPECT_EQ(s.astra.requestDeadlineMs, 120'000);
    EXPECT_EQ(s.astra.maxAttempts, 5);
    EXPECT_DOUBLE_EQ(s.astra.requestsPerSecond, 10.0);
    EXPECT_TRUE(s.astra.describeTokens);
    EXPECT_EQ(s.astra.propagationTimeoutMs, 30'000);
    EXPECT_EQ(s.state.dir, "/var/lib/astra-rotator");
    EXPECT_EQ(s.scheduler.syncIntervalMs, 300'000);
    EXPECT_EQ(s.scheduler.concurrency, 4);
    EXPECT_EQ(s.scheduler.retryBackoffMs, 60'000);
    EXPECT_EQ(s.scheduler.maxFailures, 5);
    EXPECT_EQ(s.admin.listen, "");
    EXPECT_EQ(s.log.level, "information");
    EXPECT_EQ(s.log.format, LogFormat::Text);
    EXPECT_TRUE(s.credentials.empty());
    EXPECT_TRUE(s.sinks.empty());
    EXPECT_TRUE(hasWarning(s, "credentials: none configured"));
}

TEST(SettingsLoader, LoadsAMinimalCredentialWithDefaultsAndNoWarning)
{
    const Settings s = load(kMinimal);
    ASSERT_EQ(s.credentials.size(), 1U);
    const auto& c = s.credentials[0];
    EXPECT_EQ(c.name, "billing");
    EXPECT_EQ(c.roles, std::vector<std::string>{"Database Administrator"});
    EXPECT_EQ(c.maxAgeMs, 30LL * 86'400'000);
    EXPECT_EQ(c.gracePeriodMs, 3'600'000);
    EXPECT_EQ(c.sinks, std::vector<std::string>{"billing-file"});
    EXPECT_EQ(c.clientId, "");
    EXPECT_FALSE(c.window.has_value());
    EXPECT_EQ(c.jitterMs, 0);
    EXPECT_FALSE(c.expiryMs.has_value());
    EXPECT_TRUE(c.verify);
    ASSERT_EQ(s.sinks.size(), 1U);
    EXPECT_EQ(s.sinks[0].type, SinkType::File);
    EXPECT_EQ(s.sinks[0].format, SinkFormat::Json);
    EXPECT_EQ(s.sinks[0].mode, 0600U);
    EXPECT_TRUE(s.warnings.empty()) << s.warnings.front();
}

TEST(SettingsLoader, TreatsAnEmptyValueAsUnset)
{
    const Settings s = load(with("astra.timeout =\nadmin.listen =\ncredentials.billing.window ="));
    EXPECT_EQ(s.astra.timeoutMs, 20'000);
    EXPECT_EQ(s.admin.listen, "");
    EXPECT_FALSE(s.credentials[0].window.has_value());
}

TEST(SettingsLoader, ReadsEveryTypedValue)
{
    const Settings s = load(with("astra.url = http://127.0.0.1:8443/\n"
                                 "astra.timeout = 1m30s\n"
                                 "astra.requestDeadline = 5m\n"
                                 "astra.maxAttempts = 20\n"
                                 "astra.requestsPerSecond = 0.5\n"
                                 "astra.describeTokens = off\n"
                                 "astra.propagationTimeout = 0s\n"
                                 "scheduler.concurrency = 64\n"
                                 "scheduler.maxFailures = 1\n"
                                 "admin.listen = [::1]:0\n"
                                 "log.level = Debug\n"
                                 "log.format = json\n"
                                 "credentials.billing.roles = a , b,c\n"
                                 "credentials.billing.verify = no\n"
                                 "credentials.billing.clientId = AbCdEfGhIjKlMnOpQrStUvWx\n"
                                 "credentials.billing.expiry = 45d\n"
                                 "credentials.billing.jitter = 2h"));
    EXPECT_EQ(s.astra.url, "http://127.0.0.1:8443");
    EXPECT_EQ(s.astra.timeoutMs, 90'000);
    EXPECT_EQ(s.astra.requestDeadlineMs, 300'000);
    EXPECT_EQ(s.astra.maxAttempts, 20);
    EXPECT_DOUBLE_EQ(s.astra.requestsPerSecond, 0.5);
    EXPECT_FALSE(s.astra.describeTokens);
    EXPECT_EQ(s.astra.propagationTimeoutMs, 0);
    EXPECT_EQ(s.scheduler.concurrency, 64);
    EXPECT_EQ(s.scheduler.maxFailures, 1);
    EXPECT_EQ(s.admin.host, "::1");
    EXPECT_EQ(s.admin.port, 0);
    EXPECT_EQ(s.log.level, "debug");
    EXPECT_EQ(s.log.format, LogFormat::Json);
    const auto& c = s.credentials[0];
    EXPECT_EQ(c.roles, (std::vector<std::string>{"a", "b", "c"}));
    EXPECT_FALSE(c.verify);
    EXPECT_EQ(c.clientId, "AbCdEfGhIjKlMnOpQrStUvWx");
    EXPECT_EQ(c.expiryMs, 45LL * 86'400'000);
    EXPECT_EQ(c.jitterMs, 2 * 3'600'000);
}

TEST(SettingsLoader, AcceptsEveryBooleanSpelling)
{
    for (const char* yes : {"true", "yes", "on", "1", "TRUE", "Yes"})
    {
        EXPECT_TRUE(load(std::string("astra.describeTokens = ") + yes).astra.describeTokens);
    }
    for (const char* no : {"false", "no", "off", "0", "False"})
    {
        EXPECT_FALSE(load(std::string("astra.describeTokens = ") + no).astra.describeTokens);
    }
}

TEST(SettingsLoader, SortsCredentialsAndSinksByNameAndAllowsDotsInNames)
{
    const Settings s = load(with("credentials.alpha.v2.roles = R\n"
                                 "credentials.alpha.v2.maxAge = 1d\n"
                                 "credentials.alpha.v2.gracePeriod = 0s\n"
                                 "credentials.alpha.v2.sinks = a-hook\n"
                                 "sinks.a-hook.type = exec\n"
                                 "sinks.a-hook.command = /bin/true"));
    ASSERT_EQ(s.credentials.size(), 2U);
    EXPECT_EQ(s.credentials[0].name, "alpha.v2");
    EXPECT_EQ(s.credentials[1].name, "billing");
    ASSERT_EQ(s.sinks.size(), 2U);
    EXPECT_EQ(s.sinks[0].name, "a-hook");
    EXPECT_EQ(s.sinks[0].type, SinkType::Exec);
    EXPECT_EQ(s.sinks[0].timeoutMs, 30'000);
    EXPECT_NE(s.findCredential("alpha.v2"), nullptr);
}

TEST(SettingsLoader, ReadsWhereAnExecSinksOutputIsLogged)
{
    const std::string hook = "credentials.alpha.roles = R\ncredentials.alpha.maxAge = 1d\n"
                             "credentials.alpha.gracePeriod = 0s\ncredentials.alpha.sinks = h\n"
                             "sinks.h.type = exec\nsinks.h.command = /bin/true\n";
    EXPECT_EQ(load(with(hook)).findSink("h")->logOutput, rotator::config::HookOutputLog::Debug);
    EXPECT_EQ(load(with(hook + "sinks.h.logOutput = information")).findSink("h")->logOutput,
              rotator::config::HookOutputLog::Information);
    EXPECT_EQ(load(with(hook + "sinks.h.logOutput = none")).findSink("h")->logOutput,
              rotator::config::HookOutputLog::None);
    expectError(with(hook + "sinks.h.logOutput = warning"), "sinks.h.logOutput", "warning");
}

TEST(SettingsLoader, ReadsTheUserAndGroupAnExecSinkRunsAs)
{
    const Settings s = load(with("credentials.billing.sinks = h\nsinks.h.type = exec\n"
                                 "sinks.h.command = /bin/true\nsinks.h.user = app\n"
                                 "sinks.h.group = apps"));
    EXPECT_EQ(s.findSink("h")->user, "app");
    EXPECT_EQ(s.findSink("h")->group, "apps");
    expectError(with("credentials.billing.sinks = f\nsinks.f.type = file\n"
                     "sinks.f.path = /tmp/x.json\nsinks.f.user = app"),
                "sinks.f.user", "only for exec sinks");
}

TEST(SettingsLoader, IgnoresTheSectionsOfAPocoApplication)
{
    Poco::AutoPtr<Poco::Util::MapConfiguration> app(new Poco::Util::MapConfiguration);
    app->setString("application.name", "astra-rotator");
    app->setString("system.osName", "Linux");
    app->setString("logging.loggers.root.level", "debug");
    app->setString("anything.else", "x");
    app->setString("log.level", "debug");
    Poco::AutoPtr<Poco::Util::LayeredConfiguration> layered(new Poco::Util::LayeredConfiguration);
    layered->add(app);
    EXPECT_EQ(rotator::config::loadSettings(*layered).log.level, "debug");
}

// --- unknown keys -------------------------------------------------------------------------------

TEST(SettingsLoader, RejectsAnUnknownKeyAndSuggestsTheClosestOne)
{
    expectError(with("credentials.billing.maxage = 30d"), "credentials.billing.maxage",
                "did you mean credentials.billing.maxAge?");
    expectError("astra.tokenfile = /x", "astra.tokenfile", "did you mean astra.tokenFile?");
    expectError("scheduler.syncIntervall = 5m", "scheduler.syncIntervall",
                "did you mean scheduler.syncInterval?");
    expectError(with("sinks.billing-file.mdoe = 0600"), "sinks.billing-file.mdoe",
                "did you mean sinks.billing-file.mode?");
    expectError("astra.syncInterval = 5m", "astra.syncInterval",
                "did you mean scheduler.syncInterval?");
}

TEST(SettingsLoader, ListsTheKnownKeysWhenNothingIsClose)
{
    expectError("astra.password = x", "astra.password", "known keys under astra.*: url, tokenFile");
    expectError(with("credentials.billing.owner = me"), "credentials.billing.owner",
                "known keys under credentials.billing.*: roles, maxAge");
}

TEST(SettingsLoader, RejectsASectionNameThatIsATypoOfOurs)
{
    expectError(with("credential.billing.maxAge = 1d"), "credential.billing.maxAge",
                "did you mean credentials?");
    expectError("Astra.url = https://x.example", "Astra.url", "did you mean astra?");
}

TEST(SettingsLoader, RejectsACredentialKeyWithoutAName)
{
    expectError("credentials.maxAge = 30d", "credentials.maxAge",
                "expected credentials.<name>.<setting>");
}

TEST(SettingsLoader, RejectsAnInvalidCredentialOrSinkName)
{
    expectError("credentials.-billing.roles = R", "credentials.-billing.roles",
                "invalid credential name \"-billing\"");
    expectError("sinks.my sink.type = file", "sinks.my sink.type", "invalid sink name");
}

// --- value syntax -------------------------------------------------------------------------------

TEST(SettingsLoader, RejectsAnInvalidDurationWithTheAcceptedForms)
{
    try
    {
        load(with("credentials.billing.maxAge = 30days"));
        FAIL() << "no ConfigError";
    }
    catch (const ConfigError& e)
    {
        EXPECT_EQ(e.key(), "credentials.billing.maxAge");
        EXPECT_STREQ(e.what(), "credentials.billing.maxAge: invalid duration \"30days\" "
                               "(use 45s, 15m, 12h, 30d)");
    }
    expectError("astra.timeout = 20", "astra.timeout", "invalid duration \"20\"");
    expectError("astra.propagationTimeout = -1s", "astra.propagationTimeout", "invalid duration");
}

TEST(SettingsLoader, ExplainsThatPropertyFilesHaveNoTrailingComments)
{
    expectError("astra.timeout = 20s   # per request", "astra.timeout",
                "comments must be on their own line");
}

TEST(SettingsLoader, ParsesIntegersStrictly)
{
    for (const char* bad : {"5x", "0x10", "+5", "5.0", "five", "1e1"})
    {
        expectError(std::string("astra.maxAttempts = ") + bad, "astra.maxAttempts",
                    "invalid integer");
    }
}

TEST(SettingsLoader, RejectsAnInvalidBoolean)
{
    expectError("astra.describeTokens = maybe", "astra.describeTokens",
                "invalid boolean \"maybe\"");
    expectError(with("credentials.billing.verify = enabled"), "credentials.billing.verify",
                "invalid boolean");
}

TEST(SettingsLoader, RejectsAnInvalidLogLevelOrFormat)
{
    expectError("log.level = info", "log.level", "use fatal, critical");
    expectError("log.format = xml", "log.format", "use text, json");
}

// --- ranges -------------------------------------------------------------------------------------

TEST(SettingsLoader, EnforcesTheAstraRanges)
{
    expectError("astra.timeout = 0s", "astra.timeout", "longer than 0s");
    expectError("astra.maxAttempts = 0", "astra.maxAttempts", "between 1 and 20");
    expectError("astra.maxAttempts = 21", "astra.maxAttempts", "between 1 and 20");
    expectError("astra.maxAttempts = 99999999999999999999", "astra.maxAttempts", "between 1");
    expectError("astra.requestsPerSecond = 0", "astra.requestsPerSecond", "greater than 0");
    expectError("astra.requestsPerSecond = -1", "astra.requestsPerSecond", "greater than 0");
    expectError("astra.requestsPerSecond = inf", "astra.requestsPerSecond", "invalid number");
}

TEST(SettingsLoader, EnforcesTheSchedulerRanges)
{
    expectError("scheduler.concurrency = 0", "scheduler.concurrency", "between 1 and 64");
    expectError("scheduler.concurrency = 65", "scheduler.concurrency", "between 1 and 64");
    expectError("scheduler.maxFailures = 0", "scheduler.maxFailures", "at least 1");
    expectError("scheduler.syncInterval = 0s", "scheduler.syncInterval", "longer than 0s");
    expectError("scheduler.retryBackoff = 0s", "scheduler.retryBackoff", "longer than 0s");
}

// --- astra.url ----------------------------------------------------------------------------------

TEST(SettingsLoader, RequiresHttpsExceptForLoopbackHosts)
{
    expectError("astra.url = http://api.astra.datastax.com", "astra.url",
                "plain http is allowed only for loopback hosts");
    for (const char* ok : {"http://127.0.0.1:8443", "http://127.1.2.3", "http://[::1]:8080",
                           "http://localhost:1234", "https://api.astra.datastax.com:443/"})
    {
        EXPECT_NO_THROW(load(std::string("astra.url = ") + ok)) << ok;
    }
    EXPECT_EQ(load("astra.url = http://[::1]:8080").astra.url, "http://[::1]:8080");
}

TEST(SettingsLoader, RejectsAUrlWithAPathQueryUserinfoOrOtherScheme)
{
    expectError("astra.url = https://api.astra.datastax.com/v2", "astra.url", "no path");
    expectError("astra.url = https://api.astra.datastax.com?x=1", "astra.url", "no query");
    expectError("astra.url = https://me:pw@api.astra.datastax.com", "astra.url",
                "user information");
    expectError("astra.url = ftp://api.astra.datastax.com", "astra.url", "https://HOST");
    expectError("astra.url = api.astra.datastax.com", "astra.url", "https://HOST");
    expectError("astra.url = https://", "astra.url", "invalid URL");
}

// --- admin --------------------------------------------------------------------------------------

TEST(SettingsLoader, ParsesTheAdminListenAddress)
{
    const Settings s = load("admin.listen = 127.0.0.1:8710");
    EXPECT_EQ(s.admin.host, "127.0.0.1");
    EXPECT_EQ(s.admin.port, 8710);
    EXPECT_TRUE(s.warnings.size() == 1U) << "only the no-credential warning expected";
    expectError("admin.listen = 127.0.0.1", "admin.listen", "missing port");
    expectError("admin.listen = 127.0.0.1:65536", "admin.listen", "invalid port");
    expectError("admin.listen = 127.0.0.1:http", "admin.listen", "invalid port");
    expectError("admin.listen = ::1:8710", "admin.listen", "needs brackets");
    expectError("admin.listen = [nope]:8710", "admin.listen", "invalid IPv6 address");
    expectError("admin.listen = :8710", "admin.listen", "missing host");
}

TEST(SettingsLoader, WarnsWhenTheAdminApiIsExposedWithoutAToken)
{
    EXPECT_TRUE(hasWarning(load(with("admin.listen = 0.0.0.0:8710")), "admin.tokenFile is empty"));
    EXPECT_FALSE(hasWarning(load(with("admin.listen = 0.0.0.0:8710\nadmin.tokenFile = /t")),
                            "admin.listen"));
    EXPECT_FALSE(hasWarning(load(with("admin.listen = localhost:8710")), "admin.listen"));
}

TEST(SettingsLoader, ParsesTheAdminConnectionPolicyAndHostKeys)
{
    const Settings defaults = load(with(""));
    EXPECT_TRUE(defaults.admin.allowedHosts.empty());
    EXPECT_FALSE(defaults.admin.metricsAuth);
    EXPECT_EQ(defaults.admin.requestDeadlineMs, 5'000);
    EXPECT_EQ(defaults.admin.maxConnectionsPerAddress, 8);

    const Settings s = load(with("admin.allowedHosts = rotator.example, 10.0.0.5 ,[fd00::1]\n"
                                 "admin.requestDeadline = 2s\n"
                                 "admin.maxConnectionsPerAddress = 3\n"
                                 "admin.tokenFile = /t\nadmin.metricsAuth = true"));
    EXPECT_EQ(s.admin.allowedHosts,
              (std::vector<std::string>{"rotator.example", "10.0.0.5", "[fd00::1]"}));
    EXPECT_EQ(s.admin.requestDeadlineMs, 2'000);
    EXPECT_EQ(s.admin.maxConnectionsPerAddress, 3);
    EXPECT_TRUE(s.admin.metricsAuth);

    expectError(with("admin.allowedHosts = https://rotator.example"), "admin.allowedHosts",
                "not a URL");
    expectError(with("admin.allowedHosts = *.example"), "admin.allowedHosts", "not a URL");
    expectError(with("admin.requestDeadline = 0s"), "admin.requestDeadline", "longer than 0s");
    expectError(with("admin.maxConnectionsPerAddress = 0"), "admin.maxConnectionsPerAddress",
                "between 1 and 1024");
}

TEST(SettingsLoader, RefusesMetricsAuthWithoutAnAdminTokenFile)
{
    expectError(with("admin.metricsAuth = true"), "admin.metricsAuth",
                "admin.tokenFile is empty");
    EXPECT_FALSE(load(with("admin.metricsAuth = false")).admin.metricsAuth);
}

// --- credentials --------------------------------------------------------------------------------

TEST(SettingsLoader, RequiresRolesMaxAgeGracePeriodAndSinks)
{
    for (const std::string key : {"roles", "maxAge", "gracePeriod", "sinks"})
    {
        std::string text;
        std::istringstream lines(kMinimal);
        for (std::string line; std::getline(lines, line);)
        {
            if (line.rfind("credentials.billing." + key + " ", 0) != 0)
            {
                text += line + "\n";
            }
        }
        expectError(text, "credentials.billing." + key, "missing");
    }
}

TEST(SettingsLoader, RejectsAnEmptyOrDuplicateRole)
{
    expectError(with("credentials.billing.roles = a,,b"), "credentials.billing.roles",
                "empty role");
    expectError(with("credentials.billing.roles = a, b, a"), "credentials.billing.roles",
                "role \"a\" is listed twice");
}

TEST(SettingsLoader, RejectsANonPositiveMaxAgeAndANegativeGracePeriod)
{
    expectError(with("credentials.billing.maxAge = 0s"), "credentials.billing.maxAge",
                "longer than 0s");
    expectError(with("credentials.billing.gracePeriod = -1h"), "credentials.billing.gracePeriod",
                "invalid duration");
    EXPECT_EQ(load(with("credentials.billing.gracePeriod = 0s")).credentials[0].gracePeriodMs, 0);
}

TEST(SettingsLoader, WarnsWhenTheGracePeriodIsNotShorterThanMaxAge)
{
    const Settings s = load(with("credentials.billing.gracePeriod = 30d"));
    EXPECT_TRUE(hasWarning(s, "credentials.billing.gracePeriod: 30d is not shorter than maxAge"));
}

TEST(SettingsLoader, RejectsASinkThatDoesNotExistAndSuggestsOne)
{
    expectError(with("credentials.billing.sinks = billing-fiel"), "credentials.billing.sinks",
                "no sink named \"billing-fiel\"; did you mean billing-file?");
    expectError(with("credentials.billing.sinks = nowhere"), "credentials.billing.sinks",
                "define sinks.nowhere.type");
    expectError(with("credentials.billing.sinks = billing-file, billing-file"),
                "credentials.billing.sinks", "listed twice");
}

TEST(SettingsLoader, RejectsAMalformedClientId)
{
    expectError(with("credentials.billing.clientId = short"), "credentials.billing.clientId",
                "invalid client ID \"short\"");
    expectError(with("credentials.billing.clientId = AbCdEfGhIjKlMnOpQrStUvW-"),
                "credentials.billing.clientId", "24 letters and digits");
}

TEST(SettingsLoader, RejectsAClientAdoptedByTwoCredentials)
{
    expectError(with("credentials.billing.clientId = AbCdEfGhIjKlMnOpQrStUvWx\n"
                     "credentials.other.roles = R\n"
                     "credentials.other.maxAge = 1d\n"
                     "credentials.other.gracePeriod = 0s\n"
                     "credentials.other.sinks = hook\n"
                     "credentials.other.clientId = AbCdEfGhIjKlMnOpQrStUvWx\n"
                     "sinks.hook.type = exec\n"
                     "sinks.hook.command = /bin/true"),
                "credentials.other.clientId", "already adopted by credential \"billing\"");
}

TEST(SettingsLoader, RejectsAnInvalidWindowNamingTheKey)
{
    expectError(with("credentials.billing.window = Mon-Fri 02:00"), "credentials.billing.window",
                "invalid window \"Mon-Fri 02:00\"");
}

TEST(SettingsLoader, RejectsJitterNotShorterThanMaxAge)
{
    expectError(with("credentials.billing.jitter = 30d"), "credentials.billing.jitter",
                "must be shorter than maxAge 30d");
}

TEST(SettingsLoader, RejectsAnExpiryThatWouldLetTokensExpireBeforeRotation)
{
    expectError(with("credentials.billing.expiry = 30d"), "credentials.billing.expiry",
                "tokens would expire before being rotated and revoked");
    expectError(with("credentials.billing.expiry = 30d1h"), "credentials.billing.expiry",
                "must be longer than maxAge + jitter + gracePeriod (30d1h)");
    EXPECT_NO_THROW(load(with("credentials.billing.expiry = 31d")));
    // The largest durations still add up without wrapping (maxAge + gracePeriod beyond
    // INT64_MAX ms once let any expiry pass, tests/fuzz/settings).
    expectError(with("credentials.billing.maxAge = 36500d\n"
                     "credentials.billing.gracePeriod = 36500d\n"
                     "credentials.billing.expiry = 36500d"),
                "credentials.billing.expiry", "must be longer than maxAge + jitter + gracePeriod");
}

TEST(SettingsLoader, RefusesDurationsLongerThanAHundredYears)
{
    // now + expiry (the token's expiry sent to the API) must not overflow.
    expectError(with("credentials.billing.expiry = 106751991167d"), "credentials.billing.expiry",
                "is longer than 36500d (100 years)");
    expectError(with("credentials.billing.maxAge = 36501d"), "credentials.billing.maxAge",
                "is longer than 36500d");
    EXPECT_NO_THROW(load(with("credentials.billing.maxAge = 36500d")));
}

TEST(SettingsLoader, WarnsWhenTheWindowMayOutlastTheExpiryMargin)
{
    const Settings s = load(with("credentials.billing.expiry = 32d\n"
                                 "credentials.billing.window = Sat 01:00-02:00"));
    EXPECT_TRUE(hasWarning(s, "may delay a due rotation by up to 6d 23h"));
    EXPECT_FALSE(hasWarning(load(with("credentials.billing.expiry = 32d\n"
                                      "credentials.billing.window = daily 01:00-02:00")),
                            "may delay"));
}

TEST(SettingsLoader, WarnsAboutACredentialSectionMissingEntirely)
{
    EXPECT_TRUE(hasWarning(load("log.level = debug"), "only keeps the inventory"));
}

// --- sinks --------------------------------------------------------------------------------------

TEST(SettingsLoader, RequiresAKnownSinkType)
{
    expectError(with("sinks.x.path = /a"), "sinks.x.type",
                "missing (file, exec, kubernetes, vault or aws-secretsmanager)");
    expectError(with("sinks.billing-file.type = files"), "sinks.billing-file.type",
                "use file, exec, kubernetes, vault, aws-secretsmanager");
}

TEST(SettingsLoader, NamesEveryTypeThatAcceptsASharedKey)
{
    expectError(with("sinks.billing-file.caFile = /etc/ssl/ca.pem"), "sinks.billing-file.caFile",
                "only for kubernetes, vault and aws-secretsmanager sinks, and "
                "sinks.billing-file.type is file");
}

TEST(SettingsLoader, ReadsAndValidatesAnAwsSecretsManagerSink)
{
    const std::string aws = "sinks.sm.type = aws-secretsmanager\n"
                            "sinks.sm.region = eu-west-1\n"
                            "sinks.sm.secretId = prod/billing/astra\n";
    const Settings s = load(with(aws + "sinks.sm.endpoint = https://vpce-1.example.com:8443\n"
                                       "sinks.sm.kmsKeyId = alias/astra\n"
                                       "sinks.sm.create = true\n"
                                       "sinks.sm.fields = clientId, token"));
    const auto* sink = s.findSink("sm");
    ASSERT_NE(sink, nullptr);
    EXPECT_EQ(sink->type, SinkType::AwsSecretsManager);
    EXPECT_EQ(sink->aws.region, "eu-west-1");
    EXPECT_EQ(sink->aws.secretId, "prod/billing/astra");
    EXPECT_EQ(sink->aws.endpoint, "https://vpce-1.example.com:8443");
    EXPECT_EQ(sink->aws.kmsKeyId, "alias/astra");
    EXPECT_TRUE(sink->aws.create);
    EXPECT_EQ(sink->fields, (std::vector<std::string>{"clientId", "token"}));
    EXPECT_FALSE(load(with(aws)).findSink("sm")->aws.create);
    EXPECT_NO_THROW(
        load(with(aws + "sinks.sm.secretId = "
                        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:a-Ab12Cd")));
    EXPECT_NO_THROW(load(with(aws + "sinks.sm.region = us-gov-west-1")));

    expectError(with("sinks.sm.type = aws-secretsmanager\nsinks.sm.secretId = a"),
                "sinks.sm.region", "missing");
    expectError(with("sinks.sm.type = aws-secretsmanager\nsinks.sm.region = eu-west-1"),
                "sinks.sm.secretId", "missing");
    for (const char* bad : {"EU-WEST-1", "eu-west", "euwest1", "eu--west-1", "-eu-1"})
    {
        expectError(with(aws + "sinks.sm.region = " + bad), "sinks.sm.region", "AWS region");
    }
    expectError(with(aws + "sinks.sm.secretId = has space"), "sinks.sm.secretId", "secret name");
    expectError(with(aws + "sinks.sm.secretId = arn:aws:s3:::bucket"), "sinks.sm.secretId",
                "secret ARN");
    expectError(with(aws + "sinks.sm.endpoint = http://sm.example.com"), "sinks.sm.endpoint",
                "only for loopback");
    expectError(with(aws + "sinks.sm.endpoint = https://h/path"), "sinks.sm.endpoint", "no path");
    expectError(with(aws + "sinks.sm.create = maybe"), "sinks.sm.create", "");
    expectError(with(aws + "sinks.sm.tokenFile = /t"), "sinks.sm.tokenFile",
                "only for kubernetes and vault sinks");
}

TEST(SettingsLoader, ValidatesFileSinks)
{
    expectError(with("sinks.billing-file.path = relative/astra.json"), "sinks.billing-file.path",
                "must be an absolute path");
    expectError(with("sinks.billing-file.path = /etc/billing/"), "sinks.billing-file.path",
                "not a directory");
    expectError(with("sinks.billing-file.format = yaml"), "sinks.billing-file.format",
                "use json, env, token");
    expectError("sinks.f.type = file", "sinks.f.path", "missing");
    const Settings s = load(with("sinks.billing-file.format = env\n"
                                 "sinks.billing-file.mode = 640\n"
                                 "sinks.billing-file.owner = billing\n"
                                 "sinks.billing-file.group = 1001\n"
                                 "sinks.billing-file.trustDirOwner = app"));
    EXPECT_EQ(s.sinks[0].format, SinkFormat::Env);
    EXPECT_EQ(s.sinks[0].mode, 0640U);
    EXPECT_EQ(s.sinks[0].owner, "billing");
    EXPECT_EQ(s.sinks[0].group, "1001");
    EXPECT_EQ(s.sinks[0].trustDirOwner, "app");
}

TEST(SettingsLoader, RejectsAFileModeThatGrantsAnythingToOthers)
{
    expectError(with("sinks.billing-file.mode = 0644"), "sinks.billing-file.mode",
                "mode 0644 grants permissions to others");
    expectError(with("sinks.billing-file.mode = 0601"), "sinks.billing-file.mode", "others");
    expectError(with("sinks.billing-file.mode = 0040"), "sinks.billing-file.mode",
                "does not let the owner read");
    for (const char* bad : {"4750", "0800", "rw-------", "06000", "60"})
    {
        expectError(with(std::string("sinks.billing-file.mode = ") + bad),
                    "sinks.billing-file.mode", "invalid mode");
    }
}

TEST(SettingsLoader, RejectsTwoFileSinksWithTheSamePath)
{
    expectError(with("sinks.copy.type = file\nsinks.copy.path = /etc/billing/./astra.json"),
                "sinks.copy.path", "already written by sink \"billing-file\"");
}

TEST(SettingsLoader, RejectsAFileSinkThatWritesTheAdminTokenFile)
{
    expectError(with("astra.tokenFile = /etc/billing/../billing/astra.json"),
                "sinks.billing-file.path",
                "is astra.tokenFile: the admin token cannot be rotated as an application "
                "credential");
    expectError(with("astra.tokenFile = /etc/billing/astra.json"), "sinks.billing-file.path",
                "self-rotation: set astra.selfRotation.maxAge");
    EXPECT_NO_THROW(load(with("astra.tokenFile = /etc/billing/admin.token")));
}

TEST(SettingsLoader, RejectsAFileSinkSharedByTwoCredentialsButAllowsASharedHook)
{
    const std::string other = "credentials.other.roles = R\n"
                              "credentials.other.maxAge = 1d\n"
                              "credentials.other.gracePeriod = 0s\n";
    expectError(with(other + "credentials.other.sinks = billing-file"), "credentials.other.sinks",
                "already used by credential \"billing\"");
    EXPECT_NO_THROW(load(with(other + "credentials.other.sinks = hook\n"
                                      "credentials.billing.sinks = billing-file, hook\n"
                                      "sinks.hook.type = exec\n"
                                      "sinks.hook.command = /usr/local/bin/hook")));
}

TEST(SettingsLoader, ValidatesExecSinks)
{
    const std::string hook = "credentials.billing.sinks = billing-file, hook\n"
                             "sinks.hook.type = exec\n";
    expectError(with(hook), "sinks.hook.command", "missing");
    expectError(with(hook + "sinks.hook.command = push --prod"), "sinks.hook.command",
                "must be an absolute path");
    expectError(with(hook + "sinks.hook.command = /bin/push 'prod"), "sinks.hook.command",
                "unbalanced single quote");
    expectError(with(hook + "sinks.hook.command = /bin/push\nsinks.hook.timeout = 0s"),
                "sinks.hook.timeout", "longer than 0s");
    const Settings s = load(with(hook + "sinks.hook.command = /bin/push \"a b\" c\n"
                                        "sinks.hook.timeout = 2m"));
    const auto* sink = s.findSink("hook");
    ASSERT_NE(sink, nullptr);
    EXPECT_EQ(sink->command, (std::vector<std::string>{"/bin/push", "a b", "c"}));
    EXPECT_EQ(sink->timeoutMs, 120'000);
}

TEST(SettingsLoader, RejectsAKeyThatBelongsToTheOtherSinkType)
{
    expectError(with("sinks.billing-file.command = /bin/true"), "sinks.billing-file.command",
                "only for exec sinks, and sinks.billing-file.type is file");
    expectError(with("credentials.billing.sinks = billing-file, hook\n"
                     "sinks.hook.type = exec\n"
                     "sinks.hook.command = /bin/true\n"
                     "sinks.hook.path = /x"),
                "sinks.hook.path", "only for file and vault sinks");
    expectError(with("credentials.billing.sinks = billing-file, hook\n"
                     "sinks.hook.type = exec\n"
                     "sinks.hook.command = /bin/true\n"
                     "sinks.hook.trustDirOwner = app"),
                "sinks.hook.trustDirOwner", "only for file sinks");
}

TEST(SettingsLoader, WarnsAboutShellOperatorsInACommand)
{
    const Settings s = load(with("credentials.billing.sinks = billing-file, hook\n"
                                 "sinks.hook.type = exec\n"
                                 "sinks.hook.command = /bin/push > /tmp/log"));
    EXPECT_TRUE(hasWarning(s, "there is no shell"));
}

TEST(SettingsLoader, WarnsAboutASinkNoCredentialUses)
{
    const Settings s = load(with("sinks.spare.type = exec\nsinks.spare.command = /bin/true"));
    EXPECT_TRUE(hasWarning(s, "sinks.spare: not used by any credential"));
}

// --- files --------------------------------------------------------------------------------------

TEST(SettingsLoader, LoadsTheAnnotatedExampleFile)
{
    rotator::test::TempDir dir;
    // Not __FILE__: ccache's base_dir makes it relative to the build directory.
    const std::filesystem::path root = ROTATOR_SOURCE_DIR;
    std::string text = rotator::test::readFile((root / "conf/astra-rotator.properties").string());
    ASSERT_FALSE(text.empty());
    const auto replace = [&](const std::string& from, const std::string& to)
    {
        const auto at = text.find(from);
        ASSERT_NE(at, std::string::npos) << from;
        text.replace(at, from.size(), to);
    };
    replace("/etc/astra-rotator/admin.token", dir.file("admin.token"));
    replace("/etc/billing/astra.json", dir.file("astra.json"));
    replace("/var/lib/astra-rotator", dir.file("state"));
    rotator::test::writeFile(dir.file("admin.token"), "AstraCS:abc:def\n", 0600);
    rotator::test::writeFile(dir.file("astra-rotator.properties"), text, 0644);

    const Settings s = rotator::config::loadSettingsFile(dir.file("astra-rotator.properties"));
    EXPECT_TRUE(s.warnings.empty()) << s.warnings.front();
    ASSERT_EQ(s.credentials.size(), 1U);
    EXPECT_EQ(s.credentials[0].sinks, (std::vector<std::string>{"billing-file", "billing-hook"}));
    ASSERT_TRUE(s.credentials[0].window.has_value());
    ASSERT_EQ(s.sinks.size(), 2U);
    EXPECT_EQ(s.findSink("billing-file")->path, dir.file("astra.json"));
    EXPECT_EQ(s.findSink("billing-hook")->command,
              (std::vector<std::string>{"/usr/local/bin/push-billing-secret", "--target", "prod"}));
    std::vector<std::string> warnings;
    const auto token = rotator::config::loadAdminToken(
        s, [](const char*) -> const char* { return nullptr; }, warnings);
    EXPECT_EQ(token.reveal(), "AstraCS:abc:def");
}

TEST(SettingsLoader, ReportsAMissingConfigurationFileWithItsPathAndErrno)
{
    try
    {
        rotator::config::loadSettingsFile("/nonexistent/astra-rotator.properties");
        FAIL() << "no ConfigError";
    }
    catch (const ConfigError& e)
    {
        EXPECT_EQ(e.key(), "");
        EXPECT_NE(std::string(e.what()).find("/nonexistent/astra-rotator.properties"),
                  std::string::npos);
        EXPECT_NE(std::string(e.what()).find("No such file or directory"), std::string::npos);
    }
}

TEST(SettingsLoader, ReadsIniJsonAndXmlByExtension)
{
    rotator::test::TempDir dir;
    rotator::test::writeFile(dir.file("a.ini"), "[scheduler]\nconcurrency = 7\n");
    rotator::test::writeFile(dir.file("a.json"), R"({"scheduler": {"concurrency": 8},
        "astra": {"describeTokens": false}})");
    rotator::test::writeFile(
        dir.file("a.xml"), "<config><scheduler><concurrency>9</concurrency></scheduler></config>");
    EXPECT_EQ(rotator::config::loadSettingsFile(dir.file("a.ini")).scheduler.concurrency, 7);
    const Settings json = rotator::config::loadSettingsFile(dir.file("a.json"));
    EXPECT_EQ(json.scheduler.concurrency, 8);
    EXPECT_FALSE(json.astra.describeTokens);
    EXPECT_EQ(rotator::config::loadSettingsFile(dir.file("a.xml")).scheduler.concurrency, 9);
}

TEST(SettingsLoader, RejectsAnUnknownExtensionASyntaxErrorAndAForeignSectionInAFile)
{
    rotator::test::TempDir dir;
    rotator::test::writeFile(dir.file("a.yaml"), "astra: {}\n");
    rotator::test::writeFile(dir.file("b.json"), "{\"astra\": ");
    rotator::test::writeFile(dir.file("c.properties"), "astra.timeout = 5s\nmisc.thing = 1\n");
    for (const auto& [file, fragment] :
         std::vector<std::pair<std::string, std::string>>{{"a.yaml", "unknown format"},
                                                          {"b.json", "b.json"},
                                                          {"c.properties", "unknown section"}})
    {
        try
        {
            rotator::config::loadSettingsFile(dir.file(file));
            ADD_FAILURE() << file;
        }
        catch (const ConfigError& e)
        {
            EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
        }
    }
}

namespace
{

/// What a load produced, as text: the error, or the names and values that the walk collects.
std::string summaryOf(const std::function<Settings()>& loadIt)
{
    std::ostringstream out;
    try
    {
        const Settings s = loadIt();
        for (const auto& c : s.credentials)
        {
            out << "credential " << c.name << " maxAge " << c.maxAgeMs << " grace "
                << c.gracePeriodMs << " roles";
            for (const auto& r : c.roles)
            {
                out << " " << r;
            }
            out << " sinks";
            for (const auto& n : c.sinks)
            {
                out << " " << n;
            }
            out << "\n";
        }
        for (const auto& sink : s.sinks)
        {
            out << "sink " << sink.name << " " << sink.path << "\n";
        }
        out << "concurrency " << s.scheduler.concurrency << "\n";
        for (const auto& w : s.warnings)
        {
            out << "warning " << w << "\n";
        }
    }
    catch (const ConfigError& e)
    {
        out << "error " << e.key() << ": " << e.what();
    }
    return out.str();
}

} // namespace

// A properties file is read with its keys listed once (Poco lists a level by scanning every key,
// which made loading 1,000 credentials take 1.7 s). Whatever the keys, that must find exactly
// what a walk level by level finds, in the same order (the first problem is the one reported).
TEST(SettingsLoader, AFileIsReadExactlyAsALevelByLevelWalkReadsIt)
{
    const std::vector<std::string> texts = {
        kMinimal,
        with("credentials.alpha.v2.roles = R\ncredentials.alpha.v2.maxAge = 1d\n"
             "credentials.alpha.v2.gracePeriod = 0s\ncredentials.alpha.v2.sinks = a-hook\n"
             "credentials.alpha-b.roles = R\ncredentials.alpha-b.maxAge = 2d\n"
             "credentials.alpha-b.gracePeriod = 0s\ncredentials.alpha-b.sinks = a-hook\n"
             "sinks.a-hook.type = exec\nsinks.a-hook.command = /bin/true\n"
             "scheduler.concurrency = 3"),
        // A key that is a value and a parent at once: its children are what counts.
        with("credentials.billing.maxAge.x = 1d"),
        // Two problems: the one a walk meets first is reported.
        with("credentials.billing-x.rolez = R\ncredentials.billing.x.rolez = R"),
        with("credentials.billing.maxAgee = 1d\ncredentials.billing.gracePerio = 1h"),
        with("scheduler.foo-b = 1\nscheduler.foo.y = 2"), // a walk meets foo.y first
        with("credentials.billing = 1\nsinks = 2"),
        with("scheduler = 1\nscheduler.concurrency = 2\nscheduler.concurrency.x = 3"),
        with("credentail.billing.roles = R"),
        with("credentials.billing.roles =  spaced ,  out  "),
    };
    rotator::test::TempDir dir;
    for (const auto& text : texts)
    {
        rotator::test::writeFile(dir.file("r.properties"), text, 0600);
        // The file path also rejects foreign sections; none of these texts has one.
        const std::string fromFile =
            summaryOf([&] { return rotator::config::loadSettingsFile(dir.file("r.properties")); });
        const std::string walked = summaryOf([&] { return load(text); });
        EXPECT_EQ(fromFile, walked) << text;
    }
}

// A control character in a file (a NUL would end the C string early) shows as \xNN in the error.
TEST(SettingsLoader, ShowsControlCharactersInAnErrorInsteadOfEndingItThere)
{
    try
    {
        load(with(std::string("credentials.bil\0ling.roles = R", 30)));
        FAIL() << "no ConfigError";
    }
    catch (const ConfigError& e)
    {
        const std::string what = e.what();
        EXPECT_NE(what.find("credentials.bil\\x00ling"), std::string::npos) << what;
        EXPECT_GT(what.size(), e.key().size() + 2) << "the message after the key is missing";
        EXPECT_EQ(what.find('\0'), std::string::npos);
    }
}

// --- astra.selfRotation
// ---------------------------------------------------------------------------

TEST(SettingsLoader, TurnsSelfRotationIntoTheAdminCredentialWhoseFirstSinkIsTheTokenFile)
{
    const Settings s = load(with("astra.tokenFile = /etc/astra-rotator/./admin.token\n"
                                 "astra.selfRotation.maxAge = 7d\n"
                                 "astra.selfRotation.window = Mon-Fri 02:00-04:00\n"
                                 "astra.selfRotation.jitter = 1h\n"
                                 "astra.selfRotation.sinks = vault-hook\n"
                                 "sinks.vault-hook.type = exec\n"
                                 "sinks.vault-hook.command = /usr/local/bin/to-vault"));
    const auto* admin = s.findCredential("(admin)");
    ASSERT_NE(admin, nullptr);
    EXPECT_TRUE(admin->adminToken);
    EXPECT_EQ(admin->maxAgeMs, 7 * 24 * 3600'000LL);
    EXPECT_EQ(admin->gracePeriodMs, 10 * 60'000); // the default
    EXPECT_EQ(admin->jitterMs, 3600'000);
    ASSERT_TRUE(admin->window);
    EXPECT_EQ(admin->window->startMinute, 120);
    EXPECT_TRUE(admin->roles.empty()); // the admin client's own, found at run time
    EXPECT_EQ(admin->sinks, (std::vector<std::string>{"(astra.tokenFile)", "vault-hook"}));
    const auto* file = s.findSink("(astra.tokenFile)");
    ASSERT_NE(file, nullptr);
    EXPECT_EQ(file->path, "/etc/astra-rotator/admin.token");
    EXPECT_EQ(file->format, rotator::config::SinkFormat::Token);
    EXPECT_EQ(s.credentials.front().name, "(admin)");
    EXPECT_FALSE(s.findCredential("billing")->adminToken);
    // Off without maxAge: no admin credential, no token file sink.
    const Settings off = load(with("astra.tokenFile = /etc/astra-rotator/admin.token"));
    EXPECT_EQ(off.findCredential("(admin)"), nullptr);
    EXPECT_EQ(off.findSink("(astra.tokenFile)"), nullptr);
}

TEST(SettingsLoader, RefusesSelfRotationOfAnAdminTokenFromTheEnvironment)
{
    expectError(with("astra.selfRotation.maxAge = 7d"), "astra.tokenFile",
                "is required by astra.selfRotation.maxAge: an admin token from ASTRA_TOKEN "
                "cannot be rotated");
}

TEST(SettingsLoader, ChecksTheSelfRotationKeysNamingEach)
{
    const std::string file = "astra.tokenFile = /etc/astra-rotator/admin.token\n";
    expectError(with(file + "astra.selfRotation.maxage = 7d"), "astra.selfRotation.maxage",
                "astra.selfRotation.maxAge");
    expectError(with(file + "astra.selfRotation.maxAge = 0s"), "astra.selfRotation.maxAge", "");
    expectError(with(file + "astra.selfRotation.jitter = 1h"), "astra.selfRotation.maxAge",
                "do nothing without it");
    expectError(with(file + "astra.selfRotation.maxAge = 1h\nastra.selfRotation.jitter = 1h"),
                "astra.selfRotation.jitter", "must be shorter than maxAge");
    expectError(with(file + "astra.selfRotation.maxAge = 1d\nastra.selfRotation.window = nope"),
                "astra.selfRotation.window", "");
    expectError(with(file + "astra.selfRotation.maxAge = 1d\nastra.selfRotation.sinks = vault"),
                "astra.selfRotation.sinks", "no sink named \"vault\"");
    EXPECT_TRUE(hasWarning(load(with(file + "astra.selfRotation.maxAge = 5m")),
                           "astra.selfRotation.gracePeriod: 10m is not shorter than maxAge 5m"));
}

TEST(SettingsLoader, ReservesTheAdminCredentialsNameAndItsSinksName)
{
    expectError("credentials.(admin).roles = R\n", "credentials.(admin).roles", "");
    expectError(with("sinks.(astra.tokenFile).type = file"), "sinks.(astra.tokenFile).type", "");
}

TEST(SettingsLoader, RefusesAnExtraSelfRotationFileSinkThatAnApplicationCredentialUses)
{
    try
    {
        load(with("astra.tokenFile = /etc/astra-rotator/admin.token\n"
                  "astra.selfRotation.maxAge = 7d\nastra.selfRotation.sinks = billing-file"));
        ADD_FAILURE() << "two credentials share one file";
    }
    catch (const ConfigError& e)
    {
        EXPECT_NE(std::string(e.what()).find("already used by credential \"(admin)\""),
                  std::string::npos)
            << e.what();
    }
}

TEST(SettingsLoader, StoreFieldsAreKnownCredentialFields)
{
    const std::string vault = "sinks.v.type = vault\n";
    expectError(with(vault + "sinks.v.fields = clientId, scret"), "sinks.v.fields",
                "unknown field \"scret\" (did you mean \"secret\"?)");
    expectError(with(vault + "sinks.v.fields = token, token"), "sinks.v.fields",
                "field \"token\" is listed twice");
}
