#include "rotator/sim/StoreServer.h"

#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <iostream>
#include <map>
#include <mutex>
#include <stdexcept>
#include <tuple>

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/String.h>
#include <Poco/ThreadPool.h>
#include <Poco/URI.h>

#include "Listener.h"
#include "Replies.h"
#include "SimulatorImpl.h"

namespace rotator::sim
{

namespace
{

constexpr std::size_t kMaxStoreBodyBytes = 1024 * 1024;

Reply toReply(const StoreReply& r)
{
    Reply reply;
    reply.status = r.status;
    reply.contentType = r.contentType;
    reply.body = r.body;
    reply.headers = r.headers;
    return reply;
}

} // namespace

std::string StoreRequest::header(std::string_view name) const
{
    for (const auto& [key, value] : headers)
    {
        if (Poco::icompare(key, std::string(name)) == 0)
        {
            return value;
        }
    }
    return {};
}

std::optional<std::string> StoreRequest::queryParam(std::string_view name) const
{
    Poco::URI uri;
    uri.setRawQuery(query);
    for (const auto& [key, value] : uri.getQueryParameters())
    {
        if (key == name)
        {
            return value;
        }
    }
    return std::nullopt;
}

struct StoreServer::Impl
{
    Impl(StoreServerOptions o, StoreHandler h, StoreErrorReply e)
        : options(std::move(o)), handler(std::move(h)), errorReply(std::move(e)), pool(2, 32)
    {
    }

    struct Decision
    {
        std::int64_t delayMs = 0;
        std::optional<FaultRule> answer;
    };

    Decision takeFaults(const std::string& method, const std::string& path)
    {
        std::lock_guard lock(mutex);
        Decision decision;
        for (auto it = faults.begin(); it != faults.end();)
        {
            const bool matches = (it->method == "*" || it->method == method) &&
                                 path.compare(0, it->pathPrefix.size(), it->pathPrefix) == 0;
            if (!matches || (it->kind != FaultKind::Latency && decision.answer))
            {
                ++it;
                continue;
            }
            if (it->kind == FaultKind::Latency)
            {
                decision.delayMs += it->delayMs;
            }
            else
            {
                decision.answer = *it;
            }
            it = (it->count && --*it->count == 0) ? faults.erase(it) : std::next(it);
        }
        return decision;
    }

    bool waitMs(std::int64_t ms)
    {
        std::unique_lock lock(mutex);
        if (ms > 0)
        {
            wake.wait_for(lock, std::chrono::milliseconds(ms), [this] { return stopping; });
        }
        return !stopping;
    }

    void count(const std::string& method, const std::string& route, int status)
    {
        {
            std::lock_guard lock(mutex);
            ++counts[{method, route, status}];
        }
        counted.notify_all();
    }

    std::int64_t countOf(std::string_view method, std::string_view route,
                         std::optional<int> status) const
    {
        std::int64_t total = 0;
        for (const auto& [key, n] : counts)
        {
            const auto& [m, r, s] = key;
            if ((method == "*" || m == method) && r == route && (!status || *status == s))
            {
                total += n;
            }
        }
        return total;
    }

    void log(const std::string& method, const std::string& path, const std::string& outcome)
    {
        if (options.logRequests)
        {
            std::cerr << (options.name + ": " + loggablePath(method) + " " + loggablePath(path) +
                          " " + outcome + "\n")
                      << std::flush;
        }
    }

    void serve(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response)
    {
        StoreRequest in;
        in.method = request.getMethod();
        try
        {
            const Poco::URI uri(request.getURI());
            in.path = uri.getPath();
            in.query = uri.getRawQuery();
            for (const auto& [key, value] : request)
            {
                in.headers.emplace_back(key, value);
            }
            in.body = readBody(request, kMaxStoreBodyBytes);
            if (in.body.size() > kMaxStoreBodyBytes)
            {
                response.setKeepAlive(false);
                send(response, textReply(413, "Request Entity Too Large"));
                return;
            }
            const Decision fault = takeFaults(in.method, in.path);
            if (!waitMs(fault.delayMs))
            {
                dropConnection(request, response); // stopping: answer nothing, touch nothing
                return;
            }
            const FaultKind kind = fault.answer ? fault.answer->kind : FaultKind::Latency;
            const std::string note =
                fault.answer ? std::string(" (fault ") + toString(kind) + ")" : std::string();
            if (kind == FaultKind::Status || kind == FaultKind::RateLimit ||
                kind == FaultKind::TextError)
            {
                Reply reply = kind == FaultKind::TextError
                                  ? faultReply(*fault.answer)
                                  : toReply(errorReply(fault.answer->effectiveStatus()));
                if (kind == FaultKind::RateLimit && fault.answer->retryAfterSeconds)
                {
                    reply.headers.emplace_back("Retry-After",
                                               std::to_string(*fault.answer->retryAfterSeconds));
                }
                count(in.method, in.path, reply.status);
                send(response, reply);
                log(in.method, in.path, std::to_string(reply.status) + note);
                return;
            }
            const StoreReply answer = handler(in);
            const std::string route = answer.route.empty() ? in.path : answer.route;
            Reply reply = toReply(answer);
            if (kind == FaultKind::DropAfterCommit || kind == FaultKind::TlsEofAfterCommit)
            {
                // Counted before the client can see the outcome, so that a test may read the
                // counters as soon as its call returns.
                count(in.method, route, 0);
                kind == FaultKind::DropAfterCommit ? dropConnection(request, response)
                                                   : cutConnection(request, response);
                log(in.method, in.path, "dropped" + note);
                return;
            }
            if (kind == FaultKind::InvalidJson)
            {
                reply = invalidJson(reply);
            }
            count(in.method, route, reply.status);
            if (kind == FaultKind::Trickle)
            {
                const std::int64_t pauseMs =
                    fault.answer->delayMs > 0 ? fault.answer->delayMs : 1000;
                trickle(request, response, reply, [this, pauseMs] { return waitMs(pauseMs); });
            }
            else
            {
                send(response, reply);
            }
            log(in.method, in.path, std::to_string(reply.status) + note);
        }
        catch (const std::exception& e)
        {
            // what() carries no request data: handlers throw naming keys, never values.
            std::cerr << options.name << ": " << in.method << " " << loggablePath(in.path)
                      << " failed: " << e.what() << std::endl;
            if (!response.sent())
            {
                send(response, toReply(errorReply(500)));
            }
        }
    }

    StoreServerOptions options;
    StoreHandler handler;
    StoreErrorReply errorReply;
    mutable std::mutex mutex;
    std::condition_variable wake;
    mutable std::condition_variable counted;
    bool stopping = false;
    std::vector<FaultRule> faults;
    std::map<std::tuple<std::string, std::string, int>, std::int64_t> counts;
    Listener listener;
    Poco::ThreadPool pool; ///< declared before server: the server is destroyed first
    std::unique_ptr<Poco::Net::HTTPServer> server;
};

StoreServer::StoreServer(StoreServerOptions options, StoreHandler handler,
                         StoreErrorReply errorReply)
    : _impl(std::make_unique<Impl>(std::move(options), std::move(handler), std::move(errorReply)))
{
    const auto& o = _impl->options;
    if (!isLoopbackHost(o.host))
    {
        throw std::invalid_argument("listen host '" + o.host +
                                    "' is not a loopback address (127.0.0.0/8, ::1, localhost)");
    }
    if (o.tlsCertFile.empty() != o.tlsKeyFile.empty())
    {
        throw std::invalid_argument("TLS needs both a certificate and a key");
    }
    for (const auto& rule : o.faults)
    {
        validate(rule);
    }
    _impl->faults = o.faults;
    _impl->listener = listenOn(o.host, o.port, o.tlsCertFile, o.tlsKeyFile);
    Poco::Net::HTTPServerParams::Ptr params = new Poco::Net::HTTPServerParams;
    params->setMaxThreads(16);
    params->setMaxQueued(64);
    params->setKeepAlive(true);
    params->setSoftwareVersion(o.name);
    _impl->server = std::make_unique<Poco::Net::HTTPServer>(
        new ServeEveryRequest<StoreServer::Impl>(*_impl), _impl->pool, *_impl->listener.socket, params);
    _impl->server->start();
}

StoreServer::~StoreServer()
{
    stop();
}

void StoreServer::stop()
{
    {
        std::lock_guard lock(_impl->mutex);
        _impl->stopping = true;
    }
    _impl->wake.notify_all();
    if (_impl->server)
    {
        // Wakes Poco's acceptor at once (it polls in 250 ms steps otherwise).
        ::shutdown(_impl->listener.fd, SHUT_RD);
        _impl->server->stopAll(true);
        _impl->pool.joinAll();
        _impl->server.reset();
    }
}

std::uint16_t StoreServer::port() const
{
    return _impl->listener.port;
}

std::string StoreServer::baseUrl() const
{
    return _impl->listener.baseUrl;
}

void StoreServer::addFault(FaultRule rule)
{
    validate(rule);
    std::lock_guard lock(_impl->mutex);
    _impl->faults.push_back(std::move(rule));
}

void StoreServer::clearFaults()
{
    std::lock_guard lock(_impl->mutex);
    _impl->faults.clear();
}

std::int64_t StoreServer::requestCount(std::string_view method, std::string_view route,
                                       std::optional<int> status) const
{
    std::lock_guard lock(_impl->mutex);
    return _impl->countOf(method, route, status);
}

bool StoreServer::waitForRequests(std::string_view method, std::string_view route, std::int64_t n,
                                  std::int64_t timeoutMs) const
{
    std::unique_lock lock(_impl->mutex);
    return _impl->counted.wait_for(lock, std::chrono::milliseconds(timeoutMs),
                                   [&] { return _impl->countOf(method, route, {}) >= n; });
}

void StoreServer::resetCounts()
{
    std::lock_guard lock(_impl->mutex);
    _impl->counts.clear();
}

} // namespace rotator::sim
