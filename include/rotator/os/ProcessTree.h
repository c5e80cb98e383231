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
/// sent SIGKILL, so a reused pid is never hit. Our own children among them (the orphans) are
/// reaped; the others are awaited through their pidfd, a bounded time, and the scan is repeated
/// until it finds nothing (a process forking meanwhile is caught by the next round). Returns how
/// many processes were killed.
///
/// Without the subreaper, a descendant that double-forked or called setsid() after its parent
/// exited has reparented to init and is out of reach; a cgroup would be the complete answer.
/// Never throws.
std::size_t killDescendants(pid_t root, const std::function<bool(pid_t)>& isLiveChild);

} // namespace rotator::os
