#pragma once

// The simulator's internals, shared by Simulator.cpp (lifecycle, listener, faults, counters,
// the state file), SimulatorApi.cpp (the public Simulator over them), Endpoints.cpp (the DevOps
// API), ControlEndpoints.cpp (the /_sim endpoints) and Replies.cpp (sending, faulty answers).

#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <tuple>
#include <utility>

#include <Poco/Net/HTTPServer.h>
#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/ThreadPool.h>

#include "rotator/sim/Simulator.h"

namespace rotator::sim
{

/// One HTTP answer, built under the lock and sent after it is released.
struct Reply
{
    int status = 200;
    std::string contentType; ///< empty: no body
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
};

/// The DevOps API's error body (`{"errors":[{"ID","message"}]}`) with `status`.
Reply errorsReply(int status, int id, const std::string& message);
/// A plain-text answer: the 400 of a request whose body is malformed or invalid.
Reply textReply(int status, const std::string& message);

enum class Endpoint
{
    List,
    Create,
    Delete,
    CurrentOrg,
    Roles,
    Role,
    WrongMethod,
    Unknown,
};

/// The endpoint a request addresses, its path template (for counters) and path parameter.
struct Route
{
    Endpoint endpoint = Endpoint::Unknown;
    std::string pathTemplate = "(unknown)";
    std::string param;
    std::string allow; ///< for WrongMethod: the Allow header
};

Route matchRoute(const std::string& method, const std::string& path);

class Simulator::Impl
{
public:
    explicit Impl(SimulatorOptions options);
    ~Impl();

    void stop();
    void serve(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response);

    // Everything below is guarded by _mutex unless noted.
    SimulatorOptions _options;
    std::shared_ptr<core::Clock> _clock;
    mutable std::mutex _mutex;
    Org _org;
    core::Secret _adminToken;
    std::string _adminTokenSha256;
    std::vector<FaultRule> _faults;
    std::int64_t _latencyMs = 0;
    std::int64_t _propagationDelayMs = 0;
    std::map<std::tuple<std::string, std::string, int>, std::int64_t> _counts;
    mutable std::condition_variable _counted; ///< waited on with _mutex; notified as _counts grows

    std::atomic<std::int64_t> _connections{0}; ///< accepted TCP connections; no lock needed

    // Immutable after construction.
    std::uint16_t _port = 0;
    std::string _baseUrl;

    // Called with _mutex held. Endpoints.cpp: a DevOps API request.
    Reply dispatch(const Route& route, const Poco::Net::HTTPServerRequest& request,
                   const std::string& body);
    // ControlEndpoints.cpp: a /_sim request, and a client added without the API.
    Reply control(const std::string& method, const std::string& path,
                  const Poco::Net::HTTPServerRequest& request, const std::string& body);
    core::CreatedClient seedClient(const ClientSeed& seed);
    /// Simulator.cpp: writes the org to SimulatorOptions::stateFile, if any, after a change.
    void persist() const;
    /// Simulator.cpp, with _mutex held: the requestCount() sum.
    std::int64_t countOf(std::string_view method, std::string_view pathTemplate,
                         std::optional<int> status) const;

private:
    struct FaultDecision
    {
        std::int64_t delayMs = 0;
        std::optional<FaultRule> answer;
    };

    void bootstrapAdmin();
    void startServer();
    FaultDecision takeFaults(const std::string& method, const std::string& path);
    /// Waits up to `ms`; false when the simulator is stopping.
    bool waitMs(std::int64_t ms);
    void count(const std::string& method, const std::string& pathTemplate, int status);
    void logLine(const std::string& method, const std::string& path, const std::string& outcome,
                 std::int64_t elapsedMs) const;

    std::mutex _waitMutex;
    std::condition_variable _wake;
    bool _stopping = false; // guarded by _waitMutex

    int _listenerFd = -1;   // the listening socket, owned by _server
    Poco::ThreadPool _pool; // declared before _server: the server is destroyed first
    std::unique_ptr<Poco::Net::HTTPServer> _server;
};

} // namespace rotator::sim
