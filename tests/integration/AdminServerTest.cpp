// The admin HTTP API over real sockets on 127.0.0.1:0, reading a real SQLite file through its
// own read-only connection.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

#include <sys/stat.h>
#include <sys/wait.h>

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/StreamCopier.h>
#include <Poco/String.h>

#include "rotator/admin/AdminServer.h"
#include "rotator/admin/Metrics.h"
#include "rotator/core/Errors.h"
#include "rotator/core/Time.h"
#include "rotator/report/Reports.h"
#include "rotator/store/SqliteStateStore.h"
#include "support/FakeClock.h"
#include "support/FakeOrgDaemon.h"
#include "support/AdminHarness.h"
#include "support/FakeTokenApi.h"
#include "support/LogCapture.h"
#include "support/TempDir.h"

namespace rotator::admin
{
namespace
{

using AdminServerTest = test::AdminServerFixture;
using test::Answer;
using test::Call;
using test::client;
using test::get;
using test::kBearer;
using test::kDay;
using test::kHour;
using test::post;
using test::request;
using test::StubControl;

TEST_F(AdminServerTest, HealthzAnswersOkOnAnyFreePort)
{
    const auto port = start();
    EXPECT_NE(port, 0);
    const auto a = get(port, "/healthz");
    EXPECT_EQ(a.status, 200);
    EXPECT_EQ(a.body, R"({"status":"ok"})");
    EXPECT_EQ(a.contentType, "application/json");
}

TEST_F(AdminServerTest, ReadyzWaitsForAPassThatReachedTheApi)
{
    const auto port = start();
    auto a = get(port, "/readyz");
    EXPECT_EQ(a.status, 503);
    EXPECT_EQ(a.json()->getValue<std::string>("status"), "not_ready");
    EXPECT_EQ(a.json()->getValue<std::string>("reason"), "no pass has finished yet");

    control.set(clock.nowMs(), false);
    a = get(port, "/readyz");
    EXPECT_EQ(a.status, 503);
    EXPECT_NE(a.body.find("could not reach the DevOps API"), std::string::npos) << a.body;

    control.set(clock.nowMs(), true);
    a = get(port, "/readyz");
    EXPECT_EQ(a.status, 200);
    EXPECT_EQ(a.body, R"({"status":"ready"})");
}

TEST_F(AdminServerTest, ReadyzAndMetricsReportARefusedAdminToken)
{
    const auto port = start();
    control.set(clock.nowMs(), false);
    control.setToken(false, "listing clients failed: GET /v2/clientIdSecrets: HTTP 401");
    auto a = get(port, "/readyz");
    EXPECT_EQ(a.status, 503);
    EXPECT_EQ(a.json()->getValue<std::string>("reason"),
              "the admin token was refused (401): listing clients failed: GET "
              "/v2/clientIdSecrets: HTTP 401");
    EXPECT_NE(get(port, "/metrics").body.find("\nastra_rotator_admin_token_valid 0\n"),
              std::string::npos);

    control.set(clock.nowMs(), true);
    control.setToken(true, std::nullopt);
    EXPECT_EQ(get(port, "/readyz").status, 200);
    EXPECT_NE(get(port, "/metrics").body.find("\nastra_rotator_admin_token_valid 1\n"),
              std::string::npos);
}

TEST_F(AdminServerTest, ReadyzAndMetricsReportACurrentClientNoLongerListed)
{
    const auto port = start();
    control.set(clock.nowMs(), true);
    ASSERT_EQ(get(port, "/readyz").status, 200);
    // billing's current client a is gone from the list (revoked by someone else).
    writer->syncInventory({client('b', clock.nowMs() - 400 * kDay)}, clock.nowMs());
    const auto a = get(port, "/readyz");
    EXPECT_EQ(a.status, 503);
    EXPECT_EQ(a.json()->getValue<std::string>("reason"),
              "the current client of billing is no longer listed; consumers hold a dead token "
              "until the replacement is delivered");
    const auto text = get(port, "/metrics").body;
    EXPECT_NE(text.find("\nastra_rotator_current_client_missing{credential=\"billing\"} 1\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("\nastra_rotator_current_client_missing{credential=\"payroll\"} 0\n"),
              std::string::npos);
    EXPECT_NE(get(port, "/v1/credentials/billing").body.find("\"currentMissing\":true"),
              std::string::npos);
}

TEST_F(AdminServerTest, MetricsServeTheTextFormatFromTheStore)
{
    const auto port = start();
    metrics.recordApiRequest("GET", 200);
    const auto a = get(port, "/metrics");
    EXPECT_EQ(a.status, 200);
    EXPECT_EQ(a.contentType, "text/plain; version=0.0.4; charset=utf-8");
    EXPECT_NE(a.body.find("astra_rotator_up 1\n"), std::string::npos);
    EXPECT_NE(a.body.find("astra_rotator_api_requests_total{method=\"GET\",code=\"200\"} 1\n"),
              std::string::npos);
    EXPECT_NE(a.body.find("astra_rotator_credential_age_seconds{credential=\"billing\"} 864000\n"),
              std::string::npos)
        << a.body;
    EXPECT_NE(a.body.find("astra_rotator_client_age_seconds{client_id=\"bbbbbbbbbbbbbbbbbbbbbbbb\","
                          "credential=\"\"} 34560000\n"),
              std::string::npos);
}

TEST_F(AdminServerTest, PassesPromtoolCheckMetrics)
{
    if (std::system("command -v promtool >/dev/null 2>&1") != 0)
    {
        GTEST_SKIP() << "promtool is not on PATH (Debian package `prometheus`); not checked";
    }
    const auto port = start();
    metrics.recordApiRequest("GET", 200);
    metrics.recordApiRequest("POST", 0);
    metrics.recordRotation("billing", "success");
    control.set(clock.nowMs(), true);
    control.setToken(false, "refused");
    const auto a = get(port, "/metrics");
    ASSERT_EQ(a.status, 200);
    const std::string file = dir.file("metrics.txt");
    test::writeFile(file, a.body);
    const std::string command = "promtool check metrics < '" + file + "' 2>&1";
    FILE* pipe = ::popen(command.c_str(), "r");
    ASSERT_NE(pipe, nullptr);
    std::string output;
    std::array<char, 512> buffer{};
    while (std::fgets(buffer.data(), static_cast<int>(buffer.size()), pipe) != nullptr)
    {
        output += buffer.data();
    }
    const int status = ::pclose(pipe);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << output << "\n" << a.body;
    EXPECT_EQ(output, "");
}

TEST_F(AdminServerTest, CredentialsAndClientsAreTheStatusAndAgesJson)
{
    const auto port = start();
    const auto now = clock.nowMs();

    auto a = get(port, "/v1/credentials");
    EXPECT_EQ(a.status, 200);
    EXPECT_EQ(a.body, report::credentialsJson(report::credentialViews(settings, *writer, now),
                                              writer->installationId()));
    EXPECT_NE(a.body.find("\"name\":\"billing\""), std::string::npos);
    EXPECT_EQ(a.json()->getValue<std::string>("installationId"), writer->installationId());

    a = get(port, "/v1/credentials/billing");
    EXPECT_EQ(a.status, 200);
    EXPECT_EQ(a.body,
              report::credentialJson(report::credentialViews(settings, *writer, now).at(0)));
    EXPECT_EQ(a.json()->getValue<std::string>("clientId"), std::string(24, 'a'));

    a = get(port, "/v1/credentials/nope");
    EXPECT_EQ(a.status, 404);
    EXPECT_EQ(a.errorCode(), "not_found");

    a = get(port, "/v1/clients");
    EXPECT_EQ(a.status, 200);
    EXPECT_EQ(a.body, report::clientsJson(report::clientViews(*writer, now, false, std::nullopt)));
    a = get(port, "/v1/clients?all=true");
    EXPECT_EQ(a.status, 200);
    EXPECT_EQ(a.body,
              report::clientsJson(report::clientViews(*writer, now, false, std::nullopt, true)));
    EXPECT_EQ(get(port, "/v1/clients?every=1").status, 400);
}

TEST_F(AdminServerTest, HistoryFiltersLikeTheCommandAndRejectsBadParameters)
{
    const auto port = start();
    store::HistoryQuery q;
    q.credential = "billing";
    q.limit = 2;
    auto a = get(port, "/v1/history?credential=billing&limit=2");
    EXPECT_EQ(a.status, 200);
    EXPECT_EQ(a.body, report::eventsJson(writer->history(q)));
    EXPECT_EQ(a.json()->getArray("events")->size(), 2u);

    q = {};
    q.clientId = std::string(24, 'a');
    q.sinceMs = clock.nowMs() - 36 * kHour;
    a = get(port, "/v1/history?client=" + q.clientId + "&since=36h");
    EXPECT_EQ(a.status, 200);
    EXPECT_EQ(a.body, report::eventsJson(writer->history(q)));
    EXPECT_EQ(a.json()->getArray("events")->size(), 2u); // discovered 1 h ago, verified 1 d ago

    a = get(port, "/v1/history");
    EXPECT_EQ(a.status, 200);
    EXPECT_EQ(a.body, report::eventsJson(writer->history(store::HistoryQuery{})));

    q = {};
    q.events = {"verified", "discovered"};
    a = get(port, "/v1/history?event=verified&event=discovered");
    EXPECT_EQ(a.status, 200);
    EXPECT_EQ(a.body, report::eventsJson(writer->history(q)));
    const auto filtered = a.json()->getArray("events");
    ASSERT_GT(filtered->size(), 0u);
    for (unsigned i = 0; i < filtered->size(); ++i)
    {
        const auto kind = filtered->getObject(i)->getValue<std::string>("event");
        EXPECT_TRUE(kind == "verified" || kind == "discovered") << kind;
    }

    for (const std::string bad : {"since=7", "since=-1d", "since=soon", "limit=0", "limit=abc",
                                  "limit=1000001", "limit=", "clientId=x", "event=verifed"})
    {
        a = get(port, "/v1/history?" + bad);
        EXPECT_EQ(a.status, 400) << bad;
        EXPECT_EQ(a.contentType, "application/json") << bad;
        EXPECT_EQ(a.errorCode(), "bad_request") << bad;
        EXPECT_FALSE(a.json()->getObject("error")->getValue<std::string>("message").empty());
    }
}

TEST_F(AdminServerTest, WithoutATokenFileGetsAreOpenAndPostsForbidden)
{
    const auto port = start();
    EXPECT_EQ(get(port, "/v1/credentials").status, 200);
    const auto a = post(port, "/v1/credentials/billing/rotate");
    EXPECT_EQ(a.status, 403);
    EXPECT_EQ(a.errorCode(), "forbidden");
    EXPECT_TRUE(control.requests.empty());
}

// The bearer is rotated by replacing admin.tokenFile (a rename, as a Kubernetes secret update
// does through its ..data link): the new token is accepted at once, the old one no longer.
TEST_F(AdminServerTest, AReplacedTokenFileIsAcceptedWithoutARestart)
{
    enableToken();
    test::LogCapture log;
    const auto port = start();
    ASSERT_EQ(get(port, "/v1/credentials", kBearer).status, 200);

    const std::string rotated = "adm1n-Bearer-r0tated-5ecret-for-tests";
    test::writeFile(dir.file("staged"), rotated + "\n", 0600);
    ASSERT_EQ(std::rename(dir.file("staged").c_str(), settings.admin.tokenFile.c_str()), 0);
    EXPECT_EQ(get(port, "/v1/credentials", rotated).status, 200);
    EXPECT_EQ(get(port, "/v1/credentials", kBearer).status, 401);

    // A replacement others may read is refused: the token in use stays.
    test::writeFile(dir.file("staged"), "adm1n-Bearer-refused\n", 0644);
    ASSERT_EQ(std::rename(dir.file("staged").c_str(), settings.admin.tokenFile.c_str()), 0);
    EXPECT_EQ(get(port, "/v1/credentials", "adm1n-Bearer-refused").status, 401);
    EXPECT_EQ(get(port, "/v1/credentials", rotated).status, 200);
    EXPECT_TRUE(log.contains("admin.tokenFile: token file " + settings.admin.tokenFile +
                             " is accessible by others"))
        << log.text();
    EXPECT_FALSE(log.contains(rotated)) << log.text();
    EXPECT_FALSE(log.contains("adm1n-Bearer-refused")) << log.text();
}

TEST_F(AdminServerTest, WithATokenFileEveryV1RequestNeedsTheBearer)
{
    enableToken();
    test::LogCapture log;
    const auto port = start();

    std::vector<Answer> answers;
    for (const std::string target :
         {"/v1/credentials", "/v1/credentials/billing", "/v1/clients", "/v1/history", "/v1/nope"})
    {
        for (const auto& bearer : {std::string(), std::string("wrong"), kBearer + "x",
                                   kBearer.substr(0, kBearer.size() - 1)})
        {
            const auto a = get(port, target, bearer);
            EXPECT_EQ(a.status, 401) << target << " with '" << bearer << "'";
            EXPECT_EQ(a.errorCode(), "unauthorized");
            EXPECT_EQ(a.headers.at("WWW-Authenticate"), "Bearer realm=\"astra-rotator\"");
            answers.push_back(a);
        }
        const auto a = get(port, target, kBearer);
        EXPECT_EQ(a.status, target == "/v1/nope" ? 404 : 200) << target;
        answers.push_back(a);
    }
    answers.push_back(post(port, "/v1/credentials/billing/rotate", "wrong"));
    EXPECT_EQ(answers.back().status, 401);
    EXPECT_TRUE(control.requests.empty());

    // The scheme is case-insensitive (RFC 9110 §11.1); the token is not.
    Call lower;
    lower.target = "/v1/credentials";
    lower.authorization = "bearer " + kBearer;
    EXPECT_EQ(request(port, lower).status, 200);
    lower.authorization = "Basic " + kBearer;
    answers.push_back(request(port, lower));
    EXPECT_EQ(answers.back().status, 401);
    lower.authorization = "Bearer  " + kBearer;
    EXPECT_EQ(request(port, lower).status, 401);

    // Probes stay open.
    EXPECT_EQ(get(port, "/healthz").status, 200);
    answers.push_back(get(port, "/metrics"));
    EXPECT_EQ(answers.back().status, 200);

    for (const auto& answer : answers)
    {
        EXPECT_EQ(answer.body.find(kBearer), std::string::npos) << answer.body;
        for (const auto& [name, value] : answer.headers)
        {
            EXPECT_EQ(value.find(kBearer), std::string::npos) << name;
        }
    }
    EXPECT_FALSE(log.contains(kBearer)) << log.text();
    EXPECT_FALSE(log.contains("Authorization")) << log.text();
}

TEST_F(AdminServerTest, RotateQueuesOnceAndConflictsWhileQueuedOrInProgressOrInGrace)
{
    enableToken();
    const auto port = start();

    auto a = post(port, "/v1/credentials/billing/rotate", kBearer);
    EXPECT_EQ(a.status, 202);
    EXPECT_EQ(a.body, R"({"rotation":null,"queued":true})");
    EXPECT_EQ(control.requests, std::vector<std::string>{"billing"});

    a = post(port, "/v1/credentials/billing/rotate", kBearer);
    EXPECT_EQ(a.status, 409);
    EXPECT_EQ(a.errorCode(), "conflict");
    EXPECT_NE(a.body.find("already queued"), std::string::npos);

    a = post(port, "/v1/credentials/nope/rotate", kBearer);
    EXPECT_EQ(a.status, 404);
    EXPECT_EQ(a.errorCode(), "not_found");

    // A rotation of payroll is unfinished in the store: 409 without asking the scheduler.
    const auto rotation = writer->beginRotation("payroll", "schedule", "", clock.nowMs());
    a = post(port, "/v1/credentials/payroll/rotate", kBearer);
    EXPECT_EQ(a.status, 409) << a.body;
    EXPECT_NE(a.body.find("rotation " + std::to_string(rotation.id) + " of payroll"),
              std::string::npos)
        << a.body;
    EXPECT_EQ(control.requests, (std::vector<std::string>{"billing", "billing"}));

    // Once the rotation is in grace (the old client waits for revocation) the engine would
    // refuse a manual rotation: so does the API, saying why.
    auto p = writer->findCredential("payroll").value();
    p.currentClientId = std::string(24, 'b');
    p.previousClientId = std::string(24, 'a');
    p.revokeAfterMs = clock.nowMs() + kHour;
    writer->saveCredential(p);
    auto r = rotation;
    r.stage = rotator::core::Stage::Grace;
    writer->saveRotation(r);
    a = post(port, "/v1/credentials/payroll/rotate", kBearer);
    EXPECT_EQ(a.status, 409);
    EXPECT_NE(a.body.find("grace period"), std::string::npos) << a.body;

    // A quarantined rotation is what a manual rotation lifts: accepted.
    r.stage = rotator::core::Stage::Quarantined;
    writer->saveRotation(r);
    p.previousClientId.clear();
    p.revokeAfterMs.reset();
    p.state = rotator::core::CredentialState::Quarantined;
    writer->saveCredential(p);
    a = post(port, "/v1/credentials/payroll/rotate", kBearer);
    EXPECT_EQ(a.status, 202) << a.body;
    EXPECT_EQ(control.requests.back(), "payroll");
}

TEST_F(AdminServerTest, UnknownPathsAre404AndWrongMethods405WithAllow)
{
    const auto port = start();
    auto a = get(port, "/nope");
    EXPECT_EQ(a.status, 404);
    EXPECT_EQ(a.errorCode(), "not_found");
    EXPECT_EQ(get(port, "/v1/credentials/billing/rotate/x").status, 404);
    EXPECT_EQ(get(port, "/v1/credentials/").status, 404);

    Call c;
    c.method = "DELETE";
    c.target = "/v1/credentials/billing";
    a = request(port, c);
    EXPECT_EQ(a.status, 405);
    EXPECT_EQ(a.headers.at("Allow"), "GET");
    EXPECT_EQ(a.errorCode(), "method_not_allowed");

    a = get(port, "/v1/credentials/billing/rotate");
    EXPECT_EQ(a.status, 405);
    EXPECT_EQ(a.headers.at("Allow"), "POST");

    c.method = "POST";
    c.target = "/metrics";
    a = request(port, c);
    EXPECT_EQ(a.status, 405);
    EXPECT_EQ(a.headers.at("Allow"), "GET");
}

TEST_F(AdminServerTest, BodiesOver64KiBGet413)
{
    enableToken();
    const auto port = start();

    Call declared;
    declared.method = "POST";
    declared.target = "/v1/credentials/billing/rotate";
    declared.bearer = kBearer;
    declared.declaredLength = 64 * 1024 + 1;
    auto a = request(port, declared);
    EXPECT_EQ(a.status, 413);
    EXPECT_EQ(a.errorCode(), "payload_too_large");
    EXPECT_EQ(Poco::toLower(a.headers.at("Connection")), "close");

    Call chunked = declared;
    chunked.declaredLength.reset();
    chunked.chunked = true;
    chunked.body = std::string(70'000, 'x');
    a = request(port, chunked);
    EXPECT_EQ(a.status, 413);
    EXPECT_EQ(a.errorCode(), "payload_too_large");
    EXPECT_TRUE(control.requests.empty());

    // Up to the limit a body is read and ignored.
    Call small;
    small.target = "/healthz";
    small.body = std::string(64 * 1024, 'y');
    EXPECT_EQ(request(port, small).status, 200);
    small.chunked = true;
    EXPECT_EQ(request(port, small).status, 200);
}

TEST_F(AdminServerTest, AHandlerThatThrowsAnswers500AndLogsTheCause)
{
    test::LogCapture log;
    const auto port = start();
    control.fail = true;
    const auto a = get(port, "/metrics");
    EXPECT_EQ(a.status, 500);
    EXPECT_EQ(a.errorCode(), "internal");
    EXPECT_EQ(a.body.find("broke on purpose"), std::string::npos);
    EXPECT_TRUE(log.contains("stub scheduler broke on purpose")) << log.text();
    control.fail = false;
    EXPECT_EQ(get(port, "/metrics").status, 200);
}

TEST_F(AdminServerTest, LogsOneAccessLineWithoutTheQuery)
{
    test::LogCapture log;
    const auto port = start();
    get(port, "/v1/history?credential=billing&client=querysecret");
    get(port, "/nope");
    std::vector<std::string> access;
    for (const auto& line : log.lines())
    {
        if (line.rfind("admin: 127.0.0.1 ", 0) == 0)
        {
            access.push_back(line);
        }
    }
    ASSERT_EQ(access.size(), 2u) << log.text();
    EXPECT_EQ(access[0].find("admin: 127.0.0.1 GET /v1/history 200 "), 0u) << access[0];
    EXPECT_EQ(access[0].substr(access[0].size() - 3), " ms");
    EXPECT_EQ(access[1].find("admin: 127.0.0.1 GET /nope 404 "), 0u) << access[1];
    EXPECT_FALSE(log.contains("querysecret"));
}

TEST_F(AdminServerTest, ASecondServerOnTheSamePortFailsToStart)
{
    const auto port = start();
    settings.admin.port = port;
    AdminServer second(settings, dir.file("rotator.db"), control, metrics, clock);
    try
    {
        second.start();
        FAIL() << "a second server bound port " << port;
    }
    catch (const core::StartupError& e)
    {
        // Not a configuration error: exit 1, which systemd retries, not 78.
        EXPECT_EQ(std::string(e.what()).find("admin.listen: cannot listen on 127.0.0.1:"), 0u)
            << e.what();
        EXPECT_NE(std::string(e.what()).find("address already in use"), std::string::npos)
            << e.what();
    }
    EXPECT_EQ(get(port, "/healthz").status, 200);
}

TEST_F(AdminServerTest, AnUnreadableTokenFileFailsTheStart)
{
    enableToken();
    ::chmod(settings.admin.tokenFile.c_str(), 0644);
    AdminServer s(settings, dir.file("rotator.db"), control, metrics, clock);
    EXPECT_THROW(s.start(), core::ConfigError);
}

/// The daemon as `serve` builds it (real scheduler and engine, a file sink) behind the API: a
/// rotation requested over HTTP happens, is counted, and no response or log line ever carries
/// the minted token or the bearer.
TEST_F(AdminServerTest, RotateThroughTheRealSchedulerRotatesTheCredential)
{
    enableToken();
    test::LogCapture log;
    // The scheduler waits through its clock, and a fake one would race through the hours: this
    // daemon keeps real time (nothing in it is due for an hour).
    core::SystemClock realClock;
    test::FakeTokenApi api(realClock);
    settings.credentials.resize(1); // billing only
    settings.credentials[0].roles = {"Database Administrator"};
    settings.credentials[0].sinks = {"a"};
    settings.credentials[0].gracePeriodMs = kHour;
    settings.credentials[0].clientId.clear();
    settings.scheduler.concurrency = 1;
    settings.astra.propagationTimeoutMs = 10'000;
    config::SinkSettings sink;
    sink.name = "a";
    sink.path = dir.file("billing.token");
    sink.format = config::SinkFormat::Token;
    settings.sinks = {sink};
    // A fresh state for the engine (the fixture's clients are not in the fake org).
    test::TempDir state;
    settings.state.dir = state.path();
    test::FakeOrgDaemon fake(settings, api, realClock);
    app::Daemon& daemon = fake.daemon;
    daemon.start();
    const std::uint16_t port = daemon.adminPort();
    constexpr std::chrono::seconds kPatience(60); // a safety net; the awaits return when done

    // The engine's connection belongs to the scheduler thread: the test reads through its own.
    const auto reader = store::SqliteStateStore::openReadOnly(state.file("rotator.db"));
    // The first pass bootstraps billing.
    ASSERT_TRUE(daemon.scheduler().awaitPasses(1, kPatience)) << log.text();
    EXPECT_EQ(get(port, "/readyz").status, 200);
    const auto before = reader->findCredential("billing").value();
    ASSERT_FALSE(before.currentClientId.empty());

    auto a = post(port, "/v1/credentials/billing/rotate", kBearer);
    EXPECT_EQ(a.status, 202) << a.body;
    ASSERT_TRUE(daemon.scheduler().awaitRequests(kPatience)) << log.text();
    const auto last = reader->lastRotation("billing");
    ASSERT_TRUE(last.has_value());
    EXPECT_EQ(last->trigger, "manual");
    EXPECT_EQ(last->stage, rotator::core::Stage::Grace) << log.text();
    const auto after = reader->findCredential("billing").value();
    EXPECT_NE(after.currentClientId, before.currentClientId);
    EXPECT_EQ(after.previousClientId, before.currentClientId);

    std::vector<Answer> answers;
    for (const std::string target :
         {"/v1/credentials", "/v1/credentials/billing", "/v1/clients", "/v1/history", "/metrics"})
    {
        answers.push_back(get(port, target, kBearer));
        EXPECT_EQ(answers.back().status, 200) << target << "\n" << log.text();
    }
    EXPECT_NE(answers[0].body.find(after.currentClientId), std::string::npos);
    EXPECT_NE(answers[4].body.find(
                  "astra_rotator_rotations_total{credential=\"billing\",result=\"success\"} 2\n"),
              std::string::npos)
        << answers[4].body;

    daemon.stop();

    std::string token = test::readFile(sink.path); // the `token` format: the token and a newline
    token = token.substr(0, token.find('\n'));
    ASSERT_FALSE(token.empty());
    const std::string secret = token.substr(token.rfind(':') + 1);
    for (const auto& answer : answers)
    {
        EXPECT_EQ(answer.body.find(token), std::string::npos);
        EXPECT_EQ(answer.body.find(secret), std::string::npos);
        EXPECT_EQ(answer.body.find(kBearer), std::string::npos);
    }
    EXPECT_FALSE(log.contains(token));
    EXPECT_FALSE(log.contains(kBearer));
}

// A self-rotation and the application rotations wait for each other (Planner): a request that
// must wait is answered 409 with the reason, as the engine would refuse it, not 202.
TEST_F(AdminServerTest, RotateConflictsWhileTheSelfRotationAndTheApplicationsWaitForEachOther)
{
    config::CredentialSettings admin;
    admin.name = config::kAdminCredential;
    admin.adminToken = true;
    settings.credentials.push_back(admin);
    writer->ensureCredentials({"billing", "payroll", admin.name}, clock.nowMs());
    enableToken();
    const auto port = start();

    const auto payroll = writer->beginRotation("payroll", "schedule", "", clock.nowMs());
    auto a = post(port, "/v1/credentials/(admin)/rotate", kBearer);
    EXPECT_EQ(a.status, 409) << a.body;
    EXPECT_NE(a.body.find("rotation " + std::to_string(payroll.id) + " of payroll is in progress"),
              std::string::npos)
        << a.body;

    auto r = payroll;
    r.stage = rotator::core::Stage::Done;
    writer->saveRotation(r);
    const auto self =
        writer->beginRotation(config::kAdminCredential, "schedule", "", clock.nowMs());
    a = post(port, "/v1/credentials/billing/rotate", kBearer);
    EXPECT_EQ(a.status, 409) << a.body;
    EXPECT_NE(a.body.find("self-rotation " + std::to_string(self.id) + " has not switched"),
              std::string::npos)
        << a.body;
    EXPECT_TRUE(control.requests.empty());
}

} // namespace
} // namespace rotator::admin
