#pragma once

#include <iosfwd>
#include <string_view>

namespace rotator::core::cpu_account
{

/// Where a process's CPU time goes, by part, for `scripts/bench --account`.
///
/// Compiled in only with the CMake option ROTATOR_CPU_ACCOUNT (a separate bench build); in
/// every other build a Scope is an empty object and `report` writes nothing. A Scope charges
/// the CPU time its thread spends while it is the innermost open scope of that thread
/// (CLOCK_THREAD_CPUTIME_ID, exact), so the parts do not overlap and sum to the time spent in
/// any scope; `report` adds the process's total and what no scope covered. Part names must be
/// string literals (they are kept by reference). This header is the only seam: no other file
/// tests ROTATOR_CPU_ACCOUNT, and scopes sit at the edges of infrastructure (worker threads,
/// the journal, pending files, sink writes, API calls, logging), not in the journal logic.
#ifdef ROTATOR_CPU_ACCOUNT
class Scope
{
public:
    explicit Scope(std::string_view part) noexcept;
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;
};

/// One line per part, `cpu-account PART MILLISECONDS CALLS`, then `other` and `total`.
void report(std::ostream& out);
#else
class Scope
{
public:
    explicit Scope(std::string_view) noexcept {}
};

inline void report(std::ostream&) {}
#endif

} // namespace rotator::core::cpu_account
