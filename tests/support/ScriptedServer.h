#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
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

/// One scripted answer. `streamBytes` > 0 sends that many bytes of `body` repeated (a huge
/// answer without holding it in memory).
struct ScriptedAnswer
{
    int status = 200;
    std::string contentType = "application/json";
    std::string body;
    std::size_t streamBytes = 0;
};

/// A plain-HTTP server on 127.0.0.1:0 whose answers come from a function, for hostile-input
/// tests (answers no honest server would give). Records every request line. Thread-safe.
class ScriptedServer
{
public:
    using Script =
        std::function<ScriptedAnswer(const std::string& method, const std::string& path,
                                     const std::string& body)>;

    explicit ScriptedServer(Script script);
    ~ScriptedServer();

    std::uint16_t port() const;
    std::string url() const;
    /// "METHOD PATH" of every request so far.
    std::vector<std::string> requests() const;

    struct State; ///< shared with the request handlers

private:
    std::shared_ptr<State> _state;
    std::unique_ptr<Poco::Net::HTTPServer> _server;
};

} // namespace rotator::test
