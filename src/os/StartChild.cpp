#include "rotator/os/StartChild.h"

#include <cerrno>
#include <csignal>
#include <limits>

#include <fcntl.h>
#include <pthread.h>
#include <spawn.h>
#include <sys/resource.h>
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

/// Closes every descriptor from `first` to `last` (inclusive). close_range first; before
/// Linux 5.9 (ENOSYS) or when it fails otherwise, one close() per number below `limit`, our
/// RLIMIT_NOFILE read before the fork (no descriptor is numbered beyond it). Async-signal-safe.
void closeRange(unsigned first, unsigned last, unsigned limit)
{
    if (first > last || ::syscall(SYS_close_range, first, last, 0U) == 0)
    {
        return;
    }
    for (unsigned fd = first; fd <= last && fd < limit; ++fd)
    {
        ::close(static_cast<int>(fd));
    }
}

/// The forked child: only async-signal-safe calls until the exec. Never returns. Starts with
/// every signal blocked (see forkChild).
[[noreturn]] void runChild(const ChildPlan& plan, int report, unsigned fdLimit)
{
    // Default dispositions while everything is still blocked, so that none of our handlers runs
    // in the child; then the empty mask.
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
    // Everything above 2 but the report pipe (which closes itself on exec), before the ids
    // change: nothing of ours is ever open in a process of the hook's user.
    if (error == 0)
    {
        const auto at = static_cast<unsigned>(report);
        closeRange(3, at - 1, fdLimit);
        closeRange(at + 1, ~0U, fdLimit);
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
        ::execve(plan.argv[0], plan.argv, plan.envp);
        error = errno;
    }
    const ssize_t ignored = ::write(report, &error, sizeof error);
    static_cast<void>(ignored);
    ::_exit(127);
}

/// One more than the highest descriptor number this process may have (RLIMIT_NOFILE's soft
/// limit).
unsigned descriptorLimit()
{
    struct rlimit limit = {};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY ||
        limit.rlim_cur > std::numeric_limits<unsigned>::max())
    {
        return std::numeric_limits<unsigned>::max();
    }
    return static_cast<unsigned>(limit.rlim_cur);
}

/// Blocks every signal in this thread while it lives, so that between the fork and the reset
/// of the dispositions no handler of ours runs in the child (posix_spawn does the same).
class AllSignalsBlocked
{
public:
    AllSignalsBlocked()
    {
        sigset_t all;
        sigfillset(&all);
        ::pthread_sigmask(SIG_SETMASK, &all, &_old);
    }
    AllSignalsBlocked(const AllSignalsBlocked&) = delete;
    AllSignalsBlocked& operator=(const AllSignalsBlocked&) = delete;
    ~AllSignalsBlocked() { ::pthread_sigmask(SIG_SETMASK, &_old, nullptr); }

private:
    sigset_t _old{};
};

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
    const unsigned fdLimit = descriptorLimit();
    pid_t child = -1;
    int forkError = 0;
    {
        const AllSignalsBlocked blocked;
        child = ::fork();
        if (child == 0)
        {
            runChild(plan, writer.get(), fdLimit);
        }
        forkError = errno;
    }
    if (child < 0)
    {
        return forkError;
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
