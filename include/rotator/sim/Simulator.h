#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rotator/core/Clock.h"
#include "rotator/core/Model.h"
#include "rotator/core/Secret.h"
#include "rotator/sim/FaultRule.h"
#include "rotator/sim/Org.h"

namespace rotator::sim
{

/// Key casing of `GET /v2/organizations/roles` (ASTRA-API.md §4.3).
enum class RoleCasing
{
    Upper, ///< the docs: `ID`, `Name`, `Type`, `Policy`
    Lower, ///< the spec: `id`, `name`, `type`, `policy`
};

/// `Errors` ids the simulator sends. 340012 and 340018 are real; the 9xxxxx ids are the
/// simulator's own (no source shows the real ones) and are 900000 + the HTTP status.
inline constexpr int kErrorInvalidTokenFormat = 340012;
inline constexpr int kErrorUnknownToken = 340018;
inline constexpr int kErrorSimulatorBase = 900000;

/// Everything the simulator can be told at start. The defaults are the documented behaviour.
struct SimulatorOptions
{
    std::string host = "127.0.0.1"; ///< must be a loopback address or `localhost`
    std::uint16_t port = 0;         ///< 0: any free port (see Simulator::port())
    std::string tlsCertFile;        ///< PEM; with tlsKeyFile serves HTTPS (TLS 1.2+)
    std::string tlsKeyFile;         ///< PEM; both empty: plain HTTP
    std::string adminTokenFile;     ///< where to write the bootstrap admin token; empty: nowhere
    std::string stateFile;          ///< JSON file loaded at start, saved after each change
    std::uint64_t seed = 1;         ///< determines the org id and role ids of a new org
    RoleCasing roleCasing = RoleCasing::Upper;
    bool descriptions = true;            ///< list `description` and `tokenExpiry`
    bool listExpired = true;             ///< expired tokens stay listed (they still get 401)
    int deleteStatus = 204;              ///< answer of a successful DELETE: 204 or 200
    int deleteUnknownStatus = 404;       ///< answer of a DELETE of an unknown id: 404, 204 or 400
    std::int64_t latencyMs = 0;          ///< added before every `/v2/` answer
    std::int64_t propagationDelayMs = 0; ///< new tokens get 401 340018 until created + this
    std::vector<FaultRule> faults;
    bool logRequests = false;           ///< one line per request on stderr (no headers, no tokens)
    std::shared_ptr<core::Clock> clock; ///< null: the system clock
};

/// A client to add directly, bypassing authentication (`POST /_sim/clients`).
struct ClientSeed
{
    std::vector<std::string> roles; ///< role ids or role names
    std::optional<std::string> description;
    std::optional<std::int64_t> generatedOnMs; ///< default: now
    std::optional<std::int64_t> tokenExpiryMs;
};

/// How often one (method, path template, status) was answered. Status 0: connection dropped.
struct RequestCount
{
    std::string method;
    std::string path; ///< a template, e.g. `/v2/clientIdSecrets/{clientId}`; `(unknown)` else
    int status = 0;
    std::int64_t count = 0;
};

/// A local stand-in for the Astra DevOps API token endpoints (ASTRA-API.md §9).
///
/// Owns the simulated org (in memory, optionally mirrored in `stateFile`), an HTTP(S) listener
/// on loopback and its worker threads. The constructor loads the state, bootstraps an
/// Organization Administrator token, binds (SO_REUSEADDR, never SO_REUSEPORT) and starts
/// serving; the destructor (or stop()) aborts open connections and joins every worker thread.
///
/// Thread-safe: every member may be called from any thread while requests are served.
/// Fails by throwing: std::invalid_argument for bad options (non-loopback host, half a TLS
/// pair, unsupported status), core::UsageError for an invalid fault rule, std::runtime_error
/// for an unreadable state file, admin token file or certificate, Poco::Exception when the
/// address cannot be bound. At run time a failed state-file write is
/// reported as a 500 answer and on stderr; the in-memory org stays authoritative.
///
/// HTTP control endpoints on the same listener, all needing the bootstrap admin token as
/// Bearer and never faulted or counted:
///   `GET /_sim/state`       org id, roles, clients (no secrets), faults, request counters
///   `POST /_sim/faults`     add a rule: `{"kind","method","path","count","status",
///                           "retryAfter","ms"}` (keys as in parseFaultSpec)
///   `DELETE /_sim/faults`   remove every rule
///   `POST /_sim/clients`    add a client: `{"roles":[id or name],"description",
///                           "generatedOn","tokenExpiry"}`; answers like a create
///   `POST /_sim/config`     `{"latencyMs":N,"propagationDelayMs":N}`
///   `DELETE /_sim/requests` reset the request counters
class Simulator
{
public:
    explicit Simulator(SimulatorOptions options = {});
    ~Simulator();
    Simulator(const Simulator&) = delete;
    Simulator& operator=(const Simulator&) = delete;

    /// Stops serving: aborts open connections, wakes injected delays, joins the workers.
    /// Idempotent.
    void stop();

    std::uint16_t port() const;
    /// `http[s]://127.0.0.1:PORT` (the host as given, IPv6 in brackets).
    std::string baseUrl() const;
    const std::string& orgId() const;

    /// The bootstrapped Organization Administrator token.
    core::Secret adminToken() const;

    /// The id of the role with this exact name; throws std::out_of_range when there is none.
    std::string roleId(std::string_view roleName) const;
    std::vector<SimRole> roles() const;
    /// The clients as stored: ids, token hashes, times. Never secrets.
    std::vector<SimClient> clients() const;

    /// Adds a client as if created through the API, but without authentication, privilege
    /// checks, faults or propagation delay. Throws std::invalid_argument for an unknown role.
    core::CreatedClient createClient(const ClientSeed& seed);
    /// Revokes a client directly; false when there is none.
    bool revokeClient(std::string_view clientId);

    void addFault(FaultRule rule); ///< throws core::UsageError for an invalid rule
    void clearFaults();
    std::vector<FaultRule> faults() const;
    void setLatencyMs(std::int64_t ms);
    void setPropagationDelayMs(std::int64_t ms);

    /// Requests answered (or dropped) for `method` and `pathTemplate`, with `status` or any.
    std::int64_t requestCount(std::string_view method, std::string_view pathTemplate,
                              std::optional<int> status = std::nullopt) const;
    std::vector<RequestCount> requestCounts() const;
    /// Blocks until requestCount(method, pathTemplate) reaches `count` or `timeout` passes;
    /// false on timeout. A request is counted once it is answered or dropped, after its effect
    /// (a committed create or delete): a test waits here for a request its client gave up on
    /// (a latency fault beyond the client timeout) instead of sleeping.
    bool awaitRequestCount(std::string_view method, std::string_view pathTemplate,
                           std::int64_t count, std::chrono::milliseconds timeout) const;
    void resetRequestCounts();
    /// TCP connections accepted so far, control-endpoint ones included. Fewer connections than
    /// requests shows that a client reuses keep-alive connections.
    std::int64_t connectionCount() const;

    class Impl; ///< opaque; defined in src/sim/SimulatorImpl.h

private:
    std::unique_ptr<Impl> _impl;
};

} // namespace rotator::sim
