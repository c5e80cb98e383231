#include "rotator/sim/Simulator.h"

#include <chrono>
#include <iostream>
#include <stdexcept>

#include <sys/socket.h>

#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequestImpl.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/IPAddress.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/Net/SecureStreamSocketImpl.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/TCPServer.h>
#include <Poco/URI.h>

#include "Files.h"
#include "Listener.h"
#include "Replies.h"
#include "SimulatorImpl.h"
#include "rotator/core/Time.h"
#include "rotator/core/Token.h"

namespace rotator::sim
{

namespace
{

constexpr std::size_t kMaxBodyBytes = 64 * 1024;
constexpr const char* kBootstrapDescription = "astra-devops-sim bootstrap admin";

/// Counts accepted connections and lets every one through.
class CountingFilter final : public Poco::Net::TCPServerConnectionFilter
{
public:
    explicit CountingFilter(std::atomic<std::int64_t>& count) : _count(count) {}
    bool accept(const Poco::Net::StreamSocket&) override
    {
        ++_count;
        return true;
    }

private:
    std::atomic<std::int64_t>& _count;
};

void validateOptions(const SimulatorOptions& o)
{
    if (!isLoopbackHost(o.host))
    {
        throw std::invalid_argument("listen host '" + o.host +
                                    "' is not a loopback address (127.0.0.0/8, ::1, localhost)");
    }
    if (o.tlsCertFile.empty() != o.tlsKeyFile.empty())
    {
        throw std::invalid_argument("TLS needs both a certificate and a key");
    }
    if (o.deleteStatus != 204 && o.deleteStatus != 200)
    {
        throw std::invalid_argument("delete status must be 204 or 200");
    }
    if (o.deleteUnknownStatus != 404 && o.deleteUnknownStatus != 204 &&
        o.deleteUnknownStatus != 400)
    {
        throw std::invalid_argument("delete-unknown status must be 404, 204 or 400");
    }
    if (o.latencyMs < 0 || o.propagationDelayMs < 0)
    {
        throw std::invalid_argument("latency and propagation delay must not be negative");
    }
    for (const auto& rule : o.faults)
    {
        validate(rule);
    }
}

} // namespace

// ---------------------------------------------------------------------------------------------
// Impl: lifecycle

Simulator::Impl::Impl(SimulatorOptions options) : _options(std::move(options)), _pool(2, 32)
{
    validateOptions(_options);
    _clock = _options.clock ? _options.clock : std::make_shared<core::SystemClock>();
    _faults = _options.faults;
    _latencyMs = _options.latencyMs;
    _propagationDelayMs = _options.propagationDelayMs;

    std::string state;
    if (!_options.stateFile.empty() && readWholeFile(_options.stateFile, state))
    {
        try
        {
            _org = Org::fromJson(state);
        }
        catch (const std::exception& e)
        {
            throw std::runtime_error("state file " + _options.stateFile + ": " + e.what());
        }
    }
    else
    {
        _org = Org::withDefaultRoles(_options.seed);
    }
    bootstrapAdmin();
    persist();
    startServer();
}

Simulator::Impl::~Impl()
{
    stop();
}

void Simulator::Impl::bootstrapAdmin()
{
    std::string text;
    if (!_options.adminTokenFile.empty() && readWholeFile(_options.adminTokenFile, text))
    {
        while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' '))
        {
            text.pop_back();
        }
        core::Secret previous(std::move(text));
        const std::string hash = core::sha256Hex(previous.reveal());
        if (_org.findByTokenHash(hash) != nullptr)
        {
            // A restart with a state file keeps the admin token the operator already has.
            _adminToken = std::move(previous);
            _adminTokenSha256 = hash;
            return;
        }
    }
    const SimRole* admin = _org.findRoleByName("Organization Administrator");
    if (admin == nullptr)
    {
        throw std::runtime_error("the org has no 'Organization Administrator' role");
    }
    SimClient templ;
    templ.roles = {admin->id};
    templ.generatedOnNanos = _clock->nowMs() * 1'000'000;
    templ.description = kBootstrapDescription;
    MintedClient minted = _org.mint(std::move(templ));
    _adminToken = std::move(minted.token);
    _adminTokenSha256 = minted.client.tokenSha256;
    if (!_options.adminTokenFile.empty())
    {
        writeFileAtomically(_options.adminTokenFile, _adminToken.reveal() + "\n", 0600);
    }
}

void Simulator::Impl::startServer()
{
    Listener listener =
        listenOn(_options.host, _options.port, _options.tlsCertFile, _options.tlsKeyFile);
    _listenerFd = listener.fd;
    _port = listener.port;
    _baseUrl = listener.baseUrl;

    Poco::Net::HTTPServerParams::Ptr params = new Poco::Net::HTTPServerParams;
    params->setMaxThreads(16);
    params->setMaxQueued(64);
    params->setKeepAlive(true);
    params->setSoftwareVersion("astra-devops-sim");
    _server = std::make_unique<Poco::Net::HTTPServer>(new ServeEveryRequest<Simulator::Impl>(*this), _pool,
                                                      *listener.socket, params);
    _server->setConnectionFilter(new CountingFilter(_connections));
    _server->start();
}

void Simulator::Impl::stop()
{
    {
        std::lock_guard lock(_waitMutex);
        _stopping = true;
    }
    _wake.notify_all();
    if (_server)
    {
        // Poco's acceptor thread polls the listening socket in 250 ms steps and only then sees
        // that it should stop: shutting the socket down wakes it at once (accept fails until
        // the flag is seen), so stopping takes milliseconds, not a quarter of a second.
        ::shutdown(_listenerFd, SHUT_RD);
        _server->stopAll(true);
        _pool.joinAll();
        _server.reset();
    }
}

bool Simulator::Impl::waitMs(std::int64_t ms)
{
    std::unique_lock lock(_waitMutex);
    if (ms > 0)
    {
        _wake.wait_for(lock, std::chrono::milliseconds(ms), [this] { return _stopping; });
    }
    return !_stopping;
}

// ---------------------------------------------------------------------------------------------
// Impl: one request

Simulator::Impl::FaultDecision Simulator::Impl::takeFaults(const std::string& method,
                                                           const std::string& path)
{
    std::lock_guard lock(_mutex);
    FaultDecision decision;
    decision.delayMs = _latencyMs;
    for (auto it = _faults.begin(); it != _faults.end();)
    {
        const bool matches = (it->method == "*" || it->method == method) &&
                             path.compare(0, it->pathPrefix.size(), it->pathPrefix) == 0;
        const bool applies = matches && (it->kind == FaultKind::Latency || !decision.answer);
        if (!applies)
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
        if (it->count && --*it->count == 0)
        {
            it = _faults.erase(it);
        }
        else
        {
            ++it;
        }
    }
    return decision;
}

void Simulator::Impl::serve(Poco::Net::HTTPServerRequest& request,
                            Poco::Net::HTTPServerResponse& response)
{
    const auto started = std::chrono::steady_clock::now();
    const auto elapsedMs = [&]
    {
        return std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::steady_clock::now() - started)
            .count();
    };
    const std::string method = request.getMethod();
    std::string path = "(unparsable)";
    try
    {
        path = Poco::URI(request.getURI()).getPath();
        const std::string body = readBody(request, kMaxBodyBytes);
        if (body.size() > kMaxBodyBytes)
        {
            response.setKeepAlive(false);
            send(response, textReply(413, "Request Entity Too Large"));
            logLine(method, path, "413", elapsedMs());
            return;
        }
        if (path.rfind("/_sim/", 0) == 0)
        {
            Reply reply;
            {
                std::lock_guard lock(_mutex);
                reply = control(method, path, request, body);
            }
            send(response, reply);
            logLine(method, path, std::to_string(reply.status), elapsedMs());
            return;
        }

        const Route route = matchRoute(method, path);
        const FaultDecision fault = takeFaults(method, path);
        if (!waitMs(fault.delayMs))
        {
            dropConnection(request, response); // stopping: answer nothing, touch nothing
            return;
        }
        const FaultKind kind = fault.answer ? fault.answer->kind : FaultKind::Latency;
        const std::string faultNote =
            fault.answer ? std::string(" (fault ") + toString(kind) + ")" : std::string();

        Reply reply;
        if (kind == FaultKind::Status || kind == FaultKind::RateLimit ||
            kind == FaultKind::TextError)
        {
            reply = faultReply(*fault.answer);
        }
        else
        {
            {
                std::lock_guard lock(_mutex);
                reply = dispatch(route, request, body);
            }
            if (kind == FaultKind::DropAfterCommit || kind == FaultKind::TlsEofAfterCommit)
            {
                // Counted before the client can see the outcome, so that a test may read the
                // counters as soon as its call returns.
                count(method, route.pathTemplate, 0);
                kind == FaultKind::DropAfterCommit ? dropConnection(request, response)
                                                   : cutConnection(request, response);
                logLine(method, path, "dropped" + faultNote, elapsedMs());
                return;
            }
            if (kind == FaultKind::InvalidJson)
            {
                reply = invalidJson(reply);
            }
            if (kind == FaultKind::Trickle)
            {
                count(method, route.pathTemplate, reply.status);
                const std::int64_t pauseMs =
                    fault.answer->delayMs > 0 ? fault.answer->delayMs : 1000;
                trickle(request, response, reply, [this, pauseMs] { return waitMs(pauseMs); });
                logLine(method, path, std::to_string(reply.status) + faultNote, elapsedMs());
                return;
            }
        }
        count(method, route.pathTemplate, reply.status);
        send(response, reply);
        logLine(method, path, std::to_string(reply.status) + faultNote, elapsedMs());
    }
    catch (const std::exception& e)
    {
        // what() never carries request data here: state-file and JSON errors name files and keys.
        std::cerr << "astra-devops-sim: " << method << " " << loggablePath(path)
                  << " failed: " << e.what() << std::endl;
        if (!response.sent())
        {
            send(response, errorsReply(500, kErrorSimulatorBase + 500, "internal error"));
        }
    }
}

void Simulator::Impl::count(const std::string& method, const std::string& pathTemplate, int status)
{
    {
        std::lock_guard lock(_mutex);
        ++_counts[{method, pathTemplate, status}];
    }
    _counted.notify_all();
}

std::int64_t Simulator::Impl::countOf(std::string_view method, std::string_view pathTemplate,
                                      std::optional<int> status) const
{
    std::int64_t total = 0;
    for (const auto& [key, n] : _counts)
    {
        const auto& [m, p, s] = key;
        if (m == method && p == pathTemplate && (!status || *status == s))
        {
            total += n;
        }
    }
    return total;
}

void Simulator::Impl::logLine(const std::string& method, const std::string& path,
                              const std::string& outcome, std::int64_t elapsedMs) const
{
    if (!_options.logRequests)
    {
        return;
    }
    // One insertion of a whole line, so lines from several threads do not interleave.
    const std::string line = "astra-devops-sim: " + loggablePath(method) + " " +
                             loggablePath(path) + " " + outcome + " " + std::to_string(elapsedMs) +
                             "ms\n";
    std::cerr << line << std::flush;
}

void Simulator::Impl::persist() const
{
    if (!_options.stateFile.empty())
    {
        writeFileAtomically(_options.stateFile, _org.toJson(), 0600);
    }
}

} // namespace rotator::sim
