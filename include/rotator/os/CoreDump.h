#pragma once

#include <cstddef>

namespace rotator::os
{

/// Marks the pages that hold `[data, data + size)` `MADV_DONTDUMP`, so that a core dump leaves
/// them out even where one is written despite `PR_SET_DUMPABLE` 0 and `RLIMIT_CORE` 0 (a
/// debugger's `gcore`, a kernel `core_pattern` pipe run before the limits were set). For the
/// secrets that live as long as the process: the admin token and the admin API's bearer token.
/// Other data on the same pages is left out too, which costs nothing. The mark stays with the
/// pages, not with the bytes: a copy elsewhere is not covered. Returns 0 or an errno value.
int excludeFromCoreDumps(const void* data, std::size_t size) noexcept;

} // namespace rotator::os
