#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <Poco/Net/Context.h>

#include "rotator/api/ConnectionWatchdog.h"
#include "rotator/api/HttpFailure.h"
#include "rotator/core/Clock.h"
#include "rotator/core/Outcome.h"

namespace rotator::api
{

/// Where and how an HttpChannel connects.
struct ChannelOptions
{
    /// `https://host[:port]` or `http://host[:port]` (plain http only to loopback: the loaders
    /// of the keys that give it enforce that). A path in it is ignored.
    std::string url;
    std::string caFile;                       ///< extra CA bundle (PEM) besides the system store
    std::int64_t timeoutMs = 20'000;          ///< each wait: connect, a read, a write
    std::int64_t requestDeadlineMs = 120'000; ///< one whole exchange, however the bytes arrive
    std::size_t maxBodyBytes = 16 * 1024 * 1024;
    std::string caKey = "astra.caFile";                ///< named when a certificate is refused
    std::string deadlineKey = "astra.requestDeadline"; ///< named when the deadline passes
    std::string urlKey = "astra.url"; ///< named when `http://` reaches a server speaking TLS
};

/// One request. Header values and the body may hold secrets (a bearer token, the credential
/// being delivered): they go to the socket and nowhere else, never into a failure message.
struct HttpRequestSpec
{
    std::string method;
    std::string target; ///< path and query, e.g. `/api/v1/namespaces/a/secrets/b?x=y`
    std::vector<std::pair<std::string, std::string>> headers;
    std::string_view body; ///< owned by the caller (who wipes it when it holds a secret)
    std::string contentType = "application/json"; ///< sent with a non-empty body
};

/// One keep-alive HTTP(S) connection pool to one server, with the DevOps client's guarantees:
/// TLS through `makeClientContext` (VERIFY_STRICT, TLS 1.2+, the system CAs plus `caFile`, no
/// prompt on an unverified certificate), each exchange cut at `requestDeadlineMs` by a
/// ConnectionWatchdog, answers over `maxBodyBytes` refused, and a failure without an answer
/// judged by what was sent: once the first byte of the request was written it is ambiguous
/// (the server may have acted on it), before that (connect, TLS handshake) it is not.
///
/// Over plain http, an exchange the server cut without an answer is checked once more: when a
/// TLS handshake with the same address succeeds, the failure is permanent, not ambiguous (a TLS
/// server cannot have acted on a plain request) and says to write `https://` in `urlKey`.
///
/// `send` makes one attempt and returns every answer, 4xx and 5xx included, as an HttpResult:
/// what a status means is the caller's business (each store has its own error bodies). It never
/// retries. Failure messages name "METHOD path" (without the query) and the peer, never a header
/// or the body. Thread-safe: concurrent sends use distinct pooled connections.
class HttpChannel
{
public:
    HttpChannel(ChannelOptions options, core::Clock& clock);
    ~HttpChannel();
    HttpChannel(const HttpChannel&) = delete;
    HttpChannel& operator=(const HttpChannel&) = delete;

    core::Outcome<HttpResult> send(const HttpRequestSpec& request);

    /// `host:port`, for messages.
    std::string peer() const;
    const ChannelOptions& options() const { return _options; }

private:
    struct Session;
    /// Whether the server completes a TLS handshake (certificate not checked: nothing is sent).
    bool speaksTls() const;
    std::unique_ptr<Session> acquireSession();
    void releaseSession(std::unique_ptr<Session> session);

    ChannelOptions _options;
    core::Clock& _clock;
    std::string _host;
    std::uint16_t _port = 0;
    Poco::Net::Context::Ptr _context; ///< null for plain http
    std::mutex _mutex;
    std::vector<std::unique_ptr<Session>> _idle;
    ConnectionWatchdog _watchdog; ///< last: stopped before the sessions it may watch go
};

} // namespace rotator::api
