#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <string>
#include <vector>

#include <pthread.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rotator/os/Subprocess.h"
#include "support/FailingSyscall.h"
#include "support/OtherUser.h"
#include "support/SystemProbes.h"
#include "support/TempDir.h"

using rotator::os::SpawnError;
using rotator::os::SpawnOptions;
using rotator::os::Subprocess;
using rotator::test::eventually;
using rotator::test::processGone;
using rotator::test::readFile;
using rotator::test::TempDir;
using rotator::test::writeFile;
using rotator::test::zombieChildren;

namespace
{

using Clock = std::chrono::steady_clock;

const std::vector<std::string> kPath = {"PATH=/usr/local/bin:/usr/bin:/bin"};

SpawnOptions shell(const std::string& script)
{
    SpawnOptions options;
    options.argv = {"/bin/sh", "-c", script};
    options.env = kPath;
    return options;
}

/// Runs a child to its end (10 s at most) and collects what it printed.
struct Finished
{
    std::string out;
    std::string err;
    bool exited = false;
    bool inputTaken = false;
    std::optional<rotator::os::ExitStatus> status;
};

Finished run(const SpawnOptions& options, std::string_view input = {})
{
    Finished result;
    auto child = Subprocess::spawn(options);
    if (!child)
    {
        ADD_FAILURE() << "spawn failed: " << child.error().error;
        return result;
    }
    child->setInput(input);
    child->setOutputHandlers([&](std::string_view chunk) { result.out += chunk; },
                             [&](std::string_view chunk) { result.err += chunk; });
    result.exited = child->communicate(Clock::now() + std::chrono::seconds(10));
    result.inputTaken = child->closeInput();
    child->drainOutput(1024 * 1024);
    result.status = child->reap();
    return result;
}

/// Blocks a signal in this thread and ignores another process-wide while it lives.
class SignalStateGuard
{
public:
    SignalStateGuard(int blocked, int ignored) : _ignored(ignored)
    {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, blocked);
        pthread_sigmask(SIG_BLOCK, &set, &_oldMask);
        struct sigaction ignore = {};
        ignore.sa_handler = SIG_IGN;
        sigaction(ignored, &ignore, &_oldAction);
    }
    SignalStateGuard(const SignalStateGuard&) = delete;
    SignalStateGuard& operator=(const SignalStateGuard&) = delete;
    ~SignalStateGuard()
    {
        sigaction(_ignored, &_oldAction, nullptr);
        pthread_sigmask(SIG_SETMASK, &_oldMask, nullptr);
    }

private:
    int _ignored;
    sigset_t _oldMask{};
    struct sigaction _oldAction = {};
};

} // namespace

TEST(Subprocess, RunsTheArgvWithoutAShellAndWithExactlyTheGivenEnvironment)
{
    SpawnOptions options;
    options.argv = {"/usr/bin/env"};
    options.env = {"ONE=1", "TWO=two words"};
    ::setenv("ROTATOR_SUBPROCESS_TEST_PARENT", "ours", 1);
    const Finished result = run(options);
    ::unsetenv("ROTATOR_SUBPROCESS_TEST_PARENT");
    ASSERT_TRUE(result.status && result.status->ok()) << result.err;
    EXPECT_EQ(result.out, "ONE=1\nTWO=two words\n");
}

TEST(Subprocess, FeedsStdinAndHandsBackStdoutAndStderrSeparately)
{
    const Finished result = run(shell("cat; echo problem >&2; exit 3"), "the input\n");
    EXPECT_TRUE(result.exited);
    EXPECT_TRUE(result.inputTaken);
    EXPECT_EQ(result.out, "the input\n");
    EXPECT_EQ(result.err, "problem\n");
    ASSERT_TRUE(result.status);
    EXPECT_TRUE(result.status->exited);
    EXPECT_EQ(result.status->code, 3);
    EXPECT_EQ(result.status->describe(), "exit 3");
}

TEST(Subprocess, ServesALargeInputAndOutputWithoutDeadlock)
{
    // More than a pipe holds in both directions at once: blocking I/O would hang here.
    const std::string input(1024 * 1024, 'i');
    const Finished result =
        run(shell("yes 'a line of output' | head -c 1048576; cat > /dev/null"), input);
    EXPECT_TRUE(result.exited);
    EXPECT_TRUE(result.inputTaken);
    EXPECT_EQ(result.out.size(), 1048576U);
    ASSERT_TRUE(result.status);
    EXPECT_TRUE(result.status->ok());
}

TEST(Subprocess, SurvivesAChildThatExitsWithoutReadingItsInputAndSaysSo)
{
    const std::string input(1024 * 1024, 'i'); // more than a pipe holds: EPIPE for us
    const Finished result = run(shell("exit 0"), input);
    EXPECT_TRUE(result.exited);
    EXPECT_FALSE(result.inputTaken);
    ASSERT_TRUE(result.status);
    EXPECT_TRUE(result.status->ok());
}

TEST(Subprocess, GivesTheChildAnEmptySignalMaskAndDefaultDispositions)
{
    // As in the daemon: SIGTERM blocked (sigwait in main) and SIGPIPE ignored.
    const SignalStateGuard guard(SIGTERM, SIGPIPE);
    SpawnOptions options;
    options.argv = {"/bin/grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status"};
    options.env = kPath;
    const Finished result = run(options);
    const auto field = [&](const std::string& name)
    {
        const auto at = result.out.find(name + ":\t");
        return at == std::string::npos
                   ? ~0ULL
                   : std::stoull(result.out.substr(at + name.size() + 2), nullptr, 16);
    };
    const auto bit = [](int signal) { return 1ULL << (signal - 1); };
    EXPECT_EQ(field("SigBlk"), 0ULL) << result.out;
    // None of the standard signals (1-31) may stay ignored; glibc leaves its internal
    // real-time signals (32, 33) as they are.
    EXPECT_EQ(field("SigIgn") & (bit(32) - 1), 0ULL) << result.out;
    EXPECT_EQ(field("SigIgn") & bit(SIGPIPE), 0ULL) << result.out;
}

TEST(Subprocess, ClosesOurDescriptorsInTheChild)
{
    const rotator::test::InheritableDescriptor inheritable(77);
    ASSERT_TRUE(inheritable.valid());
    const Finished result = run(shell(inheritable.shellProbe()));
    EXPECT_EQ(result.out, "closed\n");
}

// With a uid the child is forked (posix_spawn cannot change ids) and closes our descriptors
// itself; before Linux 5.9 close_range fails with ENOSYS, and a hook running as another user
// must not get our sockets then either.
TEST(Subprocess, ClosesOurDescriptorsInAChildThatChangesIdsWithoutCloseRange)
{
    const pid_t tester = ::fork();
    ASSERT_GE(tester, 0);
    if (tester == 0)
    {
        const rotator::test::InheritableDescriptor inheritable(77);
        if (!inheritable.valid() || !rotator::test::failSyscallWithEnosys(SYS_close_range))
        {
            ::_exit(2);
        }
        SpawnOptions options = shell(inheritable.shellProbe());
        options.uid = ::geteuid() == 0 ? rotator::test::kOtherUid : ::geteuid();
        const Finished result = run(options);
        ::_exit(result.out == "closed\n" ? 0 : result.out == "leaked\n" ? 1 : 3);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(tester, &status, 0), tester);
    ASSERT_TRUE(WIFEXITED(status)) << status;
    EXPECT_EQ(WEXITSTATUS(status), 0) << "1: the descriptor leaked into the hook";
}

// The forked start path gives the same clean signal state as posix_spawn.
TEST(Subprocess, GivesAChildThatChangesIdsAnEmptySignalMaskAndDefaultDispositions)
{
    const SignalStateGuard guard(SIGTERM, SIGPIPE);
    SpawnOptions options;
    options.argv = {"/bin/grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status"};
    options.env = kPath;
    options.uid = ::geteuid();
    const Finished result = run(options);
    EXPECT_NE(result.out.find("SigBlk:\t0000000000000000\n"), std::string::npos) << result.out;
    const auto at = result.out.find("SigIgn:\t");
    ASSERT_NE(at, std::string::npos) << result.out;
    // None of the standard signals (1-31) may stay ignored.
    EXPECT_EQ(std::stoull(result.out.substr(at + 8), nullptr, 16) & 0x7fffffffULL, 0ULL)
        << result.out;
    // And the parent's mask is as it was: SIGTERM still blocked, nothing more.
    sigset_t mask;
    ASSERT_EQ(pthread_sigmask(SIG_SETMASK, nullptr, &mask), 0);
    EXPECT_EQ(sigismember(&mask, SIGTERM), 1);
    EXPECT_EQ(sigismember(&mask, SIGUSR1), 0);
}

TEST(Subprocess, ConnectsStreamsToFilesWhenPathsAreGiven)
{
    TempDir dir;
    writeFile(dir.file("in"), "from a file\n");
    writeFile(dir.file("out"), "kept\n"); // appended to, not truncated
    SpawnOptions options = shell("cat; echo problem >&2");
    options.stdinPath = dir.file("in");
    options.stdoutPath = dir.file("out");
    options.stderrPath = dir.file("err");
    const Finished result = run(options);
    ASSERT_TRUE(result.status && result.status->ok());
    EXPECT_TRUE(result.out.empty());
    EXPECT_EQ(readFile(dir.file("out")), "kept\nfrom a file\n");
    EXPECT_EQ(readFile(dir.file("err")), "problem\n");
}

TEST(Subprocess, StopsAtTheDeadlineAndSignalsTheWholeGroupWithoutReaping)
{
    SpawnOptions options = shell("sleep 60 & echo $!; wait");
    options.ownProcessGroup = true;
    auto child = Subprocess::spawn(options);
    ASSERT_TRUE(child);
    std::string out;
    child->setOutputHandlers([&](std::string_view chunk) { out += chunk; }, {});
    const auto start = Clock::now();
    EXPECT_FALSE(child->communicate(start + std::chrono::milliseconds(200)));
    EXPECT_GE(Clock::now() - start, std::chrono::milliseconds(200));
    ASSERT_FALSE(out.empty()) << "the script did not print its child's pid";
    const auto grandchild = static_cast<pid_t>(std::stoi(out));

    child->signal(SIGKILL);
    EXPECT_TRUE(child->communicate(Clock::now() + std::chrono::seconds(10)));
    EXPECT_TRUE(child->hasExited());
    EXPECT_FALSE(child->reaped());
    const auto status = child->reap();
    ASSERT_TRUE(status);
    EXPECT_TRUE(status->signalled);
    EXPECT_EQ(status->signal, SIGKILL);
    EXPECT_TRUE(eventually([&] { return processGone(grandchild); }))
        << "the grandchild " << grandchild << " survived";
    EXPECT_FALSE(child->reap()) << "a second reap must not wait for another process";
}

TEST(Subprocess, KillsAndReapsAChildThatStillRunsWhenDestroyed)
{
    pid_t pid = -1;
    {
        auto child = Subprocess::spawn(shell("exec sleep 60"));
        ASSERT_TRUE(child);
        pid = child->pid();
        EXPECT_FALSE(child->hasExited());
    }
    EXPECT_TRUE(processGone(pid));
    EXPECT_TRUE(zombieChildren().empty());
}

TEST(Subprocess, ReportsAProgramThatCannotStartAsAValue)
{
    TempDir dir;
    SpawnOptions options;
    options.argv = {dir.file("missing")};
    const auto missing = Subprocess::spawn(options);
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().step, SpawnError::Step::Spawning);
    EXPECT_EQ(missing.error().error, ENOENT);

    options.argv.clear();
    const auto empty = Subprocess::spawn(options);
    ASSERT_FALSE(empty);
    EXPECT_EQ(empty.error().error, EINVAL);
    EXPECT_TRUE(zombieChildren().empty());
}
