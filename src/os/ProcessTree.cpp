#include "rotator/os/ProcessTree.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <map>
#include <optional>
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

/// The parent of `pid` from /proc/<pid>/stat, or nullopt when it is gone. The command name
/// (field 2) may hold spaces and parentheses: the fields after it start at the last ')'.
std::optional<pid_t> parentOf(pid_t pid)
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
    return static_cast<pid_t>(ppid);
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
        if (const auto ppid = parentOf(static_cast<pid_t>(pid)))
        {
            table[static_cast<pid_t>(pid)] = *ppid;
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

} // namespace

std::size_t killDescendants(pid_t root, const std::function<bool(pid_t)>& isLiveChild)
{
    const pid_t self = ::getpid();
    const bool adopting = isSubreaper();
    std::size_t killed = 0;
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
        if (targets.empty())
        {
            break;
        }
        std::vector<UniqueFd> awaited;
        for (const auto& [pid, ppid] : targets)
        {
            UniqueFd pidFd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
            // Opened first, checked second: if the parent is still the one we saw, the pidfd
            // is that process and not a stranger that reused its pid.
            if (!pidFd.valid() || parentOf(pid) != ppid)
            {
                continue;
            }
            if (::syscall(SYS_pidfd_send_signal, pidFd.get(), SIGKILL, nullptr, 0) == 0)
            {
                ++killed;
            }
            if (ppid == self)
            {
                int status = 0;
                while (::waitpid(pid, &status, 0) < 0 && errno == EINTR)
                {
                }
            }
            else
            {
                awaited.push_back(std::move(pidFd));
            }
        }
        // The others end when the SIGKILL is delivered; wait for that (a pidfd turns readable
        // on exit) rather than scanning again at once.
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
    }
    return killed;
}

} // namespace rotator::os
