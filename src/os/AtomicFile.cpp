#include "rotator/os/AtomicFile.h"

#include <array>
#include <cstdio>
#include <fstream>
#include <random>
#include <vector>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rotator/core/Secret.h"
#include "rotator/core/SecureWipe.h"
#include "rotator/os/Errno.h"
#include "rotator/os/ReadFile.h"
#include "rotator/os/UniqueFd.h"

namespace rotator::os
{

using core::FailureKind;

namespace
{

std::function<void(const std::string&)>& afterRenameHook()
{
    static std::function<void(const std::string&)> hook;
    return hook;
}

struct SplitPath
{
    std::string dir;
    std::string base;
};

std::optional<SplitPath> splitPath(const std::string& path)
{
    if (path.empty() || path.back() == '/')
    {
        return std::nullopt;
    }
    const auto slash = path.rfind('/');
    SplitPath out;
    if (slash == std::string::npos)
    {
        out.dir = ".";
        out.base = path;
    }
    else
    {
        out.dir = slash == 0 ? "/" : path.substr(0, slash);
        out.base = path.substr(slash + 1);
    }
    if (out.base == "." || out.base == "..")
    {
        return std::nullopt;
    }
    return out;
}

std::string octal(unsigned mode)
{
    std::array<char, 16> buffer{};
    std::snprintf(buffer.data(), buffer.size(), "0%03o", mode);
    return buffer.data();
}

/// Errors a person has to fix; everything else may pass on a later attempt.
FailureKind kindOf(int error)
{
    switch (error)
    {
    case EACCES:
    case EPERM:
    case EROFS:
    case ENOENT:
    case ENOTDIR:
    case EISDIR:
    case ELOOP:
    case ENAMETOOLONG:
    case EXDEV:
    case EBUSY:
    case EINVAL:
    case ENXIO:
    case EOPNOTSUPP:
        return FailureKind::Permanent;
    default:
        return FailureKind::Transient;
    }
}

/// The errno text plus what to do about it.
std::string explain(int error, const std::string& dir)
{
    const std::string text = errnoText(error);
    switch (error)
    {
    case EACCES:
    case EPERM:
        return text + " (the rotator's user needs write and search permission on " + dir + ")";
    case EROFS:
        return text + " (remount it read-write or point the sink elsewhere)";
    case ENOSPC:
        return text + " (free space on the filesystem of " + dir + "; delivery is retried)";
    case EDQUOT:
        return text + " (raise the quota of the rotator's user; delivery is retried)";
    case EIO:
        return text + " (check the disk; delivery is retried)";
    default:
        return text;
    }
}

tl::unexpected<core::Failure> ioFailure(const std::string& path, const std::string& step, int error,
                                        const std::string& dir)
{
    return core::fail(kindOf(error),
                      "cannot write " + path + " (" + step + "): " + explain(error, dir));
}

/// Refuses a target that rename would not treat as a plain file. `st` is from lstat.
std::optional<tl::unexpected<core::Failure>>
refuseTarget(const std::string& path, const struct stat& st, const struct stat& dirSt)
{
    std::string why;
    if (S_ISLNK(st.st_mode))
    {
        why = "it is a symbolic link (the sink never follows links: remove the link and let "
              "the rotator create the file, or point the sink at the real path)";
    }
    else if (S_ISDIR(st.st_mode))
    {
        why = "it is a directory (the sink's path must name a file)";
    }
    else if (!S_ISREG(st.st_mode))
    {
        why = "it is not a regular file (a device, FIFO or socket; point the sink at a file)";
    }
    else if (st.st_dev != dirSt.st_dev)
    {
        why = "it is a mount point (a bind-mounted file cannot be replaced by rename: mount its "
              "directory instead)";
    }
    else
    {
        return std::nullopt;
    }
    return core::fail(FailureKind::Permanent, "refusing to write " + path + ": " + why);
}

/// A directory others may write to lets them replace or remove the credential file after we
/// wrote it (or, without the sticky bit, swap it under our feet): refuse it.
std::optional<tl::unexpected<core::Failure>>
refuseSharedDirectory(const std::string& path, const std::string& dir, const struct stat& dirSt)
{
    if ((dirSt.st_mode & S_IWOTH) == 0)
    {
        return std::nullopt;
    }
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(dirSt.st_mode & 07777));
    return core::fail(FailureKind::Permanent,
                      "refusing to write " + path + ": its directory " + dir +
                          " is writable by others (mode " + mode +
                          "), so anyone could replace the credential file; use a directory "
                          "only its owner (and group) can write, e.g. chmod o-w " +
                          dir);
}

/// Opens the directory, naming it in the failure.
core::Outcome<UniqueFd> openDirectory(const std::string& path, const std::string& dir)
{
    UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (fd.valid())
    {
        return fd;
    }
    const int error = errno;
    if (error == ENOENT)
    {
        return core::fail(FailureKind::Permanent, "cannot write " + path + ": directory " + dir +
                                                      " does not exist (create it, or fix the "
                                                      "sink's path)");
    }
    if (error == ENOTDIR)
    {
        return core::fail(FailureKind::Permanent,
                          "cannot write " + path + ": " + dir + " is not a directory");
    }
    return ioFailure(path, "opening directory " + dir, error, dir);
}

/// True when the target already holds exactly `content` with the wanted mode and owner.
/// Any problem reading it means "no": the write path then reports what is wrong.
bool alreadyHolds(int dirFd, const std::string& base, std::string_view content, unsigned mode,
                  const FileOwner& owner)
{
    UniqueFd fd(::openat(dirFd, base.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
    if (!fd.valid())
    {
        return false;
    }
    struct stat st = {};
    if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode) ||
        (static_cast<unsigned>(st.st_mode) & 07777U) != mode ||
        (owner.uid && st.st_uid != *owner.uid) || (owner.gid && st.st_gid != *owner.gid) ||
        st.st_size < 0 || static_cast<std::size_t>(st.st_size) != content.size())
    {
        return false;
    }
    std::string existing;
    // One byte more than expected, so a file that grew meanwhile does not compare equal.
    if (readUpTo(fd.get(), content.size() + 1, existing) != 0)
    {
        return false;
    }
    const bool same = core::constantTimeEquals(existing, content);
    core::secureWipe(existing);
    return same;
}

// Temporary files a killed writer left behind (`.<base>.tmp-*`, ours only: the state directory
// lock means no other writer of these names runs). They may hold a secret: remove them.
void removeStaleTemporaries(int dirFd, const std::string& dirPath, const std::string& prefix)
{
    DIR* listing = ::opendir(dirPath.c_str());
    if (listing == nullptr)
    {
        return;
    }
    while (const dirent* entry = ::readdir(listing))
    {
        const std::string name = entry->d_name;
        if (name.rfind(prefix, 0) == 0)
        {
            ::unlinkat(dirFd, name.c_str(), 0);
        }
    }
    ::closedir(listing);
}

std::string tempNameFor(const std::string& base)
{
    // Hidden, recognisable, unique; the base is shortened so the name stays under NAME_MAX.
    static thread_local std::mt19937_64 engine{std::random_device{}()};
    std::array<char, 17> suffix{};
    std::snprintf(suffix.data(), suffix.size(), "%016llx",
                  static_cast<unsigned long long>(engine()));
    return "." + base.substr(0, 200) + ".tmp-" + suffix.data();
}

/// Removes the temp file unless it was renamed into place.
class TempFileGuard
{
public:
    TempFileGuard(int dirFd, std::string name) : _dirFd(dirFd), _name(std::move(name)) {}
    TempFileGuard(const TempFileGuard&) = delete;
    TempFileGuard& operator=(const TempFileGuard&) = delete;
    ~TempFileGuard()
    {
        if (_armed)
        {
            ::unlinkat(_dirFd, _name.c_str(), 0);
        }
    }
    void disarm() { _armed = false; }

private:
    int _dirFd;
    std::string _name;
    bool _armed = true;
};

int writeAll(int fd, std::string_view content)
{
    std::size_t written = 0;
    while (written < content.size())
    {
        const ssize_t n = ::write(fd, content.data() + written, content.size() - written);
        if (n < 0)
        {
            if (errno == EINTR)
            {
                continue;
            }
            return errno;
        }
        written += static_cast<std::size_t>(n);
    }
    return 0;
}

std::string ownerText(const FileOwner& owner)
{
    std::string out;
    if (owner.uid)
    {
        out += "uid " + std::to_string(*owner.uid);
    }
    if (owner.gid)
    {
        out += std::string(out.empty() ? "" : ", ") + "gid " + std::to_string(*owner.gid);
    }
    return out;
}

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

tl::unexpected<core::Failure> invalidMode(const std::string& path, unsigned mode)
{
    return core::fail(FailureKind::Permanent,
                      "cannot write " + path + ": mode " + octal(mode) +
                          " carries bits beyond 0777 (setuid, setgid or sticky), which a "
                          "credential file must not have");
}

tl::unexpected<core::Failure> notAFilePath(const std::string& path)
{
    return core::fail(FailureKind::Permanent,
                      "cannot write '" + path + "': not a file path (fix the sink's path)");
}

} // namespace

void detail::setAfterRenameHookForTests(std::function<void(const std::string&)> hook)
{
    afterRenameHook() = std::move(hook);
}

namespace
{

/// The checks a write and a dry-run check share: a file path, a permission-only mode, and an
/// open directory that exists and that others cannot write.
struct TargetDirectory
{
    SplitPath split;
    UniqueFd fd;
    struct stat st = {};
};

core::Outcome<TargetDirectory> openTargetDirectory(const std::string& path, unsigned mode,
                                                   bool allowSharedDirectory)
{
    auto split = splitPath(path);
    if (!split)
    {
        return notAFilePath(path);
    }
    if ((mode & ~0777U) != 0)
    {
        return invalidMode(path, mode);
    }
    auto dirFd = openDirectory(path, split->dir);
    if (!dirFd)
    {
        return tl::make_unexpected(dirFd.error());
    }
    TargetDirectory target{std::move(*split), std::move(*dirFd), {}};
    if (::fstat(target.fd.get(), &target.st) != 0)
    {
        const int error = errno;
        return ioFailure(path, "inspecting directory " + target.split.dir, error, target.split.dir);
    }
    if (allowSharedDirectory)
    {
        return target;
    }
    if (auto refused = refuseSharedDirectory(path, target.split.dir, target.st))
    {
        return *refused;
    }
    return target;
}

} // namespace

core::Outcome<bool> writeFileAtomically(const std::string& path, std::string_view content,
                                        unsigned mode, const FileOwner& owner)
{
    WriteOptions options;
    options.owner = owner;
    return writeFileAtomically(path, content, mode, options);
}

core::Outcome<bool> writeFileAtomically(const std::string& path, std::string_view content,
                                        unsigned mode, const WriteOptions& options)
{
    const FileOwner& owner = options.owner;
    auto target = openTargetDirectory(path, mode, options.allowSharedDirectory);
    if (!target)
    {
        return tl::make_unexpected(target.error());
    }
    const std::string& dir = target->split.dir;
    const std::string& base = target->split.base;
    const UniqueFd* dirFd = &target->fd;
    const struct stat& dirSt = target->st;

    struct stat st = {};
    if (::fstatat(dirFd->get(), base.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0)
    {
        if (auto refused = refuseTarget(path, st, dirSt))
        {
            return *refused;
        }
        if (alreadyHolds(dirFd->get(), base, content, mode, owner))
        {
            return false;
        }
    }
    else if (const int error = errno; error != ENOENT)
    {
        return ioFailure(path, "inspecting the target", error, dir);
    }

    removeStaleTemporaries(dirFd->get(), dir, "." + base.substr(0, 200) + ".tmp-");

    // The temp file: created with the final mode so it is never readable by more than the
    // final file (the umask can only narrow it; fchmod below sets it exactly).
    std::string tempName;
    UniqueFd fd;
    for (int attempt = 0; attempt < 8 && !fd.valid(); ++attempt)
    {
        tempName = tempNameFor(base);
        fd.reset(::openat(dirFd->get(), tempName.c_str(),
                          O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                          static_cast<mode_t>(mode)));
        if (const int error = errno; !fd.valid() && error != EEXIST)
        {
            return ioFailure(path, "creating a temporary file in " + dir, error, dir);
        }
    }
    if (!fd.valid())
    {
        return ioFailure(path, "creating a temporary file in " + dir, EEXIST, dir);
    }
    TempFileGuard guard(dirFd->get(), tempName);

    if ((owner.uid || owner.gid) &&
        ::fchown(fd.get(), owner.uid ? *owner.uid : static_cast<uid_t>(-1),
                 owner.gid ? *owner.gid : static_cast<gid_t>(-1)) != 0)
    {
        const int error = errno;
        return core::fail(kindOf(error), "cannot write " + path + " (setting owner " +
                                             ownerText(owner) + "): " + errnoText(error) +
                                             " (the rotator needs root or CAP_CHOWN to give a "
                                             "file away, or membership of the group)");
    }
    // After fchown: changing the owner may clear mode bits, and the umask may have narrowed it.
    if (::fchmod(fd.get(), static_cast<mode_t>(mode)) != 0)
    {
        const int error = errno;
        return ioFailure(path, "setting mode " + octal(mode), error, dir);
    }
    if (const int error = writeAll(fd.get(), content); error != 0)
    {
        return ioFailure(path, "writing the temporary file", error, dir);
    }
    if (::fsync(fd.get()) != 0)
    {
        const int error = errno;
        return ioFailure(path, "syncing the temporary file", error, dir);
    }
    if (const int error = fd.reset(); error != 0)
    {
        return ioFailure(path, "closing the temporary file", error, dir);
    }
    if (::renameat(dirFd->get(), tempName.c_str(), dirFd->get(), base.c_str()) != 0)
    {
        const int error = errno;
        return ioFailure(path, "renaming the temporary file over it", error, dir);
    }
    guard.disarm();

    // From here on the new file is in place and a reader may already have taken it: a failure
    // is ambiguous ("may hold"), never a reason to revoke the credential it carries.
    const auto mayHold = [](tl::unexpected<core::Failure> failure)
    {
        failure.value().ambiguous = true;
        failure.value().message += "; the new file was already in place";
        return failure;
    };
    // Make the rename durable. Some filesystems cannot sync a directory (EINVAL): nothing to do.
    if (::fsync(dirFd->get()) != 0 && errno != EINVAL)
    {
        const int error = errno;
        return mayHold(ioFailure(path, "syncing directory " + dir, error, dir));
    }

    if (afterRenameHook())
    {
        afterRenameHook()(path);
    }
    UniqueFd check(::openat(dirFd->get(), base.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (!check.valid())
    {
        const int error = errno;
        return mayHold(ioFailure(path, "reading the file back", error, dir));
    }
    std::string readBack;
    if (const int error = readUpTo(check.get(), content.size() + 1, readBack); error != 0)
    {
        return mayHold(ioFailure(path, "reading the file back", error, dir));
    }
    const bool same = core::constantTimeEquals(readBack, content);
    core::secureWipe(readBack);
    if (!same)
    {
        return mayHold(core::fail(FailureKind::Transient,
                                  "cannot write " + path +
                                      ": the file read back after the rename differs from what "
                                      "was written (is another process writing it?)"));
    }
    return true;
}

core::Outcome<void> checkFileWritable(const std::string& path, unsigned mode,
                                      const FileOwner& owner)
{
    auto target = openTargetDirectory(path, mode, false);
    if (!target)
    {
        return tl::make_unexpected(target.error());
    }
    const std::string& dir = target->split.dir;
    const UniqueFd* dirFd = &target->fd;
    const struct stat& dirSt = target->st;
    // Effective ids, as the write will use them; EROFS comes back from here as well.
    if (::faccessat(AT_FDCWD, dir.c_str(), W_OK | X_OK, AT_EACCESS) != 0)
    {
        const int error = errno;
        return ioFailure(path, "creating a temporary file in " + dir, error, dir);
    }
    struct stat st = {};
    if (::fstatat(dirFd->get(), target->split.base.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0)
    {
        if (auto refused = refuseTarget(path, st, dirSt))
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
    UniqueFd dirFd(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dirFd.valid())
    {
        return;
    }
    DIR* listing = ::opendir(directory.c_str());
    if (listing == nullptr)
    {
        return;
    }
    std::vector<std::string> stale;
    while (const dirent* entry = ::readdir(listing))
    {
        const std::string name = entry->d_name;
        if (name.size() > 1 && name[0] == '.' && name.find(".tmp-") != std::string::npos)
        {
            stale.push_back(name);
        }
    }
    ::closedir(listing);
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
