#pragma once

// What astra-devops-sim and the secret-store simulators share about listening and reading:
// the loopback check, the TLS listener, the bounded body read and a path fit for a log line.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>

namespace rotator::sim
{

/// A bound, listening socket and how to reach it.
struct Listener
{
    std::unique_ptr<Poco::Net::ServerSocket> socket;
    int fd = -1;
    std::uint16_t port = 0;
    std::string baseUrl; ///< `http[s]://HOST:PORT`, an IPv6 host in brackets
};

/// True for `localhost` and loopback addresses (127.0.0.0/8, ::1).
bool isLoopbackHost(const std::string& host);

/// Binds `host:port` (SO_REUSEADDR, never SO_REUSEPORT: two simulators must not share a port)
/// and listens, over TLS 1.2+ with ECDHE suites when `certFile` and `keyFile` are given.
/// Throws std::runtime_error for an unreadable certificate or key, Poco::Exception when the
/// address cannot be bound.
Listener listenOn(const std::string& host, std::uint16_t port, const std::string& certFile,
                  const std::string& keyFile);

/// Reads at most `maxBytes` + 1 bytes, so that an oversized body is detected, not buffered.
std::string readBody(Poco::Net::HTTPServerRequest& request, std::size_t maxBytes);

/// The Poco handler factory of a server whose every request goes to `server.serve(request,
/// response)`; `Server` must outlive the HTTPServer that owns the factory.
template <typename Server> class ServeEveryRequest final : public Poco::Net::HTTPRequestHandlerFactory
{
public:
    explicit ServeEveryRequest(Server& server) : _server(server) {}
    Poco::Net::HTTPRequestHandler*
    createRequestHandler(const Poco::Net::HTTPServerRequest&) override
    {
        return new Handler(_server);
    }

private:
    class Handler final : public Poco::Net::HTTPRequestHandler
    {
    public:
        explicit Handler(Server& server) : _server(server) {}
        void handleRequest(Poco::Net::HTTPServerRequest& request,
                           Poco::Net::HTTPServerResponse& response) override
        {
            _server.serve(request, response);
        }

    private:
        Server& _server;
    };

    Server& _server;
};

/// A path fit for a log line: printable, bounded, with anything token-like masked.
std::string loggablePath(const std::string& path);

} // namespace rotator::sim
