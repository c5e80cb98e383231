#include "support/TlsProbe.h"

#include <Poco/Net/Context.h>
#include <Poco/Net/SecureServerSocket.h>
#include <Poco/Net/SecureStreamSocket.h>
#include <Poco/Net/StreamSocket.h>
#include <Poco/Net/TCPServer.h>
#include <Poco/Net/TCPServerConnection.h>
#include <Poco/Net/TCPServerConnectionFactory.h>
#include <Poco/Net/TCPServerParams.h>
#include <openssl/err.h>

#include "support/TestCerts.h"

namespace rotator::test
{

namespace
{

std::string openSslReason()
{
    const unsigned long code = ERR_get_error();
    ERR_clear_error();
    if (code == 0)
    {
        return "no OpenSSL error";
    }
    const char* reason = ERR_reason_error_string(code);
    return reason != nullptr ? reason : "unknown reason";
}

/// Completes the handshake a connection starts, and ends it.
class HandshakeOnly final : public Poco::Net::TCPServerConnection
{
public:
    using TCPServerConnection::TCPServerConnection;

    void run() override
    {
        try
        {
            Poco::Net::SecureStreamSocket(socket()).completeHandshake();
        }
        catch (const Poco::Exception&)
        {
            // The client refusing the handshake is what the tests want to see.
        }
    }
};

} // namespace

Handshake probeHandshake(std::uint16_t port, const std::function<void(SSL_CTX*)>& restrict)
{
    const std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> context(
        SSL_CTX_new(TLS_client_method()), &SSL_CTX_free);
    restrict(context.get());
    Poco::Net::StreamSocket socket;
    socket.connect(Poco::Net::SocketAddress("127.0.0.1", port), Poco::Timespan(5, 0));
    socket.setReceiveTimeout(Poco::Timespan(5, 0));
    const std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(context.get()), &SSL_free);
    SSL_set_fd(ssl.get(), socket.impl()->sockfd());
    ERR_clear_error();
    Handshake result;
    if (SSL_connect(ssl.get()) != 1)
    {
        result.error = openSslReason();
        return result;
    }
    result.ok = true;
    result.cipher = SSL_get_cipher_name(ssl.get());
    SSL_shutdown(ssl.get());
    return result;
}

WeakDhServer::WeakDhServer()
{
    Poco::Net::Context::Params params;
    params.certificateFile = rsaServerCertificate().cert;
    params.privateKeyFile = rsaServerCertificate().key;
    params.verificationMode = Poco::Net::Context::VERIFY_NONE;
    params.cipherList = "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384";
    Poco::Net::Context::Ptr context =
        new Poco::Net::Context(Poco::Net::Context::TLS_SERVER_USE, params);
    context->disableProtocols(Poco::Net::Context::PROTO_TLSV1_3);
    SSL_CTX_set_security_level(context->sslContext(), 0);
    // 2: OpenSSL's built-in 1024-bit group (RFC 2409), whatever the key size.
    SSL_CTX_set_dh_auto(context->sslContext(), 2);
    ERR_clear_error(); // Poco's own 1024-bit DH, refused above level 0, leaves an entry

    Poco::Net::SecureServerSocket socket(context);
    socket.bind(Poco::Net::SocketAddress("127.0.0.1", 0), true, false);
    socket.listen();
    _server = std::make_unique<Poco::Net::TCPServer>(
        new Poco::Net::TCPServerConnectionFactoryImpl<HandshakeOnly>(), socket);
    _server->start();
}

WeakDhServer::~WeakDhServer()
{
    _server->stop();
}

std::uint16_t WeakDhServer::port() const
{
    return _server->port();
}

} // namespace rotator::test
