#include "rotator/rotation/PendingFiles.h"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string_view>

#include <fcntl.h>
#include <unistd.h>

#include <Poco/Logger.h>

#include "rotator/core/CpuAccount.h"
#include "rotator/os/AtomicFile.h"
#include "rotator/os/ReadFile.h"
#include "rotator/os/TrustedPath.h"
#include "rotator/os/UniqueFd.h"

namespace rotator::rotation
{

PendingFiles::PendingFiles(std::string directory) : _directory(std::move(directory)) {}

std::string PendingFiles::path(std::int64_t rotationId) const
{
    return _directory + "/" + std::to_string(rotationId) + ".json";
}

core::Outcome<void> PendingFiles::write(std::int64_t rotationId,
                                        const sink::Credential& credential)
{
    const core::cpu_account::Scope account("pending-file");
    core::Secret text(sink::renderJson(credential));
    auto written = os::writeFileAtomically(path(rotationId), text.reveal(), 0600);
    if (!written)
    {
        auto f = written.error();
        f.message = "pending file for rotation " + std::to_string(rotationId) + ": " + f.message;
        return tl::unexpected(std::move(f));
    }
    return {};
}

std::optional<sink::Credential> PendingFiles::read(std::int64_t rotationId,
                                                   const std::string& credentialName) const
{
    const std::string file = path(rotationId);
    // Only a file the rotator wrote holds a secret it minted; anything else planted here
    // (another owner, writable by others, not a file, another hard link) is not used as one.
    const auto fd = os::openPrivateFile(AT_FDCWD, file, O_RDONLY, 0, "pending file", file);
    if (!fd)
    {
        if (fd.error().error == 0)
        {
            Poco::Logger::get("rotation").warning("ignoring %s", fd.error().message);
        }
        return std::nullopt;
    }
    // A credential is a few hundred bytes; a larger file is not one of ours (and will not parse).
    std::string content;
    if (os::readUpTo(fd->fd.get(), 1024 * 1024, content) != 0)
    {
        return std::nullopt;
    }
    core::Secret text(std::move(content));
    return sink::parseCredentialJson(text.reveal(), credentialName);
}

bool PendingFiles::exists(std::int64_t rotationId) const
{
    return ::access(path(rotationId).c_str(), F_OK) == 0;
}

void PendingFiles::remove(std::int64_t rotationId)
{
    const core::cpu_account::Scope account("pending-file");
    if (::unlink(path(rotationId).c_str()) != 0 && errno != ENOENT)
    {
        Poco::Logger::get("rotation")
            .warning("cannot remove %s: %s", path(rotationId), std::string(std::strerror(errno)));
    }
    // No directory fsync: a removal lost to a power cut brings back the file of a finished
    // rotation, which every pass's recovery removes again (and an fsync would not wipe the
    // blocks anyway). Writes are the ones that must be durable.
}

void PendingFiles::removeStaleTemporaries()
{
    os::removeStaleTemporaryFiles(_directory);
}

std::vector<std::int64_t> PendingFiles::list() const
{
    std::vector<std::int64_t> out;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(_directory, ec))
    {
        // `<rotation-id>.json`; any other name is not one of ours and is left alone.
        const auto name = entry.path().filename().string();
        if (name.size() > 5 && name.ends_with(".json"))
        {
            const std::string_view stem = std::string_view(name).substr(0, name.size() - 5);
            std::int64_t id = 0;
            const auto [end, error] = std::from_chars(stem.data(), stem.data() + stem.size(), id);
            if (error == std::errc() && end == stem.data() + stem.size() && id > 0)
            {
                out.push_back(id);
            }
        }
    }
    return out;
}

} // namespace rotator::rotation
