#include "rotator/os/CoreDump.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

namespace rotator::os
{

int excludeFromCoreDumps(const void* data, std::size_t size) noexcept
{
    if (data == nullptr || size == 0)
    {
        return 0;
    }
    const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
    const auto begin = reinterpret_cast<std::uintptr_t>(data) & ~(page - 1);
    const auto end = (reinterpret_cast<std::uintptr_t>(data) + size + page - 1) & ~(page - 1);
    // NOLINTNEXTLINE(performance-no-int-to-ptr): madvise takes the page address
    if (::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTDUMP) != 0)
    {
        return errno;
    }
    return 0;
}

} // namespace rotator::os
