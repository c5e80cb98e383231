#include "rotator/api/ConnectionWatchdog.h"

#include <algorithm>

#include <fcntl.h>
#include <sys/socket.h>

namespace rotator::api
{

ConnectionWatchdog::~ConnectionWatchdog()
{
    {
        const std::lock_guard lock(_mutex);
        _stopping = true;
    }
    _changed.notify_all();
    if (_thread.joinable())
    {
        _thread.join();
    }
}

void ConnectionWatchdog::expire(Watch& watch)
{
    watch._expired = true;
    if (watch._socket.valid())
    {
        ::shutdown(watch._socket.get(), SHUT_RDWR);
    }
}

void ConnectionWatchdog::run()
{
    std::unique_lock lock(_mutex);
    while (!_stopping)
    {
        const auto now = Clock::now();
        auto next = Clock::time_point::max();
        for (Watch* watch : _watches)
        {
            if (watch->_expired)
            {
                continue;
            }
            if (watch->_deadline <= now)
            {
                expire(*watch);
            }
            else
            {
                next = std::min(next, watch->_deadline);
            }
        }
        if (next == Clock::time_point::max())
        {
            _changed.wait(lock);
        }
        else
        {
            _changed.wait_until(lock, next);
        }
    }
}

ConnectionWatchdog::Watch::Watch(ConnectionWatchdog& watchdog, Clock::time_point deadline)
    : _watchdog(watchdog), _deadline(deadline)
{
    {
        const std::lock_guard lock(_watchdog._mutex);
        _entry = _watchdog._watches.insert(_watchdog._watches.end(), this);
        if (!_watchdog._thread.joinable())
        {
            _watchdog._thread = std::thread([&watchdog = _watchdog] { watchdog.run(); });
        }
    }
    _watchdog._changed.notify_all();
}

ConnectionWatchdog::Watch::~Watch()
{
    finish();
}

bool ConnectionWatchdog::Watch::finish()
{
    const std::lock_guard lock(_watchdog._mutex);
    if (!_finished)
    {
        _watchdog._watches.erase(_entry);
        _finished = true;
        _socket.reset();
    }
    return _expired;
}

void ConnectionWatchdog::Watch::setSocket(int fd)
{
    const std::lock_guard lock(_watchdog._mutex);
    _socket.reset(fd >= 0 ? ::fcntl(fd, F_DUPFD_CLOEXEC, 3) : -1);
    if (_expired || Clock::now() >= _deadline)
    {
        expire(*this);
    }
}

bool ConnectionWatchdog::Watch::expired() const
{
    const std::lock_guard lock(_watchdog._mutex);
    return _expired;
}

} // namespace rotator::api
