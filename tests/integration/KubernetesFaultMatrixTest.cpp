// The kubernetes sink's faults through the real rotation (app::Runtime: SQLite journal,
// AstraClient over TLS against astra-devops-sim, the engine, a KubernetesSink over TLS against
// the Kubernetes simulator). Each cell injects one fault for the first pass of a due rotation,
// then runs passes until the rotation converges, checking after every pass:
//
// - the client the Secret holds is never revoked (a consumer may read it);
// - after an ambiguous failure (the Secret may hold the new client) the rotation only rolls
//   forward: the new client is not revoked, no other one is created, and the delivery is
//   retried until the Secret holds it;
// - after a clean failure (nothing written) the rotation may roll back, and a later pass
//   rotates;
// - in the end the Secret holds the current client, which authenticates.
//
// Run: build/bin/integration_tests --gtest_filter='KubernetesFaultMatrix*'

#include <gtest/gtest.h>

#include <functional>
#include <iostream>
#include <memory>
#include <ostream>
#include <set>
#include <string>

#include "rotator/sim/KubernetesSimulator.h"
#include "support/KubernetesFaults.h"
#include "support/ProcessRunner.h"
#include "support/RotationHarness.h"
#include "support/TestCerts.h"

namespace
{

using namespace rotator;

constexpr std::int64_t kMinute = 60'000;
constexpr std::int64_t kHour = 60 * kMinute;
const std::string kNs = "billing";
const std::string kName = "astra-credentials";
const std::string kBearer = "matrix-bearer-0123456789abcdef";

enum class Expect
{
    Delivered, ///< the first pass rotates despite the fault
    Clean,     ///< the first pass fails before anything was written
    Ambiguous, ///< the first pass fails after the Secret may hold the new client
};

struct Cell
{
    std::string name;
    Expect expect;
    /// Puts the fault in place at the Kubernetes simulator (before the first pass).
    std::function<void(sim::KubernetesSimulator&)> inject;
    bool existingSecret = false; ///< the Secret exists (holding the old client) beforehand
};

/// gtest names a failed cell by this instead of its bytes.
void PrintTo(const Cell& cell, std::ostream* out)
{
    *out << cell.name;
}

/// The rotation harness with a Kubernetes simulator and one kubernetes sink.
class KubernetesRotation : protected test::RotationHarness
{
protected:
    std::optional<std::string> held() const
    {
        const auto secret = k8s->secret(kNs, kName);
        if (!secret || secret->data.count("ASTRA_CLIENT_ID") == 0)
        {
            return std::nullopt;
        }
        return secret->data.at("ASTRA_CLIENT_ID");
    }

    void expectHeldClientAlive(const std::string& when) const
    {
        if (const auto id = held())
        {
            EXPECT_TRUE(alive(*id)) << when << ": the client the Secret holds was revoked";
        }
    }

    /// Both simulators, the Kubernetes token file, an old client due for rotation (returned)
    /// and the configuration of `app` with one kubernetes sink restarting deployment/web.
    /// `existingSecret`: the Secret exists beforehand, holding the old client.
    std::string setUp(bool existingSecret)
    {
        startSimulator();
        const auto& certs = test::sharedTestCerts();
        sim::StoreServerOptions options;
        options.tlsCertFile = certs.serverCert;
        options.tlsKeyFile = certs.serverKey;
        k8s = std::make_unique<sim::KubernetesSimulator>(options);
        k8s->addNamespace(kNs);
        k8s->addFullAccessToken(kBearer, kNs);
        k8s->addWorkload("deployments", kNs, "web");
        test::writeFile(dir.file("k8s.token"), kBearer + "\n", 0600);

        const std::string oldId = seedClient(2 * kHour);
        if (existingSecret)
        {
            sim::KubernetesSecret secret;
            secret.data = {{"ASTRA_CLIENT_ID", oldId}};
            k8s->putSecret(kNs, kName, secret);
        }
        configure("credentials.app.clientId = " + oldId + "\n" + sinkProperties());
        return oldId;
    }

    std::string sinkProperties() const
    {
        const auto& certs = test::sharedTestCerts();
        return "credentials.app.roles = Database Administrator\n"
               "credentials.app.maxAge = 1h\n"
               "credentials.app.gracePeriod = 10m\n"
               "credentials.app.sinks = app-k8s\n"
               "sinks.app-k8s.type = kubernetes\n"
               "sinks.app-k8s.server = " +
               k8s->baseUrl() + "\nsinks.app-k8s.caFile = " + certs.caFile +
               "\nsinks.app-k8s.tokenFile = " + dir.file("k8s.token") +
               "\nsinks.app-k8s.namespace = billing\n"
               "sinks.app-k8s.secret = astra-credentials\n"
               "sinks.app-k8s.restart = deployment/web\n";
    }

    /// Passes (each after the retry backoff) until `app` leaves `oldId`, checking after each
    /// that the Secret's client lives; returns the new current client.
    std::string converge(const std::string& oldId)
    {
        for (int i = 0; i < 5 && credential("app").currentClientId == oldId; ++i)
        {
            clock.advanceMs(2 * kMinute);
            const auto report = pass();
            expectHeldClientAlive("pass " + std::to_string(i + 2));
            if (!report.errors.empty())
            {
                std::cerr << ::testing::PrintToString(report.errors) << "\n";
            }
        }
        return credential("app").currentClientId;
    }

    std::unique_ptr<sim::KubernetesSimulator> k8s;
};

class KubernetesFaultMatrix : public ::testing::TestWithParam<Cell>, protected KubernetesRotation
{
};

/// The same set-up for the crash test, which has no cells.
class KubernetesCrash : public ::testing::Test, protected KubernetesRotation
{
};

TEST_P(KubernetesFaultMatrix, HoldsTheInvariants)
{
    const Cell& cell = GetParam();
    const std::string oldId = setUp(cell.existingSecret);
    const std::set<std::string> before = simClientIds();

    cell.inject(*k8s);
    auto report = pass();
    expectHeldClientAlive("after the faulted pass");
    std::set<std::string> created;
    for (const auto& id : simClientIds())
    {
        if (before.count(id) == 0)
        {
            created.insert(id);
        }
    }
    std::string firstNew;
    switch (cell.expect)
    {
    case Expect::Delivered:
        EXPECT_EQ(report.rotated, 1) << ::testing::PrintToString(report.errors);
        break;
    case Expect::Clean:
        EXPECT_EQ(report.rotated, 0);
        EXPECT_EQ(credential("app").currentClientId, oldId);
        break;
    case Expect::Ambiguous:
        EXPECT_EQ(report.rotated, 0);
        // Rolled forward only: the new client lives on, whatever the Secret holds.
        ASSERT_EQ(created.size(), 1U) << "the new client was revoked";
        firstNew = *created.begin();
        break;
    }
    EXPECT_TRUE(alive(oldId)) << "the old client was revoked before the new one was delivered";

    // The fault is gone; passes until the rotation converges.
    k8s->server().clearFaults();
    k8s->conflictOnNextWrites(kNs, kName, 0);
    k8s->addFullAccessToken(kBearer, kNs);
    const std::string current = converge(oldId);
    ASSERT_NE(current, oldId);
    if (cell.expect == Expect::Ambiguous)
    {
        EXPECT_EQ(current, firstNew) << "another client was created after an ambiguous delivery";
    }
    EXPECT_EQ(held(), current);
    EXPECT_EQ(tokenStatus(k8s->secret(kNs, kName)->data.at("ASTRA_DB_APPLICATION_TOKEN")), 200);
    EXPECT_EQ(k8s->templateAnnotations("deployments", kNs, "web")->at("astra-rotator/client-id"),
              current);
    EXPECT_TRUE(alive(oldId)) << "revoked before its grace period";

    clock.advanceMs(11 * kMinute); // past the grace period
    pass();
    EXPECT_FALSE(alive(oldId));
    EXPECT_TRUE(alive(current));
}

void denyPatch(sim::KubernetesSimulator& k8s)
{
    k8s.addToken(kBearer, "system:serviceaccount:billing:astra-rotator", kNs,
                 {sim::KubernetesRule{{"get", "create"}, "*", {}}});
}

void denyRestart(sim::KubernetesSimulator& k8s)
{
    k8s.addToken(kBearer, "system:serviceaccount:billing:astra-rotator", kNs,
                 {sim::KubernetesRule{{"*"}, "secrets", {}},
                  sim::KubernetesRule{{"get"}, "deployments", {}}});
}

INSTANTIATE_TEST_SUITE_P(
    Cells, KubernetesFaultMatrix,
    ::testing::Values(
        Cell{"LatencyWithinTheTimeout", Expect::Delivered,
             [](sim::KubernetesSimulator& k)
             {
                 auto r = test::kubernetesFault(sim::FaultKind::Latency, "*");
                 r.delayMs = 200;
                 r.count = 2;
                 k.server().addFault(r);
             }},
        Cell{"ServerErrorBeforeTheWrite", Expect::Clean,
             [](sim::KubernetesSimulator& k)
             {
                 auto r = test::kubernetesFault(sim::FaultKind::Status, "GET", 503);
                 r.count.reset(); // every GET of the pass
                 k.server().addFault(r);
             }},
        Cell{"ConflictsRetriedInsideTheDelivery", Expect::Delivered,
             [](sim::KubernetesSimulator& k) { k.conflictOnNextWrites(kNs, kName, 2); }, true},
        Cell{"ConflictsWithoutEnd", Expect::Clean,
             [](sim::KubernetesSimulator& k) { k.conflictOnNextWrites(kNs, kName, 1000); }, true},
        Cell{"ServerErrorToTheCreate", Expect::Ambiguous,
             [](sim::KubernetesSimulator& k)
             { k.server().addFault(test::kubernetesFault(sim::FaultKind::Status, "POST", 500)); }},
        Cell{"DropAfterTheCreateCommitted", Expect::Ambiguous,
             [](sim::KubernetesSimulator& k) {
                 k.server().addFault(
                     test::kubernetesFault(sim::FaultKind::DropAfterCommit, "POST"));
             }},
        Cell{"TlsEofAfterThePatchCommitted", Expect::Ambiguous,
             [](sim::KubernetesSimulator& k) {
                 k.server().addFault(
                     test::kubernetesFault(sim::FaultKind::TlsEofAfterCommit, "PATCH"));
             },
             true},
        Cell{"ReadBackDiffers", Expect::Ambiguous,
             [](sim::KubernetesSimulator& k)
             { k.overwriteAfterNextWrite(kNs, kName, "ASTRA_CLIENT_SECRET", "tampered"); }},
        Cell{"ExpiredToken", Expect::Clean,
             [](sim::KubernetesSimulator& k) { k.expireToken(kBearer); }},
        Cell{"PatchForbidden", Expect::Clean, denyPatch, true},
        Cell{"RestartForbidden", Expect::Ambiguous, denyRestart}),
    [](const ::testing::TestParamInfo<Cell>& cell) { return cell.param.name; });

/// The crash test: `astra-rotator run-once` is killed after the API server committed the
/// Secret and before the rotator heard so (the answer trickles), so its journal says only that
/// the delivery was attempted. The next runs must roll forward: the client the Secret holds is
/// never revoked, no other client is created, and the rotation completes with it.
TEST_F(KubernetesCrash, KilledAfterTheSecretIsCommittedTheNextRunRollsForward)
{
    const std::string oldId = setUp(false);
    const std::set<std::string> before = simClientIds();
    sim::FaultRule slow = test::kubernetesFault(sim::FaultKind::Trickle, "POST");
    slow.delayMs = 1000;
    k8s->server().addFault(slow);

    test::ChildProcess child(
        {std::string(ROTATOR_BIN_DIR) + "/astra-rotator",
         "--config=" + writeConfig("credentials.app.clientId = " + oldId + "\n" + sinkProperties()),
         "run-once"},
        test::minimalEnvironment());
    ASSERT_TRUE(k8s->server().waitForRequests("POST", "/api/v1/namespaces/{ns}/secrets", 1, 30'000))
        << child.stderrText();
    child.kill();
    const auto committed = held();
    ASSERT_TRUE(committed) << "the create was not committed";
    ASSERT_NE(*committed, oldId);
    EXPECT_TRUE(alive(*committed));
    k8s->server().clearFaults();

    const std::string current = converge(oldId);
    EXPECT_EQ(current, *committed) << "another client was created after the crash";
    EXPECT_EQ(held(), current);
    std::set<std::string> created;
    for (const auto& id : simClientIds())
    {
        created.insert(before.count(id) == 0 ? id : "");
    }
    created.erase("");
    EXPECT_EQ(created, std::set<std::string>{current});
    EXPECT_EQ(k8s->templateAnnotations("deployments", kNs, "web")->at("astra-rotator/client-id"),
              current);
    EXPECT_TRUE(alive(oldId));
}

} // namespace
