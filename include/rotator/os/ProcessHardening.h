#pragma once

#include <optional>
#include <string>
#include <vector>

#include "rotator/core/Secret.h"

namespace rotator::os
{

/// Makes this process useless to a local reader of its memory: not dumpable (no core file,
/// /proc/<pid>/{environ,mem,maps,...} owned by root and not ptrace-able by the same uid without
/// CAP_SYS_PTRACE) and a core size limit of 0 (inherited by the hooks we start). Call first
/// thing in main, before any secret is read. Returns one message per step that failed (none
/// expected on Linux); never throws.
std::vector<std::string> hardenProcess();

/// Moves the environment variable `name` out of the environment into a Secret: its bytes are
/// overwritten where they are (the initial environment lives on the stack, and
/// /proc/<pid>/environ reads exactly those bytes, so `unsetenv` alone would leave the value
/// there) and the variable is removed. nullopt when it was not set. Call before any thread
/// exists (the environment is not thread-safe).
std::optional<core::Secret> takeEnvironmentSecret(const char* name);

/// Makes this process the reaper of its orphaned descendants (PR_SET_CHILD_SUBREAPER), so that
/// a hook's descendant that double-forks or calls setsid() reparents to us instead of init and
/// can still be found and killed (Subprocess::killDescendants). Returns false when the kernel
/// refused.
bool becomeChildSubreaper();

} // namespace rotator::os
