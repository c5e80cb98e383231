#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <openssl/ssl.h>

namespace Poco::Net
{
class TCPServer;
}

namespace rotator::test
{

/// What one TLS handshake came to.
struct Handshake
{
    bool ok = false;
    std::string cipher; ///< the suite agreed on, OpenSSL's name (`ECDHE-ECDSA-AES128-GCM-SHA256`)
    std::string error;  ///< OpenSSL's reason when it failed (`no shared cipher`, ...)
};

/// Handshakes with 127.0.0.1:`port` as a raw OpenSSL client that `restrict` configures (cipher
/// list, groups, protocol versions), then closes. Certificates are not verified: the probe is
/// about what a server agrees to, not whom it is.
Handshake probeHandshake(std::uint16_t port, const std::function<void(SSL_CTX*)>& restrict);

/// A TLS 1.2 server on 127.0.0.1:0 that offers only DHE-RSA suites with 1024-bit
/// Diffie-Hellman parameters, as an old or badly configured server does (at OpenSSL security
/// level 0, with rsaServerCertificate() signed by the test CA). It only handshakes: each
/// connection ends after that. Thread-safe; stops in the destructor.
class WeakDhServer
{
public:
    WeakDhServer();
    ~WeakDhServer();
    WeakDhServer(const WeakDhServer&) = delete;
    WeakDhServer& operator=(const WeakDhServer&) = delete;

    std::uint16_t port() const;

private:
    std::unique_ptr<Poco::Net::TCPServer> _server;
};

} // namespace rotator::test
