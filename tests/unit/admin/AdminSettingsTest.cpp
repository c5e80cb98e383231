// The admin API's keys as the settings loader reads them.

#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <Poco/AutoPtr.h>
#include <Poco/Util/PropertyFileConfiguration.h>

#include "rotator/config/SettingsLoader.h"
#include "rotator/core/Errors.h"

namespace rotator::admin
{
namespace
{

/// Loads one credential with a file sink plus `extra`.
config::Settings loadWith(const std::string& extra)
{
    std::istringstream in("credentials.billing.roles = Database Administrator\n"
                          "credentials.billing.maxAge = 30d\n"
                          "credentials.billing.gracePeriod = 1h\n"
                          "credentials.billing.sinks = billing-file\n"
                          "sinks.billing-file.type = file\n"
                          "sinks.billing-file.path = /etc/billing/astra.json\n" +
                          extra + "\n");
    Poco::AutoPtr<Poco::Util::PropertyFileConfiguration> cfg(
        new Poco::Util::PropertyFileConfiguration(in));
    return config::loadSettings(*cfg);
}

/// The message of the ConfigError that loading `extra` throws, after checking its key.
std::string refusal(const std::string& extra, const std::string& key)
{
    try
    {
        loadWith(extra);
    }
    catch (const core::ConfigError& e)
    {
        EXPECT_EQ(e.key(), key) << e.what();
        return e.what();
    }
    ADD_FAILURE() << "no ConfigError for " << extra;
    return {};
}

TEST(AdminSettings, TheRequestDeadlineIsAtMostAnHour)
{
    EXPECT_EQ(loadWith("admin.requestDeadline = 1h").admin.requestDeadlineMs, 3'600'000);
    for (const std::string too : {"1h1ms", "2h", "30d"})
    {
        EXPECT_EQ(refusal("admin.requestDeadline = " + too, "admin.requestDeadline"),
                  "admin.requestDeadline: \"" + too + "\" is longer than 1h, the longest allowed");
    }
}

TEST(AdminSettings, EveryAllowedHostIsOneTheHostCheckCanMatch)
{
    EXPECT_EQ(loadWith("admin.allowedHosts = Rotator.example:8710, [fd00::1], 10.0.0.5")
                  .admin.allowedHosts,
              (std::vector<std::string>{"Rotator.example:8710", "[fd00::1]", "10.0.0.5"}));
    // Each of these passed the loader before and was then never matched by any Host header.
    for (const std::string bad : {"rotator.example:", "[::1", "[::1]x", ":8710", "a:b", "a:123456"})
    {
        EXPECT_EQ(refusal("admin.allowedHosts = " + bad, "admin.allowedHosts"),
                  "admin.allowedHosts: \"" + bad +
                      "\" is not HOST or HOST:PORT (IPv6 in brackets, a port of 1 to 5 digits)");
    }
}

} // namespace
} // namespace rotator::admin
