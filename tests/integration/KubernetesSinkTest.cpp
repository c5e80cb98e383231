// The kubernetes sink against the Kubernetes API server simulator over TLS on 127.0.0.1:0:
// create, update keeping foreign keys, idempotent re-delivery, resourceVersion conflicts,
// read-back mismatch, restarts, every injected fault with its ambiguity, expired and
// insufficient credentials, the SelfSubjectAccessReview check, and no secret in any message
// or log line.

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "rotator/config/TokenSource.h"
#include "rotator/core/Clock.h"
#include "rotator/core/SecretMasker.h"
#include "rotator/core/Time.h"
#include "rotator/sim/KubernetesSimulator.h"
#include "rotator/sink/KubernetesSink.h"
#include "support/KubernetesFaults.h"
#include "support/LeakScan.h"
#include "support/LogCapture.h"
#include "support/TempDir.h"
#include "support/TestCerts.h"

using rotator::config::SinkSettings;
using rotator::config::SinkType;
using rotator::core::FailureKind;
using rotator::core::Secret;
using rotator::sim::FaultKind;
using rotator::sim::FaultRule;
using rotator::sim::KubernetesRule;
using rotator::sim::KubernetesSecret;
using rotator::sim::KubernetesSimulator;
using rotator::sink::Credential;
using rotator::sink::KubernetesSink;
using rotator::test::kubernetesFault;

namespace
{

const std::string kNs = "billing";
const std::string kName = "astra-credentials";
const std::string kBearer = "k8s-bearer-0123456789abcdef0123456789abcdef";
const std::string kSecretRoute = "/api/v1/namespaces/{ns}/secrets/{name}";
const std::string kCreateRoute = "/api/v1/namespaces/{ns}/secrets";
const std::string kDeploymentRoute = "/apis/apps/v1/namespaces/{ns}/deployments/{name}";

Credential credential(const std::string& clientId, const std::string& secret)
{
    Credential c;
    c.credential = "billing";
    c.clientId = clientId;
    c.secret = Secret(secret);
    c.token = Secret("AstraCS:" + clientId + ":" + std::string(56, 'e') + secret.substr(0, 8));
    c.orgId = "org-1";
    c.generatedOn = "2026-12-03T20:00:00Z";
    return c;
}

class KubernetesSinkTest : public ::testing::Test
{
protected:
    KubernetesSinkTest()
    {
        const auto& certs = rotator::test::sharedTestCerts();
        rotator::sim::StoreServerOptions options;
        options.tlsCertFile = certs.serverCert;
        options.tlsKeyFile = certs.serverKey;
        sim = std::make_unique<KubernetesSimulator>(options);
        sim->addFullAccessToken(kBearer, kNs);
        sim->addWorkload("deployments", kNs, "web");
        rotator::test::writeFile(dir.file("token"), kBearer + "\n", 0600);
        settings.name = "k8s";
        settings.type = SinkType::Kubernetes;
        settings.caFile = certs.caFile;
        settings.tokenFile = dir.file("token");
        settings.kubernetes.server = sim->baseUrl();
        settings.kubernetes.namespaceName = kNs;
        settings.kubernetes.secret = kName;
        settings.kubernetes.keys = {{"ASTRA_CLIENT_ID", "clientId"},
                                    {"ASTRA_CLIENT_SECRET", "secret"},
                                    {"ASTRA_DB_APPLICATION_TOKEN", "token"}};
        settings.kubernetes.timeoutMs = 2'000;
        settings.kubernetes.requestDeadlineMs = 5'000;
    }

    std::unique_ptr<KubernetesSink> sink()
    {
        return std::make_unique<KubernetesSink>(settings, clock);
    }

    /// Identity with only `rules` in the namespace, used by the sink from now on.
    void useRules(std::vector<KubernetesRule> rules)
    {
        sim->addToken("limited-token-0123456789", "system:serviceaccount:billing:astra-rotator",
                      kNs, std::move(rules));
        rotator::test::writeFile(dir.file("token"), "limited-token-0123456789\n", 0600);
    }

    std::int64_t count(const std::string& method, const std::string& route,
                       std::optional<int> status = std::nullopt)
    {
        return sim->server().requestCount(method, route, status);
    }

    rotator::test::TempDir dir;
    rotator::core::SystemClock clock;
    std::unique_ptr<KubernetesSimulator> sim;
    SinkSettings settings;
    const Credential first =
        credential("clientAAAAAAAAAAAAAAAAA1", "first-secret-value-0123456789");
    const Credential second =
        credential("clientBBBBBBBBBBBBBBBBB2", "second-secret-value-987654321");
};

} // namespace

TEST_F(KubernetesSinkTest, CreatesAnOpaqueSecretWithItsLabelAndAnnotationsAndReadsItBack)
{
    ASSERT_TRUE(sink()->deliver(first));
    const auto stored = sim->secret(kNs, kName);
    ASSERT_TRUE(stored);
    EXPECT_EQ(stored->type, "Opaque");
    EXPECT_EQ(stored->data.at("ASTRA_CLIENT_ID"), first.clientId);
    EXPECT_EQ(stored->data.at("ASTRA_CLIENT_SECRET"), first.secret.reveal());
    EXPECT_EQ(stored->data.at("ASTRA_DB_APPLICATION_TOKEN"), first.token.reveal());
    EXPECT_EQ(stored->labels.at("app.kubernetes.io/managed-by"), "astra-rotator");
    EXPECT_EQ(stored->annotations.at("astra-rotator/client-id"), first.clientId);
    EXPECT_EQ(stored->annotations.at("astra-rotator/credential"), "billing");
    EXPECT_TRUE(rotator::core::isRfc3339(stored->annotations.at("astra-rotator/rotated-at")));
    EXPECT_EQ(count("POST", kCreateRoute, 201), 1);
    EXPECT_EQ(count("GET", kSecretRoute, 200), 1); // the read-back
}

TEST_F(KubernetesSinkTest, ReDeliveringWhatTheSecretHoldsWritesNothing)
{
    auto s = sink();
    ASSERT_TRUE(s->deliver(first));
    const auto version = sim->secret(kNs, kName)->resourceVersion;
    ASSERT_TRUE(s->deliver(first));
    EXPECT_EQ(sim->secretWrites(), 1);
    EXPECT_EQ(count("PATCH", kSecretRoute), 0);
    EXPECT_EQ(sim->secret(kNs, kName)->resourceVersion, version);
}

TEST_F(KubernetesSinkTest, UpdatesOnlyTheKeysItOwnsAndKeepsEverythingElse)
{
    KubernetesSecret existing;
    existing.data = {{"OTHER", "kept"}, {"ASTRA_CLIENT_ID", "old"}};
    existing.labels = {{"team", "payments"}};
    existing.annotations = {{"note", "hands off"}};
    sim->putSecret(kNs, kName, existing);
    ASSERT_TRUE(sink()->deliver(second));
    const auto stored = *sim->secret(kNs, kName);
    EXPECT_EQ(stored.data.at("OTHER"), "kept");
    EXPECT_EQ(stored.data.at("ASTRA_CLIENT_ID"), second.clientId);
    EXPECT_EQ(stored.data.at("ASTRA_CLIENT_SECRET"), second.secret.reveal());
    EXPECT_EQ(stored.labels.at("team"), "payments");
    EXPECT_EQ(stored.labels.at("app.kubernetes.io/managed-by"), "astra-rotator");
    EXPECT_EQ(stored.annotations.at("note"), "hands off");
    EXPECT_EQ(stored.annotations.at("astra-rotator/client-id"), second.clientId);
    EXPECT_EQ(count("PATCH", kSecretRoute, 200), 1);
}

TEST_F(KubernetesSinkTest, ReplacesTheValuesOfAnEarlierClient)
{
    auto s = sink();
    ASSERT_TRUE(s->deliver(first));
    ASSERT_TRUE(s->deliver(second));
    EXPECT_EQ(sim->secret(kNs, kName)->data.at("ASTRA_CLIENT_SECRET"), second.secret.reveal());
    EXPECT_EQ(sim->secretWrites(), 2);
}

TEST_F(KubernetesSinkTest, ReadsAgainAndRetriesWhenAnotherWriterChangedTheSecret)
{
    ASSERT_TRUE(sink()->deliver(first));
    sim->conflictOnNextWrites(kNs, kName, 2);
    ASSERT_TRUE(sink()->deliver(second));
    EXPECT_EQ(count("PATCH", kSecretRoute, 409), 2);
    EXPECT_EQ(count("PATCH", kSecretRoute, 200), 1);
    EXPECT_EQ(sim->secret(kNs, kName)->data.at("ASTRA_CLIENT_ID"), second.clientId);
}

TEST_F(KubernetesSinkTest, GivesUpOnEndlessConflictsWithoutClaimingTheSecretMayHoldIt)
{
    ASSERT_TRUE(sink()->deliver(first));
    sim->conflictOnNextWrites(kNs, kName, 100);
    const auto result = sink()->deliver(second);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().kind, FailureKind::Transient);
    EXPECT_FALSE(result.error().ambiguous);
    EXPECT_EQ(count("PATCH", kSecretRoute, 200), 0);
}

TEST_F(KubernetesSinkTest, CreatedMeanwhileByAnotherWriterIsReadAgainAndPatched)
{
    // The GET finds nothing, the POST meets AlreadyExists: the sink reads again and patches.
    ASSERT_TRUE(sink()->deliver(first));
    const auto existing = *sim->secret(kNs, kName);
    FaultRule notFoundOnce = kubernetesFault(FaultKind::Status, "GET", 404);
    sim->server().addFault(notFoundOnce);
    ASSERT_TRUE(sink()->deliver(second));
    EXPECT_EQ(count("POST", kCreateRoute, 409), 1);
    EXPECT_EQ(count("PATCH", kSecretRoute, 200), 1);
    EXPECT_EQ(sim->secret(kNs, kName)->data.at("ASTRA_CLIENT_ID"), second.clientId);
}

TEST_F(KubernetesSinkTest, AReadBackThatDiffersIsAmbiguous)
{
    sim->overwriteAfterNextWrite(kNs, kName, "ASTRA_CLIENT_SECRET", "someone else's");
    const auto result = sink()->deliver(first);
    ASSERT_FALSE(result);
    EXPECT_TRUE(result.error().ambiguous);
    EXPECT_NE(result.error().message.find("read back"), std::string::npos)
        << result.error().message;
}

TEST_F(KubernetesSinkTest, LatencyWithinTheTimeoutPasses)
{
    FaultRule slow = kubernetesFault(FaultKind::Latency, "*");
    slow.delayMs = 300;
    slow.count = 3;
    sim->server().addFault(slow);
    ASSERT_TRUE(sink()->deliver(first));
    EXPECT_EQ(sim->secret(kNs, kName)->data.at("ASTRA_CLIENT_ID"), first.clientId);
}

TEST_F(KubernetesSinkTest, AServerErrorBeforeTheWriteIsTransientAndNotAmbiguous)
{
    sim->server().addFault(kubernetesFault(FaultKind::Status, "GET", 503));
    const auto result = sink()->deliver(first);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().kind, FailureKind::Transient);
    EXPECT_FALSE(result.error().ambiguous);
    EXPECT_EQ(result.error().httpStatus, 503);
    EXPECT_NE(result.error().message.find("kubernetes sink k8s: GET Secret billing/"
                                          "astra-credentials: 503"),
              std::string::npos)
        << result.error().message;
    EXPECT_FALSE(sim->secret(kNs, kName));
}

TEST_F(KubernetesSinkTest, AServerErrorToTheWriteIsAmbiguous)
{
    sim->server().addFault(kubernetesFault(FaultKind::Status, "POST", 500));
    const auto result = sink()->deliver(first);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().kind, FailureKind::Transient);
    EXPECT_TRUE(result.error().ambiguous);
}

TEST_F(KubernetesSinkTest, AConnectionDroppedAfterTheCreateIsAmbiguousAndTheRetryWritesNothing)
{
    sim->server().addFault(kubernetesFault(FaultKind::DropAfterCommit, "POST"));
    const auto result = sink()->deliver(first);
    ASSERT_FALSE(result);
    EXPECT_TRUE(result.error().ambiguous);
    ASSERT_TRUE(sim->secret(kNs, kName)); // the create was committed
    ASSERT_TRUE(sink()->deliver(first));
    EXPECT_EQ(sim->secretWrites(), 1);
}

TEST_F(KubernetesSinkTest, ATlsEofAfterThePatchIsAmbiguous)
{
    ASSERT_TRUE(sink()->deliver(first));
    sim->server().addFault(kubernetesFault(FaultKind::TlsEofAfterCommit, "PATCH"));
    const auto result = sink()->deliver(second);
    ASSERT_FALSE(result);
    EXPECT_TRUE(result.error().ambiguous);
}

TEST_F(KubernetesSinkTest, AnExpiredTokenIsAnAuthFailureNamingTheTokenFile)
{
    sim->expireToken(kBearer);
    const auto result = sink()->deliver(first);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().kind, FailureKind::Auth);
    EXPECT_FALSE(result.error().ambiguous);
    EXPECT_NE(result.error().message.find("sinks.k8s.tokenFile"), std::string::npos)
        << result.error().message;
}

TEST_F(KubernetesSinkTest, ARotatedTokenFileIsReadAgainAfterA401)
{
    auto s = sink(); // has read kBearer
    sim->expireToken(kBearer);
    sim->addFullAccessToken("renewed-projected-token-0123456789", kNs);
    // The kubelet swaps the projected token: the next request (refused with the old one, or
    // noticed by the file's change) uses the new one.
    rotator::test::writeFile(dir.file("token"), "renewed-projected-token-0123456789\n", 0600);
    ASSERT_TRUE(s->deliver(first));
    EXPECT_EQ(sim->secret(kNs, kName)->data.at("ASTRA_CLIENT_ID"), first.clientId);
}

TEST_F(KubernetesSinkTest, AMissingPermissionIsPermanentAndNamesTheVerbAndResource)
{
    sim->putSecret(kNs, kName, KubernetesSecret{});
    useRules({KubernetesRule{{"get"}, "secrets", {kName}}});
    const auto result = sink()->deliver(first);
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().kind, FailureKind::Permanent);
    EXPECT_FALSE(result.error().ambiguous);
    EXPECT_EQ(result.error().httpStatus, 403);
    EXPECT_NE(result.error().message.find("cannot patch resource \"secrets\" in API group \"\" "
                                          "in the namespace \"billing\""),
              std::string::npos)
        << result.error().message;
    EXPECT_NE(result.error().message.find("verb patch"), std::string::npos);
}

TEST_F(KubernetesSinkTest, CheckReportsEveryVerbTheRoleLacksAndWritesNothing)
{
    settings.kubernetes.restart = {{"deployment", "web"}};
    // resourceNames cannot restrict create: a Role like this one cannot create the Secret.
    useRules({KubernetesRule{{"get", "patch"}, "secrets", {kName}},
              KubernetesRule{{"create"}, "secrets", {kName}}});
    const auto result = sink()->check();
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().kind, FailureKind::Permanent);
    EXPECT_NE(result.error().message.find("may not create secrets, get deployments/web, patch "
                                          "deployments/web in namespace billing"),
              std::string::npos)
        << result.error().message;
    EXPECT_EQ(count("POST", kCreateRoute), 0);
    EXPECT_EQ(count("PATCH", kSecretRoute), 0);
    EXPECT_EQ(sim->secretWrites(), 0);
}

TEST_F(KubernetesSinkTest, CheckPassesWithTheShippedRoleAndAnAbsentSecret)
{
    settings.kubernetes.restart = {{"deployment", "web"}};
    useRules({KubernetesRule{{"get", "update", "patch"}, "secrets", {kName}},
              KubernetesRule{{"create"}, "secrets", {}},
              KubernetesRule{{"get", "patch"}, "deployments", {"web"}}});
    EXPECT_TRUE(sink()->check());
    EXPECT_EQ(sim->secretWrites(), 0);
}

TEST_F(KubernetesSinkTest, RestartsEachTargetOnceForAClient)
{
    settings.kubernetes.restart = {{"deployment", "web"}};
    auto s = sink();
    ASSERT_TRUE(s->deliver(first));
    const auto annotations = *sim->templateAnnotations("deployments", kNs, "web");
    EXPECT_EQ(annotations.at("astra-rotator/client-id"), first.clientId);
    EXPECT_TRUE(rotator::core::isRfc3339(annotations.at("kubectl.kubernetes.io/restartedAt")));
    ASSERT_TRUE(s->deliver(first));
    EXPECT_EQ(count("PATCH", kDeploymentRoute), 1);
    ASSERT_TRUE(s->deliver(second));
    EXPECT_EQ(count("PATCH", kDeploymentRoute), 2);
}

TEST_F(KubernetesSinkTest, AFailedRestartIsAmbiguousAndTheRetryOnlyRestarts)
{
    settings.kubernetes.restart = {{"deployment", "web"}};
    useRules({KubernetesRule{{"get", "patch"}, "secrets", {kName}},
              KubernetesRule{{"create"}, "secrets", {}},
              KubernetesRule{{"get"}, "deployments", {"web"}}});
    const auto result = sink()->deliver(first);
    ASSERT_FALSE(result);
    // The Secret holds the new credential: pods may read it, the rotation only rolls forward.
    EXPECT_TRUE(result.error().ambiguous);
    EXPECT_EQ(result.error().kind, FailureKind::Permanent);
    EXPECT_NE(result.error().message.find("deployment/web"), std::string::npos)
        << result.error().message;
    EXPECT_EQ(sim->secret(kNs, kName)->data.at("ASTRA_CLIENT_ID"), first.clientId);

    useRules({KubernetesRule{{"*"}, "*", {}}});
    ASSERT_TRUE(sink()->deliver(first));
    EXPECT_EQ(sim->secretWrites(), 1);
    EXPECT_EQ(sim->templateAnnotations("deployments", kNs, "web")->at("astra-rotator/client-id"),
              first.clientId);
}

TEST_F(KubernetesSinkTest, NoSecretOrBearerTokenInAnyMessageOrLogLine)
{
    std::vector<std::string> messages;
    rotator::test::LogCapture log;
    {
        settings.kubernetes.restart = {{"deployment", "web"}};
        sim->overwriteAfterNextWrite(kNs, kName, "ASTRA_CLIENT_SECRET", "x");
        messages.push_back(sink()->deliver(first).error().message);
        sim->server().addFault(kubernetesFault(FaultKind::Status, "PATCH", 500));
        messages.push_back(sink()->deliver(second).error().message);
        sim->server().addFault(kubernetesFault(FaultKind::DropAfterCommit, "PATCH"));
        messages.push_back(sink()->deliver(second).error().message);
        ASSERT_TRUE(sink()->deliver(second));
        useRules({KubernetesRule{{"get"}, "*", {}}});
        messages.push_back(sink()->deliver(first).error().message);
        messages.push_back(sink()->check().error().message);
        sim->expireToken("limited-token-0123456789");
        messages.push_back(sink()->deliver(first).error().message);
    }
    std::map<std::string, std::string> searched = {{"log", log.text()}};
    for (std::size_t i = 0; i < messages.size(); ++i)
    {
        EXPECT_FALSE(messages[i].empty()) << i;
        searched["message " + std::to_string(i)] = messages[i];
    }
    std::vector<std::string> secrets = {
        first.secret.reveal(), second.secret.reveal(), kBearer, "limited-token-0123456789",
        rotator::core::base64Encode(first.secret.reveal(), false, true)};
    for (const auto& c : {first, second})
    {
        for (const auto& form : rotator::test::tokenLeakForms(c.token.reveal()))
        {
            secrets.push_back(form);
        }
    }
    rotator::test::expectNoSecretIn(searched, secrets);
    // What was written is logged: the target and the client ID (the dropped patch had
    // committed, so the retry found the Secret holding it).
    EXPECT_TRUE(
        log.contains("Secret billing/astra-credentials already holds clientId " + second.clientId))
        << log.text();
    EXPECT_TRUE(log.contains("restarted deployment/web for clientId " + second.clientId));
}
