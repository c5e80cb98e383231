#include <gtest/gtest.h>

#include <cerrno>
#include <csignal>

#include <fcntl.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rotator/os/ProcessTree.h"
#include "rotator/os/UniqueFd.h"
#include "support/FailingSyscall.h"
#include "support/OtherUser.h"

using rotator::os::killDescendants;
using rotator::os::UniqueFd;

namespace
{

/// A forked helper that becomes a child subreaper and gets orphans of its own: each of
/// `orphans` runs in a process whose parent exits at once, so that it reparents to the helper.
/// An orphan either waits for a signal (`true`) or exits at once (`false`). The helper sends
/// their pids over `pids`, waits until the exiting ones are zombies (its children by then),
/// optionally drops to nobody, and exits with what killDescendants(-1) returned.
[[noreturn]] void runHelper(const std::vector<bool>& orphans, int pids, bool dropToNobody)
{
    ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
    std::vector<pid_t> exiting;
    for (const bool waits : orphans)
    {
        int fds[2] = {-1, -1};
        if (::pipe(fds) != 0)
        {
            ::_exit(100);
        }
        const pid_t middle = ::fork();
        if (middle == 0)
        {
            const pid_t orphan = ::fork();
            if (orphan == 0)
            {
                while (waits)
                {
                    ::pause();
                }
                ::_exit(0);
            }
            ::_exit(::write(fds[1], &orphan, sizeof orphan) == sizeof orphan ? 0 : 1);
        }
        pid_t orphan = -1;
        if (::read(fds[0], &orphan, sizeof orphan) != sizeof orphan ||
            ::waitpid(middle, nullptr, 0) != middle)
        {
            ::_exit(101);
        }
        ::close(fds[0]);
        ::close(fds[1]);
        if (::write(pids, &orphan, sizeof orphan) != sizeof orphan)
        {
            ::_exit(105);
        }
        if (!waits)
        {
            exiting.push_back(orphan);
        }
    }
    for (const pid_t pid : exiting)
    {
        siginfo_t info{};
        if (::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOWAIT) != 0)
        {
            ::_exit(102);
        }
    }
    if (dropToNobody && (::syscall(SYS_setresgid, rotator::test::kOtherGid,
                                   rotator::test::kOtherGid, rotator::test::kOtherGid) != 0 ||
                         ::syscall(SYS_setresuid, rotator::test::kOtherUid,
                                   rotator::test::kOtherUid, rotator::test::kOtherUid) != 0))
    {
        ::_exit(103);
    }
    const std::size_t killed = killDescendants(-1, [](pid_t) { return false; });
    // Every orphan is reaped (or, one we may not kill, left running).
    for (const pid_t pid : exiting)
    {
        if (::waitpid(pid, nullptr, WNOHANG) != -1 || errno != ECHILD)
        {
            ::_exit(104);
        }
    }
    ::_exit(static_cast<int>(killed));
}

/// A helper running `runHelper` in a forked child, and the read end of its `pids` pipe.
struct Helper
{
    pid_t pid = -1;
    UniqueFd pids;
};

Helper startHelper(const std::vector<bool>& orphans, bool dropToNobody)
{
    int fds[2] = {-1, -1};
    if (::pipe2(fds, O_CLOEXEC) != 0)
    {
        return {};
    }
    Helper helper{-1, UniqueFd(fds[0])};
    const UniqueFd writer(fds[1]);
    helper.pid = ::fork();
    if (helper.pid == 0)
    {
        runHelper(orphans, writer.get(), dropToNobody);
    }
    return helper;
}

/// The helper's exit code, or -1 when it did not end within `seconds`.
int awaitExit(pid_t helper, int seconds)
{
    const UniqueFd pidFd(static_cast<int>(::syscall(SYS_pidfd_open, helper, 0)));
    pollfd p{pidFd.get(), POLLIN, 0};
    if (!pidFd.valid() || ::poll(&p, 1, seconds * 1000) != 1)
    {
        return -1;
    }
    int status = 0;
    if (::waitpid(helper, &status, 0) != helper || !WIFEXITED(status))
    {
        return -2;
    }
    return WEXITSTATUS(status);
}

} // namespace

// Orphans that exited by themselves are reaped, not reported as killed: the "killed N
// process(es)" warning counts what we killed.
TEST(ProcessTree, CountsOnlyTheProcessesItKilledAndReapsTheOrphansThatHadExited)
{
    const Helper helper = startHelper({false, true, false}, false);
    ASSERT_GE(helper.pid, 0);
    EXPECT_EQ(awaitExit(helper.pid, 30), 1);
}

// An orphan we may not signal (here root's, while the helper runs as nobody; in the daemon a
// setuid program a hook started) runs on: waiting for it would hold the delivery, and the
// state lock, for as long as it runs.
TEST(ProcessTree, NeitherKillsNorWaitsForAnOrphanItMayNotSignal)
{
    if (::geteuid() != 0)
    {
        GTEST_SKIP() << rotator::test::kNeedsRoot;
    }
    const Helper helper = startHelper({true}, true);
    ASSERT_GE(helper.pid, 0);
    pid_t orphan = -1;
    ASSERT_EQ(::read(helper.pids.get(), &orphan, sizeof orphan),
              static_cast<ssize_t>(sizeof orphan));
    const UniqueFd orphanFd(static_cast<int>(::syscall(SYS_pidfd_open, orphan, 0)));
    ASSERT_TRUE(orphanFd.valid());

    const int code = awaitExit(helper.pid, 10);
    EXPECT_EQ(code, 0) << "-1: killDescendants still waited for the orphan after 10 s";
    // Ours to end: it is root's.
    ::syscall(SYS_pidfd_send_signal, orphanFd.get(), SIGKILL, nullptr, 0);
    if (code < 0)
    {
        awaitExit(helper.pid, 10);
    }
}

// Before Linux 5.3 there is no pidfd_open, and killDescendants can kill nothing: the caller
// must be able to tell, to say so.
TEST(ProcessTree, SaysWhenTheKernelLacksPidfdOpen)
{
    EXPECT_TRUE(rotator::os::canKillDescendants());
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0)
    {
        if (!rotator::test::failSyscallWithEnosys(SYS_pidfd_open))
        {
            ::_exit(2);
        }
        ::_exit(rotator::os::canKillDescendants() ? 1 : 0);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}
