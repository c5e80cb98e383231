#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rotator/sim/FaultRule.h"

namespace rotator::sim
{

/// One request as a store simulator sees it (the body read whole, at most 1 MiB).
struct StoreRequest
{
    std::string method;
    std::string path;  ///< percent-decoded path
    std::string query; ///< raw query, without `?`
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;

    /// The first header of this name (case-insensitive); empty when absent.
    std::string header(std::string_view name) const;
    /// The first query parameter of this name, percent-decoded; nullopt when absent.
    std::optional<std::string> queryParam(std::string_view name) const;
};

/// One answer.
struct StoreReply
{
    int status = 200;
    std::string contentType = "application/json"; ///< empty: no body
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
    /// What the request counters file it under: a path template such as
    /// `/api/v1/namespaces/{ns}/secrets/{name}`; empty: the request path.
    std::string route;
};

/// Answers one request. Called on a server thread, without any lock of the server's: the store
/// guards its own state.
using StoreHandler = std::function<StoreReply(const StoreRequest&)>;

/// The store's own error answer for an injected Status or RateLimit fault of `status`.
using StoreErrorReply = std::function<StoreReply(int status)>;

struct StoreServerOptions
{
    std::string name = "store-sim"; ///< prefix of its stderr lines
    std::string host = "127.0.0.1"; ///< must be a loopback address or `localhost`
    std::uint16_t port = 0;         ///< 0: any free port
    std::string tlsCertFile;        ///< PEM; with tlsKeyFile serves HTTPS (TLS 1.2+)
    std::string tlsKeyFile;         ///< PEM; both empty: plain HTTP
    bool logRequests = false;       ///< one line per request on stderr (path, status; no body)
    std::vector<FaultRule> faults;  ///< `pathPrefix` is matched against the request path
};

/// The HTTP(S) listener, fault injection and request counters the secret-store simulators
/// (Kubernetes, Vault, AWS Secrets Manager) share with each other and, in spirit, with
/// astra-devops-sim: loopback only, port 0 by default, SO_REUSEADDR without SO_REUSEPORT.
///
/// Faults (FaultRule, matched by method and path prefix; `/_sim/` paths are never faulted):
/// Latency waits first; Status and RateLimit answer with `errorReply(status)` without calling
/// the handler; TextError answers text/plain; DropAfterCommit and TlsEofAfterCommit call the
/// handler (its change is committed) and then end the connection without an answer; InvalidJson
/// answers a strict prefix of the real body; Trickle sends the real answer one byte at a time.
///
/// Thread-safe. The destructor (or stop()) aborts open connections, wakes injected waits and
/// joins every thread. Throws std::invalid_argument for bad options and std::runtime_error for
/// an unreadable certificate or key.
class StoreServer
{
public:
    StoreServer(StoreServerOptions options, StoreHandler handler, StoreErrorReply errorReply);
    ~StoreServer();
    StoreServer(const StoreServer&) = delete;
    StoreServer& operator=(const StoreServer&) = delete;

    void stop();
    std::uint16_t port() const;
    /// `http[s]://127.0.0.1:PORT`.
    std::string baseUrl() const;

    void addFault(FaultRule rule); ///< throws core::UsageError for an invalid rule
    void clearFaults();

    /// Requests answered (or dropped: status 0) for `method` (or `*`) and `route`, with
    /// `status` or any.
    std::int64_t requestCount(std::string_view method, std::string_view route,
                              std::optional<int> status = std::nullopt) const;
    /// Waits (bounded by `timeoutMs`) until requestCount(method, route) >= n; false on timeout.
    bool waitForRequests(std::string_view method, std::string_view route, std::int64_t n,
                         std::int64_t timeoutMs) const;
    /// Sets every counter back to zero.
    void resetCounts();

    struct Impl;

private:
    std::unique_ptr<Impl> _impl;
};

} // namespace rotator::sim
