#pragma once

#include <cerrno>

#include <unistd.h>

namespace rotator::os
{

/// Owns one file descriptor and closes it on destruction (or on `reset`). Movable, not
/// copyable. Not thread-safe.
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
    /// Gives the descriptor up without closing it.
    int release()
    {
        const int fd = _fd;
        _fd = -1;
        return fd;
    }
    /// Closes the current descriptor (if any) and takes `fd`. Returns close()'s errno, or 0:
    /// a writer must see it, since a failed close can be the first report of a lost write.
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

} // namespace rotator::os
