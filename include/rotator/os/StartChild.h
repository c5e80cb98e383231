#pragma once

#include <array>
#include <optional>

#include <sys/types.h>

namespace rotator::os
{

/// Everything `startChild` needs, prepared before it is called: nothing is allocated between
/// the fork and the exec.
struct ChildPlan
{
    char* const* argv = nullptr; ///< NULL-terminated; argv[0] is the program's path
    char* const* envp = nullptr; ///< NULL-terminated; the child's whole environment
    /// The descriptors that become the child's stdin, stdout and stderr; each above 2.
    std::array<int, 3> streams{-1, -1, -1};
    bool ownProcessGroup = false;
    /// Set: the child drops to this gid (its only group) and this uid before exec (needs root).
    std::optional<gid_t> gid;
    std::optional<uid_t> uid;
};

/// Starts `plan` with an empty signal mask, default signal dispositions and no descriptor of
/// ours beyond the three streams. Without uid or gid through posix_spawn; with them through
/// fork and exec, the child calling only async-signal-safe functions and raw set*id system
/// calls (one thread, so no glibc setxid broadcast) and reporting a failure before the exec
/// over a close-on-exec pipe. Every signal is blocked around the fork (no handler of ours runs
/// in the child), and the child closes our descriptors before it changes ids (close_range, or
/// one close per number up to RLIMIT_NOFILE before Linux 5.9). Returns 0 and sets `pid`, or an
/// errno value (a failed setgroups/setgid/setuid is EPERM).
int startChild(const ChildPlan& plan, pid_t& pid);

} // namespace rotator::os
