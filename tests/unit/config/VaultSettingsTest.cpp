#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include <Poco/AutoPtr.h>
#include <Poco/Util/PropertyFileConfiguration.h>

#include "rotator/config/SettingsLoader.h"
#include "rotator/core/Errors.h"

namespace
{

using SinkSettings = rotator::config::SinkSettings;
using VaultAuth = rotator::config::VaultAuth;
using ConfigError = rotator::core::ConfigError;

const std::string kBase = "credentials.billing.roles = Database Administrator\n"
                          "credentials.billing.maxAge = 30d\n"
                          "credentials.billing.gracePeriod = 1h\n"
                          "credentials.billing.sinks = v\n"
                          "sinks.v.type = vault\n"
                          "sinks.v.address = https://vault.example:8200\n"
                          "sinks.v.path = apps/billing\n";

/// The vault sink of kBase plus `lines`; a ConfigError passes through.
SinkSettings vaultSink(const std::string& lines)
{
    std::istringstream in(kBase + lines + "\n");
    Poco::AutoPtr<Poco::Util::PropertyFileConfiguration> cfg(
        new Poco::Util::PropertyFileConfiguration(in));
    return *rotator::config::loadSettings(*cfg).findSink("v");
}

/// The ConfigError `lines` cause, as "key: message".
std::string refusal(const std::string& lines)
{
    try
    {
        vaultSink(lines);
    }
    catch (const ConfigError& e)
    {
        return e.what();
    }
    return "(accepted)";
}

} // namespace

TEST(VaultSettings, ReadsTokenAuthWithItsDefaults)
{
    const SinkSettings s = vaultSink("sinks.v.tokenFile = /etc/rotator/vault-token");
    EXPECT_EQ(s.vault.address, "https://vault.example:8200");
    EXPECT_EQ(s.vault.mount, "secret");
    EXPECT_EQ(s.vault.path, "apps/billing");
    EXPECT_EQ(s.vault.auth, VaultAuth::Token);
    EXPECT_EQ(s.tokenFile, "/etc/rotator/vault-token");
    EXPECT_TRUE(s.vault.vaultNamespace.empty());
    EXPECT_TRUE(s.path.empty()) << "a vault path is not a file sink's path";
}

TEST(VaultSettings, ReadsKubernetesAndAppRoleAuthWithTheirMounts)
{
    const SinkSettings k = vaultSink("sinks.v.auth = kubernetes\nsinks.v.role = billing\n"
                                     "sinks.v.namespace = team-a\nsinks.v.mount = kv/apps");
    EXPECT_EQ(k.vault.auth, VaultAuth::Kubernetes);
    EXPECT_EQ(k.vault.role, "billing");
    EXPECT_EQ(k.vault.authMount, "kubernetes");
    EXPECT_EQ(k.vault.jwtFile, "/var/run/secrets/kubernetes.io/serviceaccount/token");
    EXPECT_EQ(k.vault.vaultNamespace, "team-a");
    EXPECT_EQ(k.vault.mount, "kv/apps");

    const SinkSettings a = vaultSink("sinks.v.auth = approle\nsinks.v.roleIdFile = /etc/r/role\n"
                                     "sinks.v.secretIdFile = /etc/r/secret\n"
                                     "sinks.v.authMount = ci-approle\n"
                                     "sinks.v.fields = clientId, token\n"
                                     "sinks.v.caFile = /etc/r/ca.pem");
    EXPECT_EQ(a.vault.auth, VaultAuth::AppRole);
    EXPECT_EQ(a.vault.authMount, "ci-approle");
    EXPECT_EQ(a.vault.roleIdFile, "/etc/r/role");
    EXPECT_EQ(a.vault.secretIdFile, "/etc/r/secret");
    EXPECT_EQ(a.fields, (std::vector<std::string>{"clientId", "token"}));
    EXPECT_EQ(a.caFile, "/etc/r/ca.pem");
}

TEST(VaultSettings, RequiresTheKeysOfItsAuthMethod)
{
    EXPECT_EQ(refusal(""), "sinks.v.tokenFile: missing (sinks.v.auth = token (the default) reads "
                           "the Vault token from this file)");
    EXPECT_EQ(refusal("sinks.v.auth = kubernetes"),
              "sinks.v.role: missing (sinks.v.auth = kubernetes logs in as a role)");
    EXPECT_NE(refusal("sinks.v.auth = approle\nsinks.v.roleIdFile = /r")
                  .find("sinks.v.secretIdFile:"
                        " missing"),
              std::string::npos);
    EXPECT_NE(refusal("sinks.v.auth = ldap").find("sinks.v.auth: invalid value"),
              std::string::npos);
}

TEST(VaultSettings, RequiresAddressAndPath)
{
    std::istringstream in("sinks.v.type = vault\nsinks.v.path = a\nsinks.v.tokenFile = /t\n");
    Poco::AutoPtr<Poco::Util::PropertyFileConfiguration> cfg(
        new Poco::Util::PropertyFileConfiguration(in));
    EXPECT_THROW(
        {
            try
            {
                rotator::config::loadSettings(*cfg);
            }
            catch (const ConfigError& e)
            {
                EXPECT_EQ(e.key(), "sinks.v.address");
                throw;
            }
        },
        ConfigError);
    std::istringstream noPath("sinks.v.type = vault\nsinks.v.address = https://v:8200\n"
                              "sinks.v.tokenFile = /t\n");
    Poco::AutoPtr<Poco::Util::PropertyFileConfiguration> cfg2(
        new Poco::Util::PropertyFileConfiguration(noPath));
    try
    {
        rotator::config::loadSettings(*cfg2);
        ADD_FAILURE() << "accepted a vault sink without a path";
    }
    catch (const ConfigError& e)
    {
        EXPECT_EQ(e.key(), "sinks.v.path");
    }
}

TEST(VaultSettings, RefusesTheKeysOfAnotherAuthMethodNamingTheAuthKey)
{
    EXPECT_EQ(refusal("sinks.v.tokenFile = /t\nsinks.v.role = billing"),
              "sinks.v.role: not used with sinks.v.auth = token (the default)");
    EXPECT_EQ(refusal("sinks.v.auth = kubernetes\nsinks.v.role = b\nsinks.v.tokenFile = /t"),
              "sinks.v.tokenFile: not used with sinks.v.auth = kubernetes");
    EXPECT_EQ(refusal("sinks.v.auth = kubernetes\nsinks.v.role = b\nsinks.v.secretIdFile = /s"),
              "sinks.v.secretIdFile: not used with sinks.v.auth = kubernetes");
    EXPECT_EQ(refusal("sinks.v.tokenFile = /t\nsinks.v.authMount = k8s"),
              "sinks.v.authMount: not used with sinks.v.auth = token (the default)");
}

TEST(VaultSettings, RefusesPathsThatLeaveTheMount)
{
    for (const char* bad : {"/apps/billing", "apps/../billing", "apps//billing", "apps/billing/",
                            "..", "apps/bill ing", "apps/%2e%2e"})
    {
        EXPECT_NE(refusal(std::string("sinks.v.tokenFile = /t\nsinks.v.path = ") + bad)
                      .find("sinks.v.path: invalid Vault path"),
                  std::string::npos)
            << bad;
    }
    EXPECT_NE(refusal("sinks.v.tokenFile = /t\nsinks.v.mount = /secret").find("sinks.v.mount:"),
              std::string::npos);
}

TEST(VaultSettings, RefusesPlainHttpBeyondLoopback)
{
    EXPECT_NE(refusal("sinks.v.tokenFile = /t\nsinks.v.address = http://vault.example:8200")
                  .find("sinks.v.address:"),
              std::string::npos);
    EXPECT_EQ(
        vaultSink("sinks.v.tokenFile = /t\nsinks.v.address = http://127.0.0.1:8200").vault.address,
        "http://127.0.0.1:8200");
}

TEST(VaultSettings, KeepsVaultKeysOffOtherSinks)
{
    EXPECT_NE(refusal("sinks.v.tokenFile = /t\nsinks.f.type = file\nsinks.f.path = /x\n"
                      "sinks.f.role = r")
                  .find("sinks.f.role: only for vault sinks"),
              std::string::npos);
}
