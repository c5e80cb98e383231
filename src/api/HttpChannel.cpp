#include "rotator/api/HttpChannel.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <istream>
#include <ostream>

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Timespan.h>
#include <Poco/URI.h>
#include <openssl/err.h>

#include "rotator/api/ClientSession.h"

namespace rotator::api
{

using core::FailureKind;

namespace
{

const std::string kUserAgent = "astra-rotator/0.1";

bool hasHeader(const HttpRequestSpec& request, const std::string& name)
{
    return std::any_of(request.headers.begin(), request.headers.end(),
                       [&](const auto& header) { return Poco::icompare(header.first, name) == 0; });
}

} // namespace

/// A pooled connection and whether the exchange on it has written anything yet.
struct HttpChannel::Session
{
    ExchangeState state; ///< declared before `http`, which refers to it
    std::unique_ptr<Poco::Net::HTTPClientSession> http;
};

HttpChannel::HttpChannel(ChannelOptions options, core::Clock& clock)
    : _options(std::move(options)), _clock(clock)
{
    const Poco::URI uri(_options.url);
    _host = uri.getHost();
    _port = uri.getPort();
    if (uri.getScheme() == "https")
    {
        _context = makeClientContext(_options.caFile);
    }
}

HttpChannel::~HttpChannel() = default;

std::string HttpChannel::peer() const
{
    return _host + ":" + std::to_string(_port);
}

std::unique_ptr<HttpChannel::Session> HttpChannel::acquireSession()
{
    {
        std::lock_guard<std::mutex> lock(_mutex);
        if (!_idle.empty())
        {
            auto session = std::move(_idle.back());
            _idle.pop_back();
            return session;
        }
    }
    auto session = std::make_unique<Session>();
    session->http = makeClientSession(_host, _port, _context, session->state);
    session->http->setKeepAlive(true);
    return session;
}

void HttpChannel::releaseSession(std::unique_ptr<Session> session)
{
    std::lock_guard<std::mutex> lock(_mutex);
    _idle.push_back(std::move(session));
}

core::Outcome<HttpResult> HttpChannel::send(const HttpRequestSpec& spec)
{
    auto session = acquireSession();
    // However the bytes arrive, the exchange ends at its deadline: the watchdog cuts the
    // connection then, and every wait below ends with it.
    ConnectionWatchdog::Watch watch(_watchdog,
                                    ConnectionWatchdog::Clock::now() +
                                        std::chrono::milliseconds(_options.requestDeadlineMs));
    session->state = ExchangeState{false, &watch};
    const auto timeout = Poco::Timespan(_options.timeoutMs * 1000);
    session->http->setTimeout(
        Poco::Timespan(std::min(_options.timeoutMs, _options.requestDeadlineMs) * 1000), timeout,
        timeout);
    // OpenSSL tells a TLS read or write that must wait from a failed one by this thread's error
    // queue (SSL_get_error): an entry left there by anything else on the thread (Poco 1.11's
    // Context constructor leaves one) turns the wait for an answer into a fatal error carrying
    // that entry's text. Poco does not clear the queue before its I/O; each exchange does.
    ERR_clear_error();
    const std::string path = spec.target.substr(0, spec.target.find('?'));
    const Exchange exchange{spec.method + " " + path,
                            peer(),
                            _host,
                            _options.timeoutMs,
                            _options.requestDeadlineMs,
                            _options.caKey,
                            _options.deadlineKey};
    const std::string& where = exchange.where;
    try
    {
        Poco::Net::HTTPRequest request(spec.method, spec.target, Poco::Net::HTTPMessage::HTTP_1_1);
        if (!hasHeader(spec, "Accept"))
        {
            request.set("Accept", "application/json");
        }
        request.set("User-Agent", kUserAgent);
        for (const auto& [name, value] : spec.headers)
        {
            request.set(name, value);
        }
        if (!spec.body.empty() || spec.method == "POST" || spec.method == "PUT" ||
            spec.method == "PATCH")
        {
            if (!spec.body.empty())
            {
                request.setContentType(spec.contentType);
            }
            request.setContentLength(static_cast<std::streamsize>(spec.body.size()));
        }
        std::ostream& out = session->http->sendRequest(request);
        out.write(spec.body.data(), static_cast<std::streamsize>(spec.body.size()));
        Poco::Net::HTTPResponse response;
        std::istream& in = session->http->receiveResponse(response);
        HttpResult result;
        result.status = static_cast<int>(response.getStatus());
        result.contentType = response.getContentType();
        if (response.has("Retry-After"))
        {
            result.retryAfterMs = parseRetryAfter(response.get("Retry-After"), _clock.nowMs());
        }
        std::array<char, 16384> buffer{};
        while (in)
        {
            in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
            result.body.append(buffer.data(), static_cast<std::size_t>(in.gcount()));
            if (result.body.size() > _options.maxBodyBytes)
            {
                // The session is mid-message now; drop it rather than reuse it.
                return tl::unexpected(
                    makeFailure(FailureKind::Permanent,
                                where + ": answer larger than " +
                                    std::to_string(_options.maxBodyBytes / (1024 * 1024)) + " MiB",
                                true, result.status));
            }
        }
        // Finished, not just asked: a deadline passing between the check and the release
        // would shut down a pooled connection, or one another exchange has taken meanwhile.
        if (watch.finish())
        {
            // Whatever the stream made of the cut (an end of file looks like a short body).
            return tl::unexpected(pastDeadline(exchange, true));
        }
        if (!in.eof())
        {
            return tl::unexpected(makeFailure(FailureKind::Transient,
                                              where + ": answer cut short by " + exchange.peer,
                                              true, result.status));
        }
        session->state.watch = nullptr;
        releaseSession(std::move(session));
        return result;
    }
    catch (const Poco::Exception& e)
    {
        // Judged by what was sent, not by the exception's type: the same SSLException may be a
        // refused certificate (nothing sent) or a connection cut under the answer (a write
        // that may have been committed).
        const bool written = session->state.requestWritten;
        if (watch.expired())
        {
            return tl::unexpected(pastDeadline(exchange, written));
        }
        // A server that stalled is not asked again (that would double the wait): a TLS server
        // refuses a plain request at once.
        const bool cut = dynamic_cast<const Poco::TimeoutException*>(&e) == nullptr;
        if (written && cut && !_context && speaksTls())
        {
            return tl::unexpected(makeFailure(
                FailureKind::Permanent,
                where + ": " + exchange.peer + " speaks TLS, not plain HTTP: write https://" +
                    exchange.peer + " in " + _options.urlKey,
                false));
        }
        return tl::unexpected(written ? lostAfterSending(e, exchange)
                                      : failedBeforeSending(e, exchange));
    }
}

bool HttpChannel::speaksTls() const
{
    try
    {
        // Only a handshake: no request, no credential, so the certificate need not be trusted.
        Poco::Net::Context::Params params;
        params.verificationMode = Poco::Net::Context::VERIFY_NONE;
        params.loadDefaultCAs = false;
        const Poco::Net::Context::Ptr context =
            new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, params);
        Poco::Net::SecureStreamSocket socket(context);
        const auto timeout =
            Poco::Timespan(std::min(_options.timeoutMs, _options.requestDeadlineMs) * 1000);
        socket.connect(Poco::Net::SocketAddress(_host, _port), timeout);
        socket.setReceiveTimeout(timeout);
        socket.setSendTimeout(timeout);
        socket.completeHandshake();
        socket.close();
        ERR_clear_error();
        return true;
    }
    catch (const Poco::Exception&)
    {
        ERR_clear_error();
        return false;
    }
}

} // namespace rotator::api
