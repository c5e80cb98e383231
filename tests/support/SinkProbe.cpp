#include "support/SinkProbe.h"

#include <Poco/Exception.h>
#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/RejectCertificateHandler.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/NullStream.h>
#include <Poco/StreamCopier.h>

#include "support/TempDir.h"

namespace rotator::test
{

std::optional<sink::Credential> readJsonSink(const std::string& path,
                                             const std::string& credentialName)
{
    const std::string text = readFile(path);
    if (text.empty())
    {
        return std::nullopt;
    }
    return sink::parseCredentialJson(text, credentialName);
}

int currentOrgStatus(std::uint16_t port, const std::string& caFile, const std::string& token)
{
    [[maybe_unused]] static const bool handlerInstalled = []
    {
        Poco::Net::SSLManager::instance().initializeClient(
            nullptr, new Poco::Net::RejectCertificateHandler(false), nullptr);
        return true;
    }();
    Poco::Net::Context::Params params;
    params.caLocation = caFile;
    params.verificationMode = Poco::Net::Context::VERIFY_STRICT;
    params.loadDefaultCAs = false;
    Poco::Net::Context::Ptr context =
        new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, params);
    try
    {
        Poco::Net::HTTPSClientSession session("127.0.0.1", port, context);
        session.setTimeout(Poco::Timespan(10, 0));
        Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_GET, "/v2/currentOrg",
                                       Poco::Net::HTTPMessage::HTTP_1_1);
        request.set("Accept", "application/json");
        request.set("Authorization", "Bearer " + token);
        session.sendRequest(request);
        Poco::Net::HTTPResponse response;
        std::istream& in = session.receiveResponse(response);
        Poco::NullOutputStream discard;
        Poco::StreamCopier::copyStream(in, discard);
        return static_cast<int>(response.getStatus());
    }
    catch (const Poco::Exception&)
    {
        return 0;
    }
}

std::string clientIdOfToken(const std::string& token)
{
    const std::string prefix = "AstraCS:";
    if (token.rfind(prefix, 0) != 0 || token.size() < prefix.size() + 25 ||
        token[prefix.size() + 24] != ':')
    {
        return {};
    }
    return token.substr(prefix.size(), 24);
}

} // namespace rotator::test
