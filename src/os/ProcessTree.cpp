#include "rotator/os/ProcessTree.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <dirent.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rotator/os/ReadFile.h"
#include "rotator/os/UniqueFd.h"

namespace rotator::os
{

namespace
{

constexpr int kMaxRounds = 16;
constexpr int kExitWaitMs = 2000; ///< per round, for killed processes that are not our children

/// What /proc/<pid>/stat says of a process: its state letter and its parent.
struct ProcessStat
{
    char state = '?';
    pid_t ppid = 0;
    /// Exited, waiting to be reaped: nothing left to kill.
    bool exited() const { return state == 'Z' || state == 'X'; }
};

/// `pid`'s state and parent from /proc/<pid>/stat, or nullopt when it is gone. The command name
/// (field 2) may hold spaces and parentheses: the fields after it start at the last ')'.
std::optional<ProcessStat> statOf(pid_t pid)
{
    std::string stat;
    if (readFile("/proc/" + std::to_string(pid) + "/stat", stat, 4096) != 0)
    {
        return std::nullopt;
    }
    const auto close = stat.rfind(')');
    if (close == std::string::npos || close + 4 >= stat.size())
    {
        return std::nullopt;
    }
    // ") S PPID ..."
    const char* fields = stat.c_str() + close + 4;
    char* end = nullptr;
    const long ppid = std::strtol(fields, &end, 10);
    if (end == fields)
    {
        return std::nullopt;
    }
    return ProcessStat{stat[close + 2], static_cast<pid_t>(ppid)};
}

/// Every visible process and its parent.
std::map<pid_t, pid_t> processTable()
{
    std::map<pid_t, pid_t> table;
    DIR* dir = ::opendir("/proc");
    if (dir == nullptr)
    {
        return table;
    }
    while (const dirent* entry = ::readdir(dir))
    {
        char* end = nullptr;
        const long pid = std::strtol(entry->d_name, &end, 10);
        if (pid <= 0 || *end != '\0')
        {
            continue;
        }
        if (const auto st = statOf(static_cast<pid_t>(pid)))
        {
            table[static_cast<pid_t>(pid)] = st->ppid;
        }
    }
    ::closedir(dir);
    return table;
}

bool isSubreaper()
{
    int flag = 0;
    return ::prctl(PR_GET_CHILD_SUBREAPER, &flag, 0, 0, 0) == 0 && flag != 0;
}

/// `roots` and everything below them, as (pid, parent) pairs.
std::vector<std::pair<pid_t, pid_t>> subtrees(const std::map<pid_t, pid_t>& table,
                                              std::vector<pid_t> roots)
{
    std::multimap<pid_t, pid_t> children;
    for (const auto& [pid, ppid] : table)
    {
        children.emplace(ppid, pid);
    }
    std::vector<std::pair<pid_t, pid_t>> out;
    while (!roots.empty())
    {
        const pid_t parent = roots.back();
        roots.pop_back();
        const auto [first, last] = children.equal_range(parent);
        for (auto it = first; it != last; ++it)
        {
            out.emplace_back(it->second, parent);
            roots.push_back(it->second);
        }
    }
    return out;
}

/// Reaps those of `killed` that are our children and have exited; never waits.
void reapExited(const std::vector<pid_t>& killed)
{
    for (const pid_t pid : killed)
    {
        int status = 0;
        while (::waitpid(pid, &status, WNOHANG) < 0 && errno == EINTR)
        {
        }
    }
}

} // namespace

bool canKillDescendants()
{
    const UniqueFd self(static_cast<int>(::syscall(SYS_pidfd_open, ::getpid(), 0)));
    return self.valid() || errno != ENOSYS;
}

std::size_t killDescendants(pid_t root, const std::function<bool(pid_t)>& isLiveChild)
{
    const pid_t self = ::getpid();
    const bool adopting = isSubreaper();
    std::set<pid_t> killed; // over all rounds: one still dying is not killed again
    for (int round = 0; round < kMaxRounds; ++round)
    {
        const auto table = processTable();
        std::vector<std::pair<pid_t, pid_t>> targets;
        if (root > 0)
        {
            targets = subtrees(table, {root});
        }
        if (adopting)
        {
            std::vector<pid_t> orphans;
            for (const auto& [pid, ppid] : table)
            {
                if (ppid == self && pid != root && !isLiveChild(pid))
                {
                    orphans.push_back(pid);
                    targets.emplace_back(pid, self);
                }
            }
            const auto below = subtrees(table, orphans);
            targets.insert(targets.end(), below.begin(), below.end());
        }
        std::size_t newlyKilled = 0;
        std::vector<UniqueFd> awaited;
        std::vector<pid_t> ours; // signalled children of ours, reaped once they exit
        for (const auto& [pid, ppid] : targets)
        {
            UniqueFd pidFd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
            if (!pidFd.valid())
            {
                continue;
            }
            // Opened first, checked second: if the parent is still the one we saw, the pidfd
            // is that process and not a stranger that reused its pid.
            const auto st = statOf(pid);
            if (!st || st->ppid != ppid)
            {
                continue;
            }
            const bool signalled =
                ::syscall(SYS_pidfd_send_signal, pidFd.get(), SIGKILL, nullptr, 0) == 0;
            if (ppid == self && (signalled || st->exited()))
            {
                ours.push_back(pid);
            }
            // A process we may not signal (another user's, when we are not root) is neither
            // waited for nor counted: it may run for ever.
            if (!signalled)
            {
                continue;
            }
            // One that had exited by itself was not killed by us.
            if (!st->exited() && killed.insert(pid).second)
            {
                ++newlyKilled;
            }
            awaited.push_back(std::move(pidFd));
        }
        if (newlyKilled == 0)
        {
            // Nothing new: what is left is gone, exited, or still dying from an earlier round
            // (a process in uninterruptible sleep dies when it wakes); waiting again would not
            // help.
            reapExited(ours);
            break;
        }
        // They end when the SIGKILL is delivered; wait for that, a bounded time (a pidfd turns
        // readable on exit), rather than scanning again at once.
        const auto deadline =
            std::chrono::steady_clock::now() + std::chrono::milliseconds(kExitWaitMs);
        for (const auto& fd : awaited)
        {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            pollfd p{fd.get(), POLLIN, 0};
            while (::poll(&p, 1, static_cast<int>(std::max<long>(0, left.count()))) < 0 &&
                   errno == EINTR)
            {
            }
        }
        reapExited(ours);
    }
    return killed.size();
}

} // namespace rotator::os
