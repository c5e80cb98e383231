#include "rotator/api/ClientSession.h"

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <mutex>

#include <Poco/Logger.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/RejectCertificateHandler.h>
#include <Poco/Net/SSLManager.h>
#include <fcntl.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "rotator/core/CpuAccount.h"

namespace rotator::api
{

namespace
{

Poco::Logger& logger()
{
    return Poco::Logger::get("api");
}

// Installed once per process: with no handler, Poco asks on stdin whether to accept a
// certificate that failed verification (STYLE.md).
void installRejectingCertificateHandler(const Poco::Net::Context::Ptr& context)
{
    static std::once_flag once;
    std::call_once(once,
                   [&context]
                   {
                       Poco::Net::initializeSSL();
                       Poco::Net::SSLManager::InvalidCertificateHandlerPtr handler(
                           new Poco::Net::RejectCertificateHandler(false));
                       Poco::Net::SSLManager::instance().initializeClient(nullptr, handler,
                                                                          context);
                   });
}

/// True when `dir` holds certificates under their subject hash (`1a2b3c4d.0`, made by
/// c_rehash / update-ca-certificates), the names OpenSSL's directory lookup opens.
bool hasHashLinks(const std::string& dir)
{
    std::error_code ec;
    for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    {
        const std::string name = it->path().filename().string();
        if (name.size() >= 10 && name[8] == '.' &&
            name.find_first_not_of("0123456789abcdef") == 8 &&
            name.find_first_not_of("0123456789", 9) == std::string::npos)
        {
            return true;
        }
    }
    return false;
}

/// Trusts the system CA store the way OpenSSL's default paths do, without reading the whole
/// bundle up front. The default paths parse every certificate of the bundle file, in every
/// process, although a chain needs one or two; the hashed directory is looked up lazily, one
/// certificate when a chain needs it. Where the directory has no hash names, or SSL_CERT_FILE
/// names a file, OpenSSL's default paths are used as they are. SSL_CERT_DIR is honoured either
/// way.
void trustSystemStore(SSL_CTX* context)
{
    const char* dirEnv = std::getenv(X509_get_default_cert_dir_env());
    const std::string dirs = dirEnv != nullptr ? dirEnv : X509_get_default_cert_dir();
    const bool fileFromEnv = std::getenv(X509_get_default_cert_file_env()) != nullptr;
    if (!fileFromEnv && hasHashLinks(dirs.substr(0, dirs.find(':'))))
    {
        X509_LOOKUP* lookup =
            X509_STORE_add_lookup(SSL_CTX_get_cert_store(context), X509_LOOKUP_hash_dir());
        if (lookup != nullptr && X509_LOOKUP_add_dir(lookup, dirs.c_str(), X509_FILETYPE_PEM) == 1)
        {
            return;
        }
    }
    SSL_CTX_set_default_verify_paths(context);
}

/// An HTTPS session whose reads and writes wait once, for the configured timeout.
///
/// Poco 1.11 runs OpenSSL's non-blocking retry loop on a blocking socket: SecureSocketImpl's
/// receiveBytes, sendBytes and completeHandshake loop `SSL_read`/`SSL_write`/`SSL_do_handshake`
/// while mustRetry(), and mustRetry() answers SSL_ERROR_WANT_READ (WANT_WRITE) with
/// `poll(getReceiveTimeout())` (`getSendTimeout()`), throwing TimeoutException when that poll
/// expires. On a blocking socket the `recv` inside SSL_read has already waited SO_RCVTIMEO,
/// the same timeout, before it returns EAGAIN, the WANT_READ: a silent server is waited on
/// twice. Plain http (SocketImpl::receiveBytes) waits once. With O_NONBLOCK on the descriptor
/// the `recv` returns at once and Poco's poll is the only wait. Poco's own blocking flag stays
/// set, which keeps mustRetry polling (rather than handing WANT_READ back to HTTPSession as an
/// error code). The TLS handshake is done inside HTTPSession::connect, before this, by a single
/// blocking SSL_connect bounded by the connection timeout; certificate verification is
/// unchanged.
class SingleWaitHttpsSession : public Poco::Net::HTTPSClientSession
{
public:
    using HTTPSClientSession::HTTPSClientSession;

protected:
    void connect(const Poco::Net::SocketAddress& address) override
    {
        const core::cpu_account::Scope account("tls-handshake");
        HTTPSClientSession::connect(address);
        // Each connect (a reconnect too) gets a fresh descriptor, blocking again.
        const int fd = socket().impl()->sockfd();
        const int flags = ::fcntl(fd, F_GETFL);
        if (flags < 0 || ::fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
        {
            // Still correct, only slow to give up: a silent server then takes twice the timeout.
            const int error = errno;
            logger().warning("cannot make the TLS socket non-blocking (errno %d); a timeout "
                             "may take twice astra.timeout",
                             error);
        }
    }
};

/// A session that notes when it starts writing to its connection, so that a failed exchange
/// can be judged by what the server may have seen: nothing (connect, handshake) or some of the
/// request (HTTPSession::write is where every byte of a request goes to the socket), and that
/// hands each new connection to the exchange's deadline watch.
template <class Base> class ReportingSession final : public Base
{
public:
    template <class... Args>
    explicit ReportingSession(ExchangeState& state, Args&&... args)
        : Base(std::forward<Args>(args)...), _state(state)
    {
    }

    std::ostream& sendRequest(Poco::Net::HTTPRequest& request) override
    {
        // A pooled connection is watched from the start; a new one from its connect.
        if (_state.watch != nullptr && this->connected())
        {
            _state.watch->setSocket(this->socket().impl()->sockfd());
        }
        return Base::sendRequest(request);
    }

protected:
    void connect(const Poco::Net::SocketAddress& address) override
    {
        Base::connect(address);
        if (_state.watch != nullptr)
        {
            // Only now: Poco's connect does the TLS handshake too (each of its waits bounded by
            // the connect timeout), so a handshake that used up the deadline is cut here at once.
            _state.watch->setSocket(this->socket().impl()->sockfd());
        }
    }

    int write(const char* buffer, std::streamsize length) override
    {
        // Noted before the write: one that fails may still have delivered part of its bytes.
        _state.requestWritten = true;
        return Base::write(buffer, length);
    }

private:
    ExchangeState& _state;
};

} // namespace

Poco::Net::Context::Ptr makeClientContext(const std::string& caFile)
{
    Poco::Net::Context::Params params;
    params.caLocation = caFile;
    params.verificationMode = Poco::Net::Context::VERIFY_STRICT;
    params.verificationDepth = 9;
    params.loadDefaultCAs = false; // trustSystemStore, below, without the up-front cost
    params.cipherList = "HIGH:!aNULL:!eNULL:!MD5:!RC4:!3DES";
    Poco::Net::Context::Ptr context =
        new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, params);
    trustSystemStore(context->sslContext());
    context->requireMinimumProtocol(Poco::Net::Context::PROTO_TLSV1_2);
    installRejectingCertificateHandler(context);
    return context;
}

std::unique_ptr<Poco::Net::HTTPClientSession>
makeClientSession(const std::string& host, std::uint16_t port,
                  const Poco::Net::Context::Ptr& context, ExchangeState& state)
{
    if (context)
    {
        return std::make_unique<ReportingSession<SingleWaitHttpsSession>>(state, host, port,
                                                                          context);
    }
    return std::make_unique<ReportingSession<Poco::Net::HTTPClientSession>>(state, host, port);
}

} // namespace rotator::api
