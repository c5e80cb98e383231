#include "rotator/os/StartChild.h"

#include <cerrno>
#include <csignal>

#include <fcntl.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rotator/os/UniqueFd.h"

#if !defined(__GLIBC__) || !__GLIBC_PREREQ(2, 34)
#error "startChild needs glibc 2.34 or newer (posix_spawn_file_actions_addclosefrom_np)"
#endif

namespace rotator::os
{

namespace
{

/// Frees posix_spawn's attribute and file-action objects.
struct SpawnSetup
{
    posix_spawn_file_actions_t actions{};
    posix_spawnattr_t attr{};
    SpawnSetup()
    {
        posix_spawn_file_actions_init(&actions);
        posix_spawnattr_init(&attr);
    }
    SpawnSetup(const SpawnSetup&) = delete;
    SpawnSetup& operator=(const SpawnSetup&) = delete;
    ~SpawnSetup()
    {
        posix_spawn_file_actions_destroy(&actions);
        posix_spawnattr_destroy(&attr);
    }
};

int spawnChild(const ChildPlan& plan, pid_t& pid)
{
    SpawnSetup setup;
    for (int i = 0; i < 3; ++i)
    {
        posix_spawn_file_actions_adddup2(&setup.actions, plan.streams[static_cast<std::size_t>(i)],
                                         i);
    }
    // Nothing of ours beyond the three streams: not the database, not sockets, not the lock.
    posix_spawn_file_actions_addclosefrom_np(&setup.actions, 3);
    sigset_t none;
    sigemptyset(&none);
    sigset_t all;
    sigfillset(&all);
    // Our mask blocks SIGTERM & co. (sigwait in main) and SIGPIPE is ignored: a child would
    // inherit both, so it gets an empty mask and default dispositions.
    posix_spawnattr_setsigmask(&setup.attr, &none);
    posix_spawnattr_setsigdefault(&setup.attr, &all);
    int flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
    if (plan.ownProcessGroup)
    {
        posix_spawnattr_setpgroup(&setup.attr, 0);
        flags |= POSIX_SPAWN_SETPGROUP;
    }
    posix_spawnattr_setflags(&setup.attr, static_cast<short>(flags));
    return ::posix_spawn(&pid, plan.argv[0], &setup.actions, &setup.attr, plan.argv, plan.envp);
}

/// The forked child: only async-signal-safe calls until the exec. Never returns.
[[noreturn]] void runChild(const ChildPlan& plan, int report)
{
    // Default dispositions while everything is still blocked, then the empty mask.
    struct sigaction defaults = {};
    defaults.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig)
    {
        ::sigaction(sig, &defaults, nullptr); // EINVAL for SIGKILL, SIGSTOP: fine
    }
    sigset_t none;
    sigemptyset(&none);
    int error = 0;
    if (::sigprocmask(SIG_SETMASK, &none, nullptr) != 0 ||
        (plan.ownProcessGroup && ::setpgid(0, 0) != 0))
    {
        error = errno;
    }
    for (int i = 0; error == 0 && i < 3; ++i)
    {
        if (::dup2(plan.streams[static_cast<std::size_t>(i)], i) < 0)
        {
            error = errno;
        }
    }
    // Groups first, then the gid, then the uid: after the uid, the rest is no longer allowed.
    // Raw system calls: this thread is the only one, and glibc's wrappers would try to signal
    // the parent's other threads (which do not exist here) to change their ids too.
    if (error == 0 && plan.gid)
    {
        const gid_t groups[1] = {*plan.gid};
        if (::syscall(SYS_setgroups, 1, groups) != 0 ||
            ::syscall(SYS_setresgid, *plan.gid, *plan.gid, *plan.gid) != 0)
        {
            error = errno;
        }
    }
    if (error == 0 && plan.uid && ::syscall(SYS_setresuid, *plan.uid, *plan.uid, *plan.uid) != 0)
    {
        error = errno;
    }
    if (error == 0)
    {
        // Everything above 2 but the report pipe, which closes itself on exec.
        if (report > 3)
        {
            ::syscall(SYS_close_range, 3U, static_cast<unsigned>(report - 1), 0U);
        }
        ::syscall(SYS_close_range, static_cast<unsigned>(report + 1), ~0U, 0U);
        ::execve(plan.argv[0], plan.argv, plan.envp);
        error = errno;
    }
    const ssize_t ignored = ::write(report, &error, sizeof error);
    static_cast<void>(ignored);
    ::_exit(127);
}

int forkChild(const ChildPlan& plan, pid_t& pid)
{
    int fds[2] = {-1, -1};
    if (::pipe2(fds, O_CLOEXEC) != 0)
    {
        return errno;
    }
    UniqueFd reader(fds[0]);
    // Above 2, so that the child's dup2 onto its standard streams cannot overwrite it.
    UniqueFd writer(::fcntl(fds[1], F_DUPFD_CLOEXEC, 3));
    ::close(fds[1]);
    if (!writer.valid())
    {
        return errno;
    }
    const pid_t child = ::fork();
    if (child < 0)
    {
        return errno;
    }
    if (child == 0)
    {
        runChild(plan, writer.get());
    }
    writer.reset();
    // End of file: the exec happened. Otherwise the child's errno, and it has exited.
    int error = 0;
    ssize_t n = 0;
    do
    {
        n = ::read(reader.get(), &error, sizeof error);
    } while (n < 0 && errno == EINTR);
    if (n == static_cast<ssize_t>(sizeof error))
    {
        int status = 0;
        while (::waitpid(child, &status, 0) < 0 && errno == EINTR)
        {
        }
        return error != 0 ? error : EINVAL;
    }
    pid = child;
    return 0;
}

} // namespace

int startChild(const ChildPlan& plan, pid_t& pid)
{
    return plan.uid || plan.gid ? forkChild(plan, pid) : spawnChild(plan, pid);
}

} // namespace rotator::os
