#include <gtest/gtest.h>

#include <string>

#include "rotator/os/CoreDump.h"
#include "support/SystemProbes.h"

namespace
{

using rotator::test::leftOutOfCoreDumps;
using rotator::test::vmFlagsOf;

TEST(CoreDump, ThePagesOfABufferAreLeftOutOfCoreDumps)
{
    // Large enough for a mapping of its own, so that no earlier test's mark is on its pages.
    const std::string buffer(1 << 20, 'k');
    ASSERT_FALSE(vmFlagsOf(buffer.data()).empty()) << "no mapping found in /proc/self/smaps";
    EXPECT_FALSE(leftOutOfCoreDumps(buffer.data())) << vmFlagsOf(buffer.data());

    EXPECT_EQ(rotator::os::excludeFromCoreDumps(buffer.data(), buffer.size()), 0);
    EXPECT_TRUE(leftOutOfCoreDumps(buffer.data())) << vmFlagsOf(buffer.data());
    EXPECT_TRUE(leftOutOfCoreDumps(buffer.data() + buffer.size() - 1)) << vmFlagsOf(buffer.data());
}

TEST(CoreDump, NothingToExcludeIsNoError)
{
    EXPECT_EQ(rotator::os::excludeFromCoreDumps(nullptr, 0), 0);
}

} // namespace
