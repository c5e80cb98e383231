#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include "rotator/core/Time.h"
#include "rotator/sink/AwsSigV4.h"

namespace
{

namespace sigv4 = rotator::sink::sigv4;

const std::string kVectors = std::string(ROTATOR_SOURCE_DIR) + "/tests/data/sigv4";

std::string slurp(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

std::string withoutFinalNewline(std::string text)
{
    while (!text.empty() && text.back() == '\n')
    {
        text.pop_back();
    }
    return text;
}

/// One case of the AWS test suite: `request.txt` parsed, `context.json` read.
struct Vector
{
    sigv4::Request request;
    std::string body;
    sigv4::AwsCredentials credentials;
    std::string region;
    std::string service;
    std::int64_t unixMs = 0;
};

Vector load(const std::string& name)
{
    Vector v;
    const std::string dir = kVectors + "/" + name;
    std::istringstream lines(slurp(dir + "/request.txt"));
    std::string line;
    std::getline(lines, line);
    const std::size_t firstSpace = line.find(' ');
    const std::size_t version = line.rfind(" HTTP/");
    v.request.method = line.substr(0, firstSpace);
    const std::string target = line.substr(firstSpace + 1, version - firstSpace - 1);
    const std::size_t question = target.find('?');
    v.request.path = target.substr(0, question);
    v.request.query = question == std::string::npos ? "" : target.substr(question + 1);
    while (std::getline(lines, line) && !line.empty())
    {
        const std::size_t colon = line.find(':');
        v.request.headers.emplace_back(line.substr(0, colon), line.substr(colon + 1));
    }
    std::ostringstream rest;
    rest << lines.rdbuf();
    v.body = rest.str();

    const auto context =
        Poco::JSON::Parser().parse(slurp(dir + "/context.json")).extract<Poco::JSON::Object::Ptr>();
    const auto credentials = context->getObject("credentials");
    v.credentials.accessKeyId = credentials->getValue<std::string>("access_key_id");
    v.credentials.secretAccessKey =
        rotator::core::Secret(credentials->getValue<std::string>("secret_access_key"));
    if (credentials->has("token"))
    {
        v.credentials.sessionToken =
            rotator::core::Secret(credentials->getValue<std::string>("token"));
    }
    v.region = context->getValue<std::string>("region");
    v.service = context->getValue<std::string>("service");
    v.unixMs = rotator::core::parseRfc3339(context->getValue<std::string>("timestamp"))->unixMs();
    if (context->getValue<bool>("sign_body"))
    {
        v.request.headers.emplace_back("x-amz-content-sha256", sigv4::sha256Hex(v.body));
    }
    return v;
}

std::string expectedAuthorization(const std::string& name)
{
    std::istringstream lines(slurp(kVectors + "/" + name + "/header-signed-request.txt"));
    std::string line;
    while (std::getline(lines, line))
    {
        if (line.starts_with("Authorization:"))
        {
            return line.substr(std::string("Authorization:").size());
        }
    }
    return {};
}

class SigV4TestSuite : public ::testing::TestWithParam<std::string>
{
};

TEST_P(SigV4TestSuite, ProducesTheCanonicalRequestStringToSignAndAuthorizationOfTheVector)
{
    const std::string name = GetParam();
    Vector v = load(name);
    v.request.body = v.body;
    const auto result = sigv4::sign(v.request, v.credentials, v.region, v.service, v.unixMs);
    EXPECT_EQ(result.canonicalRequest,
              withoutFinalNewline(slurp(kVectors + "/" + name + "/header-canonical-request.txt")));
    EXPECT_EQ(result.stringToSign,
              withoutFinalNewline(slurp(kVectors + "/" + name + "/header-string-to-sign.txt")));
    EXPECT_EQ(result.authorization, expectedAuthorization(name));
    EXPECT_FALSE(expectedAuthorization(name).empty());
}

INSTANTIATE_TEST_SUITE_P(
    AwsVectors, SigV4TestSuite,
    ::testing::Values("get-vanilla", "get-vanilla-query-order-key-case",
                      "get-vanilla-query-unreserved", "get-vanilla-with-session-token",
                      "post-x-www-form-urlencoded", "post-header-key-sort", "post-vanilla-query",
                      "get-header-value-trim", "get-utf8", "get-space-normalized",
                      "get-slash-dot-slash-normalized", "get-slashes-normalized",
                      "get-relative-relative-normalized", "post-sts-header-before"),
    [](const auto& param)
    {
        std::string name = param.param;
        std::replace(name.begin(), name.end(), '-', '_');
        return name;
    });

TEST(SigV4, EveryVectorDirectoryIsExercised)
{
    int directories = 0;
    for (const auto& entry : std::filesystem::directory_iterator(kVectors))
    {
        directories += entry.is_directory() ? 1 : 0;
    }
    EXPECT_EQ(directories, 14);
}

TEST(SigV4, EncodesAPathSentEncodedASecondTimeAsNonS3ServicesRequire)
{
    EXPECT_EQ(sigv4::canonicalUri("/a%20b/"), "/a%2520b/");
    EXPECT_EQ(sigv4::canonicalUri(""), "/");
    EXPECT_EQ(sigv4::canonicalUri("/a/b/.."), "/a/");
}

TEST(SigV4, CanonicalQueryEncodesReservedCharactersAndSortsByNameThenValue)
{
    EXPECT_EQ(sigv4::canonicalQuery("b=2&a=x%20y&a=1&c"), "a=1&a=x%20y&b=2&c=");
    EXPECT_EQ(
        sigv4::canonicalQuery("Action=AssumeRoleWithWebIdentity&RoleArn=arn:aws:iam::1:role/r"),
        "Action=AssumeRoleWithWebIdentity&RoleArn=arn%3Aaws%3Aiam%3A%3A1%3Arole%2Fr");
}

TEST(SigV4, ParsesTheAuthorizationHeaderItProduces)
{
    const auto parsed = sigv4::parseAuthorization(expectedAuthorization("post-header-key-sort"));
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->accessKeyId, "AKIDEXAMPLE");
    EXPECT_EQ(parsed->date, "20150830");
    EXPECT_EQ(parsed->region, "us-east-1");
    EXPECT_EQ(parsed->service, "service");
    EXPECT_EQ(parsed->signedHeaders,
              (std::vector<std::string>{"host", "my-header1", "x-amz-date"}));
    EXPECT_EQ(parsed->signature,
              "c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c");
    EXPECT_FALSE(sigv4::parseAuthorization("Bearer x"));
    EXPECT_FALSE(sigv4::parseAuthorization("AWS4-HMAC-SHA256 Credential=a/b, Signature=c"));
}

TEST(SigV4, SignedHeadersNeverCarryTheSecretAccessKey)
{
    Vector v = load("get-vanilla-with-session-token");
    const auto result = sigv4::sign(v.request, v.credentials, v.region, v.service, v.unixMs);
    const std::string& secret = v.credentials.secretAccessKey.reveal();
    for (const auto& [name, value] : result.headers)
    {
        EXPECT_EQ(value.find(secret), std::string::npos) << name;
    }
    EXPECT_EQ(result.canonicalRequest.find(secret), std::string::npos);
}

} // namespace
