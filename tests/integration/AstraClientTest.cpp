// The real DevOps API client (AstraClient) against the in-process simulator over verified TLS on
// 127.0.0.1:0: every endpoint, the failure classification, retries, TLS failures, connection
// reuse, and that no token or secret ever reaches a log line or a failure message.

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include <Poco/Logger.h>
#include <Poco/Message.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "rotator/api/AstraClient.h"
#include "rotator/api/JsonMapping.h"
#include "rotator/config/TokenSource.h"
#include "rotator/core/Model.h"
#include "rotator/core/Outcome.h"
#include "rotator/core/Secret.h"
#include "rotator/core/Time.h"
#include "rotator/sim/FaultRule.h"
#include "rotator/sim/Simulator.h"
#include "support/FakeClock.h"
#include "support/LogCapture.h"
#include "support/ProcessRunner.h"
#include "support/TempDir.h"
#include "support/TestCerts.h"
#include "support/TlsProbe.h"

namespace
{

namespace api = rotator::api;
namespace core = rotator::core;
namespace sim = rotator::sim;

using core::FailureKind;
using core::Secret;
using rotator::test::FakeClock;
using rotator::test::LogCapture;
using rotator::test::sharedTestCerts;
using sim::FaultKind;
using sim::FaultRule;

const std::string kClientsPath = "/v2/clientIdSecrets";
const std::string kDeletePath = "/v2/clientIdSecrets/{clientId}";
const std::string kOrgPath = "/v2/currentOrg";
const std::string kRolesPath = "/v2/organizations/roles";
const std::string kUnknownClientId = "AbCdEfGhIjKlMnOpQrStUvWx";
constexpr std::int64_t kDayMs = 86'400'000;

FaultRule fault(FaultKind kind, std::string method, std::string path, std::optional<int> count,
                int status = 0)
{
    FaultRule rule;
    rule.kind = kind;
    rule.method = std::move(method);
    rule.pathPrefix = std::move(path);
    rule.count = count;
    rule.status = status;
    return rule;
}

std::string clientIdOf(const Secret& token)
{
    return token.reveal().substr(8, 24); // AstraCS:<clientId>:<hash>
}

const core::ClientInfo* findClient(const std::vector<core::ClientInfo>& clients,
                                   const std::string& clientId)
{
    for (const auto& c : clients)
    {
        if (c.clientId == clientId)
        {
            return &c;
        }
    }
    return nullptr;
}

std::int64_t elapsedMs(std::chrono::steady_clock::time_point since)
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                 since)
        .count();
}

bool contains(const std::string& text, const std::string& part)
{
    return text.find(part) != std::string::npos;
}

/// Starts the simulator over TLS on 127.0.0.1:0 with a fake clock shared with the client, and
/// an AstraClient that trusts the test CA, with short timeouts and a small backoff.
class AstraClient : public ::testing::Test
{
protected:
    void SetUp() override { startSimulator(sim::RoleCasing::Upper); }

    void startSimulator(sim::RoleCasing casing)
    {
        _client.reset();
        _sim.reset();
        sim::SimulatorOptions options = rotator::test::tlsSimulatorOptions();
        options.host = "127.0.0.1";
        options.port = 0;
        options.clock = _clock;
        options.roleCasing = casing;
        _sim = std::make_unique<sim::Simulator>(options);
        _client = makeClient(clientOptions(), _sim->adminToken());
    }

    api::ClientOptions clientOptions() const
    {
        api::ClientOptions options;
        options.url = "https://127.0.0.1:" + std::to_string(_sim->port());
        options.caFile = sharedTestCerts().caFile;
        options.timeoutMs = 2'000;
        options.maxAttempts = 3;
        options.requestsPerSecond = 1'000; // the rate limiter must not add to sleptMs()
        options.backoff.baseMs = 10;
        options.backoff.capMs = 50;
        options.seed = 7;
        return options;
    }

    std::unique_ptr<api::AstraClient> makeClient(api::ClientOptions options, Secret token)
    {
        return std::make_unique<api::AstraClient>(std::move(options), std::move(token), *_clock);
    }

    api::AstraClient& client() { return *_client; }

    /// `dir`/admin.token holding the simulator's admin token, followed as astra.tokenFile.
    std::shared_ptr<rotator::config::TokenSource>
    followedTokenFile(const rotator::test::TempDir& dir)
    {
        rotator::test::writeFile(dir.file("admin.token"), _sim->adminToken().reveal() + "\n", 0600);
        std::vector<std::string> warnings;
        return rotator::config::TokenSource::follow(dir.file("admin.token"), "astra.tokenFile",
                                                    warnings);
    }

    core::CreateRequest createRequest(const std::string& description) const
    {
        core::CreateRequest request;
        request.roleIds = {_sim->roleId("R/W Svc Acct")};
        request.description = description;
        request.tokenExpiry = core::formatRfc3339Seconds(_clock->nowMs() + 7 * kDayMs);
        return request;
    }

    core::CreatedClient seed(const std::string& roleName)
    {
        sim::ClientSeed s;
        s.roles = {roleName};
        return _sim->createClient(s);
    }

    std::int64_t count(const std::string& method, const std::string& path,
                       std::optional<int> status = std::nullopt) const
    {
        return _sim->requestCount(method, path, status);
    }

    std::shared_ptr<FakeClock> _clock = std::make_shared<FakeClock>();
    std::unique_ptr<sim::Simulator> _sim;
    std::unique_ptr<api::AstraClient> _client;
};

void expectRolesMatch(const sim::Simulator& simulator, const std::vector<core::Role>& roles)
{
    const auto expected = simulator.roles();
    ASSERT_EQ(roles.size(), expected.size());
    for (std::size_t i = 0; i < roles.size(); ++i)
    {
        EXPECT_EQ(roles[i].id, expected[i].id);
        EXPECT_EQ(roles[i].name, expected[i].name);
    }
}

// ---------------------------------------------------------------------------------------------
// The endpoints

TEST_F(AstraClient, ListsSeededClientsWithRolesTimesAndDescriptionOverVerifiedTls)
{
    sim::ClientSeed s;
    s.roles = {"R/W Svc Acct"};
    s.description = "billing reader";
    s.generatedOnMs = 1'650'000'000'123;
    s.tokenExpiryMs = _clock->nowMs() + kDayMs;
    const core::CreatedClient seeded = _sim->createClient(s);

    const auto list = client().listClients();
    ASSERT_TRUE(list) << list.error().message;
    EXPECT_EQ(list->size(), 2U); // the bootstrap admin and the seeded client

    const core::ClientInfo* info = findClient(*list, seeded.clientId);
    ASSERT_NE(info, nullptr);
    EXPECT_EQ(info->roles, std::vector<std::string>{_sim->roleId("R/W Svc Acct")});
    EXPECT_EQ(info->generatedOnMs, 1'650'000'000'123);
    EXPECT_EQ(info->generatedOn, core::formatRfc3339Ms(1'650'000'000'123));
    EXPECT_EQ(info->description, "billing reader");
    EXPECT_EQ(info->tokenExpiry, core::formatRfc3339Ms(*s.tokenExpiryMs));

    const core::ClientInfo* admin = findClient(*list, clientIdOf(_sim->adminToken()));
    ASSERT_NE(admin, nullptr);
    EXPECT_EQ(admin->roles, std::vector<std::string>{_sim->roleId("Organization Administrator")});
    EXPECT_FALSE(admin->tokenExpiry.has_value());
    EXPECT_EQ(count("GET", kClientsPath, 200), 1);
}

TEST_F(AstraClient, CreatesAClientThatPassesTheSelfCheckAndCarriesDescriptionAndExpiry)
{
    const core::CreateRequest request = createRequest("astra-rotator test create");
    const auto created = client().createClient(request);
    ASSERT_TRUE(created) << created.error().message;
    EXPECT_TRUE(api::checkCreatedClient(*created, request));
    EXPECT_EQ(created->orgId, _sim->orgId());
    EXPECT_EQ(created->roles, request.roleIds);
    EXPECT_EQ(created->generatedOnMs, _clock->nowMs());
    EXPECT_EQ(count("POST", kClientsPath), 1);

    const auto list = client().listClients();
    ASSERT_TRUE(list) << list.error().message;
    const core::ClientInfo* info = findClient(*list, created->clientId);
    ASSERT_NE(info, nullptr);
    EXPECT_EQ(info->roles, request.roleIds);
    EXPECT_EQ(info->generatedOnMs, created->generatedOnMs);
    EXPECT_EQ(info->description, "astra-rotator test create");
    EXPECT_EQ(info->tokenExpiry, core::formatRfc3339Ms(_clock->nowMs() + 7 * kDayMs));
}

TEST_F(AstraClient, DeletesAClientAndTreatsAnUnknownIdAsAlreadyGone)
{
    const core::CreatedClient victim = seed("RO Svc Acct");

    const auto deleted = client().deleteClient(victim.clientId);
    ASSERT_TRUE(deleted) << deleted.error().message;
    const auto list = client().listClients();
    ASSERT_TRUE(list) << list.error().message;
    EXPECT_EQ(findClient(*list, victim.clientId), nullptr);
    EXPECT_EQ(count("DELETE", kDeletePath, 204), 1);

    // 404 means "already gone", for a deleted id as for one that never existed.
    EXPECT_TRUE(client().deleteClient(victim.clientId));
    EXPECT_TRUE(client().deleteClient(kUnknownClientId));
    EXPECT_EQ(count("DELETE", kDeletePath, 404), 2);
}

TEST_F(AstraClient, ReportsEveryExchangeToTheObserverByPathTemplate)
{
    std::vector<std::string> seen;
    api::AstraClient observed(clientOptions(), _sim->adminToken(), *_clock,
                              [&seen](std::string_view method, std::string_view path, int status) {
                                  seen.push_back(std::string(method) + " " + std::string(path) +
                                                 " " + std::to_string(status));
                              });
    _sim->addFault(fault(FaultKind::Status, "GET", kOrgPath, 1, 503));
    EXPECT_TRUE(observed.currentOrg());
    EXPECT_TRUE(observed.deleteClient(kUnknownClientId));
    const std::vector<std::string> expected = {
        "GET /v2/currentOrg 503", "GET /v2/currentOrg 200",
        "DELETE /v2/clientIdSecrets/{clientId} 404"}; // never the client id itself
    EXPECT_EQ(seen, expected);
}

TEST_F(AstraClient, RefusesToDeleteSomethingThatIsNotAClientIdWithoutAsking)
{
    const auto r = client().deleteClient("../currentOrg");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().kind, FailureKind::Permanent);
    EXPECT_TRUE(_sim->requestCounts().empty());
}

TEST_F(AstraClient, ReadsTheOrgOfTheAdminTokenAndOfANewlyCreatedToken)
{
    const auto org = client().currentOrg();
    ASSERT_TRUE(org) << org.error().message;
    EXPECT_EQ(*org, _sim->orgId());

    const auto created = client().createClient(createRequest("verify me"));
    ASSERT_TRUE(created) << created.error().message;
    const auto probe = client().currentOrgWith(created->token);
    ASSERT_TRUE(probe) << probe.error().message;
    EXPECT_EQ(*probe, _sim->orgId());
}

TEST_F(AstraClient, TokenThatMayNotReadTheOrgVerifiesWithAnEmptyOrgId)
{
    const core::CreatedClient custom = seed("DB Reader (custom)");
    const auto probe = client().currentOrgWith(custom.token);
    ASSERT_TRUE(probe) << probe.error().message;
    EXPECT_EQ(*probe, "");
    EXPECT_EQ(count("GET", kOrgPath, 403), 1); // an answer, not retried
}

TEST_F(AstraClient, ListsRolesInTheDocsAndTheSpecKeyCasing)
{
    const auto upper = client().listRoles();
    ASSERT_TRUE(upper) << upper.error().message;
    expectRolesMatch(*_sim, *upper);

    startSimulator(sim::RoleCasing::Lower);
    const auto lower = client().listRoles();
    ASSERT_TRUE(lower) << lower.error().message;
    expectRolesMatch(*_sim, *lower);
    EXPECT_EQ(count("GET", kRolesPath, 200), 1);
}

// ---------------------------------------------------------------------------------------------
// Failures

TEST_F(AstraClient, RevokedAdminTokenFailsWithAuth401AndTheApiErrorIdNamingTheCall)
{
    ASSERT_TRUE(_sim->revokeClient(clientIdOf(_sim->adminToken())));

    const auto list = client().listClients();
    ASSERT_FALSE(list);
    const core::Failure& f = list.error();
    EXPECT_EQ(f.kind, FailureKind::Auth);
    EXPECT_EQ(f.httpStatus, 401);
    EXPECT_EQ(f.apiErrorId, sim::kErrorUnknownToken);
    EXPECT_FALSE(f.ambiguous);
    EXPECT_TRUE(contains(f.message, "GET /v2/clientIdSecrets")) << f.message;
    EXPECT_TRUE(contains(f.message, "340018")) << f.message;
    EXPECT_EQ(count("GET", kClientsPath), 1); // not retried

    const auto org = client().currentOrg();
    ASSERT_FALSE(org);
    EXPECT_EQ(org.error().kind, FailureKind::Auth);
    EXPECT_TRUE(contains(org.error().message, "GET /v2/currentOrg")) << org.error().message;
}

TEST_F(AstraClient, MissingPermissionFailsWithAuth403)
{
    const core::CreatedClient weak = seed("R/W Svc Acct"); // no org-token-read or -write
    auto weakClient = makeClient(clientOptions(), weak.token);

    const auto list = weakClient->listClients();
    ASSERT_FALSE(list);
    EXPECT_EQ(list.error().kind, FailureKind::Auth);
    EXPECT_EQ(list.error().httpStatus, 403);
    EXPECT_EQ(list.error().apiErrorId, sim::kErrorSimulatorBase + 403);
    EXPECT_TRUE(contains(list.error().message, "org-token-read")) << list.error().message;

    const auto created = weakClient->createClient(createRequest("not allowed"));
    ASSERT_FALSE(created);
    EXPECT_EQ(created.error().kind, FailureKind::Auth);
    EXPECT_EQ(created.error().httpStatus, 403);
    EXPECT_FALSE(created.error().ambiguous);
    EXPECT_EQ(count("GET", kClientsPath), 1);
    EXPECT_EQ(count("POST", kClientsPath), 1);
}

TEST_F(AstraClient, NotFoundIsReportedAsNotFoundWithoutRetrying)
{
    _sim->addFault(fault(FaultKind::Status, "GET", kRolesPath, std::nullopt, 404));
    const auto roles = client().listRoles();
    ASSERT_FALSE(roles);
    EXPECT_EQ(roles.error().kind, FailureKind::NotFound);
    EXPECT_EQ(roles.error().httpStatus, 404);
    EXPECT_EQ(count("GET", kRolesPath), 1);
}

TEST_F(AstraClient, RateLimitWithRetryAfterIsWaitedOutThenTheGetSucceeds)
{
    FaultRule rule = fault(FaultKind::RateLimit, "GET", kClientsPath, 1);
    rule.retryAfterSeconds = 3;
    _sim->addFault(rule);
    const std::int64_t sleptBefore = _clock->sleptMs();

    const auto list = client().listClients();
    ASSERT_TRUE(list) << list.error().message;
    EXPECT_EQ(count("GET", kClientsPath), 2);
    EXPECT_EQ(count("GET", kClientsPath, 429), 1);
    EXPECT_EQ(_clock->sleptMs() - sleptBefore, 3'000);
}

TEST_F(AstraClient, RateLimitWithoutRetryAfterBacksOffBrieflyAndAPersistentOneIsTransient)
{
    _sim->addFault(fault(FaultKind::RateLimit, "GET", kClientsPath, 1));
    const std::int64_t sleptBefore = _clock->sleptMs();
    const auto list = client().listClients();
    ASSERT_TRUE(list) << list.error().message;
    EXPECT_EQ(count("GET", kClientsPath), 2);
    EXPECT_LE(_clock->sleptMs() - sleptBefore, 50); // within backoff.capMs

    _sim->addFault(fault(FaultKind::RateLimit, "GET", kClientsPath, std::nullopt));
    const auto limited = client().listClients();
    ASSERT_FALSE(limited);
    EXPECT_EQ(limited.error().kind, FailureKind::Transient);
    EXPECT_EQ(limited.error().httpStatus, 429);
    EXPECT_FALSE(limited.error().retryAfterMs.has_value());
    EXPECT_FALSE(limited.error().ambiguous);
    EXPECT_TRUE(contains(limited.error().message, "after 3 attempts")) << limited.error().message;
    EXPECT_EQ(count("GET", kClientsPath), 5);
}

TEST_F(AstraClient, ServerErrorsOnAGetAreRetriedUpToMaxAttemptsThenTransient)
{
    _sim->addFault(fault(FaultKind::Status, "GET", kOrgPath, 2, 500));
    const auto recovered = client().currentOrg();
    ASSERT_TRUE(recovered) << recovered.error().message;
    EXPECT_EQ(count("GET", kOrgPath, 500), 2);
    EXPECT_EQ(count("GET", kOrgPath, 200), 1);

    _sim->resetRequestCounts();
    _sim->addFault(fault(FaultKind::Status, "GET", kOrgPath, std::nullopt, 503));
    const auto failed = client().currentOrg();
    ASSERT_FALSE(failed);
    EXPECT_EQ(failed.error().kind, FailureKind::Transient);
    EXPECT_EQ(failed.error().httpStatus, 503);
    EXPECT_TRUE(contains(failed.error().message, "after 3 attempts")) << failed.error().message;
    EXPECT_EQ(count("GET", kOrgPath), 3);
}

TEST_F(AstraClient, PostThatGets503IsNotRetriedAndIsAmbiguous)
{
    _sim->addFault(fault(FaultKind::Status, "POST", kClientsPath, std::nullopt, 503));
    const auto created = client().createClient(createRequest("never retried"));
    ASSERT_FALSE(created);
    EXPECT_EQ(created.error().kind, FailureKind::Transient);
    EXPECT_EQ(created.error().httpStatus, 503);
    EXPECT_TRUE(created.error().ambiguous);
    EXPECT_FALSE(contains(created.error().message, "attempts")) << created.error().message;
    EXPECT_EQ(count("POST", kClientsPath), 1);
    EXPECT_EQ(_clock->sleptMs(), 0);
}

TEST_F(AstraClient, CreateDroppedAfterCommitIsAmbiguousAndTheClientIsListedAfterwards)
{
    const std::string marker = "astra-rotator dropped-create marker";
    _sim->addFault(fault(FaultKind::DropAfterCommit, "POST", kClientsPath, 1));
    const auto created = client().createClient(createRequest(marker));
    ASSERT_FALSE(created);
    EXPECT_EQ(created.error().kind, FailureKind::Transient);
    EXPECT_TRUE(created.error().ambiguous);
    EXPECT_EQ(created.error().httpStatus, 0);
    EXPECT_TRUE(contains(created.error().message, "POST /v2/clientIdSecrets"))
        << created.error().message;
    EXPECT_EQ(count("POST", kClientsPath), 1);
    EXPECT_EQ(count("POST", kClientsPath, 0), 1);

    // What reconciliation relies on: the create happened, and a list shows it.
    const auto list = client().listClients();
    ASSERT_TRUE(list) << list.error().message;
    ASSERT_EQ(list->size(), 2U);
    int marked = 0;
    for (const auto& c : *list)
    {
        if (c.description == marker)
        {
            ++marked;
            EXPECT_EQ(c.roles, std::vector<std::string>{_sim->roleId("R/W Svc Acct")});
        }
    }
    EXPECT_EQ(marked, 1);
}

// Issue 12, item 2: a connection cut under TLS without close_notify after the request was
// written ("unexpected eof while reading") is a lost answer, not a certificate problem: the
// create may have been committed, and only a list can tell.
TEST_F(AstraClient, CreateWhoseTlsConnectionIsCutWithoutCloseNotifyIsAmbiguous)
{
    const std::string marker = "astra-rotator cut-create marker";
    _sim->addFault(fault(FaultKind::TlsEofAfterCommit, "POST", kClientsPath, 1));
    const auto created = client().createClient(createRequest(marker));
    ASSERT_FALSE(created);
    const core::Failure& f = created.error();
    EXPECT_EQ(f.kind, FailureKind::Transient);
    EXPECT_TRUE(f.ambiguous);
    EXPECT_EQ(f.httpStatus, 0);
    EXPECT_TRUE(contains(f.message, "POST /v2/clientIdSecrets: connection to 127.0.0.1:"))
        << f.message;
    EXPECT_TRUE(contains(f.message, "lost after the request was sent")) << f.message;
    EXPECT_TRUE(contains(f.message, "unexpected eof while reading")) << f.message;
    EXPECT_FALSE(contains(f.message, "certificate")) << f.message;
    EXPECT_EQ(count("POST", kClientsPath, 0), 1);
    EXPECT_EQ(_clock->sleptMs(), 0); // a POST is never retried
    ASSERT_EQ(_sim->clients().size(), 2U);
    EXPECT_EQ(_sim->clients()[1].description, marker);

    // A GET cut the same way is transient like any lost answer: retried, and answered.
    _sim->addFault(fault(FaultKind::TlsEofAfterCommit, "GET", kOrgPath, 1));
    const auto org = client().currentOrg();
    ASSERT_TRUE(org) << org.error().message;
    EXPECT_EQ(count("GET", kOrgPath), 2);
}

// Before the first byte of a request is written (connect, TLS handshake, certificate check),
// the server cannot have acted on it: such failures are never ambiguous, a create's neither.
TEST_F(AstraClient, CreateThatFailsBeforeAnyByteIsSentIsNotAmbiguous)
{
    api::ClientOptions untrusting = clientOptions();
    untrusting.caFile = sharedTestCerts().otherCaFile;
    const auto rejected =
        makeClient(untrusting, _sim->adminToken())->createClient(createRequest("never sent"));
    ASSERT_FALSE(rejected);
    EXPECT_EQ(rejected.error().kind, FailureKind::Permanent);
    EXPECT_FALSE(rejected.error().ambiguous);
    EXPECT_TRUE(contains(rejected.error().message, "certificate")) << rejected.error().message;

    const std::uint16_t port = _sim->port();
    _sim->stop();
    api::ClientOptions closed = clientOptions();
    closed.url = "https://127.0.0.1:" + std::to_string(port);
    const auto refused =
        makeClient(closed, _sim->adminToken())->createClient(createRequest("never sent"));
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().kind, FailureKind::Transient);
    EXPECT_FALSE(refused.error().ambiguous);
    EXPECT_TRUE(contains(refused.error().message, "connection refused")) << refused.error().message;
    EXPECT_EQ(count("POST", kClientsPath), 0);
}

// `http://` written for a server that speaks TLS: the server answers the plain request with a
// TLS alert (or nothing), and the message says to use https instead of "invalid HTTP version".
TEST_F(AstraClient, PlainHttpToATlsPortSaysToUseHttps)
{
    api::ClientOptions plain = clientOptions();
    plain.url = "http://127.0.0.1:" + std::to_string(_sim->port());
    const auto list = makeClient(plain, _sim->adminToken())->listClients();
    ASSERT_FALSE(list);
    EXPECT_EQ(list.error().kind, FailureKind::Permanent) << list.error().message;
    EXPECT_TRUE(contains(list.error().message, "speaks TLS")) << list.error().message;
    EXPECT_TRUE(contains(list.error().message, "https://127.0.0.1:" + std::to_string(_sim->port())))
        << list.error().message;
    EXPECT_EQ(count("GET", kClientsPath), 0);
}

TEST_F(AstraClient, InvalidJsonAnswerIsAPermanentMalformedAnswer)
{
    _sim->addFault(fault(FaultKind::InvalidJson, "GET", kClientsPath, 1));
    const auto list = client().listClients();
    ASSERT_FALSE(list);
    EXPECT_EQ(list.error().kind, FailureKind::Permanent);
    EXPECT_TRUE(contains(list.error().message, "malformed API answer")) << list.error().message;
    EXPECT_EQ(count("GET", kClientsPath), 1);

    // On a create the 2xx most likely minted a client that nobody can name: ambiguous.
    _sim->addFault(fault(FaultKind::InvalidJson, "POST", kClientsPath, 1));
    const auto created = client().createClient(createRequest("unreadable answer"));
    ASSERT_FALSE(created);
    EXPECT_EQ(created.error().kind, FailureKind::Permanent);
    EXPECT_TRUE(created.error().ambiguous);
    EXPECT_TRUE(contains(created.error().message, "malformed API answer"))
        << created.error().message;
    EXPECT_EQ(_sim->clients().size(), 2U);
}

TEST_F(AstraClient, PlainTextErrorBodiesAreCarriedInTheMessage)
{
    _sim->addFault(fault(FaultKind::TextError, "POST", kClientsPath, 1, 400));
    const auto injected = client().createClient(createRequest("text error"));
    ASSERT_FALSE(injected);
    EXPECT_EQ(injected.error().kind, FailureKind::Permanent);
    EXPECT_EQ(injected.error().httpStatus, 400);
    EXPECT_FALSE(injected.error().apiErrorId.has_value());
    EXPECT_TRUE(contains(injected.error().message, "Bad Request (injected fault)"))
        << injected.error().message;

    // The simulator's own text/plain 400, as the spec documents for create.
    core::CreateRequest request = createRequest("unknown role");
    request.roleIds = {"00000000-0000-4000-8000-000000000000"};
    const auto unknownRole = client().createClient(request);
    ASSERT_FALSE(unknownRole);
    EXPECT_EQ(unknownRole.error().httpStatus, 400);
    EXPECT_TRUE(contains(unknownRole.error().message,
                         "role not found: 00000000-0000-4000-8000-000000000000"))
        << unknownRole.error().message;
}

TEST_F(AstraClient, AnswerSlowerThanTheTimeoutIsAnAmbiguousTransientFailure)
{
    api::ClientOptions options = clientOptions();
    options.timeoutMs = 300;
    options.maxAttempts = 1;
    auto impatient = makeClient(options, _sim->adminToken());
    FaultRule slow = fault(FaultKind::Latency, "GET", kOrgPath, 1);
    slow.delayMs = 1'000;
    _sim->addFault(slow);

    const auto started = std::chrono::steady_clock::now();
    const auto org = impatient->currentOrg();
    const std::int64_t tookMs = elapsedMs(started);
    ASSERT_FALSE(org);
    EXPECT_EQ(org.error().kind, FailureKind::Transient);
    EXPECT_TRUE(org.error().ambiguous);
    EXPECT_EQ(org.error().httpStatus, 0);
    EXPECT_TRUE(std::regex_search(org.error().message, std::regex("no answer .* within 300 ms")))
        << org.error().message;
    EXPECT_GE(tookMs, 250);
    EXPECT_LT(tookMs, 1'000);

    // The timed-out connection is not reused: the next call gets a fresh one and an answer.
    const auto again = impatient->currentOrg();
    ASSERT_TRUE(again) << again.error().message;
    EXPECT_EQ(*again, _sim->orgId());
}

// Poco 1.11 waits twice per TLS read on a blocking socket (SO_RCVTIMEO in SSL_read's recv, then
// the same again in SecureSocketImpl::mustRetry's poll); plain http waits once. One timed-out
// attempt must take one astra.timeout, on a reused keep-alive connection and on a fresh one.
TEST_F(AstraClient, TimedOutAttemptOverTlsTakesOneTimeoutNotTwo)
{
    constexpr std::int64_t kTimeoutMs = 400;
    api::ClientOptions options = clientOptions();
    options.timeoutMs = kTimeoutMs;
    options.maxAttempts = 1;
    auto impatient = makeClient(options, _sim->adminToken());
    ASSERT_TRUE(impatient->currentOrg()); // leaves a keep-alive connection in the pool
    const std::int64_t connections = _sim->connectionCount();

    FaultRule slowGet = fault(FaultKind::Latency, "GET", kOrgPath, 1);
    slowGet.delayMs = 3'000;
    _sim->addFault(slowGet);
    auto started = std::chrono::steady_clock::now();
    const auto org = impatient->currentOrg();
    std::int64_t tookMs = elapsedMs(started);
    ASSERT_FALSE(org);
    EXPECT_EQ(org.error().kind, FailureKind::Transient);
    EXPECT_TRUE(org.error().ambiguous);
    EXPECT_EQ(_sim->connectionCount(), connections); // waited on the reused connection
    EXPECT_GE(tookMs, kTimeoutMs);
    EXPECT_LT(tookMs, kTimeoutMs * 3 / 2);

    // The timed-out connection was dropped: the POST connects and handshakes afresh, and still
    // gives up after one timeout, ambiguous (the server may act on it later) and not retried.
    FaultRule slowPost = fault(FaultKind::Latency, "POST", kClientsPath, 1);
    slowPost.delayMs = 3'000;
    _sim->addFault(slowPost);
    started = std::chrono::steady_clock::now();
    const auto created = impatient->createClient(createRequest("slow create"));
    tookMs = elapsedMs(started);
    ASSERT_FALSE(created);
    EXPECT_EQ(created.error().kind, FailureKind::Transient);
    EXPECT_TRUE(created.error().ambiguous);
    EXPECT_TRUE(contains(created.error().message, "within 400 ms")) << created.error().message;
    EXPECT_EQ(_sim->connectionCount(), connections + 1);
    EXPECT_GE(tookMs, kTimeoutMs);
    EXPECT_LT(tookMs, kTimeoutMs * 3 / 2);
    EXPECT_EQ(_clock->sleptMs(), 0); // neither was retried
}

// ---------------------------------------------------------------------------------------------
// TLS and connections

TEST_F(AstraClient, UntrustedServerCertificateFailsFastAndPermanentlyNamingTheCaFile)
{
    api::ClientOptions options = clientOptions();
    options.caFile = sharedTestCerts().otherCaFile;
    auto untrusting = makeClient(options, _sim->adminToken());

    const auto started = std::chrono::steady_clock::now();
    const auto list = untrusting->listClients();
    const std::int64_t tookMs = elapsedMs(started);
    ASSERT_FALSE(list);
    EXPECT_EQ(list.error().kind, FailureKind::Permanent);
    EXPECT_FALSE(list.error().ambiguous);
    EXPECT_TRUE(contains(list.error().message, "TLS")) << list.error().message;
    EXPECT_TRUE(contains(list.error().message, "certificate")) << list.error().message;
    EXPECT_TRUE(contains(list.error().message, "astra.caFile")) << list.error().message;
    EXPECT_LT(tookMs, options.timeoutMs / 2); // rejected, not prompted for or waited on
    EXPECT_EQ(count("GET", kClientsPath), 0);
    EXPECT_EQ(_clock->sleptMs(), 0); // permanent: no retry
}

// Issue 12, item 13: OpenSSL at security level 2 refuses DH parameters under 2048 bits; the
// failure says so, and does not send the operator after the certificate.
TEST_F(AstraClient, ServerOfferingWeakDiffieHellmanIsRefusedWithAMessageSayingSo)
{
    const rotator::test::WeakDhServer weak;
    api::ClientOptions options = clientOptions();
    options.url = "https://127.0.0.1:" + std::to_string(weak.port());
    const auto created =
        makeClient(options, _sim->adminToken())->createClient(createRequest("never sent"));
    ASSERT_FALSE(created);
    const core::Failure& f = created.error();
    EXPECT_EQ(f.kind, FailureKind::Permanent);
    EXPECT_FALSE(f.ambiguous); // refused in the handshake: nothing of the request was sent
    EXPECT_TRUE(contains(f.message, "dh key too small")) << f.message;
    EXPECT_TRUE(contains(f.message, "Diffie-Hellman parameters under 2048 bits")) << f.message;
    EXPECT_FALSE(contains(f.message, "certificate")) << f.message;
    EXPECT_EQ(_clock->sleptMs(), 0);
}

/// Sets (or with nullptr unsets) an environment variable for one test, then restores it.
class ScopedEnv
{
public:
    ScopedEnv(const char* name, const char* value) : _name(name)
    {
        if (const char* old = std::getenv(name))
        {
            _old = old;
        }
        value != nullptr ? ::setenv(name, value, 1) : ::unsetenv(name);
    }
    ~ScopedEnv() { _old ? ::setenv(_name, _old->c_str(), 1) : ::unsetenv(_name); }
    ScopedEnv(const ScopedEnv&) = delete;
    ScopedEnv& operator=(const ScopedEnv&) = delete;

private:
    const char* _name;
    std::optional<std::string> _old;
};

/// A directory holding `caFile` as ca.pem, with its subject-hash link when `hashed`.
std::string certificateDirectory(const rotator::test::TempDir& dir, const std::string& caFile,
                                 bool hashed)
{
    std::filesystem::copy_file(caFile, dir.file("ca.pem"));
    if (hashed)
    {
        const auto rehash = rotator::test::runProcess({"/usr/bin/openssl", "rehash", dir.path()},
                                                      rotator::test::minimalEnvironment());
        EXPECT_TRUE(rehash.ok()) << rehash.describe();
    }
    return dir.path();
}

TEST_F(AstraClient, WithoutCaFileTheSystemStoreIsTrustedThroughItsHashedDirectory)
{
    rotator::test::TempDir dir;
    ScopedEnv certDir("SSL_CERT_DIR",
                      certificateDirectory(dir, sharedTestCerts().caFile, true).c_str());
    ScopedEnv certFile("SSL_CERT_FILE", nullptr);
    api::ClientOptions options = clientOptions();
    options.caFile.clear();
    auto system = makeClient(options, _sim->adminToken());
    const auto list = system->listClients();
    EXPECT_TRUE(list) << list.error().message;
}

TEST_F(AstraClient, AHashedSystemDirectoryWithoutTheServersCaIsNotTrusted)
{
    rotator::test::TempDir dir;
    ScopedEnv certDir("SSL_CERT_DIR",
                      certificateDirectory(dir, sharedTestCerts().otherCaFile, true).c_str());
    ScopedEnv certFile("SSL_CERT_FILE", nullptr);
    api::ClientOptions options = clientOptions();
    options.caFile.clear();
    auto system = makeClient(options, _sim->adminToken());
    const auto list = system->listClients();
    ASSERT_FALSE(list);
    EXPECT_EQ(list.error().kind, FailureKind::Permanent);
    EXPECT_TRUE(contains(list.error().message, "certificate")) << list.error().message;
    EXPECT_EQ(count("GET", kClientsPath), 0);
}

TEST_F(AstraClient, ASystemDirectoryWithoutHashNamesFallsBackToTheBundleFile)
{
    rotator::test::TempDir dir;
    ScopedEnv certDir("SSL_CERT_DIR",
                      certificateDirectory(dir, sharedTestCerts().caFile, false).c_str());
    api::ClientOptions options = clientOptions();
    options.caFile.clear();
    {
        ScopedEnv certFile("SSL_CERT_FILE", sharedTestCerts().caFile.c_str());
        const auto list = makeClient(options, _sim->adminToken())->listClients();
        EXPECT_TRUE(list) << list.error().message;
    }
    {
        // Unhashed, the directory itself trusts nothing: the bundle decides.
        ScopedEnv certFile("SSL_CERT_FILE", sharedTestCerts().otherCaFile.c_str());
        const auto list = makeClient(options, _sim->adminToken())->listClients();
        ASSERT_FALSE(list);
        EXPECT_TRUE(contains(list.error().message, "certificate")) << list.error().message;
    }
}

TEST_F(AstraClient, PlainHttpClientAgainstTheTlsPortFailsCleanly)
{
    api::ClientOptions options = clientOptions();
    options.url = "http://127.0.0.1:" + std::to_string(_sim->port());
    options.maxAttempts = 1;
    auto plain = makeClient(options, _sim->adminToken());

    const auto started = std::chrono::steady_clock::now();
    const auto org = plain->currentOrg();
    ASSERT_FALSE(org);
    EXPECT_LT(elapsedMs(started), options.timeoutMs);
    EXPECT_EQ(org.error().httpStatus, 0);
    EXPECT_TRUE(contains(org.error().message, "GET /v2/currentOrg")) << org.error().message;
    EXPECT_EQ(count("GET", kOrgPath), 0);
}

TEST_F(AstraClient, SequentialRequestsReuseOneKeepAliveConnection)
{
    const std::int64_t before = _sim->connectionCount();
    for (int i = 0; i < 4; ++i)
    {
        ASSERT_TRUE(client().listClients());
        ASSERT_TRUE(client().currentOrg());
        ASSERT_TRUE(client().deleteClient(kUnknownClientId)); // error answers keep it too
    }
    EXPECT_EQ(count("GET", kClientsPath) + count("GET", kOrgPath) + count("DELETE", kDeletePath),
              12);
    EXPECT_EQ(_sim->connectionCount() - before, 1);
}

// A TLS read that has to wait is told from a failed one by the thread's OpenSSL error queue: an
// entry left there by other code on the calling thread (Poco 1.11's Context constructor leaves
// "dh key too small") must not fail the exchange (issue 12, item 13).
TEST_F(AstraClient, AStaleOpenSslErrorOnTheCallingThreadDoesNotFailTheNextExchange)
{
    api::ClientOptions options = clientOptions();
    options.maxAttempts = 1;
    auto single = makeClient(options, _sim->adminToken());
    // A keep-alive connection, so that the next call does not handshake (which clears the
    // queue), and an answer that is waited for, so that the first read finds nothing yet.
    ASSERT_TRUE(single->currentOrg());
    _sim->setLatencyMs(100);
    ERR_raise(ERR_LIB_SSL, SSL_R_DH_KEY_TOO_SMALL);

    const auto org = single->currentOrg();
    ASSERT_TRUE(org) << org.error().message;
    EXPECT_EQ(*org, _sim->orgId());
    EXPECT_EQ(count("GET", kOrgPath), 2);
}

// ---------------------------------------------------------------------------------------------
// Secrets

TEST_F(AstraClient, NeitherTheLogNorAnyFailureMessageEverContainsATokenOrSecret)
{
    const LogCapture log;
    std::vector<std::string> secrets = {_sim->adminToken().reveal()};
    std::vector<std::string> messages;
    const auto remember = [&secrets](const core::CreatedClient& c)
    {
        secrets.push_back(c.secret.reveal());
        secrets.push_back(c.token.reveal());
    };
    const auto failed = [&messages](const auto& outcome)
    {
        EXPECT_FALSE(outcome);
        if (!outcome)
        {
            messages.push_back(outcome.error().message);
        }
    };

    // Every endpoint once, successfully.
    ASSERT_TRUE(client().listClients());
    const auto created = client().createClient(createRequest("secrets test"));
    ASSERT_TRUE(created) << created.error().message;
    remember(*created);
    ASSERT_TRUE(client().currentOrgWith(created->token));
    const core::CreatedClient custom = seed("DB Reader (custom)");
    remember(custom);
    ASSERT_TRUE(client().currentOrgWith(custom.token)); // 403: verified, org unreadable
    ASSERT_TRUE(client().currentOrg());
    ASSERT_TRUE(client().listRoles());
    ASSERT_TRUE(client().deleteClient(created->clientId));
    ASSERT_TRUE(client().deleteClient(kUnknownClientId));

    // Retries log the failure they retry.
    FaultRule limited = fault(FaultKind::RateLimit, "GET", kClientsPath, 1);
    limited.retryAfterSeconds = 1;
    _sim->addFault(limited);
    ASSERT_TRUE(client().listClients());
    _sim->addFault(fault(FaultKind::Status, "GET", kOrgPath, std::nullopt, 503));
    failed(client().currentOrg());
    _sim->clearFaults();

    // Every failure path, some of whose answers carry a secret.
    const core::CreatedClient weak = seed("R/W Svc Acct");
    remember(weak);
    failed(makeClient(clientOptions(), weak.token)->listClients()); // 403
    _sim->addFault(fault(FaultKind::Status, "POST", kClientsPath, 1, 503));
    failed(client().createClient(createRequest("503")));
    _sim->addFault(fault(FaultKind::DropAfterCommit, "POST", kClientsPath, 1));
    failed(client().createClient(createRequest("dropped")));
    _sim->addFault(fault(FaultKind::InvalidJson, "POST", kClientsPath, 1));
    failed(client().createClient(createRequest("half an answer with the secret in it")));
    _sim->addFault(fault(FaultKind::TextError, "POST", kClientsPath, 1, 400));
    failed(client().createClient(createRequest("text error")));
    _sim->addFault(fault(FaultKind::InvalidJson, "GET", kClientsPath, 1));
    failed(client().listClients());
    _sim->addFault(fault(FaultKind::Status, "GET", kRolesPath, 1, 404));
    failed(client().listRoles());
    {
        api::ClientOptions options = clientOptions();
        options.caFile = sharedTestCerts().otherCaFile;
        failed(makeClient(options, _sim->adminToken())->currentOrg());
        options = clientOptions();
        options.url = "http://127.0.0.1:" + std::to_string(_sim->port());
        options.maxAttempts = 1;
        failed(makeClient(options, _sim->adminToken())->currentOrg());
    }
    const core::CreatedClient revoked = seed("Organization Administrator");
    remember(revoked);
    ASSERT_TRUE(_sim->revokeClient(revoked.clientId));
    failed(makeClient(clientOptions(), revoked.token)->createClient(createRequest("401")));
    failed(client().currentOrgWith(revoked.token)); // 401 for a token under verification

    const std::string text = log.text();
    // The capture works: debug lines of every call are there.
    EXPECT_TRUE(contains(text, "GET /v2/clientIdSecrets -> 200")) << text;
    EXPECT_TRUE(contains(text, "POST /v2/clientIdSecrets -> 503")) << text;
    EXPECT_TRUE(contains(text, "retry")) << text;
    ASSERT_EQ(messages.size(), 12U);

    // Secrets whose value the test knows, and those it never saw (the dropped and the
    // half-answered creates): nothing token- or secret-shaped may appear.
    const std::regex tokenShaped("AstraCS:[A-Za-z]{24}|[0-9a-f]{64}|\"secret\"");
    for (const std::string& secret : secrets)
    {
        const std::string tail = secret.substr(secret.size() - 40);
        EXPECT_FALSE(contains(text, secret)) << "a secret reached the log";
        EXPECT_FALSE(contains(text, tail)) << "part of a secret reached the log";
        for (const std::string& message : messages)
        {
            EXPECT_FALSE(contains(message, secret)) << message;
            EXPECT_FALSE(contains(message, tail)) << message;
        }
    }
    EXPECT_FALSE(std::regex_search(text, tokenShaped)) << text;
    for (const std::string& message : messages)
    {
        EXPECT_FALSE(std::regex_search(message, tokenShaped)) << message;
    }
}

// ---------------------------------------------------------------------------------------------
// The test helper itself

TEST(LogCapture, CapturesExistingAndNewLoggersAtTraceAndRestoresThem)
{
    Poco::Logger& existing = Poco::Logger::get("logcapture-test");
    existing.setLevel(Poco::Message::PRIO_WARNING);
    const Poco::Channel::Ptr before = existing.getChannel();
    {
        const LogCapture log;
        existing.trace("trace line of an existing logger");
        Poco::Logger::get("logcapture-test.child").debug("debug line of a new logger");
        EXPECT_TRUE(log.contains("logcapture-test: trace line of an existing logger"))
            << log.text();
        EXPECT_TRUE(log.contains("logcapture-test.child: debug line of a new logger"))
            << log.text();
    }
    EXPECT_EQ(existing.getLevel(), Poco::Message::PRIO_WARNING);
    EXPECT_EQ(existing.getChannel().get(), before.get());
    EXPECT_EQ(Poco::Logger::get("logcapture-test.child").getLevel(), Poco::Message::PRIO_WARNING);
}

// Someone else rotated the admin token: the new one is in the token file, the old one revoked.
// The next request uses the new token without a restart.
TEST_F(AstraClient, TheNextRequestUsesTheTokenFileReplacedOnDisk)
{
    rotator::test::TempDir dir;
    auto source = followedTokenFile(dir);
    api::AstraClient following(clientOptions(), source, *_clock);
    ASSERT_TRUE(following.listClients());
    const std::string oldAdmin = following.adminClientId();

    const auto replacement = seed("Organization Administrator");
    rotator::test::writeFile(dir.file("staged"), replacement.token.reveal() + "\n", 0600);
    ASSERT_EQ(std::rename(dir.file("staged").c_str(), dir.file("admin.token").c_str()), 0);
    ASSERT_TRUE(_sim->revokeClient(oldAdmin));

    const auto listed = following.listClients();
    ASSERT_TRUE(listed) << listed.error().message;
    EXPECT_EQ(following.adminClientId(), replacement.clientId);
    EXPECT_EQ(count("GET", "/v2/clientIdSecrets", 401), 0);
}

// The token was revoked and the file replaced after the last look at it: the 401 reads the file
// again and the request is repeated once with the new token; the call succeeds. With several
// workers, another one may have looked at the file (and taken the new token) before this
// worker's 401 is handled: the new token is still a replacement for the one refused.
TEST_F(AstraClient, A401ReadsTheTokenFileAgainAndRetriesOnceWithTheNewToken)
{
    rotator::test::TempDir dir;
    auto source = followedTokenFile(dir);
    const auto replacement = seed("Organization Administrator");
    bool swapped = false;
    // Called after each exchange: the file changes between the refused request and the
    // client's reaction to it, the one moment a stat before the request cannot see.
    api::AstraClient following(
        clientOptions(), source, *_clock,
        [&](std::string_view, std::string_view, int status)
        {
            if (status == 401 && !swapped)
            {
                swapped = true;
                rotator::test::writeFile(dir.file("staged"), replacement.token.reveal(), 0600);
                ASSERT_EQ(std::rename(dir.file("staged").c_str(), dir.file("admin.token").c_str()),
                          0);
                // Another worker's request looks at the token file now.
                EXPECT_EQ(source->current().reveal(), replacement.token.reveal());
            }
        });
    ASSERT_TRUE(_sim->revokeClient(following.adminClientId()));
    LogCapture log;

    const auto created = following.createClient(createRequest("after-401"));
    ASSERT_TRUE(created) << created.error().message;
    EXPECT_TRUE(swapped);
    EXPECT_EQ(count("POST", "/v2/clientIdSecrets", 401), 1);
    EXPECT_EQ(count("POST", "/v2/clientIdSecrets", 201) + count("POST", "/v2/clientIdSecrets", 200),
              1);
    EXPECT_FALSE(log.contains(replacement.token.reveal())) << log.text();
    EXPECT_FALSE(log.contains(_sim->adminToken().reveal())) << log.text();

    // A 401 with the file unchanged is a failure after one request.
    ASSERT_TRUE(_sim->revokeClient(replacement.clientId));
    const auto refused = following.listClients();
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().httpStatus, 401);
    EXPECT_EQ(count("GET", "/v2/clientIdSecrets", 401), 1);
}

} // namespace
