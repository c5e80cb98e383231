#include "rotator/api/AstraClient.h"

#include <algorithm>
#include <mutex>

#include <Poco/Logger.h>

#include "rotator/api/HttpFailure.h"
#include "rotator/api/JsonMapping.h"
#include "rotator/core/CpuAccount.h"
#include "rotator/core/SecureWipe.h"
#include "rotator/core/Token.h"

namespace rotator::api
{

using core::Failure;
using core::FailureKind;

namespace
{

const std::string kClientsPath = "/v2/clientIdSecrets";
const std::string kRolesPath = "/v2/organizations/roles";
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
      _seeds(_options.seed),
      _channel(ChannelOptions{_options.url, _options.caFile, _options.timeoutMs,
                              _options.requestDeadlineMs, _options.maxBodyBytes},
               clock)
{
}

AstraClient::~AstraClient() = default;

core::Outcome<HttpResult> AstraClient::sendOnce(const std::string& method, const std::string& path,
                                                const std::string& body,
                                                const core::Secret& bearer)
{
    HttpRequestSpec request;
    request.method = method;
    request.target = path;
    request.headers.emplace_back("Authorization", "Bearer " + bearer.reveal());
    request.body = body;
    auto result = _channel.send(request);
    core::secureWipe(request.headers.front().second);
    return result;
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
