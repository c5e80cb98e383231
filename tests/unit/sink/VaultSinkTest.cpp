#include <gtest/gtest.h>

#include <string>

#include "rotator/sink/VaultAuth.h"
#include "rotator/sink/VaultSink.h"

using namespace rotator::sink;

TEST(VaultErrorText, JoinsVaultErrorsAndIgnoresOtherBodies)
{
    EXPECT_EQ(vaultErrorText(R"({"errors":["permission denied"]})"), "permission denied");
    EXPECT_EQ(vaultErrorText(R"({"errors":["1 error occurred:\n\t* bad\n\n","two"]})"),
              "1 error occurred: * bad; two");
    EXPECT_EQ(vaultErrorText(R"({"errors":[]})"), "");
    EXPECT_EQ(vaultErrorText("<html>bad gateway</html>"), "");
    EXPECT_EQ(vaultErrorText(R"({"errors":"not a list"})"), "");
}

TEST(VaultErrorText, MasksWhatLooksLikeAToken)
{
    const std::string text = vaultErrorText(
        R"({"errors":["bad AstraCS:abcdefghijklmnopqrstuvwx:0123456789abcdef0123456789abcdef"]})");
    EXPECT_EQ(text.find("0123456789abcdef0123456789abcdef"), std::string::npos) << text;
}

TEST(VaultHeaders, SendTheTokenAndTheNamespaceOnlyWhenSet)
{
    EXPECT_TRUE(vaultHeaders(rotator::core::Secret(), "").empty());
    const auto headers = vaultHeaders(rotator::core::Secret("hvs.x"), "team-a");
    ASSERT_EQ(headers.size(), 2U);
    EXPECT_EQ(headers[0], (std::pair<std::string, std::string>{"X-Vault-Token", "hvs.x"}));
    EXPECT_EQ(headers[1], (std::pair<std::string, std::string>{"X-Vault-Namespace", "team-a"}));
}

TEST(VaultLease, ParsesTheAuthObjectOfALogin)
{
    const auto lease = parseVaultLease(
        R"({"auth":{"client_token":"hvs.abc","lease_duration":3600,"renewable":true}})");
    ASSERT_TRUE(lease);
    EXPECT_EQ(lease->clientToken.reveal(), "hvs.abc");
    EXPECT_EQ(lease->leaseSeconds, 3600);
    EXPECT_TRUE(lease->renewable);
    EXPECT_FALSE(parseVaultLease(R"({"auth":null})"));
    EXPECT_FALSE(parseVaultLease(R"({"auth":{"client_token":"","lease_duration":1}})"));
    EXPECT_FALSE(parseVaultLease(R"({"auth":{"client_token":"x","lease_duration":"1h"}})"));
}

TEST(VaultData, ParsesValuesVersionAndADeletedVersion)
{
    const auto data = parseVaultData(
        R"({"data":{"data":{"clientId":"c","n":3,"o":{"a":[1]}},"metadata":{"version":7}}})");
    ASSERT_TRUE(data);
    EXPECT_EQ(data->version, 7);
    EXPECT_EQ(data->strings.at("clientId"), "c");
    EXPECT_EQ(data->others.at("n"), "3");
    EXPECT_EQ(data->others.at("o"), R"({"a":[1]})");
    const auto deleted = parseVaultData(R"({"data":{"data":null,"metadata":{"version":2}}})");
    ASSERT_TRUE(deleted);
    EXPECT_TRUE(deleted->strings.empty());
    EXPECT_FALSE(parseVaultData(R"({"data":{"data":"x"}})"));
    EXPECT_FALSE(parseVaultData("[]"));
}

TEST(VaultMetadata, ParsesCurrentVersionAndCustomMetadata)
{
    const auto m =
        parseVaultMetadata(R"({"data":{"current_version":4,"custom_metadata":{"owner":"team"}}})");
    ASSERT_TRUE(m);
    EXPECT_EQ(m->currentVersion, 4);
    EXPECT_EQ(m->custom.at("owner"), "team");
    const auto none =
        parseVaultMetadata(R"({"data":{"current_version":1,"custom_metadata":null}})");
    ASSERT_TRUE(none);
    EXPECT_TRUE(none->custom.empty());
    EXPECT_FALSE(parseVaultMetadata(R"({"data":{}})"));
}

TEST(VaultWriteBody, KeepsKeysTheSinkDoesNotOwnAndSetsCas)
{
    VaultSecretData kept;
    kept.strings = {{"clientId", "old"}, {"owner", "team \"a\""}};
    kept.others = {{"port", "5432"}};
    EXPECT_EQ(vaultWriteBody(R"({"clientId":"new","secret":"s"})", kept, 3),
              R"({"options":{"cas":3},"data":{"owner":"team \"a\"","port":5432,)"
              R"("clientId":"new","secret":"s"}})");
    EXPECT_EQ(vaultWriteBody(R"({"clientId":"c"})", VaultSecretData(), 0),
              R"({"options":{"cas":0},"data":{"clientId":"c"}})");
}

TEST(VaultMetadataBody, SetsTheTwoKeysAndKeepsTheOthers)
{
    EXPECT_EQ(vaultMetadataBody({{"owner", "team"}, {kVaultClientIdKey, "old"}}, "c1", "billing"),
              R"({"custom_metadata":{"astra-rotator-client-id":"c1",)"
              R"("astra-rotator-credential":"billing","owner":"team"}})");
}

TEST(VaultCapabilities, NamesWhatIsMissing)
{
    const std::string body =
        R"({"secret/data/a":["read","update"],"secret/metadata/a":["deny"],"x":["root"]})";
    EXPECT_EQ(*missingCapabilities(body, "secret/data/a", {"create", "read", "update"}),
              std::vector<std::string>{"create"});
    EXPECT_EQ(*missingCapabilities(body, "secret/metadata/a", {"read", "update"}),
              (std::vector<std::string>{"read", "update"}));
    EXPECT_TRUE(missingCapabilities(body, "x", {"update"})->empty());
    EXPECT_FALSE(missingCapabilities(body, "other", {"read"}));
    // Newer answers carry the lists under "data" too.
    EXPECT_TRUE(missingCapabilities(R"({"data":{"p":["create","read"]}})", "p", {"read"})->empty());
}
