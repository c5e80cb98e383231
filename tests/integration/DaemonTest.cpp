// The daemon of `serve` built by a test: its parts, their order and their stop, with the admin
// API on 127.0.0.1:0 and a fake org behind the API client.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/NetException.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/Net/SocketAddress.h>

#include "rotator/app/Daemon.h"
#include "rotator/core/Clock.h"
#include "rotator/core/Errors.h"
#include "support/FakeOrgDaemon.h"
#include "support/FakeTokenApi.h"
#include "support/TempDir.h"

namespace rotator::app
{
namespace
{

/// A safety net for the awaits, which return as soon as what they wait for happened.
constexpr std::chrono::seconds kPatience(60);

/// The status of `GET target` on 127.0.0.1:port; throws when nothing listens there.
int status(std::uint16_t port, const std::string& target)
{
    Poco::Net::HTTPClientSession session("127.0.0.1", port);
    session.setTimeout(Poco::Timespan(10, 0));
    Poco::Net::HTTPRequest request(Poco::Net::HTTPRequest::HTTP_GET, target,
                                   Poco::Net::HTTPMessage::HTTP_1_1);
    session.sendRequest(request);
    Poco::Net::HTTPResponse response;
    session.receiveResponse(response);
    return static_cast<int>(response.getStatus());
}

/// An org with no credentials to rotate: each pass lists and syncs the inventory. The daemon
/// keeps real time (a fake clock would run its passes back to back), and nothing in it is due.
class DaemonTest : public ::testing::Test
{
protected:
    DaemonTest()
    {
        settings.state.dir = state.path();
        test::listenOnAnyLoopbackPort(settings.admin);
        settings.scheduler.syncIntervalMs = 3'600'000;
    }

    std::unique_ptr<test::FakeOrgDaemon> daemon()
    {
        return std::make_unique<test::FakeOrgDaemon>(settings, org, clock);
    }

    test::TempDir state;
    core::SystemClock clock;
    test::FakeTokenApi org{clock};
    config::Settings settings;
};

TEST_F(DaemonTest, ServesTheAdminApiOnTheBoundPortUntilStopped)
{
    const auto fake = daemon();
    Daemon& d = fake->daemon;
    EXPECT_EQ(d.adminPort(), 0) << "a port before start";
    d.start();
    const std::uint16_t port = d.adminPort();
    ASSERT_NE(port, 0);
    EXPECT_EQ(status(port, "/healthz"), 200);
    ASSERT_TRUE(d.scheduler().awaitPasses(1, kPatience));
    EXPECT_EQ(status(port, "/readyz"), 200);

    d.stop();
    EXPECT_THROW(status(port, "/healthz"), Poco::Net::NetException);
    EXPECT_FALSE(d.scheduler().awaitPasses(d.scheduler().passes() + 1, kPatience))
        << "a pass after the stop";
    d.stop(); // idempotent
}

TEST_F(DaemonTest, WithoutAdminListenTheSchedulerRunsAlone)
{
    settings.admin.listen.clear();
    const auto fake = daemon();
    Daemon& d = fake->daemon;
    d.start();
    EXPECT_EQ(d.adminPort(), 0);
    EXPECT_TRUE(d.scheduler().awaitPasses(1, kPatience));
    d.stop();
}

TEST_F(DaemonTest, HoldsTheStateDirectoryLockFromConstructionToDestruction)
{
    auto first = daemon();
    EXPECT_THROW(daemon(), core::StoreError) << "a second writer on the same state";
    first->daemon.start();
    ASSERT_TRUE(first->daemon.scheduler().awaitPasses(1, kPatience));
    const std::uint16_t port = first->daemon.adminPort();
    // The destructor stops a started daemon (threads joined, server closed) and lets go of the
    // lock last.
    first.reset();
    EXPECT_THROW(status(port, "/healthz"), Poco::Net::NetException);
    EXPECT_NO_THROW(daemon());
}

TEST_F(DaemonTest, AnAdminPortInUseFailsTheStartBeforeAnyPass)
{
    Poco::Net::ServerSocket taken;
    taken.bind(Poco::Net::SocketAddress("127.0.0.1", 0), true, false);
    taken.listen();
    settings.admin.port = taken.address().port();
    const auto fake = daemon();
    Daemon& d = fake->daemon;
    try
    {
        d.start();
        FAIL() << "the daemon started on a port in use";
    }
    catch (const core::StartupError& e)
    {
        EXPECT_EQ(std::string(e.what()).find("admin.listen: "), 0u) << e.what();
    }
    // The admin server starts before the scheduler's thread: nothing ran, and nothing hangs.
    EXPECT_EQ(d.scheduler().passes(), 0);
    d.stop();
    EXPECT_EQ(d.scheduler().passes(), 0);
}

} // namespace
} // namespace rotator::app
