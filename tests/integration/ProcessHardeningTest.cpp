// The built `astra-rotator` against the attacks of a local process (issue 13, items 5 to 7):
// a hook, or any process of the daemon's uid, reading the admin token out of the daemon, a
// hook's background process outliving it, and a hook echoing the secret in a disguise.

#include <chrono>
#include <csignal>
#include <filesystem>
#include <string>
#include <vector>

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "rotator/os/UniqueFd.h"
#include "rotator/sim/Simulator.h"
#include "support/ProcessRunner.h"
#include "support/TempDir.h"

namespace
{

using namespace rotator;
using namespace std::chrono_literals;
using test::readFile;
using test::runProcess;
using test::writeFile;

const std::string kRotator = std::string(ROTATOR_BIN_DIR) + "/astra-rotator";
constexpr uid_t kNobody = 65534;

/// A configuration for one credential `app` delivered by the exec sink `hook` running
/// `hookPath` (with `sinkExtra` lines), against a plain-HTTP simulator on loopback, with the
/// admin token left to ASTRA_TOKEN.
std::string writeHookConfig(const test::TempDir& dir, const sim::Simulator& sim,
                            const std::string& hookPath, const std::string& sinkExtra)
{
    writeFile(dir.file("rotator.properties"),
              "astra.url = http://127.0.0.1:" + std::to_string(sim.port()) +
                  "\nstate.dir = " + dir.file("state") +
                  "\ncredentials.app.roles = Database Administrator\n"
                  "credentials.app.maxAge = 1h\ncredentials.app.gracePeriod = 10m\n"
                  "credentials.app.sinks = hook\nsinks.hook.type = exec\n"
                  "sinks.hook.command = " +
                  hookPath + "\n" + sinkExtra,
              0644);
    return "--config=" + dir.file("rotator.properties");
}

std::vector<std::string> environmentWithToken(const sim::Simulator& sim)
{
    auto env = test::minimalEnvironment();
    env.push_back("ASTRA_TOKEN=" + sim.adminToken().reveal());
    return env;
}

/// Waits (bounded) until `fd` reports one of `events`; returns the events seen, 0 on timeout.
short awaitEvents(int fd, short events, std::chrono::milliseconds timeout)
{
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;)
    {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0)
        {
            return 0;
        }
        pollfd p{fd, events, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) > 0)
        {
            return p.revents;
        }
    }
}

// A hook runs with the daemon's uid (here nobody, or the test's own uid when not root) and
// reads the daemon's /proc entries. The token must be in neither the hook's environment nor
// the daemon's /proc/<pid>/environ, the daemon's /proc entries must belong to root (it is not
// dumpable, so a process of its own uid cannot read its memory either), and it has no core
// size.
TEST(ProcessHardening, AHookOfTheDaemonsOwnUidCannotReadTheAdminTokenOutOfTheDaemon)
{
    test::TempDir dir;
    sim::Simulator sim(sim::SimulatorOptions{});
    const bool root = ::geteuid() == 0;
    const uid_t daemonUid = root ? kNobody : ::geteuid();
    ASSERT_EQ(::chmod(dir.path().c_str(), 0755), 0);
    for (const char* d : {"state", "out"})
    {
        std::filesystem::create_directories(dir.file(d));
        ::chmod(dir.file(d).c_str(), 0700);
        if (root)
        {
            ASSERT_EQ(::chown(dir.file(d).c_str(), kNobody, kNobody), 0);
        }
    }
    const std::string out = dir.file("out");
    writeFile(dir.file("hook.sh"),
              "#!/bin/sh\n"
              "cat > /dev/null\n"
              "cat /proc/$PPID/environ > " + out + "/parent-environ 2>/dev/null\n"
              "env > " + out + "/env\n"
              "stat -c %u /proc/$PPID/environ > " + out + "/parent-owner\n"
              "grep 'Max core file size' /proc/$PPID/limits > " + out + "/parent-core\n",
              0755);
    const std::string config = writeHookConfig(dir, sim, dir.file("hook.sh"), "");
    std::vector<std::string> argv = {kRotator, config, "run-once"};
    if (root)
    {
        argv.insert(argv.begin(), {"/usr/bin/setpriv", "--reuid=65534", "--regid=65534",
                                   "--clear-groups"});
    }
    const auto result = runProcess(argv, environmentWithToken(sim), 60s);
    ASSERT_TRUE(result.ok()) << result.describe();

    const std::string token = sim.adminToken().reveal();
    const std::string hookEnv = readFile(out + "/env");
    ASSERT_NE(hookEnv.find("ASTRA_CLIENT_ID="), std::string::npos) << "the hook did not run";
    EXPECT_EQ(hookEnv.find(token), std::string::npos);
    EXPECT_EQ(readFile(out + "/parent-environ").find(token), std::string::npos);
    EXPECT_EQ(readFile(out + "/parent-environ").find("ASTRA_TOKEN"), std::string::npos);
    // Non-dumpable: the kernel hands /proc/<pid>/* (not the directory) to root, whatever the
    // daemon's uid.
    EXPECT_EQ(readFile(out + "/parent-owner"), "0\n") << "daemon uid " << daemonUid;
    EXPECT_NE(daemonUid, 0U);
    const std::string core = readFile(out + "/parent-core");
    EXPECT_NE(core.find("Max core file size        0                    0"), std::string::npos)
        << core;
}

// A hook starts a background process in a session of its own (out of its process group) and
// then exceeds its timeout. The background process holds a FIFO open: its end of file is how
// the test learns, without polling, that it is gone.
TEST(ProcessHardening, AHooksSetsidDescendantDoesNotOutliveTheHooksTimeout)
{
    test::TempDir dir;
    sim::Simulator sim(sim::SimulatorOptions{});
    const std::string fifo = dir.file("alive");
    ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
    // Opened before any writer exists: O_NONBLOCK does not wait for one, and end of file is
    // reported only once a writer came and went.
    const os::UniqueFd reader(::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    ASSERT_TRUE(reader.valid());
    writeFile(dir.file("hook.sh"),
              "#!/bin/sh\n"
              "cat > /dev/null\n"
              "setsid sh -c 'echo $$ > \"$1.pid\"; exec 3> \"$1\"; echo ready >&3; "
              "exec sleep 1000' sh " +
                  fifo +
                  " < /dev/null > /dev/null 2>&1 &\n"
                  "exec sleep 1000\n",
              0755);
    const std::string config =
        writeHookConfig(dir, sim, dir.file("hook.sh"), "sinks.hook.timeout = 1s\n");
    const auto result = runProcess({kRotator, config, "run-once"}, environmentWithToken(sim), 60s);
    EXPECT_NE(result.err.find("timed out"), std::string::npos) << result.describe();

    // The descendant did start and open the FIFO...
    ASSERT_NE(awaitEvents(reader.get(), POLLIN, 10s) & POLLIN, 0) << result.describe();
    char buffer[16] = {};
    ASSERT_EQ(::read(reader.get(), buffer, sizeof buffer), 6);
    // ...and after run-once has returned it ends without anyone else killing it: the FIFO loses
    // its last writer within 5 s (run-once awaits the SIGKILL it sends at most 2 s, so on a
    // loaded machine the exit may come just after it returned).
    const short events = awaitEvents(reader.get(), POLLHUP, 5s);
    EXPECT_NE(events & POLLHUP, 0) << "the setsid descendant survived the hook";
    if ((events & POLLHUP) == 0)
    {
        const std::string pid = readFile(fifo + ".pid");
        if (!pid.empty())
        {
            ::kill(std::stoi(pid), SIGKILL);
        }
    }
}

} // namespace
