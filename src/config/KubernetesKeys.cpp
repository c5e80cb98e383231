#include "KubernetesKeys.h"

#include <algorithm>

namespace rotator::config::detail
{

namespace
{

bool isLowerAlnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

} // namespace

bool isDns1123Label(const std::string& name)
{
    return !name.empty() && name.size() <= 63 && isLowerAlnum(name.front()) &&
           isLowerAlnum(name.back()) &&
           std::all_of(name.begin(), name.end(),
                       [](char c) { return isLowerAlnum(c) || c == '-'; });
}

bool isDns1123Subdomain(const std::string& name)
{
    if (name.empty() || name.size() > 253)
    {
        return false;
    }
    std::size_t start = 0;
    while (true)
    {
        const std::size_t dot = name.find('.', start);
        const std::string label = name.substr(start, dot - start);
        // Each label: alphanumeric at both ends, dashes inside (no length limit of its own).
        if (label.empty() || !isLowerAlnum(label.front()) || !isLowerAlnum(label.back()) ||
            !std::all_of(label.begin(), label.end(),
                         [](char c) { return isLowerAlnum(c) || c == '-'; }))
        {
            return false;
        }
        if (dot == std::string::npos)
        {
            return true;
        }
        start = dot + 1;
    }
}

bool isSecretDataKey(const std::string& key)
{
    return !key.empty() && key.size() <= 253 &&
           std::all_of(key.begin(), key.end(),
                       [](char c)
                       {
                           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                                  (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
                       });
}

std::string kubernetesNamespace(const Entry& e)
{
    if (!isDns1123Label(e.value))
    {
        invalid(e, "namespace",
                "a DNS-1123 label: at most 63 lower-case letters, digits and '-', starting and "
                "ending with a letter or digit");
    }
    return e.value;
}

std::string kubernetesSecretName(const Entry& e)
{
    if (!isDns1123Subdomain(e.value))
    {
        invalid(e, "Secret name",
                "a DNS-1123 subdomain: at most 253 lower-case letters, digits, '-' and '.', "
                "each dot-separated part starting and ending with a letter or digit");
    }
    return e.value;
}

std::vector<std::pair<std::string, std::string>> kubernetesKeys(const Entry& e)
{
    std::vector<std::pair<std::string, std::string>> keys;
    for (const auto& item : list(e, "key mapping"))
    {
        const std::size_t eq = item.find('=');
        if (eq == std::string::npos)
        {
            fail(e.key, inQuotes(item) + " is not DATA_KEY=field (e.g. ASTRA_CLIENT_ID=clientId)");
        }
        std::string key = item.substr(0, eq);
        std::string field = item.substr(eq + 1);
        key.erase(key.find_last_not_of(' ') + 1);
        field.erase(0, field.find_first_not_of(' '));
        if (!isSecretDataKey(key))
        {
            fail(e.key, inQuotes(key) +
                            " is not a valid Secret data key (letters, digits, '-', '.', '_')");
        }
        // The field names are checked by the reader of sinks.S.fields.
        const std::vector<std::string> checked = storeFields(Entry{e.key, field});
        for (const auto& [seen, _] : keys)
        {
            if (seen == key)
            {
                fail(e.key, "the data key " + inQuotes(key) + " is listed twice");
            }
        }
        keys.emplace_back(std::move(key), checked.front());
    }
    return keys;
}

std::vector<KubernetesRestartTarget> kubernetesRestart(const Entry& e)
{
    std::vector<KubernetesRestartTarget> targets;
    for (const auto& item : list(e, "restart target"))
    {
        const std::size_t slash = item.find('/');
        const std::string kind = item.substr(0, slash);
        const std::string name = slash == std::string::npos ? "" : item.substr(slash + 1);
        if ((kind != "deployment" && kind != "statefulset" && kind != "daemonset") ||
            !isDns1123Subdomain(name))
        {
            fail(e.key, inQuotes(item) +
                            " is not deployment/NAME, statefulset/NAME or daemonset/NAME (a "
                            "lower-case DNS-1123 name in the sink's namespace)");
        }
        targets.push_back(KubernetesRestartTarget{kind, name});
    }
    return targets;
}

void completeKubernetesSink(SinkSettings& sink, const std::string& prefix)
{
    auto& k = sink.kubernetes;
    if (k.namespaceName.empty())
    {
        fail(prefix + "namespace", "missing (a kubernetes sink needs the Secret's namespace)");
    }
    if (k.secret.empty())
    {
        fail(prefix + "secret", "missing (a kubernetes sink needs the Secret's name)");
    }
    if (sink.tokenFile.empty())
    {
        sink.tokenFile = KubernetesSinkSettings::kServiceAccountToken;
    }
    // The service account's CA signs only the in-cluster server's certificate.
    if (sink.caFile.empty() && k.server == KubernetesSinkSettings::kInClusterServer)
    {
        sink.caFile = KubernetesSinkSettings::kServiceAccountCa;
    }
    if (k.keys.empty())
    {
        k.keys = {{"ASTRA_CLIENT_ID", "clientId"},
                  {"ASTRA_CLIENT_SECRET", "secret"},
                  {"ASTRA_DB_APPLICATION_TOKEN", "token"}};
    }
}

} // namespace rotator::config::detail
