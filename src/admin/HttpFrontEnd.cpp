#include "HttpFrontEnd.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <system_error>
#include <thread>
#include <vector>

#include <Poco/Exception.h>

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include "RefusalLog.h"
#include "SocketIo.h"
#include "WorkLane.h"
#include "rotator/admin/AdminServer.h"
#include "rotator/admin/RequestReader.h"
#include "rotator/os/UniqueFd.h"

namespace rotator::admin
{

namespace
{

/// Requests one connection may carry before it is closed, so that no client keeps one forever.
constexpr int kMaxRequestsPerConnection = 100;
/// Connections taken per wake-up, so that reading the open ones is not starved by a flood.
constexpr int kAcceptBatch = 64;
/// Open connections in all (the per-address cap is admin.maxConnectionsPerAddress).
constexpr std::size_t kMaxConnections = 256;
/// Threads for requests outside the reserved paths, and for the reserved paths only.
constexpr int kWorkers = 4;
constexpr int kReservedWorkers = 1;
/// Complete requests waiting for a thread, per lane; one more is answered 503.
constexpr std::size_t kMaxQueued = 32;
/// How long the listening socket is left alone after accept() ran out of descriptors: it stays
/// readable, so polling it meanwhile would spin; the connection waits in the listen queue.
constexpr std::int64_t kAcceptPauseMs = 100;
/// Bytes of an oversized body read and dropped before its 413, so that the close is orderly.
constexpr std::size_t kMaxDiscard = 1024 * 1024;

/// After a closing answer the connection is half-closed and what the client still sends is read
/// and dropped, for this long and up to this much, before the close: closing with unread bytes
/// sends a reset, and a client still writing its body would lose the answer to it.
constexpr std::int64_t kLingerMs = 2'000;
constexpr std::size_t kMaxLingerBytes = 16 * 1024 * 1024;

} // namespace

HttpFrontEnd::HttpFrontEnd(Poco::Net::ServerSocket socket, const config::AdminSettings& settings,
                           Handler handler, LaneOf laneOf, Poco::Logger& log)
    : _socket(std::move(socket)), _deadlineMs(settings.requestDeadlineMs),
      _maxPerAddress(settings.maxConnectionsPerAddress), _handler(std::move(handler)),
      _laneOf(std::move(laneOf)), _log(log), _refusals(log)
{
}

HttpFrontEnd::~HttpFrontEnd()
{
    stop();
}

void HttpFrontEnd::start()
{
    _wake.reset(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
    if (!_wake.valid())
    {
        throw std::system_error(errno, std::generic_category(), "admin API: eventfd");
    }
    _socket.setBlocking(false);
    const auto run = [this](Job& job) { answer(job); };
    _general = std::make_unique<WorkLane>(kWorkers, kMaxQueued, run);
    _probes = std::make_unique<WorkLane>(kReservedWorkers, kMaxQueued, run);
    _thread = std::thread([this] { this->run(); });
}

void HttpFrontEnd::stop()
{
    if (!_thread.joinable())
    {
        return;
    }
    _stopping = true;
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto n = ::write(_wake.get(), &one, sizeof one);
    _thread.join();
    // Workers blocked sending to a client that does not read fail at once.
    for (const auto& [id, c] : _connections)
    {
        ::shutdown(c->fd.get(), SHUT_RDWR);
    }
    _general->stop();
    _probes->stop();
    _connections.clear();
    _perAddress.clear();
    _socket.close();
}

void HttpFrontEnd::run()
{
    std::vector<pollfd> fds;
    std::vector<std::uint64_t> ids;
    while (!_stopping)
    {
        const auto now = nowMs();
        const bool accepting = now >= _acceptPausedUntilMs;
        // A negative descriptor is skipped by poll(2).
        fds.assign({pollfd{_wake.get(), POLLIN, 0},
                    pollfd{accepting ? _socket.impl()->sockfd() : -1, POLLIN, 0}});
        ids.clear();
        std::int64_t wait = accepting ? -1 : _acceptPausedUntilMs - now;
        if (const auto left = _refusals.summaryDueIn(now))
        {
            // The summary of the refusals not logged is due at the end of their window, not
            // with the next refusal, which may never come.
            wait = wait < 0 ? *left : std::min(wait, *left);
        }
        for (const auto& [id, c] : _connections)
        {
            if (c->reading || c->lingering)
            {
                fds.push_back(pollfd{c->fd.get(), POLLIN, 0});
                ids.push_back(id);
                // Past the deadline means after its millisecond (see expire()).
                const auto left = std::max<std::int64_t>(0, c->deadlineMs - now + 1);
                // A minute at most: a deadline far away must not overflow poll's int.
                wait = std::min<std::int64_t>(wait < 0 ? left : std::min(wait, left), 60'000);
            }
        }
        if (::poll(fds.data(), fds.size(), static_cast<int>(wait)) < 0 && errno != EINTR)
        {
            _log.error("admin API: poll failed: %s", std::string(std::strerror(errno)));
            return;
        }
        if (fds[0].revents != 0)
        {
            std::uint64_t count = 0;
            [[maybe_unused]] const auto n = ::read(_wake.get(), &count, sizeof count);
            takeReturned();
        }
        for (std::size_t i = 2; i < fds.size(); ++i)
        {
            if (fds[i].revents != 0)
            {
                readFrom(ids[i - 2]);
            }
        }
        if (fds[1].revents != 0)
        {
            acceptAll();
        }
        expire();
        _refusals.endWindow(nowMs());
    }
}

void HttpFrontEnd::acceptAll()
{
    for (int i = 0; i < kAcceptBatch; ++i)
    {
        sockaddr_storage address{};
        socklen_t length = sizeof address;
        const int fd = ::accept4(_socket.impl()->sockfd(), reinterpret_cast<sockaddr*>(&address),
                                 &length, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0)
        {
            if (_outOfDescriptors)
            {
                _outOfDescriptors = false;
                _log.information("admin API: accepting connections again");
            }
            // Not a connection yet: on an error its descriptor closes as the stack unwinds.
            os::UniqueFd accepted(fd);
            guard(0, [&] { admit(std::move(accepted), peerAddress(address, length)); });
            continue;
        }
        if (errno == EINTR || errno == ECONNABORTED)
        {
            continue;
        }
        if (errno == EMFILE || errno == ENFILE)
        {
            // Out of descriptors: make room, or else leave the listening socket alone for a
            // while. Logged once until a connection is accepted again, not on every retry.
            if (!_outOfDescriptors)
            {
                _outOfDescriptors = true;
                _log.warning("admin API: out of file descriptors (%s); new connections wait "
                             "in the listen queue",
                             std::string(std::strerror(errno)));
            }
            if (!evictOldest(nullptr))
            {
                _acceptPausedUntilMs = nowMs() + kAcceptPauseMs;
            }
        }
        return;
    }
}

std::string HttpFrontEnd::tooMany() const
{
    return "too many connections from this address (admin.maxConnectionsPerAddress = " +
           std::to_string(_maxPerAddress) + ")";
}

void HttpFrontEnd::admit(os::UniqueFd fd, const std::string& address)
{
    const auto held = [&]
    {
        const auto it = _perAddress.find(address);
        return it == _perAddress.end() ? 0 : it->second;
    };
    if (held() >= _maxPerAddress && !evictOldest(&address))
    {
        refuse(fd.get(), address, 503, "too_many_connections", tooMany());
        discardArrived(fd.get());
        return;
    }
    if (_connections.size() >= kMaxConnections && !evictOldest(nullptr))
    {
        refuse(fd.get(), address, 503, "too_many_connections",
               "the admin API has too many open connections");
        discardArrived(fd.get());
        return;
    }
    auto c = std::make_unique<Connection>();
    c->id = ++_nextId;
    c->fd = std::move(fd);
    c->address = address;
    startReading(*c);
    ++_perAddress[address];
    _connections.emplace(c->id, std::move(c));
}

bool HttpFrontEnd::evictOldest(const std::string* address)
{
    // One that has had its answer goes first, and without another.
    for (const auto& [id, c] : _connections)
    {
        if (c->lingering && (address == nullptr || c->address == *address))
        {
            close(id);
            return true;
        }
    }
    // A connection accepted in this batch has not been read yet: a probe that sent its whole
    // request at once looks unfinished until then. So each candidate is read once before it is
    // judged; if that completes its request it is answered and the next oldest is the one.
    std::set<std::uint64_t> read;
    for (;;)
    {
        Connection* oldest = nullptr;
        for (const auto& [id, c] : _connections)
        {
            if (c->reading && (address == nullptr || c->address == *address) &&
                (oldest == nullptr || c->sinceMs < oldest->sinceMs))
            {
                oldest = c.get();
            }
        }
        if (oldest == nullptr)
        {
            return false;
        }
        if (read.insert(oldest->id).second)
        {
            readFrom(oldest->id);
            continue;
        }
        refuse(*oldest, 503, "too_many_connections",
               address != nullptr ? tooMany() + "; this one had not sent a whole request"
                                  : "the admin API has too many open connections");
        return true;
    }
}

void HttpFrontEnd::startReading(Connection& c)
{
    c.reading = true;
    c.sinceMs = nowMs();
    c.deadlineMs = c.sinceMs + _deadlineMs;
    c.arrivedMs = c.pending.empty() ? 0 : c.sinceMs; // a pipelined request is there already
    c.reader = std::make_unique<RequestReader>(AdminServer::kMaxBodyBytes, kMaxDiscard);
}

void HttpFrontEnd::readFrom(std::uint64_t id)
{
    guard(id, [&] { readOnce(id); });
}

void HttpFrontEnd::readOnce(std::uint64_t id)
{
    const auto it = _connections.find(id);
    if (it == _connections.end() || !(it->second->reading || it->second->lingering))
    {
        return; // closed or handed on earlier in this round
    }
    Connection& c = *it->second;
    char buffer[16 * 1024];
    const ssize_t n = ::recv(c.fd.get(), buffer, sizeof buffer, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
    {
        return;
    }
    if (n <= 0)
    {
        close(id); // the client closed (or reset) the connection
        return;
    }
    if (c.lingering)
    {
        c.lingered += static_cast<std::size_t>(n);
        if (c.lingered > kMaxLingerBytes)
        {
            close(id);
        }
        return;
    }
    if (c.arrivedMs == 0)
    {
        c.arrivedMs = nowMs();
    }
    c.pending.append(buffer, static_cast<std::size_t>(n));
    advance(id);
}

void HttpFrontEnd::advance(std::uint64_t id)
{
    // A loop, not recursion: a connection answered here reads its pipelined next request.
    for (;;)
    {
        const auto it = _connections.find(id);
        if (it == _connections.end() || !it->second->reading)
        {
            return;
        }
        Connection& c = *it->second;
        c.pending.erase(0, c.reader->feed(c.pending));
        switch (c.reader->state())
        {
        case RequestReader::State::Done:
            if (!dispatch(c))
            {
                return;
            }
            break;
        case RequestReader::State::Failed:
            refuse(c, c.reader->failureStatus(),
                   c.reader->failureStatus() == 431 ? "header_too_large" : "bad_request",
                   c.reader->failureMessage());
            return;
        case RequestReader::State::Head:
        case RequestReader::State::Body:
            return;
        }
    }
}

bool HttpFrontEnd::dispatch(Connection& c)
{
    auto incoming = std::make_unique<Incoming>();
    incoming->request = c.reader->request();
    incoming->clientHost = c.address;
    incoming->bodyTooLarge = c.reader->bodyTooLarge();
    incoming->arrivedMs = c.arrivedMs;
    try
    {
        incoming->uri.emplace(incoming->request.getURI());
    }
    catch (const Poco::Exception&)
    {
        // left empty: the handler answers 400
    }
    const bool lastRequest = ++c.requests >= kMaxRequestsPerConnection;
    const Lane lane = _laneOf(*incoming);
    if (lane == Lane::Loop)
    {
        // Answered here, so that no queue or busy worker stands in its way. Sent without
        // waiting: a client that does not take a few hundred bytes at once loses its connection.
        bool keepAlive = false;
        if (sendAll(c.fd.get(), prepare(*incoming, lastRequest, keepAlive), 0) && keepAlive)
        {
            startReading(c);
            return true;
        }
        finish(c);
        return false;
    }
    Job job;
    job.id = c.id;
    job.fd = c.fd.get();
    job.lastRequest = lastRequest;
    job.incoming = std::move(incoming);
    c.reading = false;
    if (!(lane == Lane::Reserved ? *_probes : *_general).offer(job))
    {
        refuse(c, 503, "busy", "the admin API is busy; try again in a moment");
    }
    return false;
}

std::string HttpFrontEnd::prepare(const Incoming& incoming, bool lastRequest, bool& keepAlive)
{
    Reply reply;
    try
    {
        reply = _handler(incoming);
    }
    catch (...)
    {
        // The handler catches everything; this only guards the thread.
        _log.error("admin API: handler failed: %s", currentFailure());
        reply = error(500, "internal", "internal error; the daemon's log has the cause");
    }
    if (!incoming.request.getKeepAlive() || incoming.bodyTooLarge || lastRequest || _stopping)
    {
        reply.close = true;
    }
    keepAlive = !reply.close;
    std::string bytes = serializeReply(reply);
    if (incoming.request.getMethod() == Poco::Net::HTTPRequest::HTTP_HEAD)
    {
        bytes.resize(bytes.size() - reply.body.size()); // the head of the GET answer only
    }
    return bytes;
}

void HttpFrontEnd::answer(Job& job)
{
    bool keepAlive = false;
    bool sent = false;
    try
    {
        const std::string bytes = prepare(*job.incoming, job.lastRequest, keepAlive);
        sent = sendAll(job.fd, bytes, nowMs() + _deadlineMs);
    }
    catch (...)
    {
        // Not sent: the loop closes the connection. This worker goes on to the next job.
        _refusals.dropped(job.incoming->clientHost, currentFailure());
    }
    {
        std::lock_guard<std::mutex> lock(_returnedMutex);
        _returned.push_back(Returned{job.id, keepAlive && sent});
    }
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto n = ::write(_wake.get(), &one, sizeof one);
}

void HttpFrontEnd::takeReturned()
{
    std::vector<Returned> returned;
    {
        std::lock_guard<std::mutex> lock(_returnedMutex);
        returned.swap(_returned);
    }
    for (const auto& r : returned)
    {
        const auto it = _connections.find(r.id);
        if (it == _connections.end())
        {
            continue;
        }
        if (!r.keepAlive)
        {
            finish(*it->second);
            continue;
        }
        guard(r.id,
              [&]
              {
                  startReading(*it->second);
                  if (!it->second->pending.empty())
                  {
                      advance(r.id);
                  }
              });
    }
}

void HttpFrontEnd::expire()
{
    const auto now = nowMs();
    std::vector<std::uint64_t> late;
    for (const auto& [id, c] : _connections)
    {
        // Strictly after: the milliseconds are truncated, so at the deadline's own
        // millisecond up to 1 ms of the allowed time may be left.
        if ((c->reading || c->lingering) && c->deadlineMs < now)
        {
            late.push_back(id);
        }
    }
    for (const auto id : late)
    {
        Connection& c = *_connections.at(id);
        if (c.lingering)
        {
            close(id);
        }
        else if (c.reader->started() || !c.pending.empty())
        {
            refuse(c, 408, "request_timeout",
                   "the request was not complete within admin.requestDeadline (" +
                       std::to_string(_deadlineMs) + " ms)");
        }
        else
        {
            close(id); // an idle keep-alive connection
        }
    }
}

void HttpFrontEnd::refuse(Connection& c, int status, const std::string& code,
                          const std::string& message)
{
    // Ended whatever happens; guard() closes it on an error.
    guard(c.id,
          [&]
          {
              refuse(c.fd.get(), c.address, status, code, message);
              finish(c);
          });
}

void HttpFrontEnd::refuse(int fd, const std::string& address, int status, const std::string& code,
                          const std::string& message)
{
    _refusals.refused(nowMs(), address, status, code, message);
    Reply reply = error(status, code, message);
    reply.close = true;
    // Best effort and never waiting: this client is the one that does not keep up.
    sendAll(fd, serializeReply(reply), 0);
}

void HttpFrontEnd::finish(Connection& c)
{
    // The answer is followed by our end of the connection; the client's end is read until it
    // closes it, or the time or the bytes run out.
    ::shutdown(c.fd.get(), SHUT_WR);
    c.reading = false;
    c.lingering = true;
    c.deadlineMs = nowMs() + std::min(kLingerMs, _deadlineMs);
    c.pending.clear();
}

void HttpFrontEnd::guard(std::uint64_t id, const std::function<void()>& step)
{
    try
    {
        step();
    }
    catch (...)
    {
        const auto it = _connections.find(id);
        _refusals.dropped(it != _connections.end() ? it->second->address
                                                   : std::string("a new client"),
                          currentFailure());
        close(id);
    }
}

void HttpFrontEnd::close(std::uint64_t id)
{
    const auto it = _connections.find(id);
    if (it == _connections.end())
    {
        return;
    }
    const auto count = _perAddress.find(it->second->address);
    if (count != _perAddress.end() && --count->second <= 0)
    {
        _perAddress.erase(count);
    }
    _connections.erase(it);
}

} // namespace rotator::admin
