#include <gtest/gtest.h>

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include "SinkTestSupport.h"
#include "rotator/core/Token.h"
#include "rotator/sink/Credential.h"

using rotator::sink::Credential;
using rotator::sink::parseCredentialJson;
using rotator::sink::renderJson;
using rotator::sinktest::makeTestCredential;

namespace
{

void expectSame(const Credential& a, const Credential& b)
{
    EXPECT_EQ(a.credential, b.credential);
    EXPECT_EQ(a.clientId, b.clientId);
    EXPECT_EQ(a.secret.reveal(), b.secret.reveal());
    EXPECT_EQ(a.token.reveal(), b.token.reveal());
    EXPECT_EQ(a.orgId, b.orgId);
    EXPECT_EQ(a.roles, b.roles);
    EXPECT_EQ(a.generatedOn, b.generatedOn);
}

} // namespace

TEST(CredentialJson, RendersTheKeysInOrderWithANewlineAtTheEnd)
{
    const Credential c = makeTestCredential();
    const std::string secret = c.secret.reveal();
    const std::string token = c.token.reveal();
    const std::string roles =
        R"(["1faa93f3-d33a-4a8a-8a35-0b3f2b8e5d21","Database Administrator"])";
    EXPECT_EQ(renderJson(c), R"({"clientId":"AbCdEfGhIjKlMnOpQrStUvWx","secret":")" + secret +
                                 R"(","token":")" + token +
                                 R"(","orgId":"f8a9e1f0-1234-4abc-8def-000000000001","roles":)" +
                                 roles + R"(,"generatedOn":"2024-05-01T10:20:30.123Z"})" + "\n");
}

TEST(CredentialJson, ParsesBackWhatItRendered)
{
    const Credential c = makeTestCredential();
    const auto parsed = parseCredentialJson(renderJson(c), "billing");
    ASSERT_TRUE(parsed.has_value());
    expectSame(*parsed, c);
    EXPECT_TRUE(rotator::core::tokenMatches(parsed->clientId, parsed->secret, parsed->token));
}

TEST(CredentialJson, EscapesQuotesBackslashesAndControlCharactersAndRoundTrips)
{
    // \x01 ends before "f": a control character, then a slash and UTF-8 "é".
    Credential c = makeTestCredential(std::string("a\"b\\c\nd\te\x01") + "f/\xc3\xa9");
    c.roles = {};
    c.orgId = "org \"quoted\"";
    const std::string json = renderJson(c);
    EXPECT_NE(json.find(R"("secret":"a\"b\\c\nd\te\u0001f/)"), std::string::npos) << json;
    EXPECT_NE(json.find(R"("roles":[])"), std::string::npos) << json;

    // A real JSON parser reads the same values.
    Poco::JSON::Parser parser;
    const auto object = parser.parse(json).extract<Poco::JSON::Object::Ptr>();
    EXPECT_EQ(object->getValue<std::string>("secret"), c.secret.reveal());
    EXPECT_EQ(object->getValue<std::string>("orgId"), c.orgId);

    const auto parsed = parseCredentialJson(json, "billing");
    ASSERT_TRUE(parsed.has_value());
    expectSame(*parsed, c);
}

TEST(CredentialJson, TakesTheCredentialNameFromTheCaller)
{
    const auto parsed = parseCredentialJson(renderJson(makeTestCredential()), "other");
    ASSERT_TRUE(parsed.has_value());
    EXPECT_EQ(parsed->credential, "other");
}

TEST(CredentialJson, RefusesAnythingRenderJsonWouldNotHaveWritten)
{
    const std::string good = renderJson(makeTestCredential());
    const std::string body = good.substr(0, good.size() - 1); // without the newline
    const std::vector<std::string> bad = {
        "",
        "{}\n",
        body,                                                // no final newline
        body + "\n\n",                                       // trailing data
        " " + good,                                          // leading space
        body.substr(0, body.size() - 1) + ",\"extra\":1}\n", // unknown key
        "{\"secret\":\"x\"," + good.substr(1),               // keys out of order / duplicated
        std::string(good).replace(good.find("\"roles\":["), 9, "\"roles\":[1,"), // wrong type
        std::string(good).replace(good.find(":\"Ab"), 2, ": \"Ab"),              // whitespace
        std::string(good).replace(good.find("AbCd"), 1, "\\u0041"), // non-canonical escape
        good.substr(0, good.size() / 2),                            // truncated
        R"({"clientId":"","secret":"s","token":"t","orgId":"o","roles":[],"generatedOn":"g"})"
        "\n", // empty clientId
    };
    for (const auto& text : bad)
    {
        EXPECT_FALSE(parseCredentialJson(text, "billing").has_value()) << text;
    }
}

TEST(CredentialJson, MakesACredentialFromACreateAnswer)
{
    rotator::core::CreatedClient created;
    created.clientId = "AbCdEfGhIjKlMnOpQrStUvWx";
    created.secret = rotator::core::Secret("s3cret");
    created.token = rotator::core::makeToken(created.clientId, created.secret);
    created.orgId = "org";
    created.roles = {"r1"};
    created.generatedOn = "2024-05-01T10:20:30Z";
    const Credential c = rotator::sink::makeCredential("billing", created);
    EXPECT_EQ(c.credential, "billing");
    EXPECT_EQ(c.clientId, created.clientId);
    EXPECT_EQ(c.secret.reveal(), "s3cret");
    EXPECT_EQ(c.token.reveal(), created.token.reveal());
    EXPECT_EQ(c.orgId, "org");
    EXPECT_EQ(c.roles, created.roles);
    EXPECT_EQ(c.generatedOn, created.generatedOn);
}

TEST(CredentialJson, RendersTheStoreFieldsAskedForInTheirOrder)
{
    const Credential c = makeTestCredential();
    const std::string secret = c.secret.reveal();
    const std::string token = c.token.reveal();
    EXPECT_EQ(rotator::sink::renderFieldsJson(c, {}),
              R"({"clientId":"AbCdEfGhIjKlMnOpQrStUvWx","secret":")" + secret + R"(","token":")" +
                  token + R"(","orgId":"f8a9e1f0-1234-4abc-8def-000000000001","generatedOn":")" +
                  c.generatedOn + R"("})");
    EXPECT_EQ(rotator::sink::renderFieldsJson(c, {"token", "roles", "credential"}),
              R"({"token":")" + token +
                  R"(","roles":"1faa93f3-d33a-4a8a-8a35-0b3f2b8e5d21,Database Administrator",)" +
                  R"("credential":")" + c.credential + R"("})");
}
