#include "rotator/os/AtomicFile.h"

#include <array>
#include <cstdio>
#include <random>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "AtomicFileParts.h"
#include "FileFailure.h"
#include "rotator/core/Secret.h"
#include "rotator/core/SecureWipe.h"
#include "rotator/os/Errno.h"
#include "rotator/os/ReadFile.h"
#include "rotator/os/UniqueFd.h"

namespace rotator::os
{

using core::FailureKind;
using detail::ioFailure;
using detail::kindOf;

namespace
{

std::function<void(const std::string&)>& afterRenameHook()
{
    static std::function<void(const std::string&)> hook;
    return hook;
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
// lock means no other writer of these names runs). They may hold a secret: remove them. The
// listing reads the open directory, never its path again.
void removeStaleTemporaries(int dirFd, const std::string& prefix)
{
    for (const auto& name : entryNames(dirFd))
    {
        if (name.rfind(prefix, 0) == 0)
        {
            ::unlinkat(dirFd, name.c_str(), 0);
        }
    }
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

std::string idsText(const FileOwner& owner)
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

/// Reads the target back through the directory descriptor. It must still be the inode just
/// renamed into place (`written`) and hold `content`. O_NONBLOCK: a FIFO swapped in after the
/// rename must not block the rotator (holding the state lock, deaf to SIGTERM) until someone
/// writes to it; fstat then refuses it.
core::Outcome<void> readBack(int dirFd, const std::string& path, const std::string& dir,
                             const std::string& base, std::string_view content,
                             const struct stat& written)
{
    UniqueFd check(
        ::openat(dirFd, base.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
    struct stat st = {};
    if (!check.valid() || ::fstat(check.get(), &st) != 0)
    {
        const int error = errno;
        return ioFailure(path, "reading the file back", error, dir);
    }
    if (!S_ISREG(st.st_mode) || st.st_ino != written.st_ino || st.st_dev != written.st_dev)
    {
        return core::fail(FailureKind::Transient,
                          "cannot write " + path +
                              " (reading the file back): it is no longer "
                              "the file just written but " +
                              (S_ISREG(st.st_mode) ? std::string("another file")
                               : S_ISFIFO(st.st_mode)
                                   ? std::string("a FIFO")
                                   : std::string("a device, socket or directory")) +
                              " (another process replaced it: check who can write " + dir + ")");
    }
    std::string text;
    if (const int error = readUpTo(check.get(), content.size() + 1, text); error != 0)
    {
        return ioFailure(path, "reading the file back", error, dir);
    }
    const bool same = core::constantTimeEquals(text, content);
    core::secureWipe(text);
    if (!same)
    {
        return core::fail(FailureKind::Transient,
                          "cannot write " + path +
                              ": the file read back after the rename differs from what "
                              "was written (is another process writing it?)");
    }
    return {};
}

} // namespace

void detail::setAfterRenameHookForTests(std::function<void(const std::string&)> hook)
{
    afterRenameHook() = std::move(hook);
}

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
    auto target = detail::openTargetDirectory(path, mode, options);
    if (!target)
    {
        return tl::make_unexpected(target.error());
    }
    const std::string& dir = target->split.dir;
    const std::string& base = target->split.base;
    const int dirFd = target->fd();

    struct stat st = {};
    if (::fstatat(dirFd, base.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0)
    {
        if (auto refused = detail::refuseTarget(path, st, target->st()))
        {
            return *refused;
        }
        if (alreadyHolds(dirFd, base, content, mode, owner))
        {
            return false;
        }
    }
    else if (const int error = errno; error != ENOENT)
    {
        return ioFailure(path, "inspecting the target", error, dir);
    }

    removeStaleTemporaries(dirFd, "." + base.substr(0, 200) + ".tmp-");

    // The temp file: created with the final mode so it is never readable by more than the
    // final file (the umask can only narrow it; fchmod below sets it exactly).
    std::string tempName;
    UniqueFd fd;
    for (int attempt = 0; attempt < 8 && !fd.valid(); ++attempt)
    {
        tempName = tempNameFor(base);
        fd.reset(::openat(dirFd, tempName.c_str(),
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
    TempFileGuard guard(dirFd, tempName);

    if ((owner.uid || owner.gid) &&
        ::fchown(fd.get(), owner.uid ? *owner.uid : static_cast<uid_t>(-1),
                 owner.gid ? *owner.gid : static_cast<gid_t>(-1)) != 0)
    {
        const int error = errno;
        return core::fail(kindOf(error), "cannot write " + path + " (setting owner " +
                                             idsText(owner) + "): " + errnoText(error) +
                                             " (the rotator needs root or CAP_CHOWN to give a "
                                             "file away, or membership of the group)");
    }
    // After fchown: changing the owner may clear mode bits, and the umask may have narrowed it.
    if (::fchmod(fd.get(), static_cast<mode_t>(mode)) != 0)
    {
        const int error = errno;
        return ioFailure(path, "setting mode " + modeText(mode), error, dir);
    }
    if (const int error = writeAll(fd.get(), content); error != 0)
    {
        return ioFailure(path, "writing the temporary file", error, dir);
    }
    struct stat written = {};
    if (::fsync(fd.get()) != 0 || ::fstat(fd.get(), &written) != 0)
    {
        const int error = errno;
        return ioFailure(path, "syncing the temporary file", error, dir);
    }
    if (const int error = fd.reset(); error != 0)
    {
        return ioFailure(path, "closing the temporary file", error, dir);
    }
    if (::renameat(dirFd, tempName.c_str(), dirFd, base.c_str()) != 0)
    {
        const int error = errno;
        return ioFailure(path, "renaming the temporary file over it", error, dir);
    }
    guard.disarm();

    // From here on the new file is in place and a reader may already have taken it: a failure
    // is ambiguous ("may hold"), never a reason to revoke the credential it carries.
    const auto mayHold = [](core::Failure failure)
    {
        failure.ambiguous = true;
        failure.message += "; the new file was already in place";
        return tl::make_unexpected(std::move(failure));
    };
    // Make the rename durable. Some filesystems cannot sync a directory (EINVAL): nothing to do.
    if (::fsync(dirFd) != 0 && errno != EINVAL)
    {
        const int error = errno;
        return mayHold(ioFailure(path, "syncing directory " + dir, error, dir).value());
    }

    if (afterRenameHook())
    {
        afterRenameHook()(path);
    }
    if (auto checked = readBack(dirFd, path, dir, base, content, written); !checked)
    {
        return mayHold(checked.error());
    }
    return true;
}

} // namespace rotator::os
