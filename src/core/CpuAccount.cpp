#include "rotator/core/CpuAccount.h"

#ifdef ROTATOR_CPU_ACCOUNT

#include <cstdint>
#include <cstdio>
#include <ctime>
#include <map>
#include <mutex>
#include <ostream>
#include <vector>

namespace rotator::core::cpu_account
{
namespace
{

struct Part
{
    std::int64_t ns = 0;
    std::int64_t calls = 0;
};

std::mutex gMutex;
std::map<std::string_view, Part>& parts()
{
    static auto* all = new std::map<std::string_view, Part>(); // outlives every thread
    return *all;
}

thread_local std::vector<std::string_view> tOpen; // innermost last
thread_local std::int64_t tSince = 0;             // when the innermost began to be charged

std::int64_t cpuNs(clockid_t clock)
{
    timespec ts{};
    clock_gettime(clock, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

void charge(std::string_view part, std::int64_t ns, std::int64_t calls)
{
    std::lock_guard<std::mutex> lock(gMutex);
    Part& p = parts()[part];
    p.ns += ns;
    p.calls += calls;
}

} // namespace

Scope::Scope(std::string_view part) noexcept
{
    const std::int64_t now = cpuNs(CLOCK_THREAD_CPUTIME_ID);
    if (!tOpen.empty())
    {
        charge(tOpen.back(), now - tSince, 0);
    }
    charge(part, 0, 1);
    tOpen.push_back(part);
    tSince = now;
}

Scope::~Scope()
{
    const std::int64_t now = cpuNs(CLOCK_THREAD_CPUTIME_ID);
    charge(tOpen.back(), now - tSince, 0);
    tOpen.pop_back();
    tSince = now;
}

void report(std::ostream& out)
{
    const std::int64_t total = cpuNs(CLOCK_PROCESS_CPUTIME_ID);
    std::lock_guard<std::mutex> lock(gMutex);
    std::int64_t covered = 0;
    char line[160];
    for (const auto& [name, part] : parts())
    {
        covered += part.ns;
        std::snprintf(line, sizeof line, "cpu-account %.*s %.2f %lld\n",
                      static_cast<int>(name.size()), name.data(),
                      static_cast<double>(part.ns) / 1e6, static_cast<long long>(part.calls));
        out << line;
    }
    std::snprintf(line, sizeof line, "cpu-account other %.2f 0\ncpu-account total %.2f 0\n",
                  static_cast<double>(total - covered) / 1e6, static_cast<double>(total) / 1e6);
    out << line;
}

} // namespace rotator::core::cpu_account

#endif
