#include "rotator/store/StateDir.h"

#include <cerrno>
#include <cstring>
#include <string>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rotator/core/Errors.h"

namespace rotator::store
{

namespace
{

void makePrivateDir(const std::string& path)
{
    if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST)
    {
        throw core::StoreError("cannot create state directory " + path + ": " +
                               std::strerror(errno));
    }
    struct stat st
    {
    };
    if (::stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    {
        throw core::StoreError(path + " is not a directory");
    }
    if ((st.st_mode & 0077) != 0 && ::chmod(path.c_str(), 0700) != 0)
    {
        throw core::StoreError("cannot restrict " + path + " to mode 0700: " +
                               std::strerror(errno));
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
    makePrivateDir(_path);
    makePrivateDir(pendingDir());
}

void StateDir::lock()
{
    const std::string lockPath = _path + "/lock";
    const int fd = ::open(lockPath.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
    {
        throw core::StoreError("cannot open " + lockPath + ": " + std::strerror(errno));
    }
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
