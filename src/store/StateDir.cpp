#include "rotator/store/StateDir.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rotator/core/Errors.h"
#include "rotator/os/TrustedPath.h"
#include "rotator/os/UniqueFd.h"

namespace rotator::store
{

namespace
{

[[noreturn]] void refuse(const std::string& problem)
{
    throw core::ConfigError("state.dir", problem);
}

/// Creates `name` in the directory `parentFd` (mode 0700) or takes the existing one, which must
/// be a directory of the rotator's user that nobody else can write, and narrows a mode that
/// lets others read it. Returns it open.
os::UniqueFd makePrivateDir(int parentFd, const std::string& name, const std::string& path,
                            const std::string& what)
{
    if (::mkdirat(parentFd, name.c_str(), 0700) != 0 && errno != EEXIST)
    {
        throw core::StoreError("cannot create " + what + " " + path + ": " + std::strerror(errno));
    }
    auto fd = os::openPrivateFile(parentFd, name, O_RDONLY | O_DIRECTORY, 0, what, path);
    if (!fd)
    {
        if (fd.error().error == 0)
        {
            refuse(fd.error().message);
        }
        if (fd.error().error == ENOTDIR)
        {
            refuse(what + " " + path + " is not a directory");
        }
        throw core::StoreError("cannot open " + what + " " + path + ": " +
                               std::strerror(fd.error().error));
    }
    if ((fd->st.st_mode & 0077) != 0 && ::fchmod(fd->fd.get(), 0700) != 0)
    {
        throw core::StoreError("cannot restrict " + path + " to mode 0700: " +
                               std::strerror(errno));
    }
    return std::move(fd->fd);
}

/// A file of the state directory that exists must be the rotator's alone: whoever else owns or
/// can write the database could edit the journal and make the rotator revoke any client.
void checkPrivateFile(int dirFd, const std::string& name, const std::string& path,
                      const std::string& what)
{
    struct stat st = {};
    if (::fstatat(dirFd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
    {
        if (errno == ENOENT)
        {
            return;
        }
        throw core::StoreError("cannot inspect " + path + ": " + std::strerror(errno));
    }
    if (auto problem = os::privateEntryProblem(what, path, st))
    {
        refuse(*problem);
    }
}

} // namespace

StateDir::StateDir(std::string path) : _path(std::move(path)) {}

StateDir::~StateDir()
{
    if (_lockFd >= 0)
    {
        ::close(_lockFd);
    }
}

void StateDir::prepare()
{
    // Every directory above it must be trusted too, or its owner could swap the state
    // directory for one of their own.
    std::filesystem::path path = std::filesystem::path(_path).lexically_normal();
    if (!path.has_filename())
    {
        path = path.parent_path(); // "state/"
    }
    const std::string name = path.filename().string();
    if (name.empty() || name == "..")
    {
        refuse("state directory " + _path + " must name a directory (not end in ..)");
    }
    // A root-owned sticky parent (/tmp) is fine: the state directory itself must be ours, and
    // only its owner may rename it there.
    os::TrustRules rules;
    rules.stickyLastDirectory = true;
    const auto parent = os::openTrustedDirectory(path.parent_path().string(), rules);
    if (!parent)
    {
        refuse("state directory " + _path + ": " + parent.error().message);
    }
    const os::UniqueFd dir = makePrivateDir(parent->fd.get(), name, _path, "state directory");
    const os::UniqueFd pending = makePrivateDir(dir.get(), "pending", pendingDir(), "directory");
    for (const char* file : {"rotator.db", "rotator.db-wal", "rotator.db-shm", "lock"})
    {
        checkPrivateFile(dir.get(), file, _path + "/" + file, "file");
    }
}

void StateDir::lock()
{
    const std::string lockPath = _path + "/lock";
    // Judged on the descriptor: prepare's look at the path may be stale by now.
    auto opened = os::openPrivateFile(AT_FDCWD, lockPath, O_RDWR | O_CREAT, 0600, "file", lockPath);
    if (!opened)
    {
        if (opened.error().error == 0)
        {
            refuse(opened.error().message);
        }
        throw core::StoreError(opened.error().message);
    }
    const int fd = opened->fd.release();
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0)
    {
        const int err = errno;
        char buf[32] = {};
        const ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
        ::close(fd);
        std::string holder = n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "";
        while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' '))
        {
            holder.pop_back();
        }
        if (err == EWOULDBLOCK)
        {
            throw core::StoreError("another astra-rotator" +
                                   (holder.empty() ? std::string() : " (pid " + holder + ")") +
                                   " is working on " + _path +
                                   "; only one process may change a state directory");
        }
        throw core::StoreError("cannot lock " + lockPath + ": " + std::strerror(err));
    }
    const std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd, 0) == 0)
    {
        // The PID is informational only; the flock is what excludes.
        [[maybe_unused]] const ssize_t written = ::pwrite(fd, pid.data(), pid.size(), 0);
    }
    _lockFd = fd;
}

} // namespace rotator::store
