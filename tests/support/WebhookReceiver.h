#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace Poco::Net
{
class HTTPServer;
}

namespace rotator::test
{

/// One request a webhook receiver got.
struct WebhookRequest
{
    std::string method;
    std::string target;         ///< path and query
    std::string idempotencyKey; ///< empty when the header was missing
    std::string authorization;
    std::string contentType;
    std::string body;
    int status = 0; ///< what it was answered
};

/// A webhook receiver on 127.0.0.1 (TLS with sharedTestCerts(), or plain http), as a chat or
/// incident tool would run one: it records every request, answers what `script` says (which may
/// block, to hold a request while the test kills the sender), and processes a notification once
/// per Idempotency-Key (a 2xx for a key it processed already is answered without processing).
/// Port 0 by default; a port of an earlier receiver brings "the same receiver" back.
/// Thread-safe; the awaits wait on a condition variable, never poll.
class WebhookReceiver
{
public:
    using Script = std::function<int(const WebhookRequest&)>;

    explicit WebhookReceiver(Script script, bool tls = true, std::uint16_t port = 0);
    ~WebhookReceiver();

    std::uint16_t port() const { return _port; }
    /// `https://127.0.0.1:PORT` + `path` (http without TLS).
    std::string url(const std::string& path) const;

    std::vector<WebhookRequest> requests() const;
    /// Keys processed (answered 2xx the first time), each with how many times it was processed:
    /// 1 when the receiver's dedup held.
    std::map<std::string, int> processed() const;
    /// Requests seen per key, duplicates included.
    std::map<std::string, int> seen() const;
    /// Until at least `count` requests arrived (true), or `timeout` passed (false).
    bool awaitRequests(std::size_t count, std::chrono::milliseconds timeout) const;
    /// Until at least `count` keys were processed.
    bool awaitProcessed(std::size_t count, std::chrono::milliseconds timeout) const;

    struct State; ///< shared with the request handlers

private:
    std::shared_ptr<State> _state;
    std::unique_ptr<Poco::Net::HTTPServer> _server;
    std::uint16_t _port = 0;
    bool _tls = true;
};

} // namespace rotator::test
