// ConnectionWatchdog on real descriptors and the real steady clock: an exchange that finished
// its watch hands its connection back to the pool, where the watchdog must not cut it later.

#include <chrono>

#include <poll.h>
#include <sys/socket.h>

#include <gtest/gtest.h>

#include "rotator/api/ConnectionWatchdog.h"
#include "rotator/os/UniqueFd.h"

namespace
{

using namespace std::chrono_literals;
using rotator::api::ConnectionWatchdog;
using rotator::os::UniqueFd;

/// A connected pair of local stream sockets: `near` is watched, `far` sees what happens to it.
struct SocketPair
{
    UniqueFd near;
    UniqueFd far;
};

SocketPair socketPair()
{
    int fds[2] = {-1, -1};
    EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
    return SocketPair{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

/// Whether `fd` has something to read (data or the end of file of a shut-down peer) within
/// `timeout`.
bool readable(const UniqueFd& fd, std::chrono::milliseconds timeout)
{
    pollfd p{fd.get(), POLLIN, 0};
    return ::poll(&p, 1, static_cast<int>(timeout.count())) == 1;
}

} // namespace

TEST(ConnectionWatchdog, AFinishedWatchNeverCutsItsConnection)
{
    ConnectionWatchdog watchdog;
    const auto pooled = socketPair();
    const auto witnessed = socketPair();
    // Far enough ahead that finish() comes first even on a loaded machine.
    const auto deadline = ConnectionWatchdog::Clock::now() + 500ms;
    ConnectionWatchdog::Watch finished(watchdog, deadline);
    finished.setSocket(pooled.near.get());
    // Same deadline: the pass of the watchdog that cuts the witness cuts every watch still
    // listed, so once the witness's peer sees its end of file, that pass is over.
    ConnectionWatchdog::Watch witness(watchdog, deadline);
    witness.setSocket(witnessed.near.get());

    ASSERT_FALSE(finished.finish()) << "the deadline passed before finish()";
    ASSERT_TRUE(readable(witnessed.far, 10s)) << "the watchdog never cut the witness";
    EXPECT_TRUE(witness.expired());

    EXPECT_FALSE(finished.expired());
    EXPECT_FALSE(readable(pooled.far, 0ms)) << "the finished watch's connection was shut down";
    EXPECT_EQ(::send(pooled.near.get(), "x", 1, MSG_NOSIGNAL), 1);
}
