#include "rotator/os/ReadFile.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rotator/core/SecureWipe.h"
#include "rotator/os/UniqueFd.h"

namespace rotator::os
{

namespace
{

/// What a regular file holds now, plus one byte to see end of file (or growth) in the same
/// read; a guess for pipes and special files.
std::size_t firstSize(int fd, std::size_t limit)
{
    std::size_t guess = 4096;
    struct stat st = {};
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size >= 0)
    {
        guess = static_cast<std::size_t>(st.st_size) + 1;
    }
    return std::min(limit, guess);
}

/// Moves the first `used` bytes into storage twice as large (at most `limit`), wiping the old.
void grow(std::string& out, std::size_t used, std::size_t limit)
{
    std::string bigger(std::min(limit, std::max<std::size_t>(out.size() * 2, 4096)), '\0');
    std::memcpy(bigger.data(), out.data(), used);
    core::secureWipe(out);
    out.swap(bigger);
}

} // namespace

int readUpTo(int fd, std::size_t limit, std::string& out)
{
    core::secureWipe(out);
    out.resize(firstSize(fd, limit));
    std::size_t got = 0;
    while (got < limit)
    {
        if (got == out.size())
        {
            grow(out, got, limit);
        }
        const ssize_t n = ::read(fd, out.data() + got, out.size() - got);
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
            core::secureWipe(out);
            return error;
        }
        got += static_cast<std::size_t>(n);
    }
    out.resize(got);
    return 0;
}

int readFile(const std::string& path, std::string& out, std::size_t limit, int openFlags)
{
    core::secureWipe(out);
    const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | openFlags));
    if (!fd.valid())
    {
        return errno;
    }
    return readUpTo(fd.get(), limit, out);
}

std::vector<std::string> entryNames(int dirFd)
{
    std::vector<std::string> names;
    // closedir closes the descriptor fdopendir took; fdopendir takes it only when it succeeds.
    const int copy = ::fcntl(dirFd, F_DUPFD_CLOEXEC, 0);
    if (copy < 0)
    {
        return names;
    }
    DIR* listing = ::fdopendir(copy);
    if (listing == nullptr)
    {
        ::close(copy);
        return names;
    }
    // The duplicate shares `dirFd`'s offset, which an earlier listing left at the end.
    ::rewinddir(listing);
    while (const dirent* entry = ::readdir(listing))
    {
        const std::string_view name = entry->d_name;
        if (name != "." && name != "..")
        {
            names.emplace_back(name);
        }
    }
    ::closedir(listing);
    return names;
}

} // namespace rotator::os
