#pragma once

// Acting as a second, unprivileged user in file-system tests: the attacker who owns a sink
// directory or pre-creates a file. Only root can become another user, so tests that need one
// skip (with the reason below) when the suite does not run as root.

#include <functional>

#include <grp.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

namespace rotator::test
{

/// The second user: nobody.
inline constexpr uid_t kOtherUid = 65534;
inline constexpr gid_t kOtherGid = 65534;

inline constexpr const char* kNeedsRoot =
    "needs root: only root can give files to a second user and act as it (setresuid)";

/// Runs `action` in a forked child after setresgid/setresuid to the second user (every id, so
/// it cannot regain root) and returns the child's exit code: `action`'s result, or 125 when
/// the ids could not be changed, or 126 when the child died. Never touches this process's ids.
inline int runAsOtherUser(const std::function<int()>& action)
{
    const pid_t pid = ::fork();
    if (pid == 0)
    {
        if (::setgroups(0, nullptr) != 0 || ::setresgid(kOtherGid, kOtherGid, kOtherGid) != 0 ||
            ::setresuid(kOtherUid, kOtherUid, kOtherUid) != 0)
        {
            ::_exit(125);
        }
        ::_exit(action());
    }
    int status = 0;
    if (pid < 0 || ::waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
    {
        return 126;
    }
    return WEXITSTATUS(status);
}

} // namespace rotator::test
