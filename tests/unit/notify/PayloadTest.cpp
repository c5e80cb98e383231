// What a webhook receives: the event, the credential, the reason and the command that fixes it.

#include <gtest/gtest.h>

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include "rotator/notify/Notifier.h"
#include "rotator/notify/Payload.h"

namespace rotator::notify
{
namespace
{

store::NotificationRow quarantined()
{
    store::NotificationRow row;
    row.id = 7;
    row.notifier = "oncall";
    row.idempotencyKey = "0123456789abcdef-42-oncall";
    row.event.id = 42;
    row.event.atMs = 1'700'000'000'123;
    row.event.credential = "billing";
    row.event.rotationId = 9;
    row.event.event = "quarantined";
    row.event.detail = "after 3 consecutive failures; every client stays alive";
    return row;
}

Poco::JSON::Object::Ptr parse(const std::string& text)
{
    return Poco::JSON::Parser().parse(text).extract<Poco::JSON::Object::Ptr>();
}

} // namespace

TEST(Payload, JsonNamesTheEventTheCredentialTheReasonAndTheFix)
{
    const auto o = parse(renderPayload(quarantined(), config::NotifyFormat::Json));
    EXPECT_EQ(o->getValue<std::string>("event"), "quarantined");
    EXPECT_EQ(o->getValue<std::string>("credential"), "billing");
    EXPECT_EQ(o->getValue<std::string>("reason"),
              "after 3 consecutive failures; every client stays alive");
    EXPECT_EQ(o->getValue<std::string>("fix"), "astra-rotator rotate billing");
    EXPECT_EQ(o->getValue<std::string>("at"), "2023-11-14T22:13:20.123Z");
    EXPECT_EQ(o->getValue<int>("rotationId"), 9);
    EXPECT_TRUE(o->isNull("clientId"));
    EXPECT_EQ(o->getValue<std::string>("notifier"), "oncall");
    EXPECT_EQ(o->getValue<std::string>("idempotencyKey"), "0123456789abcdef-42-oncall");
}

TEST(Payload, SlackIsOneTextLineWithTheFix)
{
    const auto o = parse(renderPayload(quarantined(), config::NotifyFormat::Slack));
    ASSERT_EQ(o->size(), 1U);
    EXPECT_EQ(o->getValue<std::string>("text"),
              "astra-rotator: quarantined (credential billing): after 3 consecutive failures; "
              "every client stays alive (2023-11-14T22:13:20Z). Fix: astra-rotator rotate "
              "billing");
}

TEST(Payload, EveryDefaultEventHasAFix)
{
    for (const auto& kind : config::kDefaultNotifyEvents)
    {
        store::EventRow e;
        e.event = kind;
        e.credential = kind == "unattributed" || kind == "foreign" ? "" : "billing";
        EXPECT_FALSE(fixFor(e).empty()) << kind;
    }
    store::EventRow retired;
    retired.event = "retired";
    retired.credential = "old";
    EXPECT_EQ(fixFor(retired), "astra-rotator retire old --revoke");
    store::EventRow promoted;
    promoted.event = "promoted";
    promoted.credential = "billing";
    EXPECT_EQ(fixFor(promoted), ""); // nothing to fix
}

TEST(Payload, QuotesAndControlCharactersStayInsideTheirStrings)
{
    auto row = quarantined();
    row.event.detail = "sink \"vault\" said:\n\tno";
    const auto o = parse(renderPayload(row, config::NotifyFormat::Json));
    EXPECT_EQ(o->getValue<std::string>("reason"), "sink \"vault\" said:\n\tno");
}

TEST(DeliveryAttempt, OnlyA2xxDeliversAndOnlyAFinal4xxGivesUp)
{
    EXPECT_STREQ(attemptResult(200), "delivered");
    EXPECT_STREQ(attemptResult(204), "delivered");
    EXPECT_STREQ(attemptResult(400), "rejected");
    EXPECT_STREQ(attemptResult(404), "rejected");
    EXPECT_STREQ(attemptResult(408), "retry");
    EXPECT_STREQ(attemptResult(429), "retry");
    EXPECT_STREQ(attemptResult(500), "retry");
    EXPECT_STREQ(attemptResult(503), "retry");
    EXPECT_STREQ(attemptResult(302), "retry");
    EXPECT_STREQ(attemptResult(std::nullopt), "retry"); // no answer
}

TEST(DeliveryAttempt, RetriesBackOffWithJitterUpToTheCapAndHonourRetryAfter)
{
    const api::Backoff::Policy policy{.baseMs = 1000, .capMs = 60'000, .maxRetryAfterMs = 600'000};
    api::Backoff backoff(policy, 7);
    for (int attempt = 1; attempt <= 12; ++attempt)
    {
        const std::int64_t ceiling = std::min<std::int64_t>(60'000, 1000LL << (attempt - 1));
        for (int draw = 0; draw < 50; ++draw)
        {
            const std::int64_t delay = retryDelayMs(backoff, policy, attempt, std::nullopt);
            EXPECT_GE(delay, 250) << "attempt " << attempt; // never at once
            EXPECT_LE(delay, std::max<std::int64_t>(250, ceiling)) << "attempt " << attempt;
        }
    }
    EXPECT_EQ(retryDelayMs(backoff, policy, 1, 30'000), 30'000);
    EXPECT_EQ(retryDelayMs(backoff, policy, 1, 7'200'000), 600'000);
    // Deterministic for a seed: a test can predict the schedule.
    api::Backoff a(policy, 42);
    api::Backoff b(policy, 42);
    for (int attempt = 1; attempt <= 5; ++attempt)
    {
        EXPECT_EQ(retryDelayMs(a, policy, attempt, std::nullopt),
                  retryDelayMs(b, policy, attempt, std::nullopt));
    }
}

} // namespace rotator::notify
