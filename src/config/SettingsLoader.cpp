#include "rotator/config/SettingsLoader.h"

#include "KubernetesKeys.h"
#include "LoaderParts.h"
#include "rotator/config/TrustChecks.h"
#include "rotator/core/Duration.h"
#include "rotator/os/ReadFile.h"

#include <Poco/AutoPtr.h>
#include <Poco/Exception.h>
#include <Poco/Util/AbstractConfiguration.h>
#include <Poco/Util/IniFileConfiguration.h>
#include <Poco/Util/JSONConfiguration.h>
#include <Poco/Util/XMLConfiguration.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>

namespace rotator::config
{

using namespace detail;
using Poco::Util::AbstractConfiguration;

namespace
{

void loadFixedSections(const AbstractConfiguration& cfg, Settings& settings)
{
    std::vector<std::string> known;
    for (const auto& row : fixedKeys())
    {
        known.emplace_back(row.key);
    }
    for (const std::string section : {"astra", "state", "scheduler", "admin", "log"})
    {
        std::vector<Entry> leaves;
        collectLeaves(cfg, section, leaves);
        for (const auto& entry : leaves)
        {
            const auto row = std::find_if(fixedKeys().begin(), fixedKeys().end(),
                                          [&](const FixedKey& k) { return entry.key == k.key; });
            if (row == fixedKeys().end())
            {
                unknownFixedKey(entry.key, section, known);
            }
            if (!entry.value.empty())
            {
                row->apply(settings, entry);
            }
        }
    }
    if (settings.admin.metricsAuth && settings.admin.tokenFile.empty())
    {
        fail("admin.metricsAuth", "is true but admin.tokenFile is empty: set admin.tokenFile to "
                                  "the token scrapers send, or admin.metricsAuth = false");
    }
    if (!settings.admin.listen.empty() && settings.admin.tokenFile.empty() &&
        !isLoopbackHost(settings.admin.host))
    {
        settings.warnings.push_back(
            "admin.listen: " + settings.admin.listen +
            " is reachable from other machines and admin.tokenFile is empty: anyone who can "
            "connect may read the inventory and history (POST endpoints stay disabled)");
    }
}

/// The keys a vault sink needs for its `auth`, and no key of another auth method (a role ID
/// file next to `auth = token` is a mistake, not a fallback).
void checkVaultSink(SinkSettings& sink, const std::map<std::string, Entry>& given,
                    const std::string& prefix)
{
    VaultSinkSettings& v = sink.vault;
    if (v.address.empty())
    {
        fail(prefix + "address", "missing (a vault sink needs Vault's https://HOST:PORT)");
    }
    if (v.path.empty())
    {
        fail(prefix + "path", "missing (a vault sink needs the secret's path under the mount)");
    }
    const std::map<std::string, VaultAuth> owner = {
        {"tokenFile", VaultAuth::Token},      {"role", VaultAuth::Kubernetes},
        {"jwtFile", VaultAuth::Kubernetes},   {"roleIdFile", VaultAuth::AppRole},
        {"secretIdFile", VaultAuth::AppRole},
    };
    const auto auth = given.find("auth");
    const std::string authText = auth == given.end() || auth->second.value.empty()
                                     ? std::string("token (the default)")
                                     : auth->second.value;
    for (const auto& [key, method] : owner)
    {
        const auto it = given.find(key);
        if (it != given.end() && !it->second.value.empty() && method != v.auth)
        {
            fail(it->second.key, "not used with " + prefix + "auth = " + authText);
        }
    }
    if (given.count("authMount") != 0 && !given.at("authMount").value.empty() &&
        v.auth == VaultAuth::Token)
    {
        fail(prefix + "authMount", "not used with " + prefix + "auth = " + authText);
    }
    switch (v.auth)
    {
    case VaultAuth::Token:
        if (sink.tokenFile.empty())
        {
            fail(prefix + "tokenFile", "missing (" + prefix + "auth = " + authText +
                                           " reads the Vault token from this file)");
        }
        break;
    case VaultAuth::Kubernetes:
        if (v.role.empty())
        {
            fail(prefix + "role", "missing (" + prefix + "auth = kubernetes logs in as a role)");
        }
        v.authMount = v.authMount.empty() ? "kubernetes" : v.authMount;
        break;
    case VaultAuth::AppRole:
        if (v.roleIdFile.empty() || v.secretIdFile.empty())
        {
            fail(prefix + (v.roleIdFile.empty() ? "roleIdFile" : "secretIdFile"),
                 "missing (" + prefix +
                     "auth = approle reads the role ID and the secret ID "
                     "from files)");
        }
        v.authMount = v.authMount.empty() ? "approle" : v.authMount;
        break;
    }
}

std::vector<SinkSettings> loadSinks(const AbstractConfiguration& cfg, Settings& settings)
{
    std::vector<Entry> leaves;
    collectLeaves(cfg, "sinks", leaves);
    const auto groups = groupByName(leaves, "sinks", "sink", "sinks.billing-file.type");
    const std::vector<std::string> known = namesOf(sinkKeys());
    std::vector<SinkSettings> sinks;
    for (const auto& [name, group] : groups)
    {
        const std::string prefix = "sinks." + name + ".";
        for (const auto& [setting, entry] : group.entries)
        {
            if (std::find(known.begin(), known.end(), setting) == known.end())
            {
                unknownKey(entry.key, prefix, setting, known);
            }
        }
        SinkSettings sink;
        sink.name = name;
        const auto type = group.entries.find("type");
        if (type == group.entries.end() || type->second.value.empty())
        {
            fail(prefix + "type", "missing (file, exec, kubernetes, vault or aws-secretsmanager)");
        }
        for (const auto& row : sinkKeys())
        {
            const auto it = group.entries.find(row.name);
            if (it == group.entries.end() || it->second.value.empty())
            {
                continue;
            }
            if ((row.scope & scopeOf(sink.type)) == 0)
            {
                fail(it->second.key, "only for " + scopeText(row.scope) + " sinks, and " + prefix +
                                         "type is " + type->second.value);
            }
            row.apply(sink, it->second, settings.warnings);
        }
        if (sink.type == SinkType::File && sink.path.empty())
        {
            fail(prefix + "path", "missing (a file sink needs an absolute path)");
        }
        if (sink.type == SinkType::Exec && sink.command.empty())
        {
            fail(prefix + "command", "missing (an exec sink needs a command)");
        }
        if (sink.type == SinkType::Vault)
        {
            checkVaultSink(sink, group.entries, prefix);
        }
        if (sink.type == SinkType::Kubernetes)
        {
            completeKubernetesSink(sink, prefix);
        }
        if (sink.type == SinkType::AwsSecretsManager && sink.aws.region.empty())
        {
            fail(prefix + "region", "missing (an aws-secretsmanager sink needs a region)");
        }
        if (sink.type == SinkType::AwsSecretsManager && sink.aws.secretId.empty())
        {
            fail(prefix + "secretId",
                 "missing (an aws-secretsmanager sink needs the secret's name or ARN)");
        }
        sinks.push_back(std::move(sink));
    }
    for (std::size_t i = 0; i < sinks.size(); ++i)
    {
        for (std::size_t j = 0; j < i; ++j)
        {
            if (sinks[i].type == SinkType::File && sinks[j].type == SinkType::File &&
                sinks[i].path == sinks[j].path)
            {
                fail("sinks." + sinks[i].name + ".path", "the file " + sinks[i].path +
                                                             " is already written by sink " +
                                                             inQuotes(sinks[j].name));
            }
        }
    }
    return sinks;
}

/// The longest a due rotation may have to wait for its window to open, in milliseconds.
std::int64_t longestWaitForWindow(const Window& window)
{
    constexpr int kDay = 24 * 60;
    constexpr int kWeek = 7 * kDay;
    const int length = window.endMinute > window.startMinute
                           ? window.endMinute - window.startMinute
                           : window.endMinute + kDay - window.startMinute;
    std::vector<int> starts;
    for (int day = 0; day < 7; ++day)
    {
        if ((window.days & (1U << day)) != 0)
        {
            starts.push_back(day * kDay + window.startMinute);
        }
    }
    int longest = 0;
    for (std::size_t i = 0; i < starts.size(); ++i)
    {
        const int next = i + 1 < starts.size() ? starts[i + 1] : starts[0] + kWeek;
        longest = std::max(longest, next - (starts[i] + length));
    }
    return static_cast<std::int64_t>(longest) * 60'000;
}

/// Rules that involve several keys of one credential.
void checkCredential(const CredentialSettings& c, std::vector<std::string>& warnings)
{
    const std::string prefix = "credentials." + c.name + ".";
    if (c.gracePeriodMs >= c.maxAgeMs)
    {
        warnings.push_back(prefix + "gracePeriod: " + written(c.gracePeriodMs) +
                           " is not shorter than maxAge " + written(c.maxAgeMs) +
                           ": two clients will be alive most of the time");
    }
    if (c.jitterMs >= c.maxAgeMs)
    {
        fail(prefix + "jitter",
             written(c.jitterMs) + " must be shorter than maxAge " + written(c.maxAgeMs));
    }
    if (c.expiryMs)
    {
        // Saturating: each duration may be up to INT64_MAX ms, and a wrapped sum would let any
        // expiry pass.
        std::int64_t needed = 0;
        if (__builtin_add_overflow(c.maxAgeMs, c.jitterMs, &needed) ||
            __builtin_add_overflow(needed, c.gracePeriodMs, &needed))
        {
            needed = std::numeric_limits<std::int64_t>::max();
        }
        if (*c.expiryMs <= needed)
        {
            fail(prefix + "expiry",
                 written(*c.expiryMs) +
                     " must be longer than maxAge + jitter + "
                     "gracePeriod (" +
                     written(needed) +
                     "), otherwise tokens would expire before being rotated and revoked");
        }
        if (c.window && *c.expiryMs - needed <= longestWaitForWindow(*c.window))
        {
            warnings.push_back(prefix + "expiry: the window " + inQuotes(c.window->text) +
                               " may delay a due rotation by up to " +
                               core::formatAge(longestWaitForWindow(*c.window) / 1000) +
                               ", longer than expiry leaves (" + written(*c.expiryMs - needed) +
                               "): tokens could expire before they are rotated");
        }
    }
}

std::vector<CredentialSettings> loadCredentials(const AbstractConfiguration& cfg,
                                                Settings& settings)
{
    std::vector<Entry> leaves;
    collectLeaves(cfg, "credentials", leaves);
    const auto groups =
        groupByName(leaves, "credentials", "credential", "credentials.billing.maxAge");
    const std::vector<std::string> known = namesOf(credentialKeys());
    std::vector<CredentialSettings> credentials;
    for (const auto& [name, group] : groups)
    {
        const std::string prefix = "credentials." + name + ".";
        for (const auto& [setting, entry] : group.entries)
        {
            if (std::find(known.begin(), known.end(), setting) == known.end())
            {
                unknownKey(entry.key, prefix, setting, known);
            }
        }
        CredentialSettings credential;
        credential.name = name;
        for (const auto& row : credentialKeys())
        {
            const auto it = group.entries.find(row.name);
            if (it != group.entries.end() && !it->second.value.empty())
            {
                row.apply(credential, it->second);
            }
            else if (row.required)
            {
                fail(prefix + row.name,
                     "missing (every credential needs roles, maxAge, gracePeriod and sinks)");
            }
        }
        checkCredential(credential, settings.warnings);
        credentials.push_back(std::move(credential));
    }
    return credentials;
}

/// Rules between credentials and sinks.
void checkReferences(Settings& settings)
{
    std::map<std::string, std::string> fileSinkOwner; // sink name -> credential
    std::map<std::string, std::string> adopted;       // clientId -> credential
    std::set<std::string> used;
    std::vector<std::string> sinkNames;
    for (const auto& sink : settings.sinks)
    {
        sinkNames.push_back(sink.name);
    }
    for (const auto& c : settings.credentials)
    {
        const std::string key = "credentials." + c.name + ".sinks";
        for (const auto& name : c.sinks)
        {
            const SinkSettings* sink = settings.findSink(name);
            if (sink == nullptr)
            {
                const std::string guess = closest(name, sinkNames);
                fail(key, "no sink named " + inQuotes(name) +
                              (guess.empty() ? " (define sinks." + name + ".type)"
                                             : "; did you mean " + guess + "?"));
            }
            used.insert(name);
            if (sink->type == SinkType::File)
            {
                const auto [it, inserted] = fileSinkOwner.emplace(name, c.name);
                if (!inserted)
                {
                    fail(key, "the file sink " + inQuotes(name) +
                                  " is already used by credential " + inQuotes(it->second) +
                                  "; two credentials cannot share one file");
                }
            }
        }
        if (!c.clientId.empty())
        {
            const auto [it, inserted] = adopted.emplace(c.clientId, c.name);
            if (!inserted)
            {
                fail("credentials." + c.name + ".clientId",
                     "client " + c.clientId + " is already adopted by credential " +
                         inQuotes(it->second));
            }
        }
    }
    for (const auto& sink : settings.sinks)
    {
        if (used.count(sink.name) == 0)
        {
            settings.warnings.push_back("sinks." + sink.name + ": not used by any credential");
        }
    }
    if (settings.credentials.empty())
    {
        settings.warnings.push_back(
            "credentials: none configured; the rotator only keeps the inventory");
    }
}

/// `astra.selfRotation.*` as the credential `kAdminCredential`, whose first sink is the token
/// file (`kTokenFileSink`); checkReferences then treats it like any other.
void addAdminCredential(Settings& settings)
{
    const SelfRotationSettings& self = settings.astra.selfRotation;
    const std::string prefix = "astra.selfRotation.";
    if (self.maxAgeMs == 0)
    {
        if (self.window || self.jitterMs != 0 || !self.sinks.empty())
        {
            fail(prefix + "maxAge", "missing: the other astra.selfRotation keys do nothing "
                                    "without it (it turns self-rotation on)");
        }
        return;
    }
    if (settings.astra.tokenFile.empty())
    {
        fail("astra.tokenFile", "is required by astra.selfRotation.maxAge: an admin token from "
                                "ASTRA_TOKEN cannot be rotated, because the rotator has nowhere "
                                "to keep the new one; put the token in a file and name it here");
    }
    if (self.jitterMs >= self.maxAgeMs)
    {
        fail(prefix + "jitter",
             written(self.jitterMs) + " must be shorter than maxAge " + written(self.maxAgeMs));
    }
    if (self.gracePeriodMs >= self.maxAgeMs)
    {
        settings.warnings.push_back(prefix + "gracePeriod: " + written(self.gracePeriodMs) +
                                    " is not shorter than maxAge " + written(self.maxAgeMs) +
                                    ": two admin clients will be alive most of the time");
    }
    CredentialSettings admin;
    admin.name = kAdminCredential;
    admin.maxAgeMs = self.maxAgeMs;
    admin.gracePeriodMs = self.gracePeriodMs;
    admin.window = self.window;
    admin.jitterMs = self.jitterMs;
    admin.adminToken = true;
    admin.sinks.push_back(kTokenFileSink);
    for (const auto& name : self.sinks)
    {
        // Named here under the key the user wrote; checkReferences would say credentials.(admin).
        if (settings.findSink(name) == nullptr)
        {
            fail(prefix + "sinks", "no sink named " + inQuotes(name));
        }
        admin.sinks.push_back(name);
    }
    SinkSettings tokenFile;
    tokenFile.name = kTokenFileSink;
    tokenFile.type = SinkType::File;
    tokenFile.path = std::filesystem::path(settings.astra.tokenFile).lexically_normal().string();
    tokenFile.format = SinkFormat::Token;
    // Names sort after "(": both stay first in their sorted lists.
    settings.sinks.insert(settings.sinks.begin(), std::move(tokenFile));
    settings.credentials.insert(settings.credentials.begin(), std::move(admin));
}

Settings load(const AbstractConfiguration& cfg, bool ownFile)
{
    checkTopLevel(cfg, ownFile);
    Settings settings;
    loadFixedSections(cfg, settings);
    settings.sinks = loadSinks(cfg, settings);             // std::map order: sorted by name
    settings.credentials = loadCredentials(cfg, settings); // likewise
    settings.notifiers = loadNotifiers(cfg);               // likewise
    addAdminCredential(settings);
    checkReferences(settings);
    refuseSinkOnAdminTokenFile(settings);
    return settings;
}

std::string readConfigurationFile(const std::string& path)
{
    // Only root or the rotator's user may be able to change it (or a directory above it).
    os::TrustedFile file = openInputFile(path, "", true);
    std::string content;
    if (const int error = os::readUpTo(file.fd.get(), os::kNoReadLimit, content); error != 0)
    {
        fail("", "cannot read configuration file " + path + ": " + std::strerror(error));
    }
    return content;
}

} // namespace

Settings loadSettings(const AbstractConfiguration& cfg)
{
    return load(cfg, false);
}

Settings loadSettingsFile(const std::string& path)
{
    const std::string extension = detail::toLower(std::filesystem::path(path).extension().string());
    if (extension != ".properties" && extension != ".ini" && extension != ".xml" &&
        extension != ".json")
    {
        fail("", "configuration file " + path +
                     ": unknown format (the name must end in .properties, .ini, .xml or .json)");
    }
    std::istringstream in(readConfigurationFile(path));
    Poco::AutoPtr<AbstractConfiguration> cfg;
    try
    {
        if (extension == ".properties")
        {
            cfg = loadProperties(in);
        }
        else if (extension == ".ini")
        {
            cfg = new Poco::Util::IniFileConfiguration(in);
        }
        else if (extension == ".xml")
        {
            cfg = new Poco::Util::XMLConfiguration(in);
        }
        else
        {
            cfg = new Poco::Util::JSONConfiguration(in);
        }
    }
    catch (const Poco::Exception& ex)
    {
        fail("", "configuration file " + path + ": " + ex.displayText());
    }
    catch (const std::exception& ex)
    {
        fail("", "configuration file " + path + ": " + ex.what());
    }
    return load(*cfg, true);
}

} // namespace rotator::config
