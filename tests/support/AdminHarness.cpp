#include "support/AdminHarness.h"

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/StreamCopier.h>

namespace rotator::test
{

std::uint16_t freeLoopbackPort()
{
    Poco::Net::ServerSocket probe;
    probe.bind(Poco::Net::SocketAddress("127.0.0.1", 0), true, false);
    return probe.address().port();
}

Answer request(std::uint16_t port, const Call& call)
{
    Poco::Net::HTTPClientSession session("127.0.0.1", port);
    session.setTimeout(Poco::Timespan(call.timeoutSeconds, 0));
    Poco::Net::HTTPRequest req(call.method, call.target, Poco::Net::HTTPMessage::HTTP_1_1);
    if (!call.host.empty())
    {
        req.setHost(call.host);
    }
    if (!call.bearer.empty())
    {
        req.set("Authorization", "Bearer " + call.bearer);
    }
    if (!call.authorization.empty())
    {
        req.set("Authorization", call.authorization);
    }
    if (call.declaredLength)
    {
        req.setContentLength64(*call.declaredLength);
    }
    else if (call.chunked)
    {
        req.setChunkedTransferEncoding(true);
    }
    else if (!call.body.empty())
    {
        req.setContentLength64(static_cast<Poco::Int64>(call.body.size()));
    }
    std::ostream& out = session.sendRequest(req);
    if (!call.declaredLength)
    {
        out << call.body;
    }
    Poco::Net::HTTPResponse res;
    std::istream& in = session.receiveResponse(res);
    Answer a;
    a.status = static_cast<int>(res.getStatus());
    a.contentType = res.getContentType();
    for (const auto& [name, value] : res)
    {
        a.headers[name] = value;
    }
    Poco::StreamCopier::copyToString(in, a.body);
    return a;
}

} // namespace rotator::test
