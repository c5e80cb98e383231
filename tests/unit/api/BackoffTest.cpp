#include <gtest/gtest.h>

#include "rotator/api/Backoff.h"
#include "rotator/api/HttpFailure.h"
#include "support/FakeClock.h"

using namespace rotator;

TEST(Backoff, StaysWithinTheCappedExponentialCeiling)
{
    api::Backoff::Policy policy{100, 1000, 60000};
    api::Backoff backoff(policy, 42);
    for (int round = 0; round < 200; ++round)
    {
        for (int attempt = 1; attempt <= 8; ++attempt)
        {
            const auto d = backoff.delayMs(attempt, std::nullopt);
            EXPECT_GE(d, 0);
            EXPECT_LE(d, std::min<std::int64_t>(1000, 100LL << (attempt - 1)));
        }
    }
}

TEST(Backoff, IsDeterministicForASeedAndJittered)
{
    api::Backoff a({100, 10000, 60000}, 7);
    api::Backoff b({100, 10000, 60000}, 7);
    std::set<std::int64_t> seen;
    for (int i = 0; i < 20; ++i)
    {
        const auto x = a.delayMs(6, std::nullopt);
        EXPECT_EQ(x, b.delayMs(6, std::nullopt));
        seen.insert(x);
    }
    EXPECT_GT(seen.size(), 10u);
}

TEST(Backoff, HonoursRetryAfterUpToTheCap)
{
    api::Backoff backoff({100, 1000, 30000}, 1);
    EXPECT_EQ(backoff.delayMs(1, 5000), 5000);
    EXPECT_EQ(backoff.delayMs(1, 0), 0);
    EXPECT_EQ(backoff.delayMs(3, 120000), 30000);
}

TEST(RateLimiter, SpacesRequestsAfterTheBurst)
{
    test::FakeClock clock;
    api::RateLimiter limiter(clock, 10.0, 2.0);
    EXPECT_EQ(limiter.acquire(), 0);
    EXPECT_EQ(limiter.acquire(), 0);
    EXPECT_EQ(limiter.acquire(), 100);
    EXPECT_EQ(limiter.acquire(), 100);
    clock.advanceMs(10000);
    EXPECT_EQ(limiter.acquire(), 0);
    EXPECT_EQ(clock.sleptMs(), 200);
}

TEST(RetryAfter, ParsesSecondsAndHttpDates)
{
    EXPECT_EQ(api::parseRetryAfter("3", 0).value(), 3000);
    EXPECT_EQ(api::parseRetryAfter("0", 0).value(), 0);
    // Sun, 06 Nov 1994 08:49:37 GMT = 784111777 s
    EXPECT_EQ(api::parseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", 784111770000).value(), 7000);
    EXPECT_EQ(api::parseRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT", 784111790000).value(), 0);
    EXPECT_FALSE(api::parseRetryAfter("soon", 0));
    EXPECT_FALSE(api::parseRetryAfter("", 0));
    EXPECT_FALSE(api::parseRetryAfter("-1", 0));
}

TEST(ClassifyHttpFailure, SortsStatusesIntoKinds)
{
    auto kindOf = [](int status) {
        api::HttpResult r;
        r.status = status;
        return api::classifyHttpFailure("GET", "/v2/clientIdSecrets", r).kind;
    };
    EXPECT_EQ(kindOf(401), core::FailureKind::Auth);
    EXPECT_EQ(kindOf(403), core::FailureKind::Auth);
    EXPECT_EQ(kindOf(404), core::FailureKind::NotFound);
    EXPECT_EQ(kindOf(429), core::FailureKind::Transient);
    EXPECT_EQ(kindOf(408), core::FailureKind::Transient);
    EXPECT_EQ(kindOf(500), core::FailureKind::Transient);
    EXPECT_EQ(kindOf(503), core::FailureKind::Transient);
    EXPECT_EQ(kindOf(501), core::FailureKind::Permanent);
    EXPECT_EQ(kindOf(400), core::FailureKind::Permanent);
}

TEST(ClassifyHttpFailure, NamesTheCallTheStatusAndTheApiError)
{
    api::HttpResult r;
    r.status = 401;
    r.contentType = "application/json";
    r.body = R"({"errors":[{"ID":340018,"message":"Resource not found: token"}]})";
    r.retryAfterMs = 2000;
    auto f = api::classifyHttpFailure("GET", "/v2/currentOrg", r);
    EXPECT_EQ(f.httpStatus, 401);
    EXPECT_EQ(f.apiErrorId.value_or(0), 340018);
    EXPECT_EQ(f.retryAfterMs.value_or(0), 2000);
    EXPECT_NE(f.message.find("GET /v2/currentOrg: HTTP 401 (error 340018): Resource not found"),
              std::string::npos)
        << f.message;
}
