#include <gtest/gtest.h>

#include "rotator/config/SettingsLoader.h"
#include "rotator/core/Errors.h"

#include <Poco/AutoPtr.h>
#include <Poco/Util/PropertyFileConfiguration.h>

#include <sstream>

using rotator::config::KubernetesSinkSettings;
using rotator::config::Settings;
using rotator::config::SinkType;
using rotator::core::ConfigError;

namespace
{

const std::string kBase = "credentials.billing.roles = Database Administrator\n"
                          "credentials.billing.maxAge = 30d\ncredentials.billing.gracePeriod = 1h\n"
                          "credentials.billing.sinks = k8s\n"
                          "sinks.k8s.type = kubernetes\n"
                          "sinks.k8s.namespace = billing\n"
                          "sinks.k8s.secret = astra-credentials\n";

Settings load(const std::string& properties)
{
    std::istringstream in(properties);
    Poco::AutoPtr<Poco::Util::PropertyFileConfiguration> cfg(
        new Poco::Util::PropertyFileConfiguration(in));
    return rotator::config::loadSettings(*cfg);
}

/// kBase plus `lines` must fail naming `key`, with `fragment` in the message.
void expectError(const std::string& lines, const std::string& key, const std::string& fragment)
{
    try
    {
        load(kBase + lines);
        ADD_FAILURE() << "no ConfigError; expected one for " << key;
    }
    catch (const ConfigError& e)
    {
        EXPECT_EQ(e.key(), key) << e.what();
        EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
}

} // namespace

TEST(KubernetesKeys, FillsTheInClusterDefaults)
{
    const Settings settings = load(kBase);
    const auto* sink = settings.findSink("k8s");
    ASSERT_NE(sink, nullptr);
    EXPECT_EQ(sink->type, SinkType::Kubernetes);
    EXPECT_EQ(sink->kubernetes.server, "https://kubernetes.default.svc");
    EXPECT_EQ(sink->kubernetes.namespaceName, "billing");
    EXPECT_EQ(sink->kubernetes.secret, "astra-credentials");
    EXPECT_EQ(sink->tokenFile, KubernetesSinkSettings::kServiceAccountToken);
    EXPECT_EQ(sink->caFile, KubernetesSinkSettings::kServiceAccountCa);
    const std::vector<std::pair<std::string, std::string>> keys = {
        {"ASTRA_CLIENT_ID", "clientId"},
        {"ASTRA_CLIENT_SECRET", "secret"},
        {"ASTRA_DB_APPLICATION_TOKEN", "token"}};
    EXPECT_EQ(sink->kubernetes.keys, keys);
    EXPECT_TRUE(sink->kubernetes.restart.empty());
}

TEST(KubernetesKeys, ReadsEveryKey)
{
    const Settings settings =
        load(kBase + "sinks.k8s.server = https://api.cluster.example:6443\n"
                     "sinks.k8s.tokenFile = /etc/rotator/k8s-token\n"
                     "sinks.k8s.keys = token=token, client.id=clientId, ORG_ID=orgId\n"
                     "sinks.k8s.restart = deployment/web, statefulset/db-0.x, daemonset/agent\n");
    const auto& sink = *settings.findSink("k8s");
    EXPECT_EQ(sink.kubernetes.server, "https://api.cluster.example:6443");
    EXPECT_EQ(sink.tokenFile, "/etc/rotator/k8s-token");
    // Another server's CA is not the service account's: no default.
    EXPECT_EQ(sink.caFile, "");
    const std::vector<std::pair<std::string, std::string>> keys = {
        {"token", "token"}, {"client.id", "clientId"}, {"ORG_ID", "orgId"}};
    EXPECT_EQ(sink.kubernetes.keys, keys);
    ASSERT_EQ(sink.kubernetes.restart.size(), 3U);
    EXPECT_EQ(sink.kubernetes.restart[1].kind, "statefulset");
    EXPECT_EQ(sink.kubernetes.restart[1].name, "db-0.x");
}

TEST(KubernetesKeys, RequiresTheNamespaceAndTheSecret)
{
    const std::string base = "credentials.billing.roles = R\ncredentials.billing.maxAge = "
                             "30d\ncredentials.billing.gracePeriod = 1h\n"
                             "credentials.billing.sinks = k8s\nsinks.k8s.type = kubernetes\n";
    for (const auto& [lines, key] : std::vector<std::pair<std::string, std::string>>{
             {"sinks.k8s.secret = s\n", "sinks.k8s.namespace"},
             {"sinks.k8s.namespace = n\n", "sinks.k8s.secret"}})
    {
        try
        {
            load(base + lines);
            ADD_FAILURE() << key;
        }
        catch (const ConfigError& e)
        {
            EXPECT_EQ(e.key(), key);
            EXPECT_NE(std::string(e.what()).find("missing"), std::string::npos) << e.what();
        }
    }
}

TEST(KubernetesKeys, RefusesNamesKubernetesWouldRefuse)
{
    expectError("sinks.k8s.namespace = Billing\n", "sinks.k8s.namespace", "DNS-1123 label");
    expectError("sinks.k8s.namespace = a.b\n", "sinks.k8s.namespace", "DNS-1123 label");
    expectError("sinks.k8s.namespace = " + std::string(64, 'a') + "\n", "sinks.k8s.namespace",
                "63");
    expectError("sinks.k8s.secret = -astra\n", "sinks.k8s.secret", "DNS-1123 subdomain");
    expectError("sinks.k8s.secret = astra..x\n", "sinks.k8s.secret", "DNS-1123 subdomain");
    expectError("sinks.k8s.secret = astra_x\n", "sinks.k8s.secret", "DNS-1123 subdomain");
    expectError("sinks.k8s.secret = " + std::string(254, 'a') + "\n", "sinks.k8s.secret", "253");
}

TEST(KubernetesKeys, RefusesBadKeyMappings)
{
    expectError("sinks.k8s.keys = ASTRA_TOKEN\n", "sinks.k8s.keys", "DATA_KEY=field");
    expectError("sinks.k8s.keys = ASTRA/TOKEN=token\n", "sinks.k8s.keys",
                "not a valid Secret data key");
    expectError("sinks.k8s.keys = T=tokn\n", "sinks.k8s.keys", "did you mean \"token\"");
    expectError("sinks.k8s.keys = T=token, T=secret\n", "sinks.k8s.keys", "listed twice");
}

TEST(KubernetesKeys, RefusesBadRestartTargets)
{
    expectError("sinks.k8s.restart = pod/web\n", "sinks.k8s.restart", "deployment/NAME");
    expectError("sinks.k8s.restart = deployment/\n", "sinks.k8s.restart", "deployment/NAME");
    expectError("sinks.k8s.restart = deployment/Web\n", "sinks.k8s.restart", "deployment/NAME");
}

TEST(KubernetesKeys, RefusesPlainHttpToAnotherHostAndKeysOfOtherSinkTypes)
{
    expectError("sinks.k8s.server = http://api.cluster.example\n", "sinks.k8s.server",
                "plain http");
    expectError("sinks.k8s.server = https://api.cluster.example/k8s\n", "sinks.k8s.server",
                "no path");
    expectError("sinks.k8s.path = /tmp/x\n", "sinks.k8s.path", "only for file");
    expectError("sinks.k8s.fields = token\n", "sinks.k8s.fields", "only for");
}
