#include <gtest/gtest.h>

#include <fstream>
#include <map>

#include <sys/stat.h>

#include "rotator/sink/AwsCredentials.h"
#include "support/FakeClock.h"
#include "support/TempDir.h"

namespace
{

using rotator::core::FailureKind;
using rotator::sink::AwsCredentialChain;
using rotator::sink::AwsCredentialOptions;

/// A chain over a fixed environment; IMDS off unless a test says otherwise, so nothing here
/// opens a socket.
class AwsChain : public ::testing::Test
{
protected:
    AwsChain() { env["AWS_EC2_METADATA_DISABLED"] = "true"; }

    std::unique_ptr<AwsCredentialChain> chain()
    {
        AwsCredentialOptions o;
        o.region = "eu-west-1";
        o.env = [this](const std::string& name) -> std::optional<std::string>
        {
            const auto it = env.find(name);
            return it == env.end() ? std::nullopt : std::optional<std::string>(it->second);
        };
        return std::make_unique<AwsCredentialChain>(o, clock);
    }

    std::string credentialsFile(const std::string& text, mode_t mode = 0600)
    {
        const std::string path = dir.file("credentials");
        {
            std::ofstream(path) << text;
        }
        ::chmod(path.c_str(), mode);
        return path;
    }

    rotator::test::TempDir dir;
    rotator::test::FakeClock clock;
    std::map<std::string, std::string> env;
};

const std::string kFile = "# comment\n"
                          "[default]\n"
                          "aws_access_key_id = AKIDFILEDEFAULT\n"
                          "aws_secret_access_key = fileDefaultSecret\n"
                          "\n"
                          "[deploy]\n"
                          "aws_access_key_id=AKIDFILEDEPLOY\n"
                          "aws_secret_access_key=fileDeploySecret\n"
                          "aws_session_token=fileDeployToken\n";

TEST_F(AwsChain, TakesTheEnvironmentFirstWithItsSessionToken)
{
    env["AWS_ACCESS_KEY_ID"] = "AKIDENV";
    env["AWS_SECRET_ACCESS_KEY"] = "envSecret";
    env["AWS_SESSION_TOKEN"] = "envToken";
    env["AWS_SHARED_CREDENTIALS_FILE"] = credentialsFile(kFile);
    auto c = chain();
    const auto found = c->current();
    ASSERT_TRUE(found) << found.error().message;
    EXPECT_EQ(found->accessKeyId, "AKIDENV");
    EXPECT_EQ(found->secretAccessKey.reveal(), "envSecret");
    EXPECT_EQ(found->sessionToken.reveal(), "envToken");
    EXPECT_EQ(c->source(), "environment (AWS_ACCESS_KEY_ID)");
}

TEST_F(AwsChain, RefusesHalfAKeyPairInTheEnvironmentRatherThanFallingThrough)
{
    env["AWS_ACCESS_KEY_ID"] = "AKIDENV";
    env["AWS_SHARED_CREDENTIALS_FILE"] = credentialsFile(kFile);
    const auto found = chain()->current();
    ASSERT_FALSE(found);
    EXPECT_EQ(found.error().kind, FailureKind::Permanent);
    EXPECT_NE(found.error().message.find("AWS_SECRET_ACCESS_KEY is not set"), std::string::npos);
}

TEST_F(AwsChain, WebIdentityComesBeforeTheSharedFile)
{
    env["AWS_ROLE_ARN"] = "arn:aws:iam::1:role/r"; // without its token file: a clear refusal
    env["AWS_SHARED_CREDENTIALS_FILE"] = credentialsFile(kFile);
    const auto found = chain()->current();
    ASSERT_FALSE(found);
    EXPECT_NE(found.error().message.find("AWS_WEB_IDENTITY_TOKEN_FILE is not set"),
              std::string::npos);
}

TEST_F(AwsChain, ReadsTheProfileOfTheSharedCredentialsFile)
{
    env["AWS_SHARED_CREDENTIALS_FILE"] = credentialsFile(kFile);
    auto found = chain()->current();
    ASSERT_TRUE(found) << found.error().message;
    EXPECT_EQ(found->accessKeyId, "AKIDFILEDEFAULT");
    EXPECT_TRUE(found->sessionToken.empty());

    env["AWS_PROFILE"] = "deploy";
    auto c = chain();
    found = c->current();
    ASSERT_TRUE(found) << found.error().message;
    EXPECT_EQ(found->accessKeyId, "AKIDFILEDEPLOY");
    EXPECT_EQ(found->secretAccessKey.reveal(), "fileDeploySecret");
    EXPECT_EQ(found->sessionToken.reveal(), "fileDeployToken");
    EXPECT_NE(c->source().find("[deploy]"), std::string::npos);

    env["AWS_PROFILE"] = "absent";
    found = chain()->current();
    ASSERT_FALSE(found);
    EXPECT_NE(found.error().message.find("profile [absent]"), std::string::npos);
}

TEST_F(AwsChain, DefaultsToTheCredentialsFileInTheHomeDirectory)
{
    ::mkdir(dir.file(".aws").c_str(), 0700);
    const std::string path = dir.file(".aws/credentials");
    {
        std::ofstream(path) << kFile;
    }
    ::chmod(path.c_str(), 0600);
    env["HOME"] = dir.path();
    const auto found = chain()->current();
    ASSERT_TRUE(found) << found.error().message;
    EXPECT_EQ(found->accessKeyId, "AKIDFILEDEFAULT");
}

TEST_F(AwsChain, RefusesACredentialsFileItsGroupOrOthersMayRead)
{
    for (const mode_t mode : {0640U, 0604U, 0644U})
    {
        env["AWS_SHARED_CREDENTIALS_FILE"] = credentialsFile(kFile, mode);
        const auto found = chain()->current();
        ASSERT_FALSE(found) << mode;
        EXPECT_EQ(found.error().kind, FailureKind::Permanent);
        EXPECT_NE(found.error().message.find("chmod 600"), std::string::npos);
        EXPECT_EQ(found.error().message.find("fileDefaultSecret"), std::string::npos);
    }
}

TEST_F(AwsChain, SaysNoneWereFoundWhenNoSourceIsConfigured)
{
    env["HOME"] = dir.path(); // no .aws/credentials there
    const auto found = chain()->current();
    ASSERT_FALSE(found);
    EXPECT_EQ(found.error().kind, FailureKind::Auth);
    EXPECT_NE(found.error().message.find("none found"), std::string::npos);
}

TEST_F(AwsChain, RefusesAContainerEndpointOverPlainHttpToAnotherHost)
{
    env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = "http://credentials.example.com/creds";
    const auto found = chain()->current();
    ASSERT_FALSE(found);
    EXPECT_EQ(found.error().kind, FailureKind::Permanent);
    EXPECT_NE(found.error().message.find("must be https"), std::string::npos);
}

TEST_F(AwsChain, ReadsTheEnvironmentAgainAtEachLookSoARotatedKeyIsUsed)
{
    env["AWS_ACCESS_KEY_ID"] = "AKIDONE";
    env["AWS_SECRET_ACCESS_KEY"] = "one";
    auto c = chain();
    ASSERT_EQ(c->current()->accessKeyId, "AKIDONE");
    env["AWS_ACCESS_KEY_ID"] = "AKIDTWO";
    EXPECT_EQ(c->current()->accessKeyId, "AKIDTWO");
}

TEST(AwsSharedCredentials, ParsesProfilesCommentsAndSpacing)
{
    const auto none = rotator::sink::parseSharedCredentials("[a]\nx=y\n", "b");
    EXPECT_FALSE(none);
    const auto partial =
        rotator::sink::parseSharedCredentials("[a]\naws_access_key_id = K\n; c\n", "a");
    ASSERT_TRUE(partial);
    ASSERT_FALSE(*partial);
    EXPECT_NE(partial->error().message.find("lacks aws_secret_access_key"), std::string::npos);
}

TEST(AwsXml, ExtractsAnElementAndDecodesEntities)
{
    EXPECT_EQ(rotator::sink::xmlElement(
                  "<a><Code>X</Code><Message>a &amp; b &lt;c&gt;</Message></a>", "Message"),
              "a & b <c>");
    EXPECT_FALSE(rotator::sink::xmlElement("<a></a>", "Code"));
}

} // namespace
