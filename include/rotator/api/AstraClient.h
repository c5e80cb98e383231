#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "rotator/api/Backoff.h"
#include "rotator/api/HttpChannel.h"
#include "rotator/api/TokenApi.h"
#include "rotator/config/TokenSource.h"
#include "rotator/core/Clock.h"
#include "rotator/core/Secret.h"

namespace rotator::api
{

/// How to reach the DevOps API.
struct ClientOptions
{
    std::string url;    ///< `https://host[:port]` (http only for loopback; config enforces it)
    std::string caFile; ///< extra CA bundle (PEM) trusted besides the system store
    std::int64_t timeoutMs = 20'000;          ///< each wait: connect, a read, a write
    std::int64_t requestDeadlineMs = 120'000; ///< one whole attempt, however the bytes arrive
    int maxAttempts = 5;            ///< GET and DELETE; POST is always a single attempt
    double requestsPerSecond = 10.0;
    Backoff::Policy backoff;
    std::uint64_t seed = std::random_device{}();
    std::size_t maxBodyBytes = 16 * 1024 * 1024;
};

/// Called after every HTTP exchange: method, path template, status (0: no answer).
using RequestObserver = std::function<void(std::string_view method, std::string_view path, int)>;

struct HttpResult; // rotator/api/HttpFailure.h

/// The DevOps API over HTTPS with Poco NetSSL.
///
/// Owns an explicit TLS context (VERIFY_STRICT, TLS 1.2+, the system CAs plus `caFile`) and a
/// pool of keep-alive sessions, so concurrent rotations reuse connections. A rejecting
/// certificate handler is installed process-wide, so nothing ever prompts on stdin. Requests are
/// rate-limited; GET and DELETE are retried on transient failures with capped, jittered exponential
/// backoff honouring Retry-After; POST is never retried. A failure without an answer is judged by
/// what was sent: after the first byte of the request was written it is ambiguous (the server may
/// have acted on it), before that (connect, TLS handshake) it is not. The admin token is used
/// only in the Authorization header: it never reaches a log line or a failure message.
/// Each attempt ends at `requestDeadlineMs` even when its bytes keep trickling in (a
/// ConnectionWatchdog cuts the connection), with a transient failure naming
/// astra.requestDeadline; ambiguous when some of the request was written. The watchdog gets a
/// new connection only once Poco's connect, TLS handshake included, has returned: each wait of
/// the handshake is bounded by the connect timeout (the smaller of `timeoutMs` and
/// `requestDeadlineMs`), not by the deadline, which then cuts the attempt at once.
/// The admin token comes from a config::TokenSource at each request, so a token file replaced
/// on disk is used from the next request on; a 401 on it reads the file once more and, when it
/// holds another token, repeats the request once with that one before it counts as a failure.
/// Thread-safe.
class AstraClient final : public TokenApi
{
public:
    AstraClient(ClientOptions options, core::Secret adminToken, core::Clock& clock,
                RequestObserver observer = {});
    AstraClient(ClientOptions options, std::shared_ptr<config::TokenSource> adminToken,
                core::Clock& clock, RequestObserver observer = {});
    ~AstraClient() override;

    core::Outcome<std::vector<core::ClientInfo>> listClients() override;
    core::Outcome<core::CreatedClient> createClient(const core::CreateRequest& request) override;
    core::Outcome<void> deleteClient(const std::string& clientId) override;
    core::Outcome<std::string> currentOrg() override;
    core::Outcome<std::string> currentOrgWith(const core::Secret& token) override;
    core::Outcome<std::vector<core::Role>> listRoles() override;
    core::Outcome<void> checkAdminToken(const core::Secret& token) override;
    void adoptAdminToken(const core::Secret& token) override { _adminToken->adopt(token); }
    std::string adminClientId() const override { return _adminToken->clientId(); }

private:
    enum class Retry
    {
        No,
        Yes
    };

    core::Outcome<HttpResult> call(const std::string& method, const std::string& path,
                                   const std::string& pathTemplate, const std::string& body,
                                   const core::Secret& bearer, Retry retry);
    /// `call` with the admin token, and once more after a 401 if the token file changed.
    core::Outcome<HttpResult> callAsAdmin(const std::string& method, const std::string& path,
                                          const std::string& pathTemplate, const std::string& body,
                                          Retry retry);
    core::Outcome<HttpResult> sendOnce(const std::string& method, const std::string& path,
                                       const std::string& body, const core::Secret& bearer);

    ClientOptions _options;
    std::shared_ptr<config::TokenSource> _adminToken; ///< never null
    core::Clock& _clock;
    RequestObserver _observer;
    RateLimiter _limiter;
    std::mutex _mutex;
    std::mt19937_64 _seeds;
    HttpChannel _channel; ///< the connections, their TLS context and deadline watchdog
};

} // namespace rotator::api
