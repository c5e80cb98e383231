#include <gtest/gtest.h>

#include "rotator/core/Time.h"
#include "rotator/schedule/Schedule.h"

using namespace rotator;

namespace
{

std::int64_t at(const char* rfc3339)
{
    return core::parseRfc3339(rfc3339)->unixMs();
}

config::Window window(std::uint8_t days, int start, int end, const char* text = "w")
{
    config::Window w;
    w.text = text;
    w.days = days;
    w.startMinute = start;
    w.endMinute = end;
    return w;
}

constexpr std::uint8_t kMonFri = 0x1f;
constexpr std::int64_t kDay = 86'400'000;

} // namespace

TEST(Schedule, JitterIsDeterministicAndBounded)
{
    EXPECT_EQ(schedule::jitterOffsetMs("billing", 0), 0);
    const auto a = schedule::jitterOffsetMs("billing", 3'600'000);
    EXPECT_EQ(a, schedule::jitterOffsetMs("billing", 3'600'000));
    EXPECT_GE(a, 0);
    EXPECT_LE(a, 3'600'000);
    EXPECT_NE(a, schedule::jitterOffsetMs("search", 3'600'000));
}

TEST(Schedule, WindowKeepsATimeInsideAndMovesOneOutside)
{
    const auto w = window(kMonFri, 2 * 60, 4 * 60);
    // 2026-11-26 is a Thursday.
    EXPECT_EQ(schedule::nextInWindow(at("2026-11-26T03:00:00Z"), w), at("2026-11-26T03:00:00Z"));
    EXPECT_EQ(schedule::nextInWindow(at("2026-11-26T01:00:00Z"), w), at("2026-11-26T02:00:00Z"));
    EXPECT_EQ(schedule::nextInWindow(at("2026-11-26T04:00:00Z"), w), at("2026-11-27T02:00:00Z"));
    // Friday after the window: skips the weekend.
    EXPECT_EQ(schedule::nextInWindow(at("2026-11-27T05:00:00Z"), w), at("2026-11-30T02:00:00Z"));
}

TEST(Schedule, WindowCrossingMidnightBelongsToItsStartDay)
{
    const auto fridayNight = window(1u << 4, 22 * 60, 2 * 60); // Fri 22:00-02:00
    EXPECT_EQ(schedule::nextInWindow(at("2026-11-28T01:00:00Z"), fridayNight),
              at("2026-11-28T01:00:00Z")); // Saturday 01:00 is still Friday's window
    EXPECT_EQ(schedule::nextInWindow(at("2026-11-28T03:00:00Z"), fridayNight),
              at("2026-12-04T22:00:00Z"));
    EXPECT_FALSE(schedule::nextInWindow(0, window(0, 0, 60)));
}

TEST(Schedule, DueWhenTheCurrentClientReachesMaxAge)
{
    config::CredentialSettings c;
    c.name = "billing";
    c.maxAgeMs = 30 * kDay;
    store::CredentialRow row;
    row.name = "billing";
    row.currentClientId = "AbCdEfGhIjKlMnOpQrStUvWx";
    const auto generated = at("2026-11-01T00:00:00Z");
    const auto plan = schedule::nextRotation(c, &row, generated, at("2026-11-10T00:00:00Z"));
    ASSERT_TRUE(plan.atMs);
    EXPECT_EQ(*plan.atMs, generated + 30 * kDay);
    EXPECT_NE(plan.reason.find("reaches maxAge 30d"), std::string::npos) << plan.reason;
}

TEST(Schedule, BootstrapIsDueNowAndQuarantineIsNeverDue)
{
    config::CredentialSettings c;
    c.name = "billing";
    c.maxAgeMs = 30 * kDay;
    const auto now = at("2026-11-10T00:00:00Z");
    const auto boot = schedule::nextRotation(c, nullptr, std::nullopt, now);
    EXPECT_EQ(boot.atMs, now);
    EXPECT_NE(boot.reason.find("no current client"), std::string::npos);

    store::CredentialRow row;
    row.state = core::CredentialState::Quarantined;
    row.consecutiveFailures = 5;
    const auto q = schedule::nextRotation(c, &row, now, now);
    EXPECT_FALSE(q.atMs);
    EXPECT_NE(q.reason.find("rotate billing"), std::string::npos);
}

TEST(Schedule, BackoffAndWindowPushTheDueTimeAndSaySo)
{
    config::CredentialSettings c;
    c.name = "billing";
    c.maxAgeMs = 30 * kDay;
    c.window = window(kMonFri, 2 * 60, 4 * 60, "Mon-Fri 02:00-04:00");
    store::CredentialRow row;
    row.currentClientId = "AbCdEfGhIjKlMnOpQrStUvWx";
    row.consecutiveFailures = 2;
    row.nextAttemptMs = at("2026-11-27T05:00:00Z"); // Friday after the window
    const auto generated = at("2026-10-01T00:00:00Z");
    const auto plan = schedule::nextRotation(c, &row, generated, at("2026-11-27T04:30:00Z"));
    ASSERT_TRUE(plan.atMs);
    EXPECT_EQ(*plan.atMs, at("2026-11-30T02:00:00Z"));
    EXPECT_NE(plan.reason.find("retry backoff after 2"), std::string::npos) << plan.reason;
    EXPECT_NE(plan.reason.find("waits for window Mon-Fri 02:00-04:00"), std::string::npos);
}

TEST(Schedule, AnOverdueCredentialStillWaitsForItsWindow)
{
    config::CredentialSettings c;
    c.name = "billing";
    c.maxAgeMs = 30 * kDay;
    c.window = window(1u << 0, 2 * 60, 3 * 60, "Mon 02:00-03:00");
    store::CredentialRow row;
    row.currentClientId = "AbCdEfGhIjKlMnOpQrStUvWx";
    // Due since 2026-10-31; now is Thursday 2026-11-26 10:00, outside the window.
    const auto plan = schedule::nextRotation(c, &row, at("2026-10-01T00:00:00Z"),
                                             at("2026-11-26T10:00:00Z"));
    ASSERT_TRUE(plan.atMs);
    EXPECT_EQ(*plan.atMs, at("2026-11-30T02:00:00Z"));
    // Inside the window it is due at once.
    const auto inside = schedule::nextRotation(c, &row, at("2026-10-01T00:00:00Z"),
                                               at("2026-11-30T02:30:00Z"));
    EXPECT_EQ(inside.atMs, at("2026-11-30T02:30:00Z"));
}
