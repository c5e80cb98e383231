#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>

#include "rotator/os/CoreDump.h"

namespace
{

/// The `VmFlags` line of the mapping in /proc/self/smaps that holds `address`, or "".
std::string vmFlagsOf(const void* address)
{
    const auto at = reinterpret_cast<std::uintptr_t>(address);
    std::ifstream smaps("/proc/self/smaps");
    std::string line;
    bool inside = false;
    while (std::getline(smaps, line))
    {
        std::uintptr_t from = 0;
        std::uintptr_t to = 0;
        char dash = 0;
        std::istringstream head(line);
        if (head >> std::hex >> from >> dash >> to && dash == '-')
        {
            inside = from <= at && at < to;
        }
        else if (inside && line.rfind("VmFlags:", 0) == 0)
        {
            return line;
        }
    }
    return "";
}

bool excluded(const void* address)
{
    std::istringstream flags(vmFlagsOf(address));
    std::string flag;
    while (flags >> flag)
    {
        if (flag == "dd")
        {
            return true;
        }
    }
    return false;
}

TEST(CoreDump, ThePagesOfABufferAreLeftOutOfCoreDumps)
{
    // Large enough for a mapping of its own, so that no earlier test's mark is on its pages.
    const std::string buffer(1 << 20, 'k');
    ASSERT_FALSE(vmFlagsOf(buffer.data()).empty()) << "no mapping found in /proc/self/smaps";
    EXPECT_FALSE(excluded(buffer.data())) << vmFlagsOf(buffer.data());

    EXPECT_EQ(rotator::os::excludeFromCoreDumps(buffer.data(), buffer.size()), 0);
    EXPECT_TRUE(excluded(buffer.data())) << vmFlagsOf(buffer.data());
    EXPECT_TRUE(excluded(buffer.data() + buffer.size() - 1)) << vmFlagsOf(buffer.data());
}

TEST(CoreDump, NothingToExcludeIsNoError)
{
    EXPECT_EQ(rotator::os::excludeFromCoreDumps(nullptr, 0), 0);
}

} // namespace
