// The vault sink against the Vault simulator over TLS on 127.0.0.1:0: token, kubernetes and
// approle auth, renewal and re-login, check-and-set conflicts, idempotent re-delivery, the
// read-back, each fault, permission denied naming the capability, namespaces, and no secret
// in any log line or message.

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "rotator/sim/VaultSimulator.h"
#include "rotator/sink/VaultSink.h"
#include "support/FakeClock.h"
#include "support/LogCapture.h"
#include "support/TempDir.h"
#include "support/TestCerts.h"
#include "unit/sink/SinkTestSupport.h"

namespace rotator
{
namespace
{

using core::FailureKind;
using sim::FaultKind;
using sim::FaultRule;
using sim::kVaultDataRoute;
using sim::kVaultMetadataRoute;

const std::string kPath = "apps/billing";
const std::string kJwt = "eyJhbGciOiJSUzI1NiJ9.service-account-jwt-Kq7.signature";

class VaultSinkTest : public ::testing::Test
{
protected:
    void SetUp() override { start({}); }

    void start(std::vector<std::string> namespaces)
    {
        sink.reset();
        simulator.reset();
        sim::VaultSimulatorOptions options;
        options.server.tlsCertFile = test::sharedTestCerts().serverCert;
        options.server.tlsKeyFile = test::sharedTestCerts().serverKey;
        options.namespaces = std::move(namespaces);
        simulator = std::make_unique<sim::VaultSimulator>(options, clock);
        simulator->setPolicy("rotator", {{"secret/data/apps/*", {"create", "read", "update"}},
                                         {"secret/metadata/apps/*", {"read", "update"}}});
        vaultToken = simulator->createToken({"rotator"});
        test::writeFile(dir.file("vault-token"), vaultToken + "\n");
        settings = config::SinkSettings();
        settings.name = "v";
        settings.type = config::SinkType::Vault;
        settings.caFile = test::sharedTestCerts().caFile;
        settings.tokenFile = dir.file("vault-token");
        settings.vault.address = simulator->baseUrl();
        settings.vault.path = kPath;
    }

    sink::VaultSink& makeSink()
    {
        sink = std::make_unique<sink::VaultSink>(settings, clock);
        return *sink;
    }

    void fault(FaultKind kind, const std::string& method, const std::string& pathPrefix,
               int status = 0, std::int64_t delayMs = 0)
    {
        FaultRule rule;
        rule.kind = kind;
        rule.method = method;
        rule.pathPrefix = pathPrefix;
        rule.count = 1;
        rule.status = status;
        rule.delayMs = delayMs;
        simulator->server().addFault(rule);
    }

    std::int64_t count(const std::string& method, const std::string& route,
                       std::optional<int> status = std::nullopt) const
    {
        return simulator->server().requestCount(method, route, status);
    }

    /// The secret holds `credential`'s default fields and names it in custom_metadata.
    void expectHolds(const sink::Credential& c, const std::string& ns = "")
    {
        const auto data = simulator->secret(kPath, ns);
        ASSERT_TRUE(data) << "no secret at " << kPath;
        EXPECT_EQ(data->at("clientId"), c.clientId);
        EXPECT_EQ(data->at("secret"), c.secret.reveal());
        EXPECT_EQ(data->at("token"), c.token.reveal());
        EXPECT_EQ(data->at("orgId"), c.orgId);
        EXPECT_EQ(data->at("generatedOn"), c.generatedOn);
        const auto custom = simulator->customMetadata(kPath, ns);
        EXPECT_EQ(custom.at("astra-rotator-client-id"), c.clientId);
        EXPECT_EQ(custom.at("astra-rotator-credential"), c.credential);
    }

    test::TempDir dir;
    test::FakeClock clock;
    std::unique_ptr<sim::VaultSimulator> simulator;
    std::unique_ptr<sink::VaultSink> sink;
    config::SinkSettings settings;
    std::string vaultToken;
    const sink::Credential credential = sinktest::makeTestCredential();
};

// --- writing ------------------------------------------------------------------------------------

TEST_F(VaultSinkTest, CreatesTheSecretOnlyIfAbsentAndSetsCustomMetadata)
{
    ASSERT_TRUE(makeSink().deliver(credential));
    expectHolds(credential);
    EXPECT_EQ(simulator->currentVersion(kPath), 1);
    EXPECT_EQ(count("POST", kVaultDataRoute, 200), 1);
    EXPECT_EQ(count("POST", kVaultMetadataRoute, 204), 1);
    EXPECT_EQ(count("GET", kVaultDataRoute, 200), 1) << "one read-back";
}

TEST_F(VaultSinkTest, UpdatesKeepingTheKeysItDoesNotOwn)
{
    simulator->writeSecret(kPath, {{"owner", "team-billing"}, {"clientId", "someone-else"}});
    simulator->setCustomMetadata(kPath, {{"ticket", "OPS-1"}});
    ASSERT_TRUE(makeSink().deliver(credential));
    expectHolds(credential);
    EXPECT_EQ(simulator->secret(kPath)->at("owner"), "team-billing");
    EXPECT_EQ(simulator->customMetadata(kPath).at("ticket"), "OPS-1");
    EXPECT_EQ(simulator->currentVersion(kPath), 2);
}

TEST_F(VaultSinkTest, ReDeliveringWhatTheSecretHoldsWritesNothing)
{
    auto& s = makeSink();
    ASSERT_TRUE(s.deliver(credential));
    ASSERT_TRUE(s.deliver(credential));
    EXPECT_EQ(count("POST", kVaultDataRoute), 1);
    EXPECT_EQ(count("POST", kVaultMetadataRoute), 1);
    EXPECT_EQ(simulator->currentVersion(kPath), 1);
}

TEST_F(VaultSinkTest, ACheckAndSetConflictIsReadAgainAndRetried)
{
    simulator->interveneBeforeWrites(2);
    ASSERT_TRUE(makeSink().deliver(credential));
    expectHolds(credential);
    EXPECT_EQ(count("POST", kVaultDataRoute, 400), 2);
    EXPECT_EQ(count("POST", kVaultDataRoute, 200), 1);
    EXPECT_EQ(simulator->currentVersion(kPath), 3);
}

TEST_F(VaultSinkTest, EndlessConflictsFailCleanlyAfterFiveAttempts)
{
    simulator->interveneBeforeWrites(100);
    const auto result = makeSink().deliver(credential);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().kind, FailureKind::Transient);
    EXPECT_FALSE(result.error().ambiguous) << "a refused check-and-set wrote nothing";
    EXPECT_EQ(count("POST", kVaultDataRoute, 400), 5);
}

TEST_F(VaultSinkTest, AReadBackThatDiffersIsAmbiguous)
{
    simulator->interveneAfterNextWrite({{"clientId", "someone-else"}});
    const auto result = makeSink().deliver(credential);
    ASSERT_FALSE(result);
    EXPECT_TRUE(result.error().ambiguous);
    EXPECT_NE(result.error().message.find("read-back of secret/data/apps/billing does not hold"),
              std::string::npos)
        << result.error().message;
}

TEST_F(VaultSinkTest, TheCasRequiredOptionIsMet)
{
    sim::VaultSimulatorOptions options;
    options.server.tlsCertFile = test::sharedTestCerts().serverCert;
    options.server.tlsKeyFile = test::sharedTestCerts().serverKey;
    options.casRequired = true;
    simulator = std::make_unique<sim::VaultSimulator>(options, clock);
    simulator->setPolicy("rotator", {{"secret/*", {"create", "read", "update"}}});
    test::writeFile(dir.file("vault-token"), simulator->createToken({"rotator"}) + "\n");
    settings.vault.address = simulator->baseUrl();
    ASSERT_TRUE(makeSink().deliver(credential));
    expectHolds(credential);
}

// --- faults -------------------------------------------------------------------------------------

TEST_F(VaultSinkTest, LatencyWithinTheTimeoutPasses)
{
    fault(FaultKind::Latency, "GET", "/v1/secret/metadata/", 0, 300);
    ASSERT_TRUE(makeSink().deliver(credential));
    expectHolds(credential);
}

TEST_F(VaultSinkTest, A5xxBeforeTheWriteIsTransientAndNotAmbiguous)
{
    for (const int status : {500, 503})
    {
        fault(FaultKind::Status, "GET", "/v1/secret/metadata/", status);
        const auto result = makeSink().deliver(credential);
        ASSERT_FALSE(result);
        EXPECT_EQ(result.error().kind, FailureKind::Transient);
        EXPECT_FALSE(result.error().ambiguous);
        EXPECT_EQ(result.error().httpStatus, status);
        EXPECT_NE(result.error().message.find("vault sink v: Vault answered GET "
                                              "/v1/secret/metadata/apps/billing (" +
                                              std::to_string(status) + ": "),
                  std::string::npos)
            << result.error().message;
    }
    EXPECT_EQ(count("POST", kVaultDataRoute), 0);
}

TEST_F(VaultSinkTest, RateLimitingIsTransientWithItsRetryAfter)
{
    FaultRule rule;
    rule.kind = FaultKind::RateLimit;
    rule.pathPrefix = "/v1/secret/data/";
    rule.method = "POST";
    rule.count = 1;
    rule.retryAfterSeconds = 7;
    simulator->server().addFault(rule);
    const auto result = makeSink().deliver(credential);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().kind, FailureKind::Transient);
    EXPECT_FALSE(result.error().ambiguous) << "a rate-limited request is refused before it acts";
    EXPECT_EQ(result.error().retryAfterMs, 7000);
}

TEST_F(VaultSinkTest, A5xxToTheWriteIsAmbiguous)
{
    fault(FaultKind::Status, "POST", "/v1/secret/data/", 500);
    const auto result = makeSink().deliver(credential);
    ASSERT_FALSE(result);
    EXPECT_TRUE(result.error().ambiguous);
    EXPECT_EQ(result.error().kind, FailureKind::Transient);
}

TEST_F(VaultSinkTest, ADroppedAnswerToTheWriteIsAmbiguousAndTheNextDeliveryCompletesIt)
{
    for (const FaultKind kind : {FaultKind::DropAfterCommit, FaultKind::TlsEofAfterCommit})
    {
        SCOPED_TRACE(sim::toString(kind));
        start({});
        fault(kind, "POST", "/v1/secret/data/");
        auto& s = makeSink();
        const auto result = s.deliver(credential);
        ASSERT_FALSE(result);
        EXPECT_TRUE(result.error().ambiguous) << result.error().message;
        EXPECT_EQ(simulator->secret(kPath)->at("clientId"), credential.clientId)
            << "the write was committed";
        ASSERT_TRUE(s.deliver(credential));
        expectHolds(credential);
        EXPECT_EQ(simulator->currentVersion(kPath), 1) << "the data was not written again";
    }
}

TEST_F(VaultSinkTest, AFailedMetadataWriteAfterTheDataIsAmbiguous)
{
    fault(FaultKind::Status, "POST", "/v1/secret/metadata/", 503);
    auto& s = makeSink();
    const auto result = s.deliver(credential);
    ASSERT_FALSE(result);
    EXPECT_TRUE(result.error().ambiguous);
    EXPECT_NE(result.error().message.find("may hold the new credential"), std::string::npos);
    ASSERT_TRUE(s.deliver(credential));
    expectHolds(credential);
    EXPECT_EQ(count("POST", kVaultDataRoute), 1);
}

TEST_F(VaultSinkTest, AnUnreadableAnswerBeforeTheWriteIsTransient)
{
    fault(FaultKind::InvalidJson, "GET", "/v1/secret/metadata/");
    const auto result = makeSink().deliver(credential);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().kind, FailureKind::Transient);
    EXPECT_FALSE(result.error().ambiguous);
}

// --- permissions --------------------------------------------------------------------------------

TEST_F(VaultSinkTest, PermissionDeniedNamesTheMissingCapability)
{
    simulator->setPolicy("rotator", {{"secret/data/apps/*", {"read", "update"}},
                                     {"secret/metadata/apps/*", {"read", "update"}}});
    auto result = makeSink().deliver(credential);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().kind, FailureKind::Permanent);
    EXPECT_FALSE(result.error().ambiguous);
    EXPECT_NE(result.error().message.find("Vault denied POST /v1/secret/data/apps/billing (403: "
                                          "permission denied): the token's policies lack "
                                          "\"create on secret/data/apps/billing\""),
              std::string::npos)
        << result.error().message;

    simulator->setPolicy("rotator", {{"secret/data/apps/*", {"create", "read", "update"}},
                                     {"secret/metadata/apps/*", {"read"}}});
    result = sink->deliver(credential);
    ASSERT_FALSE(result);
    EXPECT_TRUE(result.error().ambiguous) << "the data was written";
    EXPECT_NE(result.error().message.find("\"update on secret/metadata/apps/billing\""),
              std::string::npos)
        << result.error().message;
}

TEST_F(VaultSinkTest, CheckAsksCapabilitiesSelfAndNeverWrites)
{
    ASSERT_TRUE(makeSink().check());
    simulator->setPolicy("rotator", {{"secret/data/apps/*", {"read"}}});
    const auto result = sink->check();
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().kind, FailureKind::Permanent);
    EXPECT_NE(result.error().message.find(
                  "lack create on secret/data/apps/billing, update on secret/data/apps/billing, "
                  "read on secret/metadata/apps/billing, update on secret/metadata/apps/billing"),
              std::string::npos)
        << result.error().message;
    EXPECT_EQ(count("POST", kVaultDataRoute), 0);
    EXPECT_EQ(count("POST", kVaultMetadataRoute), 0);
}

// --- token auth ---------------------------------------------------------------------------------

TEST_F(VaultSinkTest, AnExpiredTokenFileIsAnAuthFailureUntilTheFileIsReplaced)
{
    auto& s = makeSink();
    simulator->expireToken(vaultToken);
    const auto result = s.deliver(credential);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().kind, FailureKind::Auth);
    EXPECT_NE(result.error().message.find("sinks.v.tokenFile"), std::string::npos);
    EXPECT_FALSE(result.error().ambiguous);

    test::writeFile(dir.file("vault-token.new"), simulator->createToken({"rotator"}) + "\n");
    ASSERT_EQ(std::rename(dir.file("vault-token.new").c_str(), dir.file("vault-token").c_str()), 0);
    ASSERT_TRUE(s.deliver(credential));
    expectHolds(credential);
}

TEST_F(VaultSinkTest, AMissingTokenFileFailsTheDeliveryNamingTheKey)
{
    settings.tokenFile = dir.file("absent");
    const auto result = makeSink().deliver(credential);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().kind, FailureKind::Permanent);
    EXPECT_NE(result.error().message.find("sinks.v.tokenFile"), std::string::npos)
        << result.error().message;
}

// --- kubernetes and approle auth ----------------------------------------------------------------

class VaultLoginTest : public VaultSinkTest
{
protected:
    void useKubernetes()
    {
        simulator->addKubernetesRole("billing", kJwt, {"rotator"}, 3600);
        test::writeFile(dir.file("jwt"), kJwt + "\n");
        settings.tokenFile.clear();
        settings.vault.auth = config::VaultAuth::Kubernetes;
        settings.vault.role = "billing";
        settings.vault.authMount = "kubernetes";
        settings.vault.jwtFile = dir.file("jwt");
    }
};

TEST_F(VaultLoginTest, KubernetesLoginOnceThenRenewBeforeTheLeaseEnds)
{
    useKubernetes();
    auto& s = makeSink();
    ASSERT_TRUE(s.deliver(credential));
    ASSERT_TRUE(s.deliver(credential));
    EXPECT_EQ(simulator->logins(), 1);
    EXPECT_EQ(simulator->renewals(), 0);

    clock.advanceMs(2'500'000); // past two thirds of the hour
    ASSERT_TRUE(s.check());
    EXPECT_EQ(simulator->renewals(), 1);
    EXPECT_EQ(simulator->logins(), 1);

    clock.advanceMs(3'700'000); // the renewed lease ended too: a new login
    ASSERT_TRUE(s.check());
    EXPECT_EQ(simulator->logins(), 2);
    expectHolds(credential);
}

TEST_F(VaultLoginTest, ATokenThatDiedEarlyIsReplacedByOneNewLogin)
{
    useKubernetes();
    auto& s = makeSink();
    ASSERT_TRUE(s.check());
    simulator->expireLoginTokens();
    ASSERT_TRUE(s.deliver(credential));
    EXPECT_EQ(simulator->logins(), 2);
    expectHolds(credential);
}

TEST_F(VaultLoginTest, ARefusedJwtIsAnAuthFailure)
{
    useKubernetes();
    test::writeFile(dir.file("jwt"), "eyJ.another-service-account.sig\n");
    const auto result = makeSink().deliver(credential);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().kind, FailureKind::Auth);
    EXPECT_NE(result.error().message.find("Vault refused the kubernetes login at "
                                          "auth/kubernetes/login (role billing) (403: permission "
                                          "denied)"),
              std::string::npos)
        << result.error().message;
}

TEST_F(VaultLoginTest, AppRoleLoginAndARefusedSecretId)
{
    simulator->addAppRole("role-1234", "secret-id-Wq81x", {"rotator"}, 600);
    test::writeFile(dir.file("role-id"), "role-1234\n");
    test::writeFile(dir.file("secret-id"), "secret-id-Wq81x\n");
    settings.tokenFile.clear();
    settings.vault.auth = config::VaultAuth::AppRole;
    settings.vault.authMount = "approle";
    settings.vault.roleIdFile = dir.file("role-id");
    settings.vault.secretIdFile = dir.file("secret-id");
    ASSERT_TRUE(makeSink().deliver(credential));
    expectHolds(credential);
    EXPECT_EQ(simulator->logins(), 1);

    test::writeFile(dir.file("secret-id"), "secret-id-wrong\n");
    const auto result = makeSink().deliver(credential);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().kind, FailureKind::Auth);
    EXPECT_NE(result.error().message.find("(400: invalid role or secret ID)"), std::string::npos)
        << result.error().message;
    EXPECT_EQ(result.error().message.find("secret-id-wrong"), std::string::npos);
}

// --- namespaces ---------------------------------------------------------------------------------

TEST_F(VaultSinkTest, ANamespaceKeepsTheSecretApartAndAnUnknownOneIsRefused)
{
    start({"team-a"});
    simulator->setPolicy("ns-rotator", {{"secret/*", {"create", "read", "update"}}});
    test::writeFile(dir.file("vault-token"),
                    simulator->createToken({"ns-rotator"}, 0, false, "team-a") + "\n");
    settings.vault.vaultNamespace = "team-a";
    ASSERT_TRUE(makeSink().deliver(credential));
    expectHolds(credential, "team-a");
    EXPECT_FALSE(simulator->secret(kPath)) << "written outside the namespace";

    settings.vault.vaultNamespace = "team-b";
    const auto result = makeSink().deliver(credential);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().httpStatus, 404);
    EXPECT_EQ(result.error().kind, FailureKind::Permanent);
}

// --- no secret anywhere -------------------------------------------------------------------------

TEST_F(VaultLoginTest, NoSecretTokenOrSecretIdInLogsOrMessages)
{
    test::LogCapture logs;
    std::string messages;
    const auto note = [&](const core::Outcome<void>& r)
    {
        if (!r)
        {
            messages += r.error().message + "\n";
        }
    };
    // Token auth through faults, conflicts and denials.
    note(makeSink().deliver(credential));
    fault(FaultKind::DropAfterCommit, "POST", "/v1/secret/metadata/");
    simulator->interveneBeforeWrites(1);
    const sink::Credential next = sinktest::makeTestCredential("Zq9WkXnext-secret-Value.2");
    note(sink->deliver(next));
    simulator->interveneAfterNextWrite({{"clientId", "x"}});
    note(makeSink().deliver(credential));
    simulator->expireToken(vaultToken);
    note(makeSink().deliver(credential));
    // Logins: kubernetes and a refused approle.
    start({});
    useKubernetes();
    note(makeSink().deliver(credential));
    simulator->expireLoginTokens();
    note(sink->deliver(next));
    simulator->addAppRole("role-1234", "secret-id-Wq81x", {"rotator"}, 600);
    test::writeFile(dir.file("role-id"), "role-1234\n");
    test::writeFile(dir.file("secret-id"), "secret-id-Wq81x-wrong\n");
    settings.vault.auth = config::VaultAuth::AppRole;
    settings.vault.authMount = "approle";
    settings.vault.roleIdFile = dir.file("role-id");
    settings.vault.secretIdFile = dir.file("secret-id");
    note(makeSink().deliver(credential));

    ASSERT_FALSE(messages.empty());
    const std::string text = logs.text() + messages;
    for (const auto* c : {&credential, &next})
    {
        EXPECT_FALSE(sinktest::leaks(text, *c)) << text;
    }
    for (const std::string& secret :
         {vaultToken, kJwt, std::string("secret-id-Wq81x"), std::string("hvs.")})
    {
        EXPECT_EQ(text.find(secret), std::string::npos) << "leaked: " << secret << "\n" << text;
    }
}

} // namespace
} // namespace rotator
