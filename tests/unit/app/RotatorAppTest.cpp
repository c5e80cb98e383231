#include <gtest/gtest.h>

#include <string>
#include <utility>

#include "rotator/app/RotatorApp.h"
#include "rotator/cli/CommandLine.h"
#include "rotator/cli/CommandTable.h"
#include "rotator/core/Secret.h"
#include "support/SystemProbes.h"

namespace
{

using rotator::test::leftOutOfCoreDumps;
using rotator::test::vmFlagsOf;

// ASTRA_TOKEN, taken out of the environment by main, lives in the application as long as the
// process: its pages are left out of core dumps like those of the token in use.
TEST(RotatorApp, KeepsTheEnvironmentTokenOutOfCoreDumps)
{
    // Large enough for a mapping of its own, so that no other mark is on its pages; the move
    // into the application keeps the buffer.
    rotator::core::Secret token(std::string(1 << 20, 't'));
    const char* bytes = token.reveal().data();
    ASSERT_FALSE(leftOutOfCoreDumps(bytes)) << vmFlagsOf(bytes);

    const rotator::cli::CommandTable commands({});
    rotator::app::RotatorApp app(commands, rotator::cli::CommandLine{}, std::move(token));
    EXPECT_TRUE(leftOutOfCoreDumps(bytes)) << vmFlagsOf(bytes);
    EXPECT_TRUE(leftOutOfCoreDumps(bytes + (1 << 20) - 1)) << vmFlagsOf(bytes);
}

} // namespace
