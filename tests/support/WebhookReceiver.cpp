#include "support/WebhookReceiver.h"

#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPRequestHandler.h>
#include <Poco/Net/HTTPRequestHandlerFactory.h>
#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerParams.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/StreamCopier.h>

#include "support/TestCerts.h"

namespace rotator::test
{

struct WebhookReceiver::State
{
    Script script;
    mutable std::mutex mutex;
    mutable std::condition_variable changed;
    std::vector<WebhookRequest> requests;
    std::map<std::string, int> processed;
    std::map<std::string, int> seen;
};

namespace
{

class Handler final : public Poco::Net::HTTPRequestHandler
{
public:
    explicit Handler(std::shared_ptr<WebhookReceiver::State> state) : _state(std::move(state)) {}

    void handleRequest(Poco::Net::HTTPServerRequest& request,
                       Poco::Net::HTTPServerResponse& response) override
    {
        WebhookRequest r;
        r.method = request.getMethod();
        r.target = request.getURI();
        r.idempotencyKey = request.get("Idempotency-Key", "");
        r.authorization = request.get("Authorization", "");
        r.contentType = request.getContentType();
        Poco::StreamCopier::copyToString(request.stream(), r.body);
        r.status = _state->script(r);
        {
            std::lock_guard<std::mutex> lock(_state->mutex);
            ++_state->seen[r.idempotencyKey];
            if (r.status >= 200 && r.status < 300 && !r.idempotencyKey.empty() &&
                _state->processed.count(r.idempotencyKey) == 0)
            {
                _state->processed[r.idempotencyKey] = 1; // a duplicate is acknowledged only
            }
            _state->requests.push_back(r);
        }
        _state->changed.notify_all();
        response.setStatus(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(r.status));
        if (r.status == 204)
        {
            response.setContentLength(0); // no body: it would corrupt the keep-alive stream
            response.send();
            return;
        }
        response.setContentType("text/plain");
        response.sendBuffer("ok", 2);
    }

private:
    std::shared_ptr<WebhookReceiver::State> _state;
};

class Factory final : public Poco::Net::HTTPRequestHandlerFactory
{
public:
    explicit Factory(std::shared_ptr<WebhookReceiver::State> state) : _state(std::move(state)) {}
    Poco::Net::HTTPRequestHandler*
    createRequestHandler(const Poco::Net::HTTPServerRequest&) override
    {
        return new Handler(_state);
    }

private:
    std::shared_ptr<WebhookReceiver::State> _state;
};

} // namespace

WebhookReceiver::WebhookReceiver(Script script, bool tls, std::uint16_t port)
    : _state(std::make_shared<State>()), _tls(tls)
{
    _state->script = std::move(script);
    std::unique_ptr<Poco::Net::ServerSocket> socket;
    if (tls)
    {
        Poco::Net::Context::Params params;
        params.certificateFile = sharedTestCerts().serverCert;
        params.privateKeyFile = sharedTestCerts().serverKey;
        params.verificationMode = Poco::Net::Context::VERIFY_NONE;
        params.loadDefaultCAs = false;
        params.cipherList = "ECDHE+AESGCM:ECDHE+CHACHA20";
        params.dhUse2048Bits = true;
        Poco::Net::Context::Ptr context =
            new Poco::Net::Context(Poco::Net::Context::TLS_SERVER_USE, params);
        socket = std::make_unique<Poco::Net::SecureServerSocket>(context);
    }
    else
    {
        socket = std::make_unique<Poco::Net::ServerSocket>();
    }
    socket->bind(Poco::Net::SocketAddress("127.0.0.1", port), true, false);
    socket->listen();
    _port = socket->address().port();
    Poco::Net::HTTPServerParams::Ptr params = new Poco::Net::HTTPServerParams;
    params->setMaxThreads(4);
    params->setKeepAlive(true);
    _server = std::make_unique<Poco::Net::HTTPServer>(new Factory(_state), *socket, params);
    _server->start();
}

WebhookReceiver::~WebhookReceiver()
{
    _server->stopAll(true);
}

std::string WebhookReceiver::url(const std::string& path) const
{
    return std::string(_tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(_port) + path;
}

std::vector<WebhookRequest> WebhookReceiver::requests() const
{
    std::lock_guard<std::mutex> lock(_state->mutex);
    return _state->requests;
}

std::map<std::string, int> WebhookReceiver::processed() const
{
    std::lock_guard<std::mutex> lock(_state->mutex);
    return _state->processed;
}

std::map<std::string, int> WebhookReceiver::seen() const
{
    std::lock_guard<std::mutex> lock(_state->mutex);
    return _state->seen;
}

bool WebhookReceiver::awaitRequests(std::size_t count, std::chrono::milliseconds timeout) const
{
    std::unique_lock<std::mutex> lock(_state->mutex);
    return _state->changed.wait_for(lock, timeout,
                                    [&] { return _state->requests.size() >= count; });
}

bool WebhookReceiver::awaitProcessed(std::size_t count, std::chrono::milliseconds timeout) const
{
    std::unique_lock<std::mutex> lock(_state->mutex);
    return _state->changed.wait_for(lock, timeout,
                                    [&] { return _state->processed.size() >= count; });
}

} // namespace rotator::test
