#include "support/ScriptedServer.h"

#include <algorithm>
#include <sstream>

#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/StreamCopier.h>

namespace rotator::test
{

struct ScriptedServer::State
{
    Script script;
    mutable std::mutex mutex;
    std::vector<std::string> requests;
};

namespace
{

class Handler final : public Poco::Net::HTTPRequestHandler
{
public:
    explicit Handler(std::shared_ptr<ScriptedServer::State> state) : _state(std::move(state)) {}

    void handleRequest(Poco::Net::HTTPServerRequest& request,
                       Poco::Net::HTTPServerResponse& response) override
    {
        std::string body;
        Poco::StreamCopier::copyToString(request.stream(), body);
        {
            std::lock_guard<std::mutex> lock(_state->mutex);
            _state->requests.push_back(request.getMethod() + " " + request.getURI());
        }
        const auto answer = _state->script(request.getMethod(), request.getURI(), body);
        response.setStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(answer.status));
        response.setContentType(answer.contentType);
        if (answer.streamBytes == 0)
        {
            response.sendBuffer(answer.body.data(), answer.body.size());
            return;
        }
        response.setContentLength64(static_cast<Poco::UInt64>(answer.streamBytes));
        std::ostream& out = response.send();
        std::size_t sent = 0;
        while (sent < answer.streamBytes && out)
        {
            const std::size_t n = std::min(answer.body.size(), answer.streamBytes - sent);
            out.write(answer.body.data(), static_cast<std::streamsize>(n));
            sent += n;
        }
    }

private:
    std::shared_ptr<ScriptedServer::State> _state;
};

class Factory final : public Poco::Net::HTTPRequestHandlerFactory
{
public:
    explicit Factory(std::shared_ptr<ScriptedServer::State> state) : _state(std::move(state)) {}
    Poco::Net::HTTPRequestHandler* createRequestHandler(
        const Poco::Net::HTTPServerRequest&) override
    {
        return new Handler(_state);
    }

private:
    std::shared_ptr<ScriptedServer::State> _state;
};

} // namespace

ScriptedServer::ScriptedServer(Script script) : _state(std::make_shared<State>())
{
    _state->script = std::move(script);
    Poco::Net::ServerSocket socket;
    socket.bind(Poco::Net::SocketAddress("127.0.0.1", 0), true, false);
    socket.listen();
    Poco::Net::HTTPServerParams::Ptr params = new Poco::Net::HTTPServerParams;
    params->setMaxThreads(4);
    _server = std::make_unique<Poco::Net::HTTPServer>(new Factory(_state), socket, params);
    _server->start();
}

ScriptedServer::~ScriptedServer()
{
    _server->stopAll(true);
}

std::uint16_t ScriptedServer::port() const
{
    return _server->port();
}

std::string ScriptedServer::url() const
{
    return "http://127.0.0.1:" + std::to_string(port());
}

std::vector<std::string> ScriptedServer::requests() const
{
    std::lock_guard<std::mutex> lock(_state->mutex);
    return _state->requests;
}

} // namespace rotator::test
