#include <gtest/gtest.h>

#include "rotator/core/Duration.h"

#include <limits>

using rotator::core::formatAge;
using rotator::core::formatDuration;
using rotator::core::parseDurationMs;

TEST(Duration, ParsesEveryUnit)
{
    EXPECT_EQ(parseDurationMs("45s"), 45'000);
    EXPECT_EQ(parseDurationMs("15m"), 15 * 60'000);
    EXPECT_EQ(parseDurationMs("12h"), 12 * 3'600'000);
    EXPECT_EQ(parseDurationMs("30d"), 30LL * 86'400'000);
    EXPECT_EQ(parseDurationMs("500ms"), 500);
    EXPECT_EQ(parseDurationMs("0s"), 0);
    EXPECT_EQ(parseDurationMs("007s"), 7'000);
}

TEST(Duration, ParsesSumsWithDecreasingUnits)
{
    EXPECT_EQ(parseDurationMs("1h30m"), 90 * 60'000);
    EXPECT_EQ(parseDurationMs("1d2h3m4s5ms"), 86'400'000 + 2 * 3'600'000 + 3 * 60'000 + 4'005);
    EXPECT_EQ(parseDurationMs("1m30s"), 90'000);
}

TEST(Duration, RejectsGarbage)
{
    for (const char* bad : {"", "10", "s", "1", "-1s", "+1s", "1.5h", "1 h", " 1h", "1h ", "1H",
                            "30days", "1w", "1hh", "1h30", "1mss", "ms", "1y"})
    {
        EXPECT_FALSE(parseDurationMs(bad).has_value()) << bad;
    }
}

TEST(Duration, RejectsRepeatedOrIncreasingUnits)
{
    for (const char* bad : {"1m1m", "30m1h", "1s1m", "5ms1s", "1h1h"})
    {
        EXPECT_FALSE(parseDurationMs(bad).has_value()) << bad;
    }
}

TEST(Duration, RejectsOverflow)
{
    EXPECT_FALSE(parseDurationMs("99999999999999999999ms").has_value());
    EXPECT_FALSE(parseDurationMs("106751991168d").has_value()); // > INT64_MAX ms
    EXPECT_EQ(parseDurationMs("106751991d"), 106751991LL * 86'400'000);
}

TEST(Duration, FormatsWithTheLargestExactUnit)
{
    EXPECT_EQ(formatDuration(0), "0s");
    EXPECT_EQ(formatDuration(90'000), "90s");
    EXPECT_EQ(formatDuration(3'600'000), "1h");
    EXPECT_EQ(formatDuration(30LL * 86'400'000), "30d");
    EXPECT_EQ(formatDuration(25 * 3'600'000), "25h");
    EXPECT_EQ(formatDuration(1'500), "1500ms");
    EXPECT_EQ(formatDuration(-60'000), "-1m");
}

TEST(Duration, FormatThenParseRoundTrips)
{
    for (std::int64_t ms :
         {0LL, 1LL, 999LL, 1'000LL, 61'000LL, 3'600'000LL, 90'061'001LL, 45LL * 86'400'000})
    {
        EXPECT_EQ(parseDurationMs(formatDuration(ms)), ms) << ms;
    }
}

TEST(Duration, FormatsAnAgeWithTheTwoLargestUnits)
{
    EXPECT_EQ(formatAge(0), "0s");
    EXPECT_EQ(formatAge(42), "42s");
    EXPECT_EQ(formatAge(5 * 60 + 7), "5m 7s");
    EXPECT_EQ(formatAge(5 * 3600 + 2 * 60 + 59), "5h 2m");
    EXPECT_EQ(formatAge(3 * 86400 + 4 * 3600 + 59), "3d 4h");
    EXPECT_EQ(formatAge(86400), "1d 0h");
    EXPECT_EQ(formatAge(-42), "-42s");
}

TEST(Duration, FormatsTheMostNegativeAgeWithoutOverflow)
{
    const std::string text = formatAge(std::numeric_limits<std::int64_t>::min());
    EXPECT_EQ(text.front(), '-');
    EXPECT_NE(text.find("d "), std::string::npos);
}
