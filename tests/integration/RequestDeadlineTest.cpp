// astra.requestDeadline: an attempt against a DevOps API that trickles its answer (the
// simulator's `trickle` fault: one byte every 50 ms, so no single wait ever reaches
// astra.timeout) ends at the deadline, with a failure that names it.

#include <chrono>
#include <string>

#include <gtest/gtest.h>

#include "rotator/api/AstraClient.h"
#include "rotator/core/Clock.h"
#include "rotator/sim/FaultRule.h"
#include "rotator/sim/Simulator.h"
#include "support/TestCerts.h"

namespace
{

using namespace rotator;
using Clock = std::chrono::steady_clock;

constexpr std::int64_t kDeadlineMs = 1'000;

class RequestDeadline : public ::testing::Test
{
protected:
    RequestDeadline() : _sim(test::tlsSimulatorOptions())
    {
        api::ClientOptions options;
        options.url = "https://127.0.0.1:" + std::to_string(_sim.port());
        options.caFile = test::sharedTestCerts().caFile;
        options.timeoutMs = 10'000;
        options.requestDeadlineMs = kDeadlineMs;
        options.maxAttempts = 1;
        _client = std::make_unique<api::AstraClient>(options, _sim.adminToken(), _clock);
    }

    void trickle(const std::string& method)
    {
        sim::FaultRule rule;
        rule.kind = sim::FaultKind::Trickle;
        rule.method = method;
        rule.pathPrefix = "/v2/clientIdSecrets";
        rule.delayMs = 50;
        rule.count = 1;
        _sim.addFault(rule);
    }

    static std::int64_t msSince(Clock::time_point start)
    {
        return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
    }

    sim::Simulator _sim;
    core::SystemClock _clock;
    std::unique_ptr<api::AstraClient> _client;
};

TEST_F(RequestDeadline, ATricklingAnswerFailsTheAttemptAtTheDeadlineNamingIt)
{
    trickle("GET");
    const auto start = Clock::now();
    const auto listed = _client->listClients();
    const auto tookMs = msSince(start);

    ASSERT_FALSE(listed.has_value()) << "the whole trickled answer was awaited";
    EXPECT_EQ(listed.error().kind, core::FailureKind::Transient);
    EXPECT_NE(listed.error().message.find("GET /v2/clientIdSecrets: no complete answer from "),
              std::string::npos)
        << listed.error().message;
    EXPECT_NE(listed.error().message.find("within astra.requestDeadline (1s)"), std::string::npos)
        << listed.error().message;
    EXPECT_GE(tookMs, kDeadlineMs);
    EXPECT_LT(tookMs, kDeadlineMs + 1'500);

    // The next attempt, on a fresh connection, is served normally.
    EXPECT_TRUE(_client->listClients().has_value());
}

// The request was sent whole: the server may have committed the create, so the failure is
// ambiguous (the engine reconciles by listing), as for any answer lost after the first byte.
TEST_F(RequestDeadline, ACreateWhoseAnswerTricklesPastTheDeadlineIsAmbiguous)
{
    trickle("POST");
    core::CreateRequest request;
    request.roleIds = {_sim.roleId("R/W Svc Acct")};
    const auto before = _sim.clients().size();
    const auto start = Clock::now();
    const auto created = _client->createClient(request);

    ASSERT_FALSE(created.has_value());
    EXPECT_TRUE(created.error().ambiguous) << created.error().message;
    EXPECT_NE(created.error().message.find("astra.requestDeadline"), std::string::npos)
        << created.error().message;
    EXPECT_LT(msSince(start), kDeadlineMs + 1'500);
    EXPECT_EQ(_sim.clients().size(), before + 1);
}

} // namespace
