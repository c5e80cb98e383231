#include "SocketIo.h"

#include <algorithm>
#include <cerrno>
#include <chrono>

#include <Poco/Exception.h>
#include <Poco/Net/SocketAddress.h>

#include <poll.h>

namespace rotator::admin
{

std::int64_t nowMs()
{
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

std::string peerAddress(const sockaddr_storage& address, socklen_t length)
{
    try
    {
        return Poco::Net::SocketAddress(reinterpret_cast<const sockaddr*>(&address), length)
            .host()
            .toString();
    }
    catch (const Poco::Exception&)
    {
        return "?"; // not an IP peer; the listener is IPv4 or IPv6, so this never happens
    }
}

bool sendAll(int fd, const std::string& bytes, std::int64_t deadlineMs)
{
    std::size_t sent = 0;
    while (sent < bytes.size())
    {
        const ssize_t n =
            ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0)
        {
            sent += static_cast<std::size_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR)
        {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        {
            // A minute at a time: a deadline far away must not overflow poll's int.
            const auto left = std::min<std::int64_t>(deadlineMs - nowMs(), 60'000);
            pollfd p{fd, POLLOUT, 0};
            if (left > 0 && ::poll(&p, 1, static_cast<int>(left)) >= 0)
            {
                continue;
            }
        }
        return false;
    }
    return true;
}

void discardArrived(int fd)
{
    char buffer[16 * 1024];
    for (int i = 0; i < 8 && ::recv(fd, buffer, sizeof buffer, MSG_DONTWAIT) > 0; ++i)
    {
    }
}

} // namespace rotator::admin
