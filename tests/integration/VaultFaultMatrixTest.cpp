// The vault sink × Vault's faults through the real RotationEngine (app::Runtime, the SQLite
// journal, AstraClient against astra-devops-sim over TLS, the vault sink against the Vault
// simulator over TLS). Invariants per fault:
// - an ambiguous failure (the write may have been stored) rolls forward only: the new client is
//   never revoked, no other client is created, the delivery is retried and completes;
// - a clean failure before any write rolls back: the new client is revoked, Vault holds the
//   old values, and a later pass rotates;
// - in the end Vault holds the credential's current client, whose token works.

#include <functional>
#include <memory>
#include <ostream>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "rotator/sim/VaultSimulator.h"
#include "support/ProcessRunner.h"
#include "support/RotationHarness.h"
#include "support/TestCerts.h"

namespace
{

using namespace rotator;

constexpr std::int64_t kMinute = 60'000;
constexpr std::int64_t kDay = 24 * 60 * kMinute;
const std::string kPath = "apps/app";
const std::string kRotator = std::string(ROTATOR_BIN_DIR) + "/astra-rotator";

enum class Expect
{
    Rotated,     ///< no failure reaches the engine
    RollForward, ///< ambiguous: "may hold"
    RollBack,    ///< clean: nothing written
};

struct VaultCell
{
    std::string name;
    Expect expect;
    /// Puts the fault in place before pass 1.
    std::function<void(sim::VaultSimulator&, const std::string& token)> inject;
};

void PrintTo(const VaultCell& cell, std::ostream* os)
{
    *os << cell.name;
}

sim::FaultRule once(sim::FaultKind kind, const std::string& method, const std::string& prefix,
                    int status = 0)
{
    sim::FaultRule rule;
    rule.kind = kind;
    rule.method = method;
    rule.pathPrefix = prefix;
    rule.count = 1;
    rule.status = status;
    rule.delayMs = kind == sim::FaultKind::Latency ? 300 : 0;
    return rule;
}

const std::vector<VaultCell>& cells()
{
    using sim::FaultKind;
    const auto fault = [](FaultKind kind, std::string method, std::string prefix, int status = 0)
    {
        return [=](sim::VaultSimulator& v, const std::string&)
        { v.server().addFault(once(kind, method, prefix, status)); };
    };
    static const std::vector<VaultCell> all = {
        {"Latency", Expect::Rotated, fault(FaultKind::Latency, "*", "/v1/secret/")},
        {"CasConflict", Expect::Rotated,
         [](sim::VaultSimulator& v, const std::string&) { v.interveneBeforeWrites(2); }},
        {"MetadataRead500", Expect::RollBack,
         fault(FaultKind::Status, "GET", "/v1/secret/metadata/", 500)},
        {"DataRead429", Expect::RollBack, fault(FaultKind::RateLimit, "GET", "/v1/secret/data/")},
        {"DataWrite503", Expect::RollForward,
         fault(FaultKind::Status, "POST", "/v1/secret/data/", 503)},
        {"DataWriteDropped", Expect::RollForward,
         fault(FaultKind::DropAfterCommit, "POST", "/v1/secret/data/")},
        {"DataWriteTlsEof", Expect::RollForward,
         fault(FaultKind::TlsEofAfterCommit, "POST", "/v1/secret/data/")},
        {"MetadataWrite500", Expect::RollForward,
         fault(FaultKind::Status, "POST", "/v1/secret/metadata/", 500)},
        {"ReadBackDiffers", Expect::RollForward,
         [](sim::VaultSimulator& v, const std::string&) {
             v.interveneAfterNextWrite({{"clientId", "someone-else"}});
         }},
        {"ExpiredToken", Expect::RollBack,
         [](sim::VaultSimulator& v, const std::string& token) { v.expireToken(token); }},
        {"PermissionDenied", Expect::RollBack,
         [](sim::VaultSimulator& v, const std::string&) {
             v.setPolicy("rotator", {{"secret/*", {"read"}}});
         }},
    };
    return all;
}

/// The rotator (app::Runtime, as run-once builds it) with one credential whose only sink is a
/// vault sink, against the DevOps simulator and a Vault simulator, both over TLS. The secret
/// starts holding the old client and a key of someone else's.
class VaultRotation : protected test::RotationHarness
{
protected:
    void startBoth()
    {
        startSimulator();
        oldId = seedClient(31 * kDay);
        sim::VaultSimulatorOptions options;
        options.server.tlsCertFile = test::sharedTestCerts().serverCert;
        options.server.tlsKeyFile = test::sharedTestCerts().serverKey;
        vault = std::make_unique<sim::VaultSimulator>(options, realClock);
        grant();
        vaultToken = vault->createToken({"rotator"});
        test::writeFile(dir.file("vault-token"), vaultToken + "\n");
        vault->writeSecret(kPath, {{"clientId", oldId}, {"owner", "team-app"}});
        configure(configuration());
    }

    std::string configuration() const
    {
        return "credentials.app.roles = Database Administrator\n"
               "credentials.app.maxAge = 30d\n"
               "credentials.app.gracePeriod = 5m\n"
               "credentials.app.clientId = " +
               oldId +
               "\n"
               "credentials.app.sinks = app-vault\n"
               "sinks.app-vault.type = vault\n"
               "sinks.app-vault.address = " +
               vault->baseUrl() +
               "\n"
               "sinks.app-vault.path = " +
               kPath +
               "\n"
               "sinks.app-vault.tokenFile = " +
               dir.file("vault-token") +
               "\n"
               "sinks.app-vault.caFile = " +
               test::sharedTestCerts().caFile + "\n";
    }

    void grant()
    {
        vault->setPolicy("rotator", {{"secret/data/apps/*", {"create", "read", "update"}},
                                     {"secret/metadata/apps/*", {"read", "update"}}});
    }

    std::string vaultClientId() const
    {
        const auto data = vault->secret(kPath);
        return data ? data->at("clientId") : std::string();
    }

    /// Passes (10 minutes apart on the engine's clock) until the credential has a new current
    /// client, at most 4; then Vault must hold it, keep the key it does not own, and its token
    /// must work. Returns the current client.
    std::string convergeAndCheck()
    {
        for (int i = 0; i < 4 && credential("app").currentClientId == oldId; ++i)
        {
            clock.advanceMs(10 * kMinute);
            pass();
        }
        const std::string current = credential("app").currentClientId;
        EXPECT_NE(current, oldId) << "never converged: " << lastRotation("app").error.value_or("");
        EXPECT_EQ(vaultClientId(), current);
        EXPECT_EQ(vault->secret(kPath)->at("owner"), "team-app") << "a key the sink does not own";
        EXPECT_EQ(vault->customMetadata(kPath).at("astra-rotator-client-id"), current);
        EXPECT_EQ(tokenStatus(vault->secret(kPath)->at("token")), 200);
        return current;
    }

    std::unique_ptr<sim::VaultSimulator> vault; ///< after the harness's members: stopped first
    std::string vaultToken;
    std::string oldId;
};

class VaultFaultMatrix : public ::testing::TestWithParam<VaultCell>, protected VaultRotation
{
protected:
    void SetUp() override { startBoth(); }

    /// Undoes what a cell broke that a person would fix (a policy, a token file).
    void heal()
    {
        vault->server().clearFaults();
        grant();
        test::writeFile(dir.file("vault-token.new"), vault->createToken({"rotator"}) + "\n");
        ASSERT_EQ(std::rename(dir.file("vault-token.new").c_str(), dir.file("vault-token").c_str()),
                  0);
    }
};

TEST_P(VaultFaultMatrix, HoldsTheInvariants)
{
    const VaultCell& cell = GetParam();
    cell.inject(*vault, vaultToken);
    auto report = pass();
    const auto first = lastRotation("app");
    ASSERT_FALSE(first.newClientId.empty());

    switch (cell.expect)
    {
    case Expect::Rotated:
        EXPECT_EQ(report.rotated, 1) << ::testing::PrintToString(report.errors);
        EXPECT_EQ(credential("app").currentClientId, first.newClientId);
        break;
    case Expect::RollForward:
        EXPECT_EQ(report.rotated, 0);
        EXPECT_EQ(first.stage, core::Stage::Delivering) << first.error.value_or("");
        EXPECT_NE(first.error.value_or("").find("rolling forward"), std::string::npos)
            << first.error.value_or("");
        EXPECT_TRUE(alive(first.newClientId)) << "a client Vault may hold was revoked";
        EXPECT_TRUE(alive(oldId));
        EXPECT_EQ(requests("DELETE"), 0);
        EXPECT_EQ(credential("app").currentClientId, oldId);
        break;
    case Expect::RollBack:
        EXPECT_EQ(report.rotated, 0);
        EXPECT_EQ(first.stage, core::Stage::RolledBack) << first.error.value_or("");
        EXPECT_FALSE(alive(first.newClientId)) << "the unused new client stays alive";
        EXPECT_TRUE(alive(oldId));
        EXPECT_EQ(vaultClientId(), oldId) << "Vault was written despite a clean failure";
        EXPECT_EQ(credential("app").currentClientId, oldId);
        break;
    }

    heal();
    const std::string current = convergeAndCheck();
    if (cell.expect != Expect::RollBack)
    {
        EXPECT_EQ(current, first.newClientId) << "another client was created";
    }
}

INSTANTIATE_TEST_SUITE_P(VaultSink, VaultFaultMatrix, ::testing::ValuesIn(cells()),
                         [](const auto& param) { return param.param.name; });

// The rotator killed (SIGKILL) after Vault acknowledged the data write and committed the
// metadata, before the journal recorded the delivery: the next runs promote the client Vault
// holds, create no other, and Vault ends holding the current client.
class VaultCrash : public ::testing::Test, protected VaultRotation
{
protected:
    void SetUp() override { startBoth(); }
};

TEST_F(VaultCrash, KilledBetweenVaultsAcknowledgementAndTheJournal)
{
    sim::FaultRule hold;
    hold.kind = sim::FaultKind::Trickle; // committed, then answered one byte a minute
    hold.method = "POST";
    hold.pathPrefix = "/v1/secret/metadata/";
    hold.count = 1;
    hold.delayMs = 60'000;
    vault->server().addFault(hold);
    {
        test::ChildProcess runOnce(
            {kRotator, "--config=" + writeConfig(configuration()), "run-once"},
            test::minimalEnvironment());
        ASSERT_TRUE(vault->server().waitForRequests("POST", sim::kVaultMetadataRoute, 1, 30'000))
            << runOnce.stderrText();
        runOnce.kill();
    }
    const std::string held = vaultClientId();
    ASSERT_NE(held, oldId) << "the data write was not committed before the kill";
    ASSERT_EQ(vault->customMetadata(kPath).at("astra-rotator-client-id"), held);
    EXPECT_TRUE(alive(held));
    EXPECT_TRUE(alive(oldId));

    vault->server().clearFaults();
    EXPECT_EQ(convergeAndCheck(), held) << "the client Vault held was not the one promoted";
    EXPECT_EQ(simClientIds(), (std::set<std::string>{adminClientId, oldId, held}))
        << "another client was created, or one Vault may hold was revoked";
}

} // namespace
