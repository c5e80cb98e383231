#include "rotator/api/AstraClient.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <istream>
#include <mutex>
#include <ostream>

#include <Poco/Logger.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Timespan.h>
#include <Poco/URI.h>
#include <openssl/err.h>

#include "rotator/api/ClientSession.h"
#include "rotator/api/HttpFailure.h"
#include "rotator/api/JsonMapping.h"
#include "rotator/core/CpuAccount.h"
#include "rotator/core/Token.h"

namespace rotator::api
{

using core::Failure;
using core::FailureKind;

namespace
{

const std::string kClientsPath = "/v2/clientIdSecrets";
const std::string kRolesPath = "/v2/organizations/roles";
const std::string kUserAgent = "astra-rotator/0.1";
const std::string kCurrentOrgPath = "/v2/currentOrg";

Poco::Logger& logger()
{
    return Poco::Logger::get("api");
}

bool isSuccess(int status)
{
    return status >= 200 && status < 300;
}

core::Outcome<std::string> orgOf(const core::Outcome<HttpResult>& answer)
{
    if (!answer)
    {
        if (answer.error().httpStatus == 403)
        {
            return std::string(); // authenticates, may not read the org
        }
        return tl::unexpected(answer.error());
    }
    return parseCurrentOrg(answer->body);
}

} // namespace

AstraClient::AstraClient(ClientOptions options, core::Secret adminToken, core::Clock& clock,
                         RequestObserver observer)
    : AstraClient(std::move(options), std::make_shared<config::TokenSource>(std::move(adminToken)),
                  clock, std::move(observer))
{
}

AstraClient::AstraClient(ClientOptions options, std::shared_ptr<config::TokenSource> adminToken,
                         core::Clock& clock, RequestObserver observer)
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
        _context = makeClientContext(_options.caFile);
    }
}

AstraClient::~AstraClient() = default;

/// A pooled connection and whether the exchange on it has written anything yet.
struct AstraClient::Session
{
    ExchangeState state; ///< declared before `http`, which refers to it
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
    session->http = makeClientSession(_host, _port, _context, session->state);
    session->http->setKeepAlive(true);
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
    // However the bytes arrive, the attempt ends at its deadline: the watchdog cuts the
    // connection then, and every wait below ends with it.
    ConnectionWatchdog::Watch watch(_watchdog,
                                    ConnectionWatchdog::Clock::now() +
                                        std::chrono::milliseconds(_options.requestDeadlineMs));
    session->state = ExchangeState{false, &watch};
    const auto timeout = Poco::Timespan(_options.timeoutMs * 1000);
    session->http->setTimeout(
        Poco::Timespan(std::min(_options.timeoutMs, _options.requestDeadlineMs) * 1000), timeout,
        timeout);
    // OpenSSL tells a TLS read or write that must wait from a failed one by this thread's error
    // queue (SSL_get_error): an entry left there by anything else on the thread (Poco 1.11's
    // Context constructor leaves one) turns the wait for an answer into a fatal error carrying
    // that entry's text. Poco does not clear the queue before its I/O; each exchange does.
    ERR_clear_error();
    const Exchange exchange{method + " " + path, _host + ":" + std::to_string(_port), _host,
                            _options.timeoutMs, _options.requestDeadlineMs};
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
        // Finished, not just asked: a deadline passing between the check and the release
        // would shut down a pooled connection, or one another exchange has taken meanwhile.
        if (watch.finish())
        {
            // Whatever the stream made of the cut (an end of file looks like a short body).
            return tl::unexpected(pastDeadline(exchange, true));
        }
        if (!in.eof())
        {
            return tl::unexpected(makeFailure(FailureKind::Transient,
                                              where + ": answer cut short by " + exchange.peer,
                                              true, result.status));
        }
        session->state.watch = nullptr;
        releaseSession(std::move(session));
        return result;
    }
    catch (const Poco::Exception& e)
    {
        // Judged by what was sent, not by the exception's type: the same SSLException may be a
        // refused certificate (nothing sent) or a connection cut under the answer (a create
        // that may have been committed).
        const bool written = session->state.requestWritten;
        if (watch.expired())
        {
            return tl::unexpected(pastDeadline(exchange, written));
        }
        return tl::unexpected(written ? lostAfterSending(e, exchange)
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

core::Outcome<HttpResult> AstraClient::callAsAdmin(const std::string& method,
                                                   const std::string& path,
                                                   const std::string& pathTemplate,
                                                   const std::string& body, Retry retry)
{
    const core::Secret sent = _adminToken->current();
    auto result = call(method, path, pathTemplate, body, sent, retry);
    if (!result && result.error().httpStatus == 401)
    {
        // A 401 is answered before anything is done, so even a POST may be sent again. Someone
        // may have rotated the token file under us (and revoked the old token) since the last
        // look.
        if (auto replacement = _adminToken->replacementFor(sent))
        {
            logger().information("%s %s: the admin token was refused; the token file holds a "
                                 "new one, trying it",
                                 method, path);
            result = call(method, path, pathTemplate, body, *replacement, retry);
        }
    }
    return result;
}

core::Outcome<std::vector<core::ClientInfo>> AstraClient::listClients()
{
    auto r = callAsAdmin("GET", kClientsPath, kClientsPath, "", Retry::Yes);
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
    auto r = callAsAdmin("POST", kClientsPath, kClientsPath, createRequestJson(request), Retry::No);
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
    auto r = callAsAdmin("DELETE", kClientsPath + "/" + clientId, kClientsPath + "/{clientId}", "",
                         Retry::Yes);
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
    return orgOf(callAsAdmin("GET", kCurrentOrgPath, kCurrentOrgPath, "", Retry::Yes));
}

core::Outcome<std::string> AstraClient::currentOrgWith(const core::Secret& token)
{
    return orgOf(call("GET", kCurrentOrgPath, kCurrentOrgPath, "", token, Retry::Yes));
}

core::Outcome<std::vector<core::Role>> AstraClient::listRoles()
{
    const std::string& path = kRolesPath;
    auto r = callAsAdmin("GET", path, path, "", Retry::Yes);
    if (!r)
    {
        return tl::unexpected(r.error());
    }
    return parseRoles(r->body);
}

core::Outcome<void> AstraClient::checkAdminToken(const core::Secret& token)
{
    // The answers are parsed too: a token that gets a 200 and an answer we cannot read would
    // fail the rotator's first pass.
    auto clients = call("GET", kClientsPath, kClientsPath, "", token, Retry::Yes);
    if (!clients)
    {
        return tl::unexpected(clients.error());
    }
    if (auto parsed = parseClientList(clients->body); !parsed)
    {
        return tl::unexpected(parsed.error());
    }
    const std::string& path = kRolesPath;
    auto roles = call("GET", path, path, "", token, Retry::Yes);
    if (!roles)
    {
        return tl::unexpected(roles.error());
    }
    if (auto parsed = parseRoles(roles->body); !parsed)
    {
        return tl::unexpected(parsed.error());
    }
    return {};
}

} // namespace rotator::api
