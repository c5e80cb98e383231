// The aws-secretsmanager sink against the AWS simulators over TLS on 127.0.0.1:0: the JSON 1.1
// API signed with SigV4, the credential chain's network sources, the faults of issue #15.

#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include <sys/stat.h>

#include "rotator/api/HttpChannel.h"
#include "rotator/core/Clock.h"
#include "rotator/sim/AwsSimulator.h"
#include "rotator/sink/AwsSecretsManagerSink.h"
#include "support/FakeClock.h"
#include "support/LogCapture.h"
#include "support/TempDir.h"
#include "support/TestCerts.h"
#include "unit/sink/SinkTestSupport.h"

namespace
{

using rotator::core::FailureKind;
using rotator::sim::AwsSimulator;
using rotator::sink::AwsSecretsManagerSink;
using rotator::sink::Credential;
using rotator::sinktest::makeTestCredential;

const std::string kKeyId = "AKIASIMULATOR0000001";
const std::string kSecretKey = "wJalrSimulatorSecretKey/K7MDENG+bPxRfiCYEX";
const std::string kSecretName = "prod/billing/astra";
const std::string kRoleArn = "arn:aws:iam::123456789012:role/astra-rotator";
const std::string kJwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW06c2EifQ.c2lnbmF0dXJl";

class AwsSink : public ::testing::Test
{
protected:
    AwsSink() : clock(rotator::core::SystemClock().nowMs()), simulator(simulatorOptions(), clock)
    {
        simulator.addAccessKey(kKeyId, kSecretKey);
        env["AWS_ACCESS_KEY_ID"] = kKeyId;
        env["AWS_SECRET_ACCESS_KEY"] = kSecretKey;
        env["AWS_EC2_METADATA_DISABLED"] = "true";
        env["HOME"] = dir.path();
    }

    static rotator::sim::AwsSimulatorOptions simulatorOptions()
    {
        rotator::sim::AwsSimulatorOptions o;
        o.region = "eu-west-1";
        o.server.tlsCertFile = rotator::test::sharedTestCerts().serverCert;
        o.server.tlsKeyFile = rotator::test::sharedTestCerts().serverKey;
        return o;
    }

    rotator::config::SinkSettings settings(bool create = false) const
    {
        rotator::config::SinkSettings s;
        s.name = "sm";
        s.type = rotator::config::SinkType::AwsSecretsManager;
        s.caFile = rotator::test::sharedTestCerts().caFile;
        s.aws.region = "eu-west-1";
        s.aws.secretId = kSecretName;
        s.aws.endpoint = simulator.baseUrl();
        s.aws.create = create;
        s.aws.kmsKeyId = create ? "alias/astra" : "";
        return s;
    }

    std::unique_ptr<AwsSecretsManagerSink> makeSink(bool create = false)
    {
        return makeSinkWith(settings(create), clock);
    }

    std::unique_ptr<AwsSecretsManagerSink> makeSinkWith(const rotator::config::SinkSettings& s,
                                                        rotator::core::Clock& c)
    {
        auto lookup = [this](const std::string& name) -> std::optional<std::string>
        {
            const auto it = env.find(name);
            return it == env.end() ? std::nullopt : std::optional<std::string>(it->second);
        };
        return std::make_unique<AwsSecretsManagerSink>(s, c, lookup);
    }

    std::string stored(const Credential& c) const { return rotator::sink::renderFieldsJson(c, {}); }

    std::int64_t puts() { return simulator.server().requestCount("POST", "PutSecretValue"); }

    /// Every failure message a test saw, for the leak scan.
    /// The chain finds web identity first: no keys in the environment, a token file (0600)
    /// holding kJwt for kRoleArn, STS on the simulator.
    void useWebIdentity()
    {
        env.erase("AWS_ACCESS_KEY_ID");
        env.erase("AWS_SECRET_ACCESS_KEY");
        const std::string jwtFile = dir.file("web-identity-token");
        {
            std::ofstream(jwtFile) << kJwt << "\n";
        }
        ::chmod(jwtFile.c_str(), 0600);
        env["AWS_WEB_IDENTITY_TOKEN_FILE"] = jwtFile;
        env["AWS_ROLE_ARN"] = kRoleArn;
        env["AWS_ENDPOINT_URL_STS"] = simulator.baseUrl() + "/sts/";
    }

    void remember(const rotator::core::Outcome<void>& outcome)
    {
        if (!outcome)
        {
            messages += outcome.error().message + "\n";
        }
    }

    void TearDown() override
    {
        const std::string everything = messages + logs.text();
        for (const std::string& secret :
             {kSecretKey, kJwt, std::string("IQoJsim"), rotator::sinktest::kSecret})
        {
            EXPECT_EQ(everything.find(secret), std::string::npos)
                << "a failure message or log line holds secret #" << secret.size();
        }
        EXPECT_FALSE(rotator::sinktest::leaks(everything, makeTestCredential()));
    }

    rotator::test::TempDir dir;
    rotator::test::LogCapture logs;
    rotator::test::FakeClock clock;
    AwsSimulator simulator;
    std::map<std::string, std::string> env;
    std::string messages;
};

/// Another rotation's credential: a new client ID (so a new ClientRequestToken) and secret.
Credential laterCredential(const std::string& clientId = "SecondClientIdXXXXXXXXXX")
{
    Credential c = makeTestCredential("Zq9WkXsecondSecretValue" + clientId);
    c.clientId = clientId;
    c.token = rotator::core::makeToken(c.clientId, c.secret);
    return c;
}

TEST_F(AwsSink, CreatesTheSecretWhenAbsentAndCreateIsSet)
{
    const Credential c = makeTestCredential();
    const auto delivered = makeSink(true)->deliver(c);
    remember(delivered);
    ASSERT_TRUE(delivered) << delivered.error().message;
    EXPECT_EQ(simulator.currentValue(kSecretName), stored(c));
    const auto versions = simulator.versions(kSecretName);
    ASSERT_EQ(versions.size(), 1U);
    EXPECT_EQ(versions[0].versionId, rotator::sink::clientRequestToken(settings(true), c, ""));
    EXPECT_EQ(simulator.server().requestCount("POST", "CreateSecret", 200), 1);
    EXPECT_TRUE(logs.contains("wrote client " + c.clientId));
}

TEST_F(AwsSink, RefusesAnAbsentSecretWithoutCreateNamingTheKey)
{
    const auto delivered = makeSink(false)->deliver(makeTestCredential());
    remember(delivered);
    ASSERT_FALSE(delivered);
    EXPECT_EQ(delivered.error().kind, FailureKind::Permanent);
    EXPECT_FALSE(delivered.error().ambiguous);
    EXPECT_NE(delivered.error().message.find("sinks.sm.create"), std::string::npos);
    EXPECT_NE(delivered.error().message.find("ResourceNotFoundException"), std::string::npos);
    EXPECT_EQ(simulator.server().requestCount("POST", "CreateSecret"), 0);
}

TEST_F(AwsSink, UpdatesAnExistingSecretAndKeepsThePreviousVersionAsAwsPrevious)
{
    simulator.createSecret(kSecretName, "{\"old\":\"value\"}");
    const auto sink = makeSink();
    const Credential c = makeTestCredential();
    const auto delivered = sink->deliver(c);
    remember(delivered);
    ASSERT_TRUE(delivered) << delivered.error().message;
    EXPECT_EQ(simulator.currentValue(kSecretName), stored(c));
    const auto versions = simulator.versions(kSecretName);
    ASSERT_EQ(versions.size(), 2U);
    EXPECT_TRUE(versions[0].stages.contains("AWSPREVIOUS"));
    EXPECT_TRUE(versions[1].stages.contains("AWSCURRENT"));
    EXPECT_EQ(sink->credentialSource(), "environment (AWS_ACCESS_KEY_ID)");
}

TEST_F(AwsSink, ReDeliveringWhatTheSecretHoldsWritesNothing)
{
    simulator.createSecret(kSecretName);
    const auto sink = makeSink();
    ASSERT_TRUE(sink->deliver(makeTestCredential()));
    ASSERT_EQ(puts(), 1);
    const auto again = sink->deliver(makeTestCredential());
    remember(again);
    ASSERT_TRUE(again);
    EXPECT_EQ(puts(), 1);
    EXPECT_EQ(simulator.versions(kSecretName).size(), 1U);
}

TEST_F(AwsSink, APutWhoseAnswerWasLostIsAmbiguousAndTheRetryFindsItApplied)
{
    simulator.createSecret(kSecretName, "{\"old\":\"value\"}");
    rotator::sim::FaultRule drop;
    drop.kind = rotator::sim::FaultKind::DropAfterCommit;
    simulator.armAfter("GetSecretValue", drop); // the request after the read: the put
    const auto sink = makeSink();
    const auto first = sink->deliver(makeTestCredential());
    remember(first);
    ASSERT_FALSE(first);
    EXPECT_TRUE(first.error().ambiguous);
    EXPECT_EQ(first.error().kind, FailureKind::Transient);
    // It was applied: the retry reads it back and writes nothing.
    ASSERT_EQ(simulator.currentValue(kSecretName), stored(makeTestCredential()));
    const auto retry = sink->deliver(makeTestCredential());
    remember(retry);
    ASSERT_TRUE(retry) << retry.error().message;
    EXPECT_EQ(puts(), 1);
    EXPECT_EQ(simulator.versions(kSecretName).size(), 2U);
}

TEST_F(AwsSink, ARetriedPutSendsTheSameClientRequestToken)
{
    simulator.createSecret(kSecretName, "{\"old\":\"value\"}");
    const auto sink = makeSink();
    simulator.failNext("PutSecretValue", 500, "InternalServiceError");
    const auto first = sink->deliver(makeTestCredential());
    remember(first);
    ASSERT_FALSE(first);
    EXPECT_TRUE(first.error().ambiguous);
    const auto retry = sink->deliver(makeTestCredential());
    remember(retry);
    ASSERT_TRUE(retry) << retry.error().message;
    const auto tokens = simulator.requestTokens();
    ASSERT_EQ(tokens.size(), 2U);
    EXPECT_EQ(tokens[0], tokens[1]);
    EXPECT_EQ(tokens[0].size(), 36U); // a UUID: within AWS's 32 to 64 characters
    EXPECT_EQ(simulator.versions(kSecretName).back().versionId, tokens[0]);
}

TEST_F(AwsSink, AfterAnotherWriterTheRetryWritesANewVersionRatherThanAReplayedOne)
{
    simulator.createSecret(kSecretName, "{\"old\":\"value\"}");
    simulator.interfereAfterNextWrite("{\"other\":\"writer\"}");
    const auto sink = makeSink();
    const auto first = sink->deliver(makeTestCredential());
    remember(first);
    ASSERT_FALSE(first);
    EXPECT_TRUE(first.error().ambiguous);
    // A replay of the first token would be ignored by AWS and leave the other value current.
    const auto retry = sink->deliver(makeTestCredential());
    remember(retry);
    ASSERT_TRUE(retry) << retry.error().message;
    EXPECT_EQ(simulator.currentValue(kSecretName), stored(makeTestCredential()));
    const auto tokens = simulator.requestTokens();
    ASSERT_EQ(tokens.size(), 2U);
    EXPECT_NE(tokens[0], tokens[1]);
}

TEST_F(AwsSink, TheStoreAppliesATokenOnceAndRefusesItWithAnotherValue)
{
    simulator.createSecret(kSecretName, "{\"old\":\"value\"}");
    rotator::api::HttpChannel channel(
        {simulator.baseUrl(), rotator::test::sharedTestCerts().caFile}, clock);
    rotator::sink::sigv4::AwsCredentials key;
    key.accessKeyId = kKeyId;
    key.secretAccessKey = rotator::core::Secret(kSecretKey);
    const auto put = [&](const std::string& value)
    {
        const std::string body =
            "{\"SecretId\":\"" + kSecretName +
            "\",\"ClientRequestToken\":\"11111111-2222-5333-8444-555555555555\","
            "\"SecretString\":\"" +
            value + "\"}";
        const std::string host = simulator.baseUrl().substr(simulator.baseUrl().find("//") + 2);
        rotator::sink::sigv4::Request request{"POST",
                                              "/",
                                              "",
                                              {{"Host", host},
                                               {"Content-Type", "application/x-amz-json-1.1"},
                                               {"X-Amz-Target", "secretsmanager.PutSecretValue"}},
                                              body};
        auto headers = request.headers;
        for (auto& h :
             rotator::sink::sigv4::sign(request, key, "eu-west-1", "secretsmanager", clock.nowMs())
                 .headers)
        {
            headers.push_back(h);
        }
        return channel.send({"POST", "/", headers, body, "application/x-amz-json-1.1"}).value();
    };
    const auto first = put("v1");
    const auto again = put("v1");
    EXPECT_EQ(first.status, 200);
    EXPECT_EQ(again.status, 200);
    EXPECT_EQ(first.body, again.body);
    EXPECT_EQ(simulator.versions(kSecretName).size(), 2U);
    const auto other = put("v2");
    EXPECT_EQ(other.status, 400);
    EXPECT_NE(other.body.find("ResourceExistsException"), std::string::npos);
    EXPECT_EQ(simulator.currentValue(kSecretName), "v1");
}

TEST_F(AwsSink, AccessDeniedIsAnAuthFailureNamingTheMissingAction)
{
    simulator.createSecret(kSecretName, "{\"old\":\"value\"}");
    simulator.allowActions(kKeyId, {"GetSecretValue", "DescribeSecret"});
    const auto sink = makeSink();
    EXPECT_TRUE(sink->check()); // reads are allowed
    const auto denied = sink->deliver(makeTestCredential());
    remember(denied);
    ASSERT_FALSE(denied);
    EXPECT_EQ(denied.error().kind, FailureKind::Auth);
    EXPECT_FALSE(denied.error().ambiguous);
    EXPECT_NE(denied.error().message.find("AccessDeniedException"), std::string::npos);
    EXPECT_NE(denied.error().message.find("secretsmanager:PutSecretValue"), std::string::npos);
    EXPECT_NE(denied.error().message.find("aws-secretsmanager sink sm: "), std::string::npos);
}

TEST_F(AwsSink, ThrottlingIsTransientAndNotAmbiguousAndTheRetryDelivers)
{
    simulator.createSecret(kSecretName, "{\"old\":\"value\"}");
    simulator.failNext("PutSecretValue", 400, "ThrottlingException");
    const auto sink = makeSink();
    const auto throttled = sink->deliver(makeTestCredential());
    remember(throttled);
    ASSERT_FALSE(throttled);
    EXPECT_EQ(throttled.error().kind, FailureKind::Transient);
    EXPECT_FALSE(throttled.error().ambiguous);
    EXPECT_NE(throttled.error().message.find("ThrottlingException"), std::string::npos);
    EXPECT_TRUE(sink->deliver(makeTestCredential()));
}

TEST_F(AwsSink, A5xxBeforeTheWriteIsNotAmbiguousButOneToTheWriteIs)
{
    simulator.createSecret(kSecretName, "{\"old\":\"value\"}");
    const auto sink = makeSink();
    simulator.failNext("GetSecretValue", 500, "InternalServiceError");
    const auto beforeWrite = sink->deliver(makeTestCredential());
    remember(beforeWrite);
    ASSERT_FALSE(beforeWrite);
    EXPECT_FALSE(beforeWrite.error().ambiguous);
    EXPECT_EQ(beforeWrite.error().kind, FailureKind::Transient);
    EXPECT_EQ(puts(), 0);

    simulator.failNext("PutSecretValue", 500, "InternalServiceError");
    const auto toWrite = sink->deliver(makeTestCredential());
    remember(toWrite);
    ASSERT_FALSE(toWrite);
    EXPECT_TRUE(toWrite.error().ambiguous);
}

TEST_F(AwsSink, LatencyWithinTheTimeoutStillDelivers)
{
    simulator.createSecret(kSecretName);
    rotator::sim::FaultRule slow;
    slow.kind = rotator::sim::FaultKind::Latency;
    slow.pathPrefix = "/";
    slow.delayMs = 200;
    slow.count = 3;
    simulator.server().addFault(slow);
    EXPECT_TRUE(makeSink()->deliver(makeTestCredential()));
}

TEST_F(AwsSink, AReadBackThatDiffersIsAmbiguous)
{
    simulator.createSecret(kSecretName, "{\"old\":\"value\"}");
    simulator.interfereAfterNextWrite("{\"other\":\"writer\"}");
    const auto differs = makeSink()->deliver(makeTestCredential());
    remember(differs);
    ASSERT_FALSE(differs);
    EXPECT_TRUE(differs.error().ambiguous);
    EXPECT_NE(differs.error().message.find("read back"), std::string::npos);
}

TEST_F(AwsSink, ASignatureFromAClockOffByMoreThanFiveMinutesIsRefused)
{
    simulator.createSecret(kSecretName);
    rotator::test::FakeClock skewed(clock.nowMs() - 10 * 60'000);
    const auto refused = makeSinkWith(settings(), skewed)->deliver(makeTestCredential());
    remember(refused);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().kind, FailureKind::Auth);
    EXPECT_NE(refused.error().message.find("Signature expired"), std::string::npos);
}

TEST_F(AwsSink, AWrongSecretAccessKeyFailsTheSignatureCheck)
{
    simulator.createSecret(kSecretName);
    env["AWS_SECRET_ACCESS_KEY"] = "notTheRightSecretKeyAtAll000000000000000";
    const auto refused = makeSink()->deliver(makeTestCredential());
    remember(refused);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().kind, FailureKind::Auth);
    EXPECT_NE(refused.error().message.find("InvalidSignatureException"), std::string::npos);
    EXPECT_EQ(refused.error().message.find("notTheRightSecretKey"), std::string::npos);
}

TEST_F(AwsSink, WebIdentityCredentialsAreRefreshedBeforeTheyExpireAndAfterTheStoreSaysExpired)
{
    simulator.createSecret(kSecretName);
    simulator.addWebIdentity(kRoleArn, kJwt);
    useWebIdentity();
    const auto sink = makeSink();
    const auto first = sink->deliver(makeTestCredential());
    remember(first);
    ASSERT_TRUE(first) << first.error().message;
    EXPECT_EQ(simulator.temporaryKeysIssued(), 1);
    EXPECT_NE(sink->credentialSource().find("web identity"), std::string::npos);

    // 56 minutes into a one-hour session: within five minutes of expiry, so replaced first.
    clock.advanceMs(56 * 60'000);
    const auto second = sink->deliver(laterCredential());
    remember(second);
    ASSERT_TRUE(second) << second.error().message;
    EXPECT_EQ(simulator.temporaryKeysIssued(), 2);

    // AWS says they expired before the chain thought so: fetched again, the call repeated.
    simulator.expireTemporaryKeys();
    const auto refusedBefore = simulator.server().requestCount("POST", "GetSecretValue", 400);
    const auto third = sink->deliver(laterCredential("ThirdClientIdXXXXXXXXXXX"));
    remember(third);
    ASSERT_TRUE(third) << third.error().message;
    EXPECT_EQ(simulator.temporaryKeysIssued(), 3);
    EXPECT_EQ(simulator.server().requestCount("POST", "GetSecretValue", 400), refusedBefore + 1);
}

TEST_F(AwsSink, AnUnknownWebIdentityTokenIsAnAuthFailureFromSts)
{
    simulator.addWebIdentity(kRoleArn, "another-token");
    useWebIdentity();
    const auto refused = makeSink()->check();
    remember(refused);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().kind, FailureKind::Auth);
    EXPECT_NE(refused.error().message.find("InvalidIdentityToken"), std::string::npos);
}

TEST_F(AwsSink, ContainerCredentialsAreFetchedWithTheAuthorizationTokenFile)
{
    simulator.createSecret(kSecretName);
    const std::string authorization = "container-auth-0123456789";
    simulator.setContainerAuthorization(authorization);
    env.erase("AWS_ACCESS_KEY_ID");
    env.erase("AWS_SECRET_ACCESS_KEY");
    const std::string tokenFile = dir.file("container-token");
    {
        std::ofstream(tokenFile) << authorization << "\n";
    }
    ::chmod(tokenFile.c_str(), 0600);
    env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = simulator.baseUrl() + "/container/credentials";
    env["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] = tokenFile;
    const auto sink = makeSink();
    const auto delivered = sink->deliver(makeTestCredential());
    remember(delivered);
    ASSERT_TRUE(delivered) << delivered.error().message;
    EXPECT_EQ(sink->credentialSource(), "container credentials endpoint");

    env["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] = "";
    env["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = "wrong";
    const auto refused = makeSink()->check();
    remember(refused);
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().kind, FailureKind::Auth);
    EXPECT_NE(refused.error().message.find("401"), std::string::npos);
}

TEST_F(AwsSink, InstanceMetadataNeedsAnImdsV2SessionTokenAndThenGivesTheRoleCredentials)
{
    simulator.createSecret(kSecretName);
    simulator.setInstanceRole("astra-rotator-instance");
    rotator::api::HttpChannel direct({simulator.baseUrl(), rotator::test::sharedTestCerts().caFile},
                                     clock);
    const auto withoutToken =
        direct.send({"GET", "/latest/meta-data/iam/security-credentials/", {}, {}, {}});
    ASSERT_TRUE(withoutToken);
    EXPECT_EQ(withoutToken->status, 401);

    env.erase("AWS_ACCESS_KEY_ID");
    env.erase("AWS_SECRET_ACCESS_KEY");
    env.erase("AWS_EC2_METADATA_DISABLED");
    env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = simulator.baseUrl();
    const auto sink = makeSink();
    const auto delivered = sink->deliver(makeTestCredential());
    remember(delivered);
    ASSERT_TRUE(delivered) << delivered.error().message;
    EXPECT_EQ(sink->credentialSource(), "instance metadata (IMDSv2, role astra-rotator-instance)");
    EXPECT_EQ(simulator.server().requestCount("PUT", "imds-token", 200), 1);
}

TEST_F(AwsSink, CheckReadsAndNeverWrites)
{
    simulator.createSecret(kSecretName, "{\"old\":\"value\"}");
    EXPECT_TRUE(makeSink()->check());
    EXPECT_EQ(simulator.server().requestCount("POST", "DescribeSecret", 200), 1);
    EXPECT_EQ(simulator.server().requestCount("POST", "GetSecretValue", 200), 1);
    EXPECT_EQ(puts(), 0);

    simulator.allowActions(kKeyId, {"GetSecretValue"});
    const auto denied = makeSink()->check();
    remember(denied);
    ASSERT_FALSE(denied);
    EXPECT_NE(denied.error().message.find("secretsmanager:DescribeSecret"), std::string::npos);

    // Absent: fine when the sink may create it, a fix to make otherwise.
    simulator.allowActions(kKeyId, {});
    auto absent = settings(true);
    absent.aws.secretId = "not/there";
    EXPECT_TRUE(makeSinkWith(absent, clock)->check());
    absent.aws.create = false;
    const auto missing = makeSinkWith(absent, clock)->check();
    remember(missing);
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().kind, FailureKind::Permanent);
    EXPECT_NE(missing.error().message.find("sinks.sm.create"), std::string::npos);
    EXPECT_EQ(puts(), 0);
    EXPECT_EQ(simulator.server().requestCount("POST", "CreateSecret"), 0);
}

} // namespace
