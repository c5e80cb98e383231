#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <Poco/Logger.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/ServerSocket.h>

#include "rotator/admin/Reply.h"

namespace rotator::admin
{

/// A complete request as the front end hands it to the handler.
struct Incoming
{
    Poco::Net::HTTPRequest request;
    std::string clientHost;    ///< the peer's address, e.g. 127.0.0.1
    bool bodyTooLarge = false; ///< see RequestReader::bodyTooLarge
};

/// The numbers of the connection policy.
struct FrontEndLimits
{
    std::int64_t requestDeadlineMs = 5'000; ///< to send a whole request; also to take the answer
    int maxConnectionsPerAddress = 8;
    int maxConnections = 256;   ///< open connections in all
    int workers = 4;            ///< threads for requests outside the reserved paths
    int reservedWorkers = 1;    ///< threads for the reserved paths only
    std::size_t maxQueued = 32; ///< complete requests waiting for a thread, per lane
    std::size_t maxBody = 64 * 1024;
    std::size_t maxDiscard = 1024 * 1024;
};

/// The admin API's HTTP/1.1 server: where slow and greedy clients are stopped before they can
/// hold a thread.
///
/// One event-loop thread accepts connections and reads every request with poll(2) and a
/// RequestReader, so a client that trickles its head or body costs a descriptor, not a
/// thread, and is answered 408 and closed at its absolute deadline (`requestDeadlineMs` from
/// the connection or the previous answer; an idle keep-alive connection is closed silently).
/// Only a complete request reaches a worker: paths for which `reserved` says true (the probes)
/// go to a lane of their own threads, all others to the general lane, so a flood of slow /v1
/// answers cannot starve /healthz. A lane whose queue is full answers 503.
///
/// An address holding `maxConnectionsPerAddress` connections that opens another loses its
/// oldest connection that has not sent a whole request yet (answered 503 and closed); if all of
/// them are being answered, the new one is answered 503 and closed. A probe sends its request
/// at once, so it gets through even while 64 trickling connections come from its address. The
/// same rule applies to `maxConnections` across addresses.
///
/// `handler` runs on the worker threads and must not throw (it is the top of a request). Every
/// refusal by the front end is logged on `log` with the client's address. `start`/`stop` are
/// for one thread; `stop` closes every connection, waits for running handlers, and is
/// idempotent.
class HttpFrontEnd
{
public:
    using Handler = std::function<Reply(const Incoming&)>;
    using Reserved = std::function<bool(const std::string& path)>;

    HttpFrontEnd(Poco::Net::ServerSocket socket, FrontEndLimits limits, Handler handler,
                 Reserved reserved, Poco::Logger& log);
    ~HttpFrontEnd();
    HttpFrontEnd(const HttpFrontEnd&) = delete;
    HttpFrontEnd& operator=(const HttpFrontEnd&) = delete;

    void start();
    void stop();

private:
    class Loop;
    std::unique_ptr<Loop> _loop;
};

} // namespace rotator::admin
