#include <gtest/gtest.h>

#include "rotator/config/SettingsLoader.h"
#include "rotator/core/Errors.h"

#include <string>
#include <vector>

using rotator::config::isLoopbackHost;
using rotator::config::parseListenAddress;
using rotator::config::parseWindow;
using rotator::config::splitArgv;
using rotator::config::Window;
using rotator::core::ConfigError;

namespace
{

constexpr std::uint8_t kMon = 1 << 0;
constexpr std::uint8_t kTue = 1 << 1;
constexpr std::uint8_t kWed = 1 << 2;
constexpr std::uint8_t kThu = 1 << 3;
constexpr std::uint8_t kFri = 1 << 4;
constexpr std::uint8_t kSat = 1 << 5;
constexpr std::uint8_t kSun = 1 << 6;

std::string windowError(const std::string& text)
{
    try
    {
        parseWindow(text, "credentials.x.window");
    }
    catch (const ConfigError& e)
    {
        EXPECT_EQ(e.key(), "credentials.x.window");
        return e.what();
    }
    ADD_FAILURE() << "accepted \"" << text << "\"";
    return "";
}

std::string argvError(const std::string& command)
{
    try
    {
        splitArgv(command, "sinks.x.command");
    }
    catch (const ConfigError& e)
    {
        EXPECT_EQ(e.key(), "sinks.x.command");
        return e.what();
    }
    ADD_FAILURE() << "accepted " << command;
    return "";
}

std::vector<std::string> argv(const std::string& command)
{
    return splitArgv(command, "sinks.x.command");
}

} // namespace

// --- windows ------------------------------------------------------------------------------------

TEST(Window, ParsesADayRangeAndTimes)
{
    const Window w = parseWindow("Mon-Fri 02:00-04:00", "k");
    EXPECT_EQ(w.days, kMon | kTue | kWed | kThu | kFri);
    EXPECT_EQ(w.startMinute, 120);
    EXPECT_EQ(w.endMinute, 240);
    EXPECT_EQ(w.text, "Mon-Fri 02:00-04:00");
}

TEST(Window, ParsesADayList)
{
    const Window w = parseWindow("Sat,Sun 01:00-05:00", "k");
    EXPECT_EQ(w.days, kSat | kSun);
    EXPECT_EQ(w.startMinute, 60);
    EXPECT_EQ(w.endMinute, 300);
}

TEST(Window, ParsesAMixedListThatCrossesMidnight)
{
    const Window w = parseWindow("Mon,Wed-Fri 22:00-02:00", "k");
    EXPECT_EQ(w.days, kMon | kWed | kThu | kFri);
    EXPECT_EQ(w.startMinute, 22 * 60);
    EXPECT_EQ(w.endMinute, 2 * 60);
}

TEST(Window, TreatsDailyAndNoDaysAsEveryDay)
{
    EXPECT_EQ(parseWindow("daily 02:00-04:00", "k").days, 0x7f);
    EXPECT_EQ(parseWindow("02:00-04:00", "k").days, 0x7f);
    EXPECT_EQ(parseWindow("Daily 2:00-4:30", "k").endMinute, 270);
}

TEST(Window, AcceptsSpacesAfterCommasLowerCaseAndAWrappingRange)
{
    EXPECT_EQ(parseWindow("mon, wed  02:00-04:00", "k").days, kMon | kWed);
    EXPECT_EQ(parseWindow("Fri-Mon 02:00-04:00", "k").days, kFri | kSat | kSun | kMon);
}

TEST(Window, EndsAtMidnightWhenWrittenAs0000Or2400)
{
    EXPECT_EQ(parseWindow("22:00-00:00", "k").endMinute, 24 * 60);
    EXPECT_EQ(parseWindow("22:00-24:00", "k").endMinute, 24 * 60);
    EXPECT_EQ(parseWindow("00:00-24:00", "k").startMinute, 0);
}

TEST(Window, RejectsEmptyRangesBadTimesAndUnknownDays)
{
    EXPECT_NE(windowError("02:00-02:00").find("empty"), std::string::npos);
    EXPECT_NE(windowError("00:00-00:00").find("empty"), std::string::npos);
    EXPECT_NE(windowError("Mon 25:00-26:00").find("bad time \"25:00\""), std::string::npos);
    EXPECT_NE(windowError("02:60-03:00").find("bad time"), std::string::npos);
    EXPECT_NE(windowError("24:00-01:00").find("bad time \"24:00\""), std::string::npos);
    EXPECT_NE(windowError("2-4").find("expected [DAYS]"), std::string::npos);
    EXPECT_NE(windowError("02:00-04:00-05:00").find("bad time"), std::string::npos);
    EXPECT_NE(windowError("-02:00-04:00").find("bad time"), std::string::npos);
    EXPECT_NE(windowError("Mun-Fri 02:00-04:00").find("unknown day \"Mun\""), std::string::npos);
    EXPECT_NE(windowError("Monday 02:00-04:00").find("unknown day"), std::string::npos);
    EXPECT_NE(windowError("Mon,,Fri 02:00-04:00").find("empty day"), std::string::npos);
    EXPECT_NE(windowError("Mon-Fri").find("expected [DAYS] HH:MM-HH:MM"), std::string::npos);
    EXPECT_NE(windowError("").find("expected"), std::string::npos);
    EXPECT_NE(windowError("Mon-Fri 02:00").find("expected"), std::string::npos);
}

// --- argv ---------------------------------------------------------------------------------------

TEST(Argv, SplitsOnWhitespace)
{
    EXPECT_EQ(argv("/bin/push  --target\tprod "),
              (std::vector<std::string>{"/bin/push", "--target", "prod"}));
    EXPECT_TRUE(argv("   ").empty());
}

TEST(Argv, KeepsQuotedWhitespaceAndEmptyQuotedWords)
{
    EXPECT_EQ(argv("/bin/a \"b c\" 'd e' \"\" ''"),
              (std::vector<std::string>{"/bin/a", "b c", "d e", "", ""}));
    EXPECT_EQ(argv("/bin/a x\"y z\"w"), (std::vector<std::string>{"/bin/a", "xy zw"}));
}

TEST(Argv, HonoursBackslashEscapes)
{
    EXPECT_EQ(argv(R"(/bin/a b\ c \"d\' \\)"),
              (std::vector<std::string>{"/bin/a", "b c", "\"d'", "\\"}));
    EXPECT_EQ(argv(R"(/bin/a "q\"uote \\ \$HOME \n")"),
              (std::vector<std::string>{"/bin/a", "q\"uote \\ $HOME \\n"}));
    EXPECT_EQ(argv(R"(/bin/a 'no\escape')"), (std::vector<std::string>{"/bin/a", "no\\escape"}));
}

TEST(Argv, PassesShellSyntaxLiterally)
{
    EXPECT_EQ(argv("/bin/a $HOME | b; `c`"),
              (std::vector<std::string>{"/bin/a", "$HOME", "|", "b;", "`c`"}));
}

TEST(Argv, RejectsUnbalancedQuotesAndATrailingBackslash)
{
    EXPECT_NE(argvError("/bin/a \"b").find("unbalanced double quote"), std::string::npos);
    EXPECT_NE(argvError("/bin/a 'b").find("unbalanced single quote"), std::string::npos);
    EXPECT_NE(argvError("/bin/a \"b\\\"").find("unbalanced double quote"), std::string::npos);
    EXPECT_NE(argvError("/bin/a b\\").find("lone backslash"), std::string::npos);
}

// --- addresses ----------------------------------------------------------------------------------

TEST(SettingsLoader, ParsesListenAddressesAsHostPortOrBracketedIpv6)
{
    EXPECT_EQ(parseListenAddress("127.0.0.1:8710", "k").port, 8710);
    EXPECT_EQ(parseListenAddress("[::1]:8710", "k").host, "::1");
    EXPECT_EQ(parseListenAddress("localhost:0", "k").host, "localhost");
    EXPECT_THROW(parseListenAddress("[::1]8710", "k"), ConfigError);
    EXPECT_THROW(parseListenAddress("host name:1", "k"), ConfigError);
}

TEST(SettingsLoader, RecognisesLoopbackHostsWithoutResolvingNames)
{
    for (const char* yes :
         {"localhost", "LOCALHOST", "127.0.0.1", "127.255.0.9", "::1", "[::1]", "::ffff:127.0.0.1"})
    {
        EXPECT_TRUE(isLoopbackHost(yes)) << yes;
    }
    for (const char* no : {"0.0.0.0", "10.0.0.1", "128.0.0.1", "::", "::2", "example.com",
                           "localhost.example.com", "127.0.0.1.nip.io", ""})
    {
        EXPECT_FALSE(isLoopbackHost(no)) << no;
    }
}
