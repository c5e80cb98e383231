#include <gtest/gtest.h>

#include "rotator/api/JsonMapping.h"
#include "rotator/core/Token.h"

using namespace rotator;
using api::parseClientList;
using api::parseCreatedClient;
using core::FailureKind;

namespace
{

// The docs' create example (ASTRA-API.md §2.3): its token is sha256 of its secret.
const char* kDocsCreate =
    R"({"clientId":"zjCEYwRGWocLfQJHBNQxvorr",)"
    R"("secret":"SLR.cllL1YzfJDnl+YhUv5DMKlx8HaeMFTKjIJ4I6YdKB7w-K7U_+j-a9daWbbcp0uugXW,hb.3J2S0PPqDNhT6+oUiPYYaI+,xuwm2O97.ZpHcYvCsnlrTyl8w1pH-0",)"
    R"("orgId":"dccb8c32-cc2a-4bea-bd95-47ab8eb20510",)"
    R"("roles":["21ef3576-0197-415a-b167-d510af12ecf0"],)"
    R"("token":"AstraCS:zjCEYwRGWocLfQJHBNQxvorr:8709074baaf63e746cc5de52891e3a5ca88c73ae1fb7336652e9b59b9e69eff2",)"
    R"("generatedOn":"2022-09-21T17:48:15.260897295Z"})";

std::string clientJson(const std::string& fields)
{
    return R"({"clients":[{)" + fields + "}]}";
}

const std::string kGoodClient =
    R"("clientId":"DkFtHKMhDQDuQtlExkSzwbya","roles":["21ef3576-0197-415a-b167-d510af12ecf0"],)"
    R"("generatedOn":"2021-02-22T17:09:58.668Z")";

} // namespace

TEST(JsonMapping, ParsesTheDocumentedClientList)
{
    auto r = parseClientList(
        R"({"clients":[{"clientId":"DkFtHKMhDQDuQtlExkSzwbya","roles":["21ef3576-0197-415a-b167-d510af12ecf0"],"generatedOn":"2021-02-22T17:09:58.668Z"},)"
        R"({"clientId":"eYSboCJaESiblJZnKZWMxROv","roles":["21ef3576-0197-415a-b167-d510af12ecf0"],"generatedOn":"2021-04-28T18:49:11.323Z","description":"astra-rotator billing 7","tokenExpiry":null}]})");
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_EQ(r->size(), 2u);
    EXPECT_EQ((*r)[0].clientId, "DkFtHKMhDQDuQtlExkSzwbya");
    EXPECT_EQ((*r)[0].generatedOnMs, 1614013798668);
    EXPECT_FALSE((*r)[0].description);
    EXPECT_EQ((*r)[1].description.value_or(""), "astra-rotator billing 7");
    EXPECT_FALSE((*r)[1].tokenExpiry);
}

TEST(JsonMapping, AcceptsAnEmptyOrg)
{
    auto r = parseClientList(R"({"clients":[]})");
    ASSERT_TRUE(r);
    EXPECT_TRUE(r->empty());
}

TEST(JsonMapping, RejectsClientListsWithWrongTypesOrMissingFields)
{
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"", "not valid JSON"},
        {"{\"clients\":", "not valid JSON"},
        {"[]", "not a JSON object"},
        {"{}", "no \"clients\""},
        {R"({"clients":{}})", "not an array"},
        {R"({"clients":[1]})", "clients[0] is not an object"},
        {clientJson(R"("roles":[],"generatedOn":"2021-02-22T17:09:58.668Z")"), "clientId"},
        {clientJson(R"("clientId":12345678,"roles":[],"generatedOn":"2021-02-22T17:09:58.668Z")"),
         "clientId"},
        {clientJson(R"("clientId":"short","roles":[],"generatedOn":"2021-02-22T17:09:58.668Z")"),
         "clientId"},
        {clientJson(R"("clientId":"DkFtHKMhDQDuQtlExkSzwby/","roles":[],"generatedOn":"2021-02-22T17:09:58.668Z")"),
         "clientId"},
        {clientJson(R"("clientId":"DkFtHKMhDQDuQtlExkSzwbya","generatedOn":"2021-02-22T17:09:58.668Z")"),
         "roles"},
        {clientJson(R"("clientId":"DkFtHKMhDQDuQtlExkSzwbya","roles":"x","generatedOn":"2021-02-22T17:09:58.668Z")"),
         "roles"},
        {clientJson(R"("clientId":"DkFtHKMhDQDuQtlExkSzwbya","roles":[1],"generatedOn":"2021-02-22T17:09:58.668Z")"),
         "roles"},
        {clientJson(R"("clientId":"DkFtHKMhDQDuQtlExkSzwbya","roles":[])"), "generatedOn"},
        {clientJson(R"("clientId":"DkFtHKMhDQDuQtlExkSzwbya","roles":[],"generatedOn":"yesterday")"),
         "generatedOn"},
        {clientJson(R"("clientId":"DkFtHKMhDQDuQtlExkSzwbya","roles":[],"generatedOn":1614013798)"),
         "generatedOn"},
        {clientJson(kGoodClient + R"(,"description":5)"), "description"},
        {clientJson(kGoodClient + R"(,"tokenExpiry":"soon")"), "tokenExpiry"},
        {R"({"clients":[{)" + kGoodClient + "},{" + kGoodClient + "}]}", "appears twice"},
    };
    for (const auto& [body, fragment] : cases)
    {
        auto r = parseClientList(body);
        ASSERT_FALSE(r) << body;
        EXPECT_EQ(r.error().kind, FailureKind::Permanent);
        EXPECT_NE(r.error().message.find(fragment), std::string::npos)
            << body << " -> " << r.error().message;
    }
}

TEST(JsonMapping, RejectsDeeplyNestedJson)
{
    std::string body = R"({"clients":)" + std::string(5000, '[') + std::string(5000, ']') + "}";
    EXPECT_FALSE(parseClientList(body));
}

TEST(JsonMapping, ParsesTheDocumentedCreateAnswerAndItPassesTheSelfCheck)
{
    auto r = parseCreatedClient(kDocsCreate);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->clientId, "zjCEYwRGWocLfQJHBNQxvorr");
    EXPECT_EQ(r->orgId, "dccb8c32-cc2a-4bea-bd95-47ab8eb20510");
    EXPECT_EQ(r->generatedOn, "2022-09-21T17:48:15.260897295Z");
    core::CreateRequest req;
    req.roleIds = {"21ef3576-0197-415a-b167-d510af12ecf0"};
    EXPECT_TRUE(api::checkCreatedClient(*r, req));
}

TEST(JsonMapping, SelfCheckCatchesAForeignTokenAndWrongRoles)
{
    auto r = parseCreatedClient(kDocsCreate);
    ASSERT_TRUE(r);
    core::CreateRequest req;
    req.roleIds = {"21ef3576-0197-415a-b167-d510af12ecf0"};
    auto tampered = std::move(*r);
    tampered.token = core::Secret(
        "AstraCS:zjCEYwRGWocLfQJHBNQxvorr:0709074baaf63e746cc5de52891e3a5ca88c73ae1fb7336652e9b59b9e69eff2");
    auto bad = api::checkCreatedClient(tampered, req);
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().message.find("self-check"), std::string::npos);
    EXPECT_EQ(bad.error().message.find("0709074b"), std::string::npos);

    auto again = parseCreatedClient(kDocsCreate);
    req.roleIds = {"other-role"};
    auto wrongRoles = api::checkCreatedClient(*again, req);
    ASSERT_FALSE(wrongRoles);
    EXPECT_NE(wrongRoles.error().message.find("roles"), std::string::npos);
}

TEST(JsonMapping, RebuildsAMissingTokenFromTheSecret)
{
    std::string body = kDocsCreate;
    const auto start = body.find(R"("token")");
    const auto end = body.find(R"("generatedOn")");
    body.erase(start, end - start);
    auto r = parseCreatedClient(body);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->token.reveal(),
              "AstraCS:zjCEYwRGWocLfQJHBNQxvorr:"
              "8709074baaf63e746cc5de52891e3a5ca88c73ae1fb7336652e9b59b9e69eff2");
}

TEST(JsonMapping, RejectsCreateAnswersWithMissingOrMistypedFields)
{
    for (const char* body :
         {"", "[]", R"({"clientId":"zjCEYwRGWocLfQJHBNQxvorr"})",
          R"({"clientId":"zjCEYwRGWocLfQJHBNQxvorr","secret":"s","orgId":"o"})",
          R"({"clientId":"zjCEYwRGWocLfQJHBNQxvorr","secret":7,"orgId":"o","roles":[]})",
          R"({"clientId":"zjCEYwRGWocLfQJHBNQxvorr","secret":"s","orgId":"o","roles":[],"token":1})",
          R"({"clientId":"zj","secret":"s","orgId":"o","roles":[]})",
          // An empty secret (here the last of two: the parser keeps the last) is no secret.
          R"({"clientId":"zjCEYwRGWocLfQJHBNQxvorr","secret":"","orgId":"o","roles":[]})",
          R"({"clientId":"zjCEYwRGWocLfQJHBNQxvorr","secret":"s","secret":"","orgId":"o","roles":[]})",
          R"({"clientId":"zjCEYwRGWocLfQJHBNQxvorr","secret":"s","orgId":"o","roles":[],"generatedOn":"x"})"})
    {
        auto r = parseCreatedClient(body);
        ASSERT_FALSE(r) << body;
        EXPECT_EQ(r.error().message.find("\"s\""), std::string::npos);
    }
}

TEST(JsonMapping, MatchesRoleKeysCaseInsensitively)
{
    auto upper = api::parseRoles(
        R"([{"ID":"3fb93abd-0000-0000-0000-000000000001","Name":"API Admin Svc Acct","Type":"default","Policy":"{}"}])");
    ASSERT_TRUE(upper) << upper.error().message;
    EXPECT_EQ((*upper)[0].id, "3fb93abd-0000-0000-0000-000000000001");
    EXPECT_EQ((*upper)[0].name, "API Admin Svc Acct");
    auto lower = api::parseRoles(R"([{"id":"a","name":"Database Administrator","policy":{}}])");
    ASSERT_TRUE(lower);
    EXPECT_EQ((*lower)[0].name, "Database Administrator");
    EXPECT_FALSE(api::parseRoles(R"({"roles":[]})"));
    EXPECT_FALSE(api::parseRoles(R"([{"id":1,"name":"x"}])"));
    EXPECT_FALSE(api::parseRoles(R"([{"name":"x"}])"));
    const auto empty = api::parseRoles(R"([{"id":"","name":"x"}])");
    ASSERT_FALSE(empty);
    EXPECT_NE(empty.error().message.find("roles[0] has an empty id"), std::string::npos)
        << empty.error().message;
}

TEST(JsonMapping, ParsesCurrentOrg)
{
    EXPECT_EQ(api::parseCurrentOrg(R"({"id":"d04d1eb2-6a52-483e-ab16-faaad3d077a9"})").value(),
              "d04d1eb2-6a52-483e-ab16-faaad3d077a9");
    EXPECT_FALSE(api::parseCurrentOrg(R"({"id":5})"));
    EXPECT_FALSE(api::parseCurrentOrg(R"({})"));
    EXPECT_FALSE(api::parseCurrentOrg("<html>"));
}

TEST(JsonMapping, ResolvesRoleNamesAndIds)
{
    const std::vector<core::Role> roles = {{"id-1", "Organization Administrator"},
                                           {"id-2", "Database Administrator"},
                                           {"id-3", "Twin"},
                                           {"id-4", "twin"}};
    auto r = api::resolveRoleIds({"database administrator", "id-1"}, roles);
    ASSERT_TRUE(r);
    EXPECT_EQ(*r, (std::vector<std::string>{"id-2", "id-1"}));
    auto unknown = api::resolveRoleIds({"Nope"}, roles);
    ASSERT_FALSE(unknown);
    EXPECT_NE(unknown.error().message.find("\"Nope\""), std::string::npos);
    auto ambiguous = api::resolveRoleIds({"TWIN"}, roles);
    ASSERT_FALSE(ambiguous);
    EXPECT_NE(ambiguous.error().message.find("use the role ID"), std::string::npos);
}

TEST(JsonMapping, CreateRequestCarriesDescriptionAndExpiryOnlyWhenSet)
{
    core::CreateRequest req;
    req.roleIds = {"r1"};
    EXPECT_EQ(api::createRequestJson(req), R"({"roles":["r1"]})");
    req.description = "astra-rotator billing 7";
    req.tokenExpiry = "2026-08-19T14:30:00Z";
    const auto json = api::createRequestJson(req);
    EXPECT_NE(json.find(R"("description":"astra-rotator billing 7")"), std::string::npos);
    EXPECT_NE(json.find(R"("tokenExpiry":"2026-08-19T14:30:00Z")"), std::string::npos);
}

TEST(ErrorBody, ParsesDevOpsErrorsJson)
{
    auto e = api::parseErrorBody(
        "application/json",
        R"({"errors":[{"ID":340018,"message":"Resource not found: token with identifier: auth-manager returned 404 for call %s/v2/admin/tokens?%s"}]})");
    EXPECT_EQ(e.id.value_or(0), 340018);
    EXPECT_NE(e.message.find("Resource not found"), std::string::npos);
}

TEST(ErrorBody, ParsesTextPlainAndMasksTokens)
{
    auto e = api::parseErrorBody(
        "text/plain", "role not allowed for AstraCS:zjCEYwRGWocLfQJHBNQxvorr:8709074baaf6\nsecond");
    EXPECT_FALSE(e.id);
    EXPECT_EQ(e.message.find("zjCEYwRG"), std::string::npos);
    EXPECT_EQ(e.message.find('\n'), std::string::npos);
    EXPECT_NE(e.message.find("role not allowed"), std::string::npos);
}

TEST(ErrorBody, CutsLongBodiesAndToleratesGarbage)
{
    auto e = api::parseErrorBody("text/html", std::string(100000, 'x'));
    EXPECT_LE(e.message.size(), 203u);
    auto j = api::parseErrorBody("application/json", R"({"errors":"nope"})");
    EXPECT_FALSE(j.id);
    auto k = api::parseErrorBody("application/json", R"({"errors":[{"ID":"1","message":2}]})");
    EXPECT_FALSE(k.id);
}

TEST(ErrorBody, IgnoresAnIdBeyondInt64)
{
    // Poco holds it as UInt64 and convert<Int64> threw RangeException (tests/fuzz/error_body).
    auto e = api::parseErrorBody("application/json",
                                 R"({"errors":[{"ID":18446744073709551615,"message":"no"}]})");
    EXPECT_FALSE(e.id);
    EXPECT_EQ(e.message, "no");
}

TEST(JsonMapping, AcceptsAFarFutureTokenExpiry)
{
    // Beyond the range of an Instant, yet a valid answer: the expiry is kept as text.
    auto r = parseClientList(clientJson(kGoodClient + R"(,"tokenExpiry":"9999-12-31T23:59:59Z")"));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ((*r)[0].tokenExpiry.value_or(""), "9999-12-31T23:59:59Z");
}

TEST(ErrorBody, MasksSecretsInJsonAndBearerHeaders)
{
    const auto s = api::sanitizeForMessage(
        R"(echo {"secret":"abc,def","token":"AstraCS:x"} Authorization: Bearer AstraCS:zz)");
    EXPECT_EQ(s.find("abc,def"), std::string::npos);
    EXPECT_EQ(s.find("AstraCS:x"), std::string::npos);
    EXPECT_EQ(s.find("AstraCS:zz"), std::string::npos);
}

TEST(TokenSelfCheck, MatchesTheDocumentedExample)
{
    const core::Secret secret(
        "SLR.cllL1YzfJDnl+YhUv5DMKlx8HaeMFTKjIJ4I6YdKB7w-K7U_+j-a9daWbbcp0uugXW,hb.3J2S0PPqDNhT6+"
        "oUiPYYaI+,xuwm2O97.ZpHcYvCsnlrTyl8w1pH-0");
    EXPECT_EQ(core::sha256Hex(secret.reveal()),
              "8709074baaf63e746cc5de52891e3a5ca88c73ae1fb7336652e9b59b9e69eff2");
    EXPECT_TRUE(core::tokenMatches("zjCEYwRGWocLfQJHBNQxvorr", secret,
                                   core::makeToken("zjCEYwRGWocLfQJHBNQxvorr", secret)));
    EXPECT_FALSE(core::tokenMatches("zjCEYwRGWocLfQJHBNQxvorR", secret,
                                    core::makeToken("zjCEYwRGWocLfQJHBNQxvorr", secret)));
    EXPECT_FALSE(core::tokenMatches("zjCEYwRGWocLfQJHBNQxvorr", core::Secret(), core::Secret()));
}
