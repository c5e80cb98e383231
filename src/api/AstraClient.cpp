#include "rotator/api/AstraClient.h"

#include <array>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <istream>
#include <mutex>
#include <ostream>

#include <Poco/Logger.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/HTTPSClientSession.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/RejectCertificateHandler.h>
#include <Poco/Net/SSLException.h>
#include <Poco/Net/SSLManager.h>
#include <Poco/Timespan.h>
#include <Poco/URI.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include "rotator/api/JsonMapping.h"
#include "rotator/core/CpuAccount.h"
#include "rotator/core/Time.h"
#include "rotator/core/Token.h"

namespace rotator::api
{

using core::Failure;
using core::FailureKind;

namespace
{

const std::string kClientsPath = "/v2/clientIdSecrets";
const std::string kUserAgent = "astra-rotator/0.1";

Poco::Logger& logger()
{
    return Poco::Logger::get("api");
}

// Installed once per process: with no handler, Poco asks on stdin whether to accept a
// certificate that failed verification (STYLE.md).
void installRejectingCertificateHandler(const Poco::Net::Context::Ptr& context)
{
    static std::once_flag once;
    std::call_once(once, [&context] {
        Poco::Net::initializeSSL();
        Poco::Net::SSLManager::InvalidCertificateHandlerPtr handler(
            new Poco::Net::RejectCertificateHandler(false));
        Poco::Net::SSLManager::instance().initializeClient(nullptr, handler, context);
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
/// request. HTTPSession::write is where every byte of a request goes to the socket.
template <class Base> class WriteObservingSession final : public Base
{
public:
    template <class... Args>
    explicit WriteObservingSession(bool& wrote, Args&&... args)
        : Base(std::forward<Args>(args)...), _wrote(wrote)
    {
    }

protected:
    int write(const char* buffer, std::streamsize length) override
    {
        // Noted before the write: one that fails may still have delivered part of its bytes.
        _wrote = true;
        return Base::write(buffer, length);
    }

private:
    bool& _wrote;
};

Failure makeFailure(FailureKind kind, std::string message, bool ambiguous, int status = 0)
{
    Failure f;
    f.kind = kind;
    f.message = std::move(message);
    f.ambiguous = ambiguous;
    f.httpStatus = status;
    return f;
}

/// Names one exchange in failure messages: `where` is "METHOD /path", `peer` "host:port".
struct Exchange
{
    std::string where;
    std::string peer;
    std::string host;
    std::int64_t timeoutMs = 0;
};

/// A failure after some of the request was written: the server may have received it and acted
/// on it, so the outcome is unknown (ambiguous, transient) whatever exception carries it. A
/// connection cut without TLS close_notify ("unexpected eof while reading") is one of these,
/// not a certificate problem.
Failure lostAfterSending(const Poco::Exception& e, const Exchange& x)
{
    std::string what;
    if (dynamic_cast<const Poco::TimeoutException*>(&e) != nullptr)
    {
        what = "no answer from " + x.peer + " within " + std::to_string(x.timeoutMs) + " ms";
    }
    else if (dynamic_cast<const Poco::Net::NoMessageException*>(&e) != nullptr)
    {
        what = x.peer + " closed the connection without an answer";
    }
    else
    {
        what = "connection to " + x.peer + " lost after the request was sent (" +
               sanitizeForMessage(e.displayText()) + ")";
    }
    return makeFailure(FailureKind::Transient, x.where + ": " + what, true);
}

bool mentions(const Poco::Exception& e, std::string_view text)
{
    return e.displayText().find(text) != std::string::npos;
}

/// A failure before any byte of the request was written (connect, TLS handshake, certificate
/// check on a fresh connection): the server cannot have acted on it, so it is never ambiguous.
Failure failedBeforeSending(const Poco::Exception& e, const Exchange& x)
{
    const std::string detail = sanitizeForMessage(e.displayText());
    if (dynamic_cast<const Poco::Net::ConnectionRefusedException*>(&e) != nullptr)
    {
        return makeFailure(FailureKind::Transient, x.where + ": connection refused by " + x.peer,
                           false);
    }
    if (dynamic_cast<const Poco::Net::HostNotFoundException*>(&e) != nullptr)
    {
        return makeFailure(FailureKind::Transient, x.where + ": host " + x.host + " not found",
                           false);
    }
    if (dynamic_cast<const Poco::TimeoutException*>(&e) != nullptr)
    {
        return makeFailure(FailureKind::Transient,
                           x.where + ": cannot connect to " + x.peer + " within " +
                               std::to_string(x.timeoutMs) + " ms",
                           false);
    }
    if (dynamic_cast<const Poco::Net::CertificateValidationException*>(&e) != nullptr ||
        mentions(e, "certificate verify failed"))
    {
        return makeFailure(FailureKind::Permanent,
                           x.where + ": TLS with " + x.peer + " failed (" + detail +
                               "); the server certificate must be valid for " + x.host +
                               " and signed by a CA of the system store or of astra.caFile",
                           false);
    }
    if (mentions(e, "dh key too small"))
    {
        return makeFailure(FailureKind::Permanent,
                           x.where + ": TLS with " + x.peer + " failed (" + detail +
                               "); the server offers Diffie-Hellman parameters under 2048 bits, "
                               "which are refused as too weak: it must offer ECDHE, or DHE with "
                               "2048 bits or more",
                           false);
    }
    if (dynamic_cast<const Poco::Net::SSLException*>(&e) != nullptr)
    {
        return makeFailure(FailureKind::Permanent,
                           x.where + ": TLS handshake with " + x.peer + " failed (" + detail + ")",
                           false);
    }
    return makeFailure(FailureKind::Transient,
                       x.where + ": cannot connect to " + x.peer + " (" + detail + ")", false);
}

bool isSuccess(int status)
{
    return status >= 200 && status < 300;
}

} // namespace

std::optional<std::int64_t> parseRetryAfter(std::string_view value, std::int64_t nowMs)
{
    if (value.empty())
    {
        return std::nullopt;
    }
    bool digits = value.size() <= 9;
    for (char c : value)
    {
        digits = digits && c >= '0' && c <= '9';
    }
    if (digits)
    {
        return std::stoll(std::string(value)) * 1000;
    }
    // IMF-fixdate only ("Sun, 06 Nov 1994 08:49:37 GMT"): Poco's DateTimeParser accepts
    // almost anything, and a misread date must not turn into an arbitrary wait.
    static const char* const kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    if (value.size() == 29 && value.substr(3, 2) == ", " && value.substr(25) == " GMT" &&
        value[7] == ' ' && value[11] == ' ' && value[16] == ' ' && value[19] == ':' &&
        value[22] == ':')
    {
        int month = 0;
        for (int m = 0; m < 12; ++m)
        {
            if (value.substr(8, 3) == kMonths[m])
            {
                month = m + 1;
            }
        }
        const std::string iso = std::string(value.substr(12, 4)) + "-" +
                                (month < 10 ? "0" : "") + std::to_string(month) + "-" +
                                std::string(value.substr(5, 2)) + "T" +
                                std::string(value.substr(17, 8)) + "Z";
        if (const auto when = core::parseRfc3339(iso); month > 0 && when)
        {
            const std::int64_t atMs = when->unixMs();
            return atMs > nowMs ? atMs - nowMs : 0;
        }
    }
    return std::nullopt;
}

Failure classifyHttpFailure(std::string_view method, std::string_view path,
                            const HttpResult& result)
{
    const ErrorBody err = parseErrorBody(result.contentType, result.body);
    std::string message = std::string(method) + " " + std::string(path) + ": HTTP " +
                          std::to_string(result.status);
    if (err.id)
    {
        message += " (error " + std::to_string(*err.id) + ")";
    }
    if (!err.message.empty())
    {
        message += ": " + err.message;
    }
    FailureKind kind = FailureKind::Permanent;
    bool ambiguous = false;
    switch (result.status)
    {
    case 401:
    case 403:
        kind = FailureKind::Auth;
        break;
    case 404:
        kind = FailureKind::NotFound;
        break;
    case 408:
    case 429:
        kind = FailureKind::Transient;
        break;
    default:
        if (result.status >= 500 && result.status != 501)
        {
            kind = FailureKind::Transient;
            // The server may have acted before failing.
            ambiguous = true;
        }
        break;
    }
    Failure f = makeFailure(kind, std::move(message), ambiguous, result.status);
    f.retryAfterMs = result.retryAfterMs;
    f.apiErrorId = err.id;
    return f;
}

AstraClient::AstraClient(ClientOptions options, core::Secret adminToken, core::Clock& clock,
                         RequestObserver observer)
    : _options(std::move(options)), _adminToken(std::move(adminToken)), _clock(clock),
      _observer(std::move(observer)),
      _limiter(clock, _options.requestsPerSecond, std::max(1.0, _options.requestsPerSecond)),
      _seeds(_options.seed)
{
    const Poco::URI uri(_options.url);
    _scheme = uri.getScheme();
    _host = uri.getHost();
    _port = uri.getPort();
    if (_scheme == "https")
    {
        Poco::Net::Context::Params params;
        params.caLocation = _options.caFile;
        params.verificationMode = Poco::Net::Context::VERIFY_STRICT;
        params.verificationDepth = 9;
        params.loadDefaultCAs = false; // trustSystemStore, below, without the up-front cost
        params.cipherList = "HIGH:!aNULL:!eNULL:!MD5:!RC4:!3DES";
        _context = new Poco::Net::Context(Poco::Net::Context::TLS_CLIENT_USE, params);
        trustSystemStore(_context->sslContext());
        _context->requireMinimumProtocol(Poco::Net::Context::PROTO_TLSV1_2);
        installRejectingCertificateHandler(_context);
    }
}

AstraClient::~AstraClient() = default;

/// A pooled connection and whether the exchange on it has written anything yet.
struct AstraClient::Session
{
    bool requestWritten = false; ///< declared before `http`, which refers to it
    std::unique_ptr<Poco::Net::HTTPClientSession> http;
};

std::unique_ptr<AstraClient::Session> AstraClient::acquireSession()
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
    if (_context)
    {
        session->http = std::make_unique<WriteObservingSession<SingleWaitHttpsSession>>(
            session->requestWritten, _host, _port, _context);
    }
    else
    {
        session->http = std::make_unique<WriteObservingSession<Poco::Net::HTTPClientSession>>(
            session->requestWritten, _host, _port);
    }
    session->http->setKeepAlive(true);
    session->http->setTimeout(Poco::Timespan(_options.timeoutMs * 1000));
    return session;
}

void AstraClient::releaseSession(std::unique_ptr<Session> session)
{
    std::lock_guard<std::mutex> lock(_mutex);
    _idle.push_back(std::move(session));
}

core::Outcome<HttpResult> AstraClient::sendOnce(const std::string& method, const std::string& path,
                                                const std::string& body,
                                                const core::Secret& bearer)
{
    auto session = acquireSession();
    session->requestWritten = false;
    // OpenSSL tells a TLS read or write that must wait from a failed one by this thread's error
    // queue (SSL_get_error): an entry left there by anything else on the thread (Poco 1.11's
    // Context constructor leaves one) turns the wait for an answer into a fatal error carrying
    // that entry's text. Poco does not clear the queue before its I/O; each exchange does.
    ERR_clear_error();
    const Exchange exchange{method + " " + path, _host + ":" + std::to_string(_port), _host,
                            _options.timeoutMs};
    const std::string& where = exchange.where;
    try
    {
        Poco::Net::HTTPRequest request(method, path, Poco::Net::HTTPMessage::HTTP_1_1);
        request.set("Authorization", "Bearer " + bearer.reveal());
        request.set("Accept", "application/json");
        request.set("User-Agent", kUserAgent);
        if (!body.empty())
        {
            request.setContentType("application/json");
            request.setContentLength(static_cast<std::streamsize>(body.size()));
        }
        std::ostream& out = session->http->sendRequest(request);
        out << body;
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
                return tl::unexpected(makeFailure(
                    FailureKind::Permanent,
                    where + ": answer larger than " +
                        std::to_string(_options.maxBodyBytes / (1024 * 1024)) + " MiB",
                    true, result.status));
            }
        }
        if (!in.eof())
        {
            return tl::unexpected(makeFailure(FailureKind::Transient,
                                              where + ": answer cut short by " + exchange.peer,
                                              true, result.status));
        }
        releaseSession(std::move(session));
        return result;
    }
    catch (const Poco::Exception& e)
    {
        // Judged by what was sent, not by the exception's type: the same SSLException may be a
        // refused certificate (nothing sent) or a connection cut under the answer (a create
        // that may have been committed).
        return tl::unexpected(session->requestWritten ? lostAfterSending(e, exchange)
                                                      : failedBeforeSending(e, exchange));
    }
}

core::Outcome<HttpResult> AstraClient::call(const std::string& method, const std::string& path,
                                            const std::string& pathTemplate,
                                            const std::string& body, const core::Secret& bearer,
                                            Retry retry)
{
    const core::cpu_account::Scope account("api-call");
    std::uint64_t seed = 0;
    {
        std::lock_guard<std::mutex> lock(_mutex);
        seed = _seeds();
    }
    Backoff backoff(_options.backoff, seed);
    const int attempts = retry == Retry::Yes ? std::max(1, _options.maxAttempts) : 1;
    for (int attempt = 1;; ++attempt)
    {
        _limiter.acquire();
        const std::int64_t started = _clock.nowMs();
        auto result = sendOnce(method, path, body, bearer);
        const int status = result ? result->status : 0;
        logger().debug("%s %s -> %d in %Ld ms", method, path, status,
                       static_cast<Poco::Int64>(_clock.nowMs() - started));
        if (_observer)
        {
            _observer(method, pathTemplate, status);
        }
        if (result && isSuccess(result->status))
        {
            return result;
        }
        Failure failure = result ? classifyHttpFailure(method, path, *result) : result.error();
        if (failure.kind != FailureKind::Transient || attempt >= attempts)
        {
            if (attempt > 1)
            {
                failure.message += " (after " + std::to_string(attempt) + " attempts)";
            }
            return tl::unexpected(std::move(failure));
        }
        const std::int64_t delay = backoff.delayMs(attempt, failure.retryAfterMs);
        logger().information("%s %s failed (%s); retry %d of %d in %Ld ms", method, path,
                             failure.message, attempt, attempts - 1,
                             static_cast<Poco::Int64>(delay));
        _clock.sleepMs(delay);
    }
}

core::Outcome<std::vector<core::ClientInfo>> AstraClient::listClients()
{
    auto r = call("GET", kClientsPath, kClientsPath, "", _adminToken, Retry::Yes);
    if (!r)
    {
        return tl::unexpected(r.error());
    }
    return parseClientList(r->body);
}

core::Outcome<core::CreatedClient> AstraClient::createClient(const core::CreateRequest& request)
{
    // Never retried: a create that failed in flight may still have minted a client, which
    // only a later list can tell (the rotation engine reconciles).
    auto r = call("POST", kClientsPath, kClientsPath, createRequestJson(request), _adminToken,
                  Retry::No);
    if (!r)
    {
        return tl::unexpected(r.error());
    }
    auto created = parseCreatedClient(r->body);
    if (!created)
    {
        // A 2xx means a client was most likely minted, but we cannot read which.
        auto f = created.error();
        f.ambiguous = true;
        return tl::unexpected(std::move(f));
    }
    return created;
}

core::Outcome<void> AstraClient::deleteClient(const std::string& clientId)
{
    if (!core::isValidClientId(clientId))
    {
        return core::fail(FailureKind::Permanent,
                          "refusing to delete \"" + sanitizeForMessage(clientId, 40) +
                              "\": not a client ID");
    }
    auto r = call("DELETE", kClientsPath + "/" + clientId, kClientsPath + "/{clientId}", "",
                  _adminToken, Retry::Yes);
    if (!r)
    {
        if (r.error().kind == FailureKind::NotFound)
        {
            return {}; // already gone
        }
        return tl::unexpected(r.error());
    }
    return {};
}

core::Outcome<std::string> AstraClient::currentOrg()
{
    return currentOrgWith(_adminToken);
}

core::Outcome<std::string> AstraClient::currentOrgWith(const core::Secret& token)
{
    const std::string path = "/v2/currentOrg";
    auto r = call("GET", path, path, "", token, Retry::Yes);
    if (!r)
    {
        if (r.error().httpStatus == 403)
        {
            return std::string(); // authenticates, may not read the org
        }
        return tl::unexpected(r.error());
    }
    return parseCurrentOrg(r->body);
}

core::Outcome<std::vector<core::Role>> AstraClient::listRoles()
{
    const std::string path = "/v2/organizations/roles";
    auto r = call("GET", path, path, "", _adminToken, Retry::Yes);
    if (!r)
    {
        return tl::unexpected(r.error());
    }
    return parseRoles(r->body);
}

} // namespace rotator::api
