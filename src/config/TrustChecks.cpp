#include "rotator/config/TrustChecks.h"

#include <filesystem>
#include <map>
#include <optional>
#include <tuple>

#include "rotator/core/Errors.h"

namespace rotator::config
{

namespace
{

/// Where a file sink writes: its directory's identity and the name in it.
using FileIdentity = std::tuple<dev_t, ino_t, std::string>;

/// What the two refusals of the admin token as an application credential say after the reason.
const std::string kNotACredential =
    "the admin token cannot be rotated as an application credential (it would be revoked while "
    "the rotator still uses it); rotating it is the job of self-rotation: set "
    "astra.selfRotation.maxAge (README: Rotating the admin token)";

/// The directory of `path` and the name in it; nullopt when the directory cannot be resolved.
/// Links in the directories are followed only if `followLinks` (as the token file is read), and
/// then a link at the file too: what counts is the file it resolves to, which a sink naming
/// that file would replace.
std::optional<FileIdentity> identityOf(const std::string& path, bool followLinks)
{
    // Any owner will do here: whether the directory is trusted is the sink's own check.
    os::TrustRules rules;
    rules.anyOwner = true;
    rules.followLinks = followLinks;
    if (followLinks)
    {
        const auto file = os::openTrustedFile(path, rules, false);
        if (!file)
        {
            return std::nullopt;
        }
        return FileIdentity{file->directory.st.st_dev, file->directory.st.st_ino, file->name};
    }
    const auto slash = path.rfind('/');
    if (slash == std::string::npos)
    {
        return std::nullopt;
    }
    const auto directory =
        os::openTrustedDirectory(slash == 0 ? "/" : path.substr(0, slash), rules);
    if (!directory)
    {
        return std::nullopt;
    }
    return FileIdentity{directory->st.st_dev, directory->st.st_ino, path.substr(slash + 1)};
}

/// Two names for one directory (a bind mount, a second mount of the filesystem) would make two
/// sinks overwrite each other's file: compare what the names resolve to.
void checkDistinctSinkFiles(const Settings& settings)
{
    std::map<FileIdentity, std::string> seen; // identity -> sink name
    const auto tokenFile = settings.astra.tokenFile.empty()
                               ? std::nullopt
                               : identityOf(settings.astra.tokenFile, true);
    for (const auto& sink : settings.sinks)
    {
        if (sink.type != SinkType::File)
        {
            continue;
        }
        const auto identity = identityOf(sink.path, false);
        if (!identity)
        {
            continue;
        }
        if (identity == tokenFile && sink.name != kTokenFileSink)
        {
            throw core::ConfigError("sinks." + sink.name + ".path",
                                    "the file " + sink.path + " is astra.tokenFile (" +
                                        settings.astra.tokenFile +
                                        ", through another name): " + kNotACredential);
        }
        const auto [it, inserted] = seen.emplace(*identity, sink.name);
        if (!inserted)
        {
            throw core::ConfigError(
                "sinks." + sink.name + ".path",
                "the file " + sink.path + " is already written by sink \"" + it->second +
                    "\" (both directories are the same one, through a bind mount or another "
                    "mount of the filesystem); give each sink a file of its own");
        }
    }
}

/// With self-rotation, the admin API's bearer must not be the admin token's file: every
/// self-rotation would replace the bearer the operators' scripts send, and the admin API would
/// hand out the org's most powerful credential to whoever holds the bearer.
void checkBearerIsNotTheTokenFile(const Settings& settings)
{
    if (settings.findCredential(kAdminCredential) == nullptr || settings.admin.tokenFile.empty() ||
        settings.astra.tokenFile.empty())
    {
        return;
    }
    const auto tokenFile = identityOf(settings.astra.tokenFile, true);
    if (tokenFile && identityOf(settings.admin.tokenFile, true) == tokenFile)
    {
        throw core::ConfigError(
            "admin.tokenFile",
            "the file " + settings.admin.tokenFile + " is astra.tokenFile (" +
                settings.astra.tokenFile +
                "), which astra.selfRotation rewrites: each self-rotation would change the admin "
                "API's bearer token; give the admin API a token of its own (a random string in "
                "a file of its own)");
    }
}

} // namespace

os::TrustedFile openInputFile(const std::string& path, const std::string& key, bool readable)
{
    auto file = os::openTrustedInput(path, readable);
    if (!file)
    {
        if (key.empty())
        {
            throw core::ConfigError("", "configuration file " + path +
                                            " (--config): " + file.error().message);
        }
        throw core::ConfigError(key, file.error().message);
    }
    return std::move(*file);
}

void refuseSinkOnAdminTokenFile(const Settings& settings)
{
    if (settings.astra.tokenFile.empty())
    {
        return;
    }
    const std::string tokenFile =
        std::filesystem::path(settings.astra.tokenFile).lexically_normal().string();
    for (const auto& sink : settings.sinks)
    {
        if (sink.type == SinkType::File && sink.path == tokenFile && sink.name != kTokenFileSink)
        {
            throw core::ConfigError("sinks." + sink.name + ".path",
                                    "the file " + sink.path +
                                        " is astra.tokenFile: " + kNotACredential);
        }
    }
}

void refuseAdminClientAsCredential(const Settings& settings, const std::string& adminClientId)
{
    if (adminClientId.empty())
    {
        return;
    }
    for (const auto& c : settings.credentials)
    {
        if (c.clientId == adminClientId)
        {
            throw core::ConfigError("credentials." + c.name + ".clientId",
                                    "client " + c.clientId +
                                        " is the admin token's own client (astra.tokenFile or "
                                        "ASTRA_TOKEN): " +
                                        kNotACredential);
        }
    }
}

void checkTrustedInputs(const Settings& settings, bool storeSinkFiles)
{
    if (!settings.astra.caFile.empty())
    {
        openInputFile(settings.astra.caFile, "astra.caFile", false);
    }
    for (const auto& sink : settings.sinks)
    {
        if (sink.type == SinkType::Exec && !sink.command.empty() && !sink.command.front().empty() &&
            sink.command.front().front() == '/')
        {
            openInputFile(sink.command.front(), "sinks." + sink.name + ".command", false);
        }
        // Decides whom a store sink sends the credential (and its own token) to.
        if (storeSinkFiles && !sink.caFile.empty())
        {
            openInputFile(sink.caFile, "sinks." + sink.name + ".caFile", false);
        }
    }
    for (const auto& n : settings.notifiers)
    {
        // Whoever may change it could make the notifier trust their own webhook receiver.
        if (!n.caFile.empty())
        {
            openInputFile(n.caFile, "notify." + n.name + ".caFile", false);
        }
    }
    checkDistinctSinkFiles(settings);
    checkBearerIsNotTheTokenFile(settings);
}

} // namespace rotator::config
