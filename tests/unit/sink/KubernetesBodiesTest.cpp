#include <gtest/gtest.h>

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include "rotator/core/Base64.h"
#include "rotator/sink/KubernetesSink.h"

namespace k8s = rotator::sink::kubernetes;
using rotator::core::Secret;

namespace
{

Poco::JSON::Object::Ptr parse(const std::string& text)
{
    return Poco::JSON::Parser().parse(text).extract<Poco::JSON::Object::Ptr>();
}

k8s::OwnedData sampleData()
{
    k8s::OwnedData data;
    data.emplace_back("ASTRA_CLIENT_ID", Secret("abc"));
    data.emplace_back("ASTRA_CLIENT_SECRET", Secret("s3cr\"et"));
    return data;
}

const k8s::SecretMeta kMeta{"clientA", "billing", "2026-12-03T20:00:00Z"};

} // namespace

TEST(KubernetesStatus, ReadsMessageReasonAndCode)
{
    const auto status = k8s::parseStatus(
        R"({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",)"
        R"("message":"secrets \"x\" is forbidden: User \"u\" cannot patch resource \"secrets\"",)"
        R"("reason":"Forbidden","details":{"name":"x","kind":"secrets"},"code":403})");
    ASSERT_TRUE(status);
    EXPECT_EQ(status->code, 403);
    EXPECT_EQ(status->reason, "Forbidden");
    EXPECT_EQ(status->message,
              "secrets \"x\" is forbidden: User \"u\" cannot patch resource \"secrets\"");
}

TEST(KubernetesStatus, RefusesWhatIsNotAStatus)
{
    EXPECT_FALSE(k8s::parseStatus(R"({"kind":"Secret","message":"m"})"));
    EXPECT_FALSE(k8s::parseStatus("<html>502 Bad Gateway</html>"));
    EXPECT_FALSE(k8s::parseStatus(R"(["Status"])"));
    EXPECT_FALSE(k8s::parseStatus(""));
    // A code that is not a number is left at 0 rather than converted loosely.
    const auto loose = k8s::parseStatus(R"({"kind":"Status","code":"403"})");
    ASSERT_TRUE(loose);
    EXPECT_EQ(loose->code, 0);
}

TEST(KubernetesBodies, MergePatchCarriesTheResourceVersionOurMetadataAndBase64Data)
{
    const auto body = parse(k8s::secretPatchBody(sampleData(), kMeta, "4711"));
    const auto metadata = body->getObject("metadata");
    EXPECT_EQ(metadata->getValue<std::string>("resourceVersion"), "4711");
    EXPECT_EQ(metadata->getObject("labels")->getValue<std::string>("app.kubernetes.io/managed-by"),
              "astra-rotator");
    const auto annotations = metadata->getObject("annotations");
    EXPECT_EQ(annotations->getValue<std::string>("astra-rotator/client-id"), "clientA");
    EXPECT_EQ(annotations->getValue<std::string>("astra-rotator/credential"), "billing");
    EXPECT_EQ(annotations->getValue<std::string>("astra-rotator/rotated-at"),
              "2026-12-03T20:00:00Z");
    const auto data = body->getObject("data");
    EXPECT_EQ(data->size(), 2U);
    EXPECT_EQ(data->getValue<std::string>("ASTRA_CLIENT_ID"), "YWJj");
    EXPECT_EQ(rotator::core::base64Decode(data->getValue<std::string>("ASTRA_CLIENT_SECRET")),
              "s3cr\"et");
    // A merge patch names only what it changes: no name, type or other data keys.
    EXPECT_FALSE(body->has("type"));
    EXPECT_FALSE(metadata->has("name"));
}

TEST(KubernetesBodies, CreateBodyIsAnOpaqueSecretInTheNamespace)
{
    const auto body = parse(k8s::secretCreateBody("billing", "astra", sampleData(), kMeta));
    EXPECT_EQ(body->getValue<std::string>("apiVersion"), "v1");
    EXPECT_EQ(body->getValue<std::string>("kind"), "Secret");
    EXPECT_EQ(body->getValue<std::string>("type"), "Opaque");
    EXPECT_EQ(body->getObject("metadata")->getValue<std::string>("name"), "astra");
    EXPECT_EQ(body->getObject("metadata")->getValue<std::string>("namespace"), "billing");
    EXPECT_FALSE(body->getObject("metadata")->has("resourceVersion"));
    EXPECT_EQ(body->getObject("data")->getValue<std::string>("ASTRA_CLIENT_ID"), "YWJj");
}

TEST(KubernetesBodies, RestartPatchSetsThePodTemplateAnnotationsLikeKubectl)
{
    const auto body = parse(k8s::restartPatchBody("2026-12-03T20:00:00Z", "clientA"));
    const auto annotations = body->getObject("spec")
                                 ->getObject("template")
                                 ->getObject("metadata")
                                 ->getObject("annotations");
    EXPECT_EQ(annotations->getValue<std::string>("kubectl.kubernetes.io/restartedAt"),
              "2026-12-03T20:00:00Z");
    EXPECT_EQ(annotations->getValue<std::string>("astra-rotator/client-id"), "clientA");
    EXPECT_EQ(annotations->size(), 2U);
}

TEST(Base64Decode, DecodesStandardPaddedBase64AndRefusesEverythingElse)
{
    EXPECT_EQ(rotator::core::base64Decode(""), "");
    EXPECT_EQ(rotator::core::base64Decode("YQ=="), "a");
    EXPECT_EQ(rotator::core::base64Decode("YWI="), "ab");
    EXPECT_EQ(rotator::core::base64Decode("YWJj"), "abc");
    EXPECT_EQ(rotator::core::base64Decode("+/+/"), std::string("\xfb\xff\xbf"));
    EXPECT_FALSE(rotator::core::base64Decode("YQ"));       // unpadded
    EXPECT_FALSE(rotator::core::base64Decode("YQ=a"));     // padding inside
    EXPECT_FALSE(rotator::core::base64Decode("Y==="));     // too much padding
    EXPECT_FALSE(rotator::core::base64Decode("YQ==YWJj")); // padding before the end
    EXPECT_FALSE(rotator::core::base64Decode("-_-_"));     // URL-safe alphabet
    EXPECT_FALSE(rotator::core::base64Decode("YW Jj"));
}
