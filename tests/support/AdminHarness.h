#pragma once

// The admin API's tests' common parts: a scheduler stand-in, an HTTP client, and a fixture
// with a seeded store and settings for a server on 127.0.0.1:0.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>

#include "rotator/admin/AdminServer.h"
#include "rotator/admin/Metrics.h"
#include "rotator/store/SqliteStateStore.h"
#include "support/AdminSeed.h"
#include "support/FakeClock.h"
#include "support/FakeOrgDaemon.h"
#include "support/TempDir.h"

namespace rotator::test
{

inline const std::string kBearer = "adm1n-Bearer-t0ken-5ecret-for-tests";

/// Where a test holds a handler's thread: callers of `pass()` wait while the gate is closed.
/// Thread-safe.
class Gate
{
public:
    /// From now on `pass()` waits until `open()`.
    void close()
    {
        std::lock_guard<std::mutex> lock(_mutex);
        _closed = true;
    }
    void open()
    {
        {
            std::lock_guard<std::mutex> lock(_mutex);
            _closed = false;
        }
        _changed.notify_all();
    }
    /// Waits until `n` callers wait at the closed gate.
    void awaitWaiting(int n)
    {
        std::unique_lock<std::mutex> lock(_mutex);
        _changed.wait(lock, [&] { return _waiting >= n; });
    }
    /// As awaitWaiting, but false once `timeout` has passed.
    bool awaitWaitingFor(int n, std::chrono::milliseconds timeout)
    {
        std::unique_lock<std::mutex> lock(_mutex);
        return _changed.wait_for(lock, timeout, [&] { return _waiting >= n; });
    }
    void pass()
    {
        std::unique_lock<std::mutex> lock(_mutex);
        ++_waiting;
        _changed.notify_all();
        _changed.wait(lock, [&] { return !_closed; });
        --_waiting;
    }

private:
    std::mutex _mutex;
    std::condition_variable _changed;
    bool _closed = false;
    int _waiting = 0;
};

/// A scheduler stand-in: records requests, reports a settable pass state, can be told to throw,
/// and can hold the threads that ask it for a rotation (`rotations`) or the last pass
/// (`passes`: /readyz and /metrics).
class StubControl final : public admin::SchedulerControl
{
public:
    bool requestRotation(const std::string& name) override
    {
        rotations.pass();
        std::lock_guard<std::mutex> lock(_mutex);
        requests.push_back(name);
        return queued.insert(name).second;
    }
    std::optional<std::int64_t> lastPassMs() const override
    {
        passes.pass();
        std::lock_guard<std::mutex> lock(_mutex);
        if (fail)
        {
            throw std::runtime_error("stub scheduler broke on purpose");
        }
        return lastPass;
    }
    bool lastPassReachedApi() const override
    {
        std::lock_guard<std::mutex> lock(_mutex);
        return reached;
    }
    std::optional<bool> adminTokenValid() const override
    {
        std::lock_guard<std::mutex> lock(_mutex);
        return tokenValid;
    }
    std::optional<std::string> adminTokenRefusal() const override
    {
        std::lock_guard<std::mutex> lock(_mutex);
        return refusal;
    }
    void set(std::optional<std::int64_t> pass, bool reachedApi)
    {
        std::lock_guard<std::mutex> lock(_mutex);
        lastPass = pass;
        reached = reachedApi;
    }

    void setToken(std::optional<bool> valid, std::optional<std::string> why)
    {
        std::lock_guard<std::mutex> lock(_mutex);
        tokenValid = valid;
        refusal = std::move(why);
    }

    mutable std::mutex _mutex;
    std::vector<std::string> requests;
    std::set<std::string> queued;
    std::optional<std::int64_t> lastPass;
    bool reached = false;
    std::optional<bool> tokenValid;
    std::optional<std::string> refusal;
    std::atomic<bool> fail{false};
    Gate rotations;
    mutable Gate passes;
};

struct Answer
{
    int status = 0;
    std::string body;
    std::string contentType;
    std::map<std::string, std::string> headers;

    Poco::JSON::Object::Ptr json() const
    {
        return Poco::JSON::Parser().parse(body).extract<Poco::JSON::Object::Ptr>();
    }
    std::string errorCode() const
    {
        return json()->getObject("error")->getValue<std::string>("code");
    }
};

struct Call
{
    std::string method = "GET";
    std::string target;
    std::string bearer;        ///< empty: no Authorization header
    std::string authorization; ///< a raw Authorization header instead
    std::string body;
    bool chunked = false;
    std::optional<std::int64_t> declaredLength; ///< send this Content-Length and no body
    std::string host;        ///< the Host header; empty: the address connected to
    int timeoutSeconds = 10; ///< for each read and write of the client
};

/// A free port on 127.0.0.1 for the admin API of a process (its configuration needs a number).
std::uint16_t freeLoopbackPort();

/// Sends `call` on a fresh connection and reads the whole answer.
Answer request(std::uint16_t port, const Call& call);

inline Answer get(std::uint16_t port, const std::string& target, const std::string& bearer = "")
{
    Call c;
    c.target = target;
    c.bearer = bearer;
    return request(port, c);
}

inline Answer post(std::uint16_t port, const std::string& target, const std::string& bearer = "")
{
    Call c;
    c.method = "POST";
    c.target = target;
    c.bearer = bearer;
    return request(port, c);
}

/// billing (current a) and payroll (none yet) over a seeded store; b is unmanaged.
class AdminServerFixture : public ::testing::Test
{
protected:
    AdminServerFixture()
    {
        settings.state.dir = dir.path();
        listenOnAnyLoopbackPort(settings.admin);
        settings.credentials = billingAndPayroll();

        writer = std::make_unique<store::SqliteStateStore>(dir.file("rotator.db"));
        writer->syncInventory(
            {client('a', clock.nowMs() - 10 * kDay), client('b', clock.nowMs() - 400 * kDay)},
            clock.nowMs() - kHour);
        writer->ensureCredentials({"billing", "payroll"}, clock.nowMs() - kHour);
        auto row = writer->findCredential("billing").value();
        row.currentClientId = std::string(24, 'a');
        row.updatedMs = clock.nowMs();
        writer->saveCredential(row);
        for (int i = 0; i < 3; ++i)
        {
            store::EventRow e;
            e.atMs = clock.nowMs() - (i + 1) * kDay;
            e.credential = "billing";
            e.clientId = std::string(24, 'a');
            e.event = "verified";
            e.detail = "event " + std::to_string(i);
            writer->appendEvent(e);
        }
    }

    void enableToken()
    {
        settings.admin.tokenFile = dir.file("admin.token");
        writeFile(settings.admin.tokenFile, kBearer + "\n", 0600);
    }

    std::uint16_t start()
    {
        server = std::make_unique<admin::AdminServer>(settings, dir.file("rotator.db"), control,
                                                      metrics, clock);
        server->start();
        return server->port();
    }

    TempDir dir;
    FakeClock clock;
    config::Settings settings;
    std::unique_ptr<store::SqliteStateStore> writer;
    StubControl control;
    admin::Metrics metrics;
    std::unique_ptr<admin::AdminServer> server;
};

} // namespace rotator::test
