#include "Listener.h"

#include <istream>
#include <stdexcept>

#include <Poco/Net/Context.h>
#include <Poco/Net/IPAddress.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/Net/SocketAddress.h>

namespace rotator::sim
{

bool isLoopbackHost(const std::string& host)
{
    Poco::Net::IPAddress address;
    return host == "localhost" ||
           (Poco::Net::IPAddress::tryParse(host, address) && address.isLoopback());
}

Listener listenOn(const std::string& hostName, std::uint16_t port, const std::string& certFile,
                  const std::string& keyFile)
{
    const bool tls = !certFile.empty();
    const std::string host = hostName == "localhost" ? "127.0.0.1" : hostName;
    const Poco::Net::SocketAddress address(host, port);
    Listener listener;
    if (tls)
    {
        Poco::Net::Context::Params params;
        params.certificateFile = certFile;
        params.privateKeyFile = keyFile;
        params.verificationMode = Poco::Net::Context::VERIFY_NONE; // no client certificates
        params.loadDefaultCAs = false;
        // TLS 1.2 with elliptic-curve key exchange only (TLS 1.3 suites are configured apart,
        // and Poco's TLS 1.3 groups are elliptic curves too): no finite-field Diffie-Hellman,
        // so a client never meets DH parameters it may judge too weak. Poco's default list
        // offers DHE-RSA suites to a server with an RSA certificate.
        params.cipherList = "ECDHE+AESGCM:ECDHE+CHACHA20";
        // Poco installs its built-in DH parameters whatever the cipher list; the default
        // 1024-bit ones are refused by OpenSSL at security level 2, and that refusal stays on
        // this thread's OpenSSL error queue, where a later TLS read on this thread that has to
        // wait reports it as a fatal "dh key too small" (SSL_get_error reads the queue). The
        // 2048-bit ones are accepted and, with the list above, never used.
        params.dhUse2048Bits = true;
        Poco::Net::Context::Ptr context;
        try
        {
            context = new Poco::Net::Context(Poco::Net::Context::TLS_SERVER_USE, params);
        }
        catch (const Poco::Exception& e)
        {
            throw std::runtime_error("cannot load the TLS certificate or key: " + e.displayText());
        }
        context->requireMinimumProtocol(Poco::Net::Context::PROTO_TLSV1_2);
        listener.socket = std::make_unique<Poco::Net::SecureServerSocket>(context);
    }
    else
    {
        listener.socket = std::make_unique<Poco::Net::ServerSocket>();
    }
    // Not ServerSocket(address): that sets SO_REUSEPORT and two simulators would share a port.
    listener.socket->bind(address, true, false);
    listener.socket->listen();
    listener.fd = listener.socket->impl()->sockfd();
    listener.port = listener.socket->address().port();
    const std::string shownHost = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    listener.baseUrl = std::string(tls ? "https" : "http") + "://" + shownHost + ":" +
                       std::to_string(listener.port);
    return listener;
}

std::string readBody(Poco::Net::HTTPServerRequest& request, std::size_t maxBytes)
{
    std::string body;
    std::istream& in = request.stream();
    char buffer[4096];
    while (body.size() <= maxBytes && in.read(buffer, sizeof buffer).gcount() > 0)
    {
        body.append(buffer, static_cast<std::size_t>(in.gcount()));
    }
    return body;
}

std::string loggablePath(const std::string& path)
{
    std::string out;
    for (std::size_t i = 0; i < path.size() && out.size() < 120; ++i)
    {
        if (path.compare(i, 8, "AstraCS:") == 0)
        {
            out += "AstraCS:***";
            while (i + 1 < path.size() && path[i + 1] != '/')
            {
                ++i;
            }
            continue;
        }
        const char c = path[i];
        out += (c >= 0x21 && c <= 0x7e) ? c : '?';
    }
    return out;
}

} // namespace rotator::sim
