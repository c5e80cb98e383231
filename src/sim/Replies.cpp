#include "Replies.h"

#include <sstream>

#include <Poco/Net/HTTPServerRequestImpl.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/SecureStreamSocketImpl.h>

namespace rotator::sim
{

void send(Poco::Net::HTTPServerResponse& response, const Reply& reply)
{
    response.setStatusAndReason(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(reply.status));
    for (const auto& [name, value] : reply.headers)
    {
        response.set(name, value);
    }
    if (reply.status == 204)
    {
        response.send(); // no body and, per RFC 9110, no Content-Length
        return;
    }
    if (!reply.contentType.empty())
    {
        response.setContentType(reply.contentType);
    }
    response.setContentLength(static_cast<std::streamsize>(reply.body.size()));
    response.send() << reply.body;
}

void dropConnection(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response)
{
    response.setKeepAlive(false);
    if (auto* impl = dynamic_cast<Poco::Net::HTTPServerRequestImpl*>(&request))
    {
        try
        {
            impl->socket().shutdown();
        }
        catch (const Poco::Exception&)
        {
            // The peer may have gone already; the connection ends either way.
        }
    }
}

/// Ends the connection under TLS without a close_notify alert, so that the client's TLS layer
/// reads an unexpected end of file (OpenSSL 3: "unexpected eof while reading"), as when the
/// server, a proxy or the network dies mid-exchange. Over plain HTTP the same as dropConnection.
void cutConnection(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response)
{
    auto* impl = dynamic_cast<Poco::Net::HTTPServerRequestImpl*>(&request);
    auto* secure = impl == nullptr
                       ? nullptr
                       : dynamic_cast<Poco::Net::SecureStreamSocketImpl*>(impl->socket().impl());
    if (secure == nullptr)
    {
        dropConnection(request, response);
        return;
    }
    response.setKeepAlive(false);
    try
    {
        // Shuts the TCP connection down with no TLS alert first. Poco's close after this
        // handler still tries SSL_shutdown, whose write fails with EPIPE on the shut-down
        // socket: harmless, as libPocoFoundation blocks SIGPIPE in the main thread when it is
        // loaded, before any thread that inherits the mask exists.
        secure->abort();
    }
    catch (const Poco::Exception&)
    {
        // The peer may have gone already; the connection ends either way.
    }
}

Reply faultReply(const FaultRule& rule)
{
    const int status = rule.effectiveStatus();
    const std::string reason = Poco::Net::HTTPResponse::getReasonForStatus(
        static_cast<Poco::Net::HTTPResponse::HTTPStatus>(status));
    if (rule.kind == FaultKind::TextError)
    {
        return textReply(status, reason + " (injected fault)");
    }
    Reply reply = errorsReply(status, kErrorSimulatorBase + status, reason + " (injected fault)");
    if (rule.kind == FaultKind::RateLimit && rule.retryAfterSeconds)
    {
        reply.headers.emplace_back("Retry-After", std::to_string(*rule.retryAfterSeconds));
    }
    return reply;
}

Reply invalidJson(const Reply& real)
{
    Reply reply;
    reply.contentType = "application/json";
    reply.body = real.body.size() >= 8 ? real.body.substr(0, real.body.size() / 2)
                                       : std::string("{\"clients\":[");
    return reply;
}

void trickle(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response,
             const Reply& reply, const std::function<bool()>& pause)
{
    // Written to the socket by hand: Poco's response would send the head in one piece.
    response.setKeepAlive(false);
    auto* impl = dynamic_cast<Poco::Net::HTTPServerRequestImpl*>(&request);
    if (impl == nullptr)
    {
        return;
    }
    Poco::Net::HTTPResponse head(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(reply.status));
    for (const auto& [name, value] : reply.headers)
    {
        head.set(name, value);
    }
    if (!reply.contentType.empty())
    {
        head.setContentType(reply.contentType);
    }
    head.setContentLength(static_cast<std::streamsize>(reply.body.size()));
    head.setKeepAlive(false);
    std::ostringstream bytes;
    head.write(bytes);
    bytes << reply.body;
    const std::string text = bytes.str();
    try
    {
        for (std::size_t i = 0; i < text.size(); ++i)
        {
            if (i > 0 && !pause())
            {
                break;
            }
            impl->socket().sendBytes(text.data() + i, 1);
        }
    }
    catch (const Poco::Exception&)
    {
        // The client gave up (its deadline cut the connection): that is the point.
    }
}

} // namespace rotator::sim
