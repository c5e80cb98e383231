#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <Poco/Logger.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/URI.h>

#include "RefusalLog.h"
#include "rotator/admin/Reply.h"
#include "rotator/config/Settings.h"
#include "rotator/os/UniqueFd.h"

namespace rotator::admin
{

class RequestReader;
class WorkLane;
struct Job;

/// A complete request as the front end hands it to the handler.
struct Incoming
{
    Poco::Net::HTTPRequest request;
    /// The request target, decoded once for every part that looks at the path; nullopt when it
    /// is not a valid URI.
    std::optional<Poco::URI> uri;
    std::string clientHost;    ///< the peer's address, e.g. 127.0.0.1
    bool bodyTooLarge = false; ///< see RequestReader::bodyTooLarge
    /// When the request's first byte arrived (nowMs()): its access-log time counts from here,
    /// so that the wait for a worker shows.
    std::int64_t arrivedMs = 0;
};

/// The admin API's HTTP/1.1 server: where slow and greedy clients are stopped before they can
/// hold a thread.
///
/// One event-loop thread accepts connections and reads every request with poll(2) and a
/// RequestReader, so a client that trickles its head or body costs a descriptor, not a
/// thread, and is answered 408 and closed at its absolute deadline (`admin.requestDeadline`
/// from the connection or the previous answer; an idle keep-alive connection is closed
/// silently). Only a complete request is answered, where `laneOf` says: on the loop thread
/// itself (a constant answer that never waits, so that no queue stands before /healthz), on
/// the probes' own worker, or on the shared workers, so that a flood of slow /v1 answers cannot
/// starve the probes. A lane whose queue is full answers 503. A connection that closes after
/// its answer is half-closed and read for a moment more, so that a client still sending (an
/// oversized body) reads the answer instead of a reset.
///
/// An address holding `admin.maxConnectionsPerAddress` connections that opens another loses
/// its oldest connection that has not sent a whole request yet (answered 503 and closed; it is
/// read once more first); if all of them are being answered, the new one is answered 503 and
/// closed. A probe sends its request at once, so it gets through even while 64 trickling
/// connections come from its address, also when it is accepted in the same batch as they are. The
/// same rule applies to a fixed number of connections across addresses.
///
/// `handler` runs on the worker threads (and on the loop for Lane::Loop, where it must not
/// block) and must not throw (it is the top of a request). Every
/// refusal by the front end is logged on `log` with the client's address. `start`/`stop` are
/// for one thread; `stop` closes every connection, waits for running handlers, and is
/// idempotent.
class HttpFrontEnd
{
public:
    /// Where a complete request is answered.
    enum class Lane
    {
        Loop,     ///< on the event loop itself: only for answers that never wait (/healthz)
        Reserved, ///< on the probes' own worker
        General   ///< on the shared workers
    };
    using Handler = std::function<Reply(const Incoming&)>;
    using LaneOf = std::function<Lane(const Incoming&)>;

    HttpFrontEnd(Poco::Net::ServerSocket socket, const config::AdminSettings& settings,
                 Handler handler, LaneOf laneOf, Poco::Logger& log);
    ~HttpFrontEnd();
    HttpFrontEnd(const HttpFrontEnd&) = delete;
    HttpFrontEnd& operator=(const HttpFrontEnd&) = delete;

    void start();
    void stop();

private:
    /// One accepted connection; the loop thread's, except while a worker answers it.
    struct Connection
    {
        std::uint64_t id = 0;
        os::UniqueFd fd;
        std::string address;
        bool reading = true;    ///< false while a worker answers it
        bool lingering = false; ///< answered and half-closed: see kLingerMs
        std::size_t lingered = 0;
        std::int64_t sinceMs = 0;
        std::int64_t deadlineMs = 0;
        int requests = 0;
        std::int64_t arrivedMs = 0; ///< the current request's first byte; 0: none yet
        std::unique_ptr<RequestReader> reader;
        std::string pending; ///< bytes read after the current request (a pipelined one)
    };

    struct Returned
    {
        std::uint64_t id;
        bool keepAlive;
    };

    void run();
    void acceptAll();
    void admit(os::UniqueFd fd, const std::string& address);
    bool evictOldest(const std::string* address);
    /// Reads what `id` has sent and acts on it; an error drops only that connection.
    void readFrom(std::uint64_t id);
    void readOnce(std::uint64_t id);
    void advance(std::uint64_t id);
    /// True when `c` was answered on the loop and reads its next request.
    bool dispatch(Connection& c);
    /// Runs the handler (never throwing) and returns the answer's bytes; `keepAlive` tells
    /// whether the connection stays open after them.
    std::string prepare(const Incoming& incoming, bool lastRequest, bool& keepAlive);
    void expire();
    void takeReturned();
    void startReading(Connection& c);
    void refuse(Connection& c, int status, const std::string& code, const std::string& message);
    void refuse(int fd, const std::string& address, int status, const std::string& code,
                const std::string& message);
    void close(std::uint64_t id);
    /// Ends a connection after its closing answer without a reset (see kLingerMs).
    void finish(Connection& c);
    /// Runs `step` for connection `id` (0: one not admitted yet); an exception is logged and
    /// closes that connection, so that one bad connection never ends the loop thread.
    void guard(std::uint64_t id, const std::function<void()>& step);
    void answer(Job& job);
    std::string tooMany() const;

    Poco::Net::ServerSocket _socket;
    const std::int64_t _deadlineMs;
    const int _maxPerAddress;
    const Handler _handler;
    const LaneOf _laneOf;
    Poco::Logger& _log;
    os::UniqueFd _wake; ///< an eventfd: workers give connections back, stop() ends the loop
    std::atomic<bool> _stopping{false};
    std::thread _thread;
    std::unique_ptr<WorkLane> _general;
    std::unique_ptr<WorkLane> _probes;

    // The loop thread's alone (and stop()'s once that thread has ended).
    std::map<std::uint64_t, std::unique_ptr<Connection>> _connections;
    std::map<std::string, int> _perAddress;
    std::uint64_t _nextId = 0;
    std::int64_t _acceptPausedUntilMs = 0; ///< after accept() ran out of descriptors
    bool _outOfDescriptors = false;        ///< logged; cleared by the next accepted connection
    RefusalLog _refusals;

    std::mutex _returnedMutex;
    std::vector<Returned> _returned;
};

} // namespace rotator::admin
