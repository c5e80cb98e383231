#include "KubernetesKeys.h"
#include "LoaderParts.h"

#include "rotator/config/SettingsLoader.h"
#include "rotator/core/Token.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <limits>

// Every configuration key, with the parser that reads it into Settings. A key that is not
// listed here is an error with a suggestion.

namespace rotator::config::detail
{

namespace
{

/// A Vault path (`sinks.S.path`, `mount`, `namespace`, `authMount`, `role`): segments of
/// `[A-Za-z0-9._@+-]` joined by single `/`, none `.` or `..`, no leading or trailing `/`, so
/// that it goes into a request path as it is and cannot climb out of the mount.
std::string vaultPath(const Entry& e)
{
    std::size_t start = 0;
    while (start <= e.value.size())
    {
        const std::size_t end = std::min(e.value.find('/', start), e.value.size());
        const std::string segment = e.value.substr(start, end - start);
        const bool charsOk =
            std::all_of(segment.begin(), segment.end(),
                        [](char c) {
                            return std::isalnum(static_cast<unsigned char>(c)) != 0 ||
                                   std::strchr("._@+-", c) != nullptr;
                        });
        if (segment.empty() || segment == "." || segment == ".." || !charsOk)
        {
            invalid(e, "Vault path",
                    "names of letters, digits and ._@+- joined by single slashes, without a "
                    "leading or trailing slash, . or .. (e.g. apps/billing)");
        }
        start = end + 1;
    }
    return e.value;
}

// ---------------------------------------------------------------------------------------------
// The key tables

constexpr FixedKey kFixedKeys[] = {
    {"astra.url", [](Settings& s, const Entry& e) { s.astra.url = astraUrl(e); }},
    {"astra.tokenFile", [](Settings& s, const Entry& e) { s.astra.tokenFile = e.value; }},
    {"astra.caFile", [](Settings& s, const Entry& e) { s.astra.caFile = e.value; }},
    {"astra.timeout", [](Settings& s, const Entry& e) { s.astra.timeoutMs = positiveDuration(e); }},
    {"astra.requestDeadline",
     [](Settings& s, const Entry& e) { s.astra.requestDeadlineMs = positiveDuration(e); }},
    {"astra.maxAttempts",
     [](Settings& s, const Entry& e) { s.astra.maxAttempts = integer(e, 1, 20); }},
    {"astra.requestsPerSecond",
     [](Settings& s, const Entry& e) { s.astra.requestsPerSecond = positiveNumber(e); }},
    {"astra.describeTokens",
     [](Settings& s, const Entry& e) { s.astra.describeTokens = boolean(e); }},
    {"astra.propagationTimeout",
     [](Settings& s, const Entry& e) { s.astra.propagationTimeoutMs = duration(e); }},
    {"astra.selfRotation.maxAge",
     [](Settings& s, const Entry& e) { s.astra.selfRotation.maxAgeMs = positiveDuration(e); }},
    {"astra.selfRotation.gracePeriod",
     [](Settings& s, const Entry& e) { s.astra.selfRotation.gracePeriodMs = duration(e); }},
    {"astra.selfRotation.window", [](Settings& s, const Entry& e)
     { s.astra.selfRotation.window = parseWindow(e.value, e.key); }},
    {"astra.selfRotation.jitter",
     [](Settings& s, const Entry& e) { s.astra.selfRotation.jitterMs = duration(e); }},
    {"astra.selfRotation.sinks",
     [](Settings& s, const Entry& e) { s.astra.selfRotation.sinks = list(e, "sink"); }},
    {"state.dir", [](Settings& s, const Entry& e) { s.state.dir = e.value; }},
    {"scheduler.syncInterval",
     [](Settings& s, const Entry& e) { s.scheduler.syncIntervalMs = positiveDuration(e); }},
    {"scheduler.concurrency",
     [](Settings& s, const Entry& e) { s.scheduler.concurrency = integer(e, 1, 64); }},
    {"scheduler.retryBackoff",
     [](Settings& s, const Entry& e) { s.scheduler.retryBackoffMs = positiveDuration(e); }},
    {"scheduler.maxFailures", [](Settings& s, const Entry& e)
     { s.scheduler.maxFailures = integer(e, 1, std::numeric_limits<int>::max()); }},
    {"admin.listen",
     [](Settings& s, const Entry& e)
     {
         const ListenAddress address = parseListenAddress(e.value, e.key);
         s.admin.listen = e.value;
         s.admin.host = address.host;
         s.admin.port = address.port;
     }},
    {"admin.tokenFile", [](Settings& s, const Entry& e) { s.admin.tokenFile = e.value; }},
    {"admin.allowedHosts",
     [](Settings& s, const Entry& e)
     {
         // Compared with the Host header as names: a scheme, path or wildcard never matches.
         s.admin.allowedHosts = list(e, "host");
         for (const auto& host : s.admin.allowedHosts)
         {
             if (host.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                        "0123456789.-_:[]") != std::string::npos)
             {
                 fail(e.key, inQuotes(host) + " is not a host name or IP address (write "
                                              "rotator.example.com, not a URL or a pattern)");
             }
             if (!hostOfHostValue(host)) // what the Host check would never match
             {
                 fail(e.key, inQuotes(host) + " is not HOST or HOST:PORT (IPv6 in brackets, a "
                                              "port of 1 to 5 digits)");
             }
         }
     }},
    {"admin.metricsAuth", [](Settings& s, const Entry& e) { s.admin.metricsAuth = boolean(e); }},
    {"admin.requestDeadline",
     [](Settings& s, const Entry& e)
     {
         // Seconds are plenty for a request or an answer; an hour bounds how long one client
         // may hold a worker, and keeps every wait on the admin API's sockets well inside int.
         s.admin.requestDeadlineMs = positiveDuration(e);
         if (s.admin.requestDeadlineMs > 3'600'000)
         {
             fail(e.key, inQuotes(e.value) + " is longer than 1h, the longest allowed");
         }
     }},
    {"admin.maxConnectionsPerAddress",
     [](Settings& s, const Entry& e) { s.admin.maxConnectionsPerAddress = integer(e, 1, 1024); }},
    {"log.level",
     [](Settings& s, const Entry& e)
     {
         static const std::vector<std::string> kLevels = {
             "fatal", "critical", "error", "warning", "notice", "information", "debug", "trace"};
         const std::string level = detail::toLower(e.value);
         if (std::find(kLevels.begin(), kLevels.end(), level) == kLevels.end())
         {
             invalid(e, "log level", "use " + joined(kLevels));
         }
         s.log.level = level;
     }},
    {"log.file", [](Settings& s, const Entry& e) { s.log.file = e.value; }},
    {"log.format",
     [](Settings& s, const Entry& e) {
         s.log.format =
             choice<LogFormat>(e, {{"text", LogFormat::Text}, {"json", LogFormat::Json}});
     }},
};

constexpr CredentialKey kCredentialKeys[] = {
    {"roles", true, [](CredentialSettings& c, const Entry& e) { c.roles = list(e, "role"); }},
    {"maxAge", true,
     [](CredentialSettings& c, const Entry& e) { c.maxAgeMs = positiveDuration(e); }},
    {"gracePeriod", true,
     [](CredentialSettings& c, const Entry& e) { c.gracePeriodMs = duration(e); }},
    {"sinks", true, [](CredentialSettings& c, const Entry& e) { c.sinks = list(e, "sink"); }},
    {"clientId", false,
     [](CredentialSettings& c, const Entry& e)
     {
         if (!core::isValidClientId(e.value))
         {
             invalid(e, "client ID", "24 letters and digits, as listed by the DevOps API");
         }
         c.clientId = e.value;
     }},
    {"window", false,
     [](CredentialSettings& c, const Entry& e) { c.window = parseWindow(e.value, e.key); }},
    {"jitter", false, [](CredentialSettings& c, const Entry& e) { c.jitterMs = duration(e); }},
    {"expiry", false,
     [](CredentialSettings& c, const Entry& e) { c.expiryMs = positiveDuration(e); }},
    {"verify", false, [](CredentialSettings& c, const Entry& e) { c.verify = boolean(e); }},
};

constexpr SinkKey kSinkKeys[] = {
    {"type", SinkScope::Any,
     [](SinkSettings& s, const Entry& e, std::vector<std::string>&)
     {
         s.type = choice<SinkType>(e, {{"file", SinkType::File},
                                       {"exec", SinkType::Exec},
                                       {"kubernetes", SinkType::Kubernetes},
                                       {"vault", SinkType::Vault},
                                       {"aws-secretsmanager", SinkType::AwsSecretsManager}});
     }},
    {"path", SinkScope::File | SinkScope::Vault,
     [](SinkSettings& s, const Entry& e, std::vector<std::string>&)
     {
         // `type` is applied first: a vault path is a secret's name under the mount.
         if (s.type == SinkType::Vault)
         {
             s.vault.path = vaultPath(e);
             return;
         }
         s.path = absolutePath(e);
     }},
    {"format", SinkScope::File,
     [](SinkSettings& s, const Entry& e, std::vector<std::string>&)
     {
         s.format = choice<SinkFormat>(
             e,
             {{"json", SinkFormat::Json}, {"env", SinkFormat::Env}, {"token", SinkFormat::Token}});
     }},
    {"mode", SinkScope::File,
     [](SinkSettings& s, const Entry& e, std::vector<std::string>&) { s.mode = fileMode(e); }},
    {"owner", SinkScope::File,
     [](SinkSettings& s, const Entry& e, std::vector<std::string>&) { s.owner = e.value; }},
    {"group", SinkScope::File | SinkScope::Exec,
     [](SinkSettings& s, const Entry& e, std::vector<std::string>&) { s.group = e.value; }},
    {"trustDirOwner", SinkScope::File,
     [](SinkSettings& s, const Entry& e, std::vector<std::string>&) { s.trustDirOwner = e.value; }},
    {"command", SinkScope::Exec,
     [](SinkSettings& s, const Entry& e, std::vector<std::string>& warnings)
     { s.command = command(e, warnings); }},
    {"timeout", SinkScope::Exec,
     [](SinkSettings& s, const Entry& e, std::vector<std::string>&)
     { s.timeoutMs = positiveDuration(e); }},
    {"user", SinkScope::Exec,
     [](SinkSettings& s, const Entry& e, std::vector<std::string>&) { s.user = e.value; }},
    {"logOutput", SinkScope::Exec,
     [](SinkSettings& s, const Entry& e, std::vector<std::string>&)
     {
         s.logOutput = choice<HookOutputLog>(e, {{"debug", HookOutputLog::Debug},
                                                 {"information", HookOutputLog::Information},
                                                 {"none", HookOutputLog::None}});
     }},
    // Secret stores: keys several of them share.
    {"caFile", SinkScope::Store,
     [](SinkSettings& s, const Entry& e, std::vector<std::string>&)
     { s.caFile = absolutePath(e); }},
    {"tokenFile", SinkScope::Kubernetes | SinkScope::Vault,
     [](SinkSettings& s, const Entry& e, std::vector<std::string>&)
     { s.tokenFile = absolutePath(e); }},
    {"fields", SinkScope::Vault | SinkScope::Aws,
     [](SinkSettings& s, const Entry& e, std::vector<std::string>&) { s.fields = storeFields(e); }},
    // kubernetes
    {"server", SinkScope::Kubernetes,
     [](SinkSettings& s, const Entry& e, std::vector<std::string>&)
     {
         const std::string tokenKey = e.key.substr(0, e.key.rfind('.')) + ".tokenFile";
         s.kubernetes.server = serviceUrl(e, "the service account token", tokenKey);
     }},
    {"namespace", SinkScope::Kubernetes | SinkScope::Vault,
     [](SinkSettings& s, const Entry& e, std::vector<std::string>&)
     {
         // `type` is applied first: a Kubernetes namespace or a Vault Enterprise namespace.
         if (s.type == SinkType::Vault)
         {
             s.vault.vaultNamespace = vaultPath(e);
             return;
         }
         s.kubernetes.namespaceName = kubernetesNamespace(e);
     }},
    {"secret", SinkScope::Kubernetes,
     [](SinkSettings& s, const Entry& e, std::vector<std::string>&)
     { s.kubernetes.secret = kubernetesSecretName(e); }},
    {"keys", SinkScope::Kubernetes,
     [](SinkSettings& s, const Entry& e, std::vector<std::string>&)
     { s.kubernetes.keys = kubernetesKeys(e); }},
    {"restart", SinkScope::Kubernetes,
     [](SinkSettings& s, const Entry& e, std::vector<std::string>&)
     { s.kubernetes.restart = kubernetesRestart(e); }},
    // vault
    {"address", SinkScope::Vault,
     [](SinkSettings& s, const Entry& e, std::vector<std::string>&)
     { 
         const std::string tokenKey = e.key.substr(0, e.key.rfind('.')) + ".tokenFile";
         s.vault.address = serviceUrl(e, "the Vault token", tokenKey);
     }},
    {"mount", SinkScope::Vault,
     [](SinkSettings& s, const Entry& e, std::vector<std::string>&)
     { s.vault.mount = vaultPath(e); }},
    {"auth", SinkScope::Vault,
     [](SinkSettings& s, const Entry& e, std::vector<std::string>&)
     {
         s.vault.auth = choice<VaultAuth>(e, {{"token", VaultAuth::Token},
                                              {"kubernetes", VaultAuth::Kubernetes},
                                              {"approle", VaultAuth::AppRole}});
     }},
    {"role", SinkScope::Vault,
     [](SinkSettings& s, const Entry& e, std::vector<std::string>&)
     { s.vault.role = vaultPath(e); }},
    {"jwtFile", SinkScope::Vault,
     [](SinkSettings& s, const Entry& e, std::vector<std::string>&)
     { s.vault.jwtFile = absolutePath(e); }},
    {"authMount", SinkScope::Vault,
     [](SinkSettings& s, const Entry& e, std::vector<std::string>&)
     { s.vault.authMount = vaultPath(e); }},
    {"roleIdFile", SinkScope::Vault,
     [](SinkSettings& s, const Entry& e, std::vector<std::string>&)
     { s.vault.roleIdFile = absolutePath(e); }},
    {"secretIdFile", SinkScope::Vault,
     [](SinkSettings& s, const Entry& e, std::vector<std::string>&)
     { s.vault.secretIdFile = absolutePath(e); }},
    // aws-secretsmanager
    {"region", SinkScope::Aws,
     [](SinkSettings& s, const Entry& e, std::vector<std::string>&)
     { s.aws.region = awsRegion(e); }},
    {"secretId", SinkScope::Aws,
     [](SinkSettings& s, const Entry& e, std::vector<std::string>&)
     { s.aws.secretId = awsSecretId(e); }},
    {"endpoint", SinkScope::Aws,
     [](SinkSettings& s, const Entry& e, std::vector<std::string>&)
     { s.aws.endpoint = serviceUrl(e, "AWS credentials", "the AWS credential chain"); }},
    {"kmsKeyId", SinkScope::Aws,
     [](SinkSettings& s, const Entry& e, std::vector<std::string>&) { s.aws.kmsKeyId = e.value; }},
    {"create", SinkScope::Aws,
     [](SinkSettings& s, const Entry& e, std::vector<std::string>&) { s.aws.create = boolean(e); }},
};

} // namespace

std::span<const FixedKey> fixedKeys()
{
    return kFixedKeys;
}

std::span<const CredentialKey> credentialKeys()
{
    return kCredentialKeys;
}

std::span<const SinkKey> sinkKeys()
{
    return kSinkKeys;
}

SinkScope scopeOf(SinkType type)
{
    switch (type)
    {
    case SinkType::File:
        return SinkScope::File;
    case SinkType::Exec:
        return SinkScope::Exec;
    case SinkType::Kubernetes:
        return SinkScope::Kubernetes;
    case SinkType::Vault:
        return SinkScope::Vault;
    case SinkType::AwsSecretsManager:
        return SinkScope::Aws;
    }
    return SinkScope::File;
}

const char* sinkTypeName(SinkType type)
{
    switch (type)
    {
    case SinkType::File:
        return "file";
    case SinkType::Exec:
        return "exec";
    case SinkType::Kubernetes:
        return "kubernetes";
    case SinkType::Vault:
        return "vault";
    case SinkType::AwsSecretsManager:
        return "aws-secretsmanager";
    }
    return "file";
}

std::string scopeText(unsigned scope)
{
    std::vector<std::string> names;
    for (const SinkType type : {SinkType::File, SinkType::Exec, SinkType::Kubernetes,
                                SinkType::Vault, SinkType::AwsSecretsManager})
    {
        if ((scope & scopeOf(type)) != 0)
        {
            names.emplace_back(sinkTypeName(type));
        }
    }
    std::string text;
    for (std::size_t i = 0; i < names.size(); ++i)
    {
        text += (i == 0 ? "" : i + 1 == names.size() ? " and " : ", ") + names[i];
    }
    return text;
}

} // namespace rotator::config::detail
