#include "rotator/config/TrustChecks.h"

#include <map>
#include <tuple>

#include "rotator/core/Errors.h"

namespace rotator::config
{

namespace
{

/// Where a file sink writes: its directory's identity and the name in it.
using FileIdentity = std::tuple<dev_t, ino_t, std::string>;

/// Two names for one directory (a bind mount, a second mount of the filesystem) would make two
/// sinks overwrite each other's file: compare what the names resolve to.
void checkDistinctSinkFiles(const Settings& settings)
{
    std::map<FileIdentity, std::string> seen; // identity -> sink name
    for (const auto& sink : settings.sinks)
    {
        if (sink.type != SinkType::File)
        {
            continue;
        }
        const auto slash = sink.path.rfind('/');
        if (slash == std::string::npos)
        {
            continue;
        }
        // Any owner will do here: whether the directory is trusted is the sink's own check.
        os::TrustRules rules;
        rules.anyOwner = true;
        const auto directory =
            os::openTrustedDirectory(slash == 0 ? "/" : sink.path.substr(0, slash), rules);
        if (!directory)
        {
            continue;
        }
        const FileIdentity identity{directory->st.st_dev, directory->st.st_ino,
                                    sink.path.substr(slash + 1)};
        const auto [it, inserted] = seen.emplace(identity, sink.name);
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

void checkTrustedInputs(const Settings& settings)
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
    }
    checkDistinctSinkFiles(settings);
}

} // namespace rotator::config
