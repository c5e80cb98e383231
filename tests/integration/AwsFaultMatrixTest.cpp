// The aws-secretsmanager sink × the faults of issue #15, through the real RotationEngine
// (app::Runtime, astra-devops-sim over TLS) and the AWS simulator over TLS: after an ambiguous
// failure the rotation only rolls forward (the new client is never revoked, no other client is
// created, the delivery is retried); a clean failure before any write may roll back; and the
// secret never holds a client that was revoked.

#include <gtest/gtest.h>

#include <cstdlib>

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include "rotator/app/Runtime.h"
#include "rotator/sim/AwsSimulator.h"
#include "support/LeakScan.h"
#include "support/LogCapture.h"
#include "support/ProcessRunner.h"
#include "support/RotationHarness.h"
#include "support/TestCerts.h"

namespace rotator
{
namespace
{

constexpr std::int64_t kMinute = 60'000;
constexpr std::int64_t kDay = 24 * 60 * kMinute;
constexpr int kMaxPasses = 8;
const std::string kSecretName = "prod/app/astra";
const std::string kKeyId = "AKIAMATRIX0000000001";
const std::string kSecretKey = "matrixSecretAccessKey0000000000000000000";

enum class AwsFault
{
    None,
    Latency,         ///< every call 300 ms late: within the timeout
    ThrottledRead,   ///< the first GetSecretValue: ThrottlingException (before any write)
    PutAccessDenied, ///< the key may read but not write, for the first pass
    Put5xx,          ///< PutSecretValue answers 500 (may have been applied)
    PutDropped,      ///< PutSecretValue applied, then the connection dropped
    ReadBackDiffers, ///< another writer changes the secret right after the put
};

struct Cell
{
    AwsFault fault;
    bool ambiguous; ///< the first delivery may have left the new client in the secret
    const char* name;
};

const Cell kCells[] = {
    {AwsFault::None, false, "None"},
    {AwsFault::Latency, false, "Latency"},
    {AwsFault::ThrottledRead, false, "ThrottledRead"},
    {AwsFault::PutAccessDenied, false, "PutAccessDenied"},
    {AwsFault::Put5xx, true, "Put5xx"},
    {AwsFault::PutDropped, true, "PutDropped"},
    {AwsFault::ReadBackDiffers, true, "ReadBackDiffers"},
};

void PrintTo(const Cell& cell, std::ostream* os)
{
    *os << cell.name;
}

/// Sets an environment variable for the test's lifetime (each test runs in its own process
/// under ctest; the Runtime builds its sinks from the process environment).
class ScopedEnv
{
public:
    ScopedEnv(const char* name, const std::string& value) : _name(name)
    {
        if (const char* old = std::getenv(name))
        {
            _old = old;
        }
        ::setenv(name, value.c_str(), 1);
    }
    ~ScopedEnv()
    {
        if (_old)
        {
            ::setenv(_name, _old->c_str(), 1);
        }
        else
        {
            ::unsetenv(_name);
        }
    }
    ScopedEnv(const ScopedEnv&) = delete;
    ScopedEnv& operator=(const ScopedEnv&) = delete;

private:
    const char* _name;
    std::optional<std::string> _old;
};

class AwsFaultMatrix : public ::testing::TestWithParam<Cell>, protected test::RotationHarness
{
protected:
    AwsFaultMatrix() : aws(awsOptions(), realClock) {}

    static sim::AwsSimulatorOptions awsOptions()
    {
        sim::AwsSimulatorOptions o;
        o.region = "eu-west-1";
        o.server.tlsCertFile = test::sharedTestCerts().serverCert;
        o.server.tlsKeyFile = test::sharedTestCerts().serverKey;
        return o;
    }

    void SetUp() override
    {
        startSimulator();
        aws.addAccessKey(kKeyId, kSecretKey);
        aws.createSecret(kSecretName, "{\"clientId\":\"none-yet\"}");
        oldId = seedClient(31 * kDay);
        appConfig = "credentials.app.roles = Database Administrator\n"
                    "credentials.app.maxAge = 30d\n"
                    "credentials.app.gracePeriod = 5m\n"
                    "credentials.app.clientId = " +
                    oldId +
                    "\n"
                    "credentials.app.sinks = app-aws\n"
                    "sinks.app-aws.type = aws-secretsmanager\n"
                    "sinks.app-aws.region = eu-west-1\n"
                    "sinks.app-aws.secretId = " +
                    kSecretName + "\nsinks.app-aws.endpoint = " + aws.baseUrl() +
                    "\nsinks.app-aws.caFile = " + test::sharedTestCerts().caFile + "\n";
        configure(appConfig);
    }

    /// Passes until the old client is revoked and `newId` is current (at most three).
    void convergeOn(const std::string& newId)
    {
        for (int pass = 0;
             pass < 3 && (alive(oldId) || credential("app").currentClientId != newId); ++pass)
        {
            const auto report = RotationHarness::pass();
            SCOPED_TRACE(::testing::PrintToString(report.errors));
            EXPECT_TRUE(alive(newId)) << "the client the store holds was revoked";
            clock.advanceMs(10 * kMinute);
        }
        EXPECT_EQ(credential("app").currentClientId, newId);
        EXPECT_FALSE(alive(oldId));
        EXPECT_EQ(secretClientId(), newId);
        EXPECT_EQ(aws.server().requestCount("POST", "PutSecretValue"), 1) << "written twice";
        EXPECT_EQ(simClientIds(), (std::set<std::string>{adminClientId, newId}));
        const auto ev = events("app");
        EXPECT_EQ(std::count(ev.begin(), ev.end(), "rolled_back"), 0);
    }

    /// The client ID the secret holds now ("" when none).
    std::string secretClientId() const
    {
        const auto value = aws.currentValue(kSecretName);
        if (!value)
        {
            return {};
        }
        const auto json = Poco::JSON::Parser().parse(*value).extract<Poco::JSON::Object::Ptr>();
        return json->optValue<std::string>("clientId", "");
    }

    void injectFirstPassFault(AwsFault fault)
    {
        switch (fault)
        {
        case AwsFault::None:
            break;
        case AwsFault::Latency:
        {
            sim::FaultRule slow;
            slow.kind = sim::FaultKind::Latency;
            slow.pathPrefix = "/";
            slow.delayMs = 300;
            aws.server().addFault(slow);
            break;
        }
        case AwsFault::ThrottledRead:
            aws.failNext("GetSecretValue", 400, "ThrottlingException");
            break;
        case AwsFault::PutAccessDenied:
            aws.allowActions(kKeyId, {"GetSecretValue", "DescribeSecret"});
            break;
        case AwsFault::Put5xx:
            aws.failNext("PutSecretValue", 500, "InternalServiceError");
            break;
        case AwsFault::PutDropped:
        {
            sim::FaultRule drop;
            drop.kind = sim::FaultKind::DropAfterCommit;
            aws.armAfter("GetSecretValue", drop);
            break;
        }
        case AwsFault::ReadBackDiffers:
            aws.interfereAfterNextWrite("{\"clientId\":\"another-writer\"}");
            break;
        }
    }

    /// Fails the test if the AWS secret key or the secret the store holds appears in the log,
    /// the output or the state directory.
    void expectNoLeak()
    {
        std::map<std::string, std::string> searched{
            {"log", logs.text()}, {"stdout", out.str()}, {"stderr", err.str()}};
        test::addStateFiles(searched, dir.file("state"));
        std::vector<std::string> secrets{kSecretKey};
        const auto json = Poco::JSON::Parser()
                              .parse(aws.currentValue(kSecretName).value_or("{}"))
                              .extract<Poco::JSON::Object::Ptr>();
        for (const char* field : {"secret", "token"})
        {
            if (json->has(field))
            {
                secrets.push_back(json->getValue<std::string>(field));
            }
        }
        EXPECT_EQ(secrets.size(), 3U) << "the secret does not hold the credential";
        test::expectNoSecretIn(searched, secrets);
    }

    test::LogCapture logs;
    ScopedEnv keyId{"AWS_ACCESS_KEY_ID", kKeyId};
    ScopedEnv secretKey{"AWS_SECRET_ACCESS_KEY", kSecretKey};
    ScopedEnv noImds{"AWS_EC2_METADATA_DISABLED", "true"};
    sim::AwsSimulator aws;
    std::string oldId;
    std::string appConfig; ///< the credential and its sink, as configured
};

TEST_P(AwsFaultMatrix, ConvergesWithEveryInvariantHeld)
{
    const Cell& cell = GetParam();
    injectFirstPassFault(cell.fault);
    std::set<std::string> minted; ///< clients the rotator created
    std::string firstNewClient;
    bool converged = false;
    for (int pass = 1; pass <= kMaxPasses && !converged; ++pass)
    {
        const auto report = RotationHarness::pass();
        awaitSimulatorWrites();
        SCOPED_TRACE("after pass " + std::to_string(pass) + ": " +
                     ::testing::PrintToString(report.errors));
        if (pass == 1)
        {
            aws.allowActions(kKeyId, {});
            aws.server().clearFaults();
            firstNewClient = lastRotation("app").newClientId;
            ASSERT_FALSE(firstNewClient.empty());
            if (cell.fault != AwsFault::None && cell.fault != AwsFault::Latency)
            {
                EXPECT_EQ(report.rotated, 0) << "the fault did not meet the delivery";
            }
            if (cell.ambiguous)
            {
                // May hold: rolling forward only.
                EXPECT_EQ(lastRotation("app").stage, core::Stage::Delivering);
                EXPECT_TRUE(alive(firstNewClient));
                EXPECT_TRUE(alive(oldId));
                EXPECT_EQ(requests("DELETE"), 0);
            }
        }
        for (const auto& id : simClientIds())
        {
            if (id != adminClientId && id != oldId)
            {
                minted.insert(id);
            }
        }
        // The secret never holds a client that is gone.
        const std::string held = secretClientId();
        if (held != "none-yet" && held != "another-writer")
        {
            EXPECT_TRUE(alive(held)) << "the secret holds revoked client " << held;
        }
        const auto events = RotationHarness::events("app");
        if (cell.ambiguous)
        {
            EXPECT_EQ(std::count(events.begin(), events.end(), "rolled_back"), 0);
            EXPECT_EQ(minted, (std::set<std::string>{firstNewClient}))
                << "another client was created after an ambiguous delivery";
        }
        const auto row = credential("app");
        converged = row.currentClientId != oldId && !alive(oldId) &&
                    secretClientId() == row.currentClientId;
        clock.advanceMs(10 * kMinute);
    }
    ASSERT_TRUE(converged) << "not converged within " << kMaxPasses << " passes";
    const auto row = credential("app");
    EXPECT_EQ(secretClientId(), row.currentClientId);
    if (cell.ambiguous)
    {
        EXPECT_EQ(row.currentClientId, firstNewClient);
    }
    EXPECT_EQ(simClientIds(), (std::set<std::string>{adminClientId, row.currentClientId}));
    EXPECT_EQ(test::listing(dir.file("state/pending")), std::vector<std::string>{});
    expectNoLeak();
}

INSTANTIATE_TEST_SUITE_P(AwsSecretsManager, AwsFaultMatrix, ::testing::ValuesIn(kCells),
                         [](const auto& param) { return std::string(param.param.name); });

struct Crash
{
    std::string point;
};

class AwsCrash : public AwsFaultMatrix
{
};

// The rotator dies after Secrets Manager acknowledged the write (and the read-back matched) but
// before the journal recorded the delivery; the next process resumes the same rotation: it
// re-reads the secret, finds the new client, writes nothing, promotes, and revokes the old one.
TEST_P(AwsCrash, BetweenTheStoresAcknowledgementAndTheJournalTheRestartRollsForward)
{
    const std::string point = "after-sink:app-aws";
    {
        auto env = environment();
        app::Runtime runtime(settings, env, app::Runtime::Mode::Write);
        runtime.engine().setCrashHook(
            [&](std::string_view at)
            {
                if (at == point)
                {
                    throw Crash{std::string(at)};
                }
            });
        EXPECT_THROW(runtime.engine().runPass(), Crash);
    }
    const std::string newId = lastRotation("app").newClientId;
    ASSERT_FALSE(newId.empty());
    ASSERT_EQ(secretClientId(), newId) << "the store did not hold the new client at the crash";
    EXPECT_EQ(aws.server().requestCount("POST", "PutSecretValue"), 1);
    convergeOn(newId);
    expectNoLeak();
}

// The same with a real process killed (SIGKILL) while Secrets Manager's answer to the committed
// PutSecretValue is still on its way: the next runs roll forward to the client the store holds.
TEST_P(AwsCrash, ARunOnceKilledAfterThePutWasCommittedRollsForward)
{
    sim::FaultRule slow;
    slow.kind = sim::FaultKind::Trickle;
    slow.delayMs = 1000;
    aws.armAfter("GetSecretValue", slow); // the read before the write: the put answers slowly
    std::vector<std::string> env = test::minimalEnvironment();
    env.push_back("AWS_ACCESS_KEY_ID=" + kKeyId);
    env.push_back("AWS_SECRET_ACCESS_KEY=" + kSecretKey);
    env.push_back("AWS_EC2_METADATA_DISABLED=true");
    test::ChildProcess child(
        {std::string(ROTATOR_BIN_DIR) + "/astra-rotator", "--config=" + writeConfig(appConfig),
         "run-once"},
        env);
    ASSERT_TRUE(aws.server().waitForRequests("POST", "PutSecretValue", 1, 30'000))
        << child.stderrText();
    child.kill();
    const std::string committed = secretClientId();
    ASSERT_FALSE(committed.empty());
    ASSERT_NE(committed, "none-yet") << "the put was not committed";
    ASSERT_NE(committed, oldId);
    EXPECT_TRUE(alive(committed));
    aws.server().clearFaults();
    convergeOn(committed);
    test::expectNoSecretIn({{"stderr of the killed run", child.stderrText()}}, {kSecretKey});
}

INSTANTIATE_TEST_SUITE_P(AwsSecretsManager, AwsCrash, ::testing::Values(kCells[0]),
                         [](const auto& param) { return std::string(param.param.name); });

} // namespace
} // namespace rotator
