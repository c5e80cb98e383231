#include <gtest/gtest.h>

#include <limits>

#include "rotator/core/Time.h"

using rotator::core::formatRfc3339Ms;
using rotator::core::formatRfc3339Nanos;
using rotator::core::parseRfc3339;

TEST(Rfc3339, KeepsAllNineFractionDigits)
{
    auto t = parseRfc3339("2022-09-21T17:48:15.260897295Z");
    ASSERT_TRUE(t);
    EXPECT_EQ(formatRfc3339Nanos(t->unixNanos), "2022-09-21T17:48:15.260897295Z");
    EXPECT_EQ(t->unixNanos % 1000000000, 260897295);
}

TEST(Rfc3339, AcceptsZeroToNineFractionDigits)
{
    const std::int64_t base = 1614013798LL * 1000000000LL; // 2021-02-22T17:09:58Z
    EXPECT_EQ(parseRfc3339("2021-02-22T17:09:58Z")->unixNanos, base);
    EXPECT_EQ(parseRfc3339("2021-02-22T17:09:58.6Z")->unixNanos, base + 600000000);
    EXPECT_EQ(parseRfc3339("2021-02-22T17:09:58.668Z")->unixNanos, base + 668000000);
    EXPECT_EQ(parseRfc3339("2021-02-22T17:09:58.000000001Z")->unixNanos, base + 1);
}

TEST(Rfc3339, AppliesOffsets)
{
    EXPECT_EQ(parseRfc3339("2021-02-22T19:09:58+02:00")->unixNanos,
              parseRfc3339("2021-02-22T17:09:58Z")->unixNanos);
    EXPECT_EQ(parseRfc3339("2021-02-22T12:39:58-04:30")->unixNanos,
              parseRfc3339("2021-02-22T17:09:58Z")->unixNanos);
    EXPECT_EQ(parseRfc3339("2021-02-22t17:09:58z")->unixNanos,
              parseRfc3339("2021-02-22T17:09:58Z")->unixNanos);
}

TEST(Rfc3339, RejectsGarbage)
{
    for (const char* bad :
         {"", "garbage", "2021-02-22", "2021-02-22T17:09:58", "2021-02-22 17:09:58Z",
          "2021-02-22T17:09:58.Z", "2021-02-22T17:09:58.1234567890Z", "2021-13-01T00:00:00Z",
          "2021-02-29T00:00:00Z", "2021-02-22T24:00:00Z", "2021-02-22T17:60:00Z",
          "2021-02-22T17:09:60Z", "2021-02-22T17:09:58Zjunk", "2021-02-22T17:09:58+0200",
          "2021-02-22T17:09:58+24:00", "21-02-22T17:09:58Z", "2021-2-22T17:09:58Z",
          "２021-02-22T17:09:58Z", "2021-02-22T17:09:58.66 8Z"})
    {
        EXPECT_FALSE(parseRfc3339(bad)) << bad;
    }
}

TEST(Rfc3339, AcceptsLeapDayAndFormatsMilliseconds)
{
    auto t = parseRfc3339("2024-02-29T23:59:59.999Z");
    ASSERT_TRUE(t);
    EXPECT_EQ(formatRfc3339Ms(t->unixMs()), "2024-02-29T23:59:59.999Z");
    EXPECT_EQ(formatRfc3339Ms(0), "1970-01-01T00:00:00.000Z");
}

TEST(Rfc3339, RejectsInstantsOutsideTheNanosecondRangeInsteadOfOverflowing)
{
    // An Instant is int64 nanoseconds: 1677-09-21T00:12:43.145224192Z to
    // 2262-04-11T23:47:16.854775807Z (found by tests/fuzz/rfc3339).
    const auto first = parseRfc3339("1677-09-21T00:12:43.145224192Z");
    ASSERT_TRUE(first);
    EXPECT_EQ(first->unixNanos, std::numeric_limits<std::int64_t>::min());
    EXPECT_EQ(formatRfc3339Nanos(first->unixNanos), "1677-09-21T00:12:43.145224192Z");
    const auto last = parseRfc3339("2262-04-11T23:47:16.854775807Z");
    ASSERT_TRUE(last);
    EXPECT_EQ(last->unixNanos, std::numeric_limits<std::int64_t>::max());
    for (const char* outside : {"1677-09-21T00:12:43.145224191Z", "2262-04-11T23:47:16.854775808Z",
                                "0000-01-01T00:00:00Z", "9999-12-31T23:59:59Z"})
    {
        EXPECT_FALSE(parseRfc3339(outside)) << outside;
        EXPECT_TRUE(rotator::core::isRfc3339(outside)) << outside;
    }
    EXPECT_FALSE(rotator::core::isRfc3339("9999-12-31T23:59:60Z"));
}

TEST(Rfc3339, FormatsEveryMillisecondCountWithoutOverflow)
{
    // Milliseconds reach far beyond the nanosecond range (a huge configured expiry).
    EXPECT_EQ(formatRfc3339Ms(-9223372036855), "1677-09-21T00:12:43.145Z");
    EXPECT_EQ(formatRfc3339Ms(std::numeric_limits<std::int64_t>::max()),
              "292278994-08-17T07:12:55.807Z");
    EXPECT_EQ(formatRfc3339Ms(std::numeric_limits<std::int64_t>::min()),
              "-292275055-05-16T16:47:04.192Z");
    EXPECT_EQ(rotator::core::formatRfc3339Seconds(-1), "1969-12-31T23:59:59Z");
    EXPECT_EQ(formatRfc3339Nanos(-1), "1969-12-31T23:59:59.999999999Z");
}
