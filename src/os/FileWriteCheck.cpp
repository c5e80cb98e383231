// checkFileWritable and removeStaleTemporaryFiles of AtomicFile.h: what is known before a write.

#include <fstream>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "AtomicFileParts.h"
#include "FileFailure.h"
#include "rotator/os/AtomicFile.h"
#include "rotator/os/ReadFile.h"
#include "rotator/os/UniqueFd.h"

namespace rotator::os
{

using core::FailureKind;
using detail::ioFailure;

namespace
{

/// True when the effective capability set holds CAP_CHOWN (bit 0); root usually does.
bool hasCapChown()
{
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line))
    {
        if (line.rfind("CapEff:", 0) == 0)
        {
            try
            {
                return (std::stoull(line.substr(7), nullptr, 16) & 1ULL) != 0;
            }
            catch (const std::exception&)
            {
                break;
            }
        }
    }
    return ::geteuid() == 0;
}

bool memberOf(gid_t gid)
{
    if (::getegid() == gid)
    {
        return true;
    }
    const int count = ::getgroups(0, nullptr);
    if (count <= 0)
    {
        return false;
    }
    std::vector<gid_t> groups(static_cast<std::size_t>(count));
    const int got = ::getgroups(count, groups.data());
    for (int i = 0; i < got; ++i)
    {
        if (groups[static_cast<std::size_t>(i)] == gid)
        {
            return true;
        }
    }
    return false;
}

} // namespace

core::Outcome<void> checkFileWritable(const std::string& path, unsigned mode,
                                      const FileOwner& owner)
{
    WriteOptions options;
    options.owner = owner;
    return checkFileWritable(path, mode, options);
}

core::Outcome<void> checkFileWritable(const std::string& path, unsigned mode,
                                      const WriteOptions& options)
{
    const FileOwner& owner = options.owner;
    auto target = detail::openTargetDirectory(path, mode, options);
    if (!target)
    {
        return tl::make_unexpected(target.error());
    }
    const std::string& dir = target->split.dir;
    // Effective ids, as the write will use them; EROFS comes back from here as well.
    if (::faccessat(target->fd(), ".", W_OK | X_OK, AT_EACCESS) != 0)
    {
        const int error = errno;
        return ioFailure(path, "creating a temporary file in " + dir, error, dir);
    }
    struct stat st = {};
    if (::fstatat(target->fd(), target->split.base.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0)
    {
        if (auto refused = detail::refuseTarget(path, st, target->st()))
        {
            return *refused;
        }
    }
    else if (const int error = errno; error != ENOENT)
    {
        return ioFailure(path, "inspecting the target", error, dir);
    }
    const bool mayChown = hasCapChown();
    if (owner.uid && *owner.uid != ::geteuid() && !mayChown)
    {
        return core::fail(FailureKind::Permanent,
                          "cannot write " + path + " (setting owner uid " +
                              std::to_string(*owner.uid) + "): the rotator runs as uid " +
                              std::to_string(::geteuid()) +
                              " without CAP_CHOWN (run it as root, or drop the owner setting)");
    }
    if (owner.gid && !memberOf(*owner.gid) && !mayChown)
    {
        return core::fail(FailureKind::Permanent,
                          "cannot write " + path + " (setting group gid " +
                              std::to_string(*owner.gid) +
                              "): the rotator is not a member of that group and lacks CAP_CHOWN "
                              "(add it to the group, or drop the group setting)");
    }
    return {};
}

void removeStaleTemporaryFiles(const std::string& directory)
{
    UniqueFd dirFd(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!dirFd.valid())
    {
        return;
    }
    std::vector<std::string> stale;
    for (auto& name : entryNames(dirFd.get()))
    {
        if (name.size() > 1 && name[0] == '.' && name.find(".tmp-") != std::string::npos)
        {
            stale.push_back(std::move(name));
        }
    }
    for (const auto& name : stale)
    {
        ::unlinkat(dirFd.get(), name.c_str(), 0);
    }
    if (!stale.empty())
    {
        ::fsync(dirFd.get());
    }
}

} // namespace rotator::os
