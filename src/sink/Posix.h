#pragma once

// Small POSIX helpers shared by the sink sources. Internal: not part of the public headers.

#include <cerrno>
#include <string>
#include <system_error>

#include <string.h>
#include <unistd.h>

namespace rotator::sink::detail
{

/// Owns one file descriptor and closes it on destruction. Not thread-safe.
class UniqueFd
{
public:
    UniqueFd() = default;
    explicit UniqueFd(int fd) : _fd(fd) {}
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    UniqueFd(UniqueFd&& other) noexcept : _fd(other.release()) {}
    UniqueFd& operator=(UniqueFd&& other) noexcept
    {
        if (this != &other)
        {
            reset(other.release());
        }
        return *this;
    }
    ~UniqueFd() { reset(); }

    int get() const { return _fd; }
    bool valid() const { return _fd >= 0; }
    int release()
    {
        const int fd = _fd;
        _fd = -1;
        return fd;
    }
    /// Closes the current descriptor (if any) and takes `fd`. Returns close()'s errno, or 0.
    int reset(int fd = -1)
    {
        int error = 0;
        if (_fd >= 0 && ::close(_fd) != 0)
        {
            error = errno;
        }
        _fd = fd;
        return error;
    }

private:
    int _fd = -1;
};

/// The text of an errno value, thread-safe (unlike strerror).
inline std::string errnoText(int error)
{
    return std::generic_category().message(error);
}

} // namespace rotator::sink::detail
