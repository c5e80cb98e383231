#include "AtomicFile.h"

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace rotator::sim
{

namespace
{

[[noreturn]] void fail(const std::string& what, const std::string& path, int error)
{
    throw std::runtime_error(what + " " + path + ": " + std::strerror(error));
}

std::string directoryOf(const std::string& path)
{
    const auto slash = path.rfind('/');
    if (slash == std::string::npos)
    {
        return ".";
    }
    return slash == 0 ? "/" : path.substr(0, slash);
}

} // namespace

void writeFileAtomically(const std::string& path, const std::string& content, unsigned mode)
{
    std::string temp = path + ".tmp-XXXXXX";
    const int fd = ::mkstemp(temp.data());
    if (fd < 0)
    {
        fail("cannot create a temp file for", path, errno);
    }
    int error = 0;
    if (::fchmod(fd, static_cast<mode_t>(mode)) != 0)
    {
        error = errno;
    }
    std::size_t written = 0;
    while (error == 0 && written < content.size())
    {
        const ssize_t n = ::write(fd, content.data() + written, content.size() - written);
        if (n < 0 && errno != EINTR)
        {
            error = errno;
        }
        written += n > 0 ? static_cast<std::size_t>(n) : 0;
    }
    if (error == 0 && ::fsync(fd) != 0)
    {
        error = errno;
    }
    if (::close(fd) != 0 && error == 0)
    {
        error = errno;
    }
    if (error == 0 && ::rename(temp.c_str(), path.c_str()) != 0)
    {
        error = errno;
    }
    if (error != 0)
    {
        ::unlink(temp.c_str());
        fail("cannot write", path, error);
    }
    // Make the rename itself durable.
    const int dir = ::open(directoryOf(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir >= 0)
    {
        ::fsync(dir);
        ::close(dir);
    }
}

bool readWholeFile(const std::string& path, std::string& out)
{
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
    {
        if (errno == ENOENT)
        {
            return false;
        }
        fail("cannot read", path, errno);
    }
    out.clear();
    char buffer[4096];
    for (;;)
    {
        const ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n == 0)
        {
            break;
        }
        if (n < 0)
        {
            if (errno == EINTR)
            {
                continue;
            }
            const int error = errno;
            ::close(fd);
            fail("cannot read", path, error);
        }
        out.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return true;
}

} // namespace rotator::sim
