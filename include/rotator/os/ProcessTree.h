#pragma once

#include <cstddef>
#include <functional>

#include <sys/types.h>

namespace rotator::os
{

/// Kills what a child left behind: every process below `root` (its subtree, read from the
/// parent links in /proc) and, when this process is a child subreaper
/// (os::becomeChildSubreaper), every orphan that reparented to us and for which
/// `isLiveChild(pid)` is false, with their subtrees. `root` itself is spared (its owner
/// signals and reaps it); pass -1 when it is gone.
///
/// Each target is opened as a pidfd and checked to still have the parent we saw before it is
/// sent SIGKILL, so a reused pid is never hit. The killed ones are awaited through their pidfd,
/// at most 2 s per round, and those that are our children (the orphans) reaped once they
/// exited; the scan is repeated (a process forking meanwhile is caught by the next round) until
/// a round kills nothing new, 16 rounds at most. A process we may not signal (another user's,
/// when we are not root) is left alone and not waited for, and one in uninterruptible sleep
/// that outlives the wait dies later: neither can hold us up for long. Returns how many
/// processes were killed, each counted once (not those that had exited by themselves).
///
/// Without the subreaper, a descendant that double-forked or called setsid() after its parent
/// exited has reparented to init and is out of reach; a cgroup would be the complete answer.
/// Never throws.
std::size_t killDescendants(pid_t root, const std::function<bool(pid_t)>& isLiveChild);

/// False when the kernel has no pidfd_open (before Linux 5.3): then `killDescendants` can kill
/// nothing, and says nothing.
bool canKillDescendants();

} // namespace rotator::os
