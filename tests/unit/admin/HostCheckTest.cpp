#include <gtest/gtest.h>

#include "rotator/admin/HostCheck.h"

namespace rotator::admin
{
namespace
{

TEST(HostCheck, AllowsTheListenHostLoopbackNamesAndTheListedOnesWithOrWithoutPort)
{
    const HostCheck check("192.0.2.7", {"rotator.example", "Ops.Example.:8710"});
    for (const std::string host :
         {"192.0.2.7", "192.0.2.7:8710", "localhost", "LOCALHOST:1", "127.0.0.1:8710", "[::1]",
          "[::1]:8710", "rotator.example", "rotator.example.", "ops.example:99"})
    {
        EXPECT_TRUE(check.allows(host)) << host;
    }
    for (const std::string host :
         {"evil.example", "rotator.example.evil.example", "192.0.2.8", "10.0.0.1:8710", "", ":80",
          "localhost:", "localhost:80x", "localhost:123456", "[::1", "[::1]x", "::1", "[::2]"})
    {
        EXPECT_FALSE(check.allows(host)) << host;
    }
    EXPECT_FALSE(check.allows(std::nullopt));
}

TEST(HostCheck, AWildcardListenAddressAllowsEveryIpLiteralButNoOtherName)
{
    for (const std::string listen : {"0.0.0.0", "::"})
    {
        const HostCheck check(listen, {});
        for (const std::string host : {"10.1.2.3:8710", "192.0.2.7", "[fd00::1]:8710", "localhost"})
        {
            EXPECT_TRUE(check.allows(host)) << listen << " " << host;
        }
        for (const std::string host : {"evil.example", "10.1.2", "10.1.2.3.nip.io", "[evil]"})
        {
            EXPECT_FALSE(check.allows(host)) << listen << " " << host;
        }
    }
}

TEST(HostCheck, AnIpv6ListenHostMatchesInBrackets)
{
    const HostCheck check("fd00::5", {});
    EXPECT_TRUE(check.allows(std::string("[fd00::5]:8710")));
    EXPECT_TRUE(check.allows(std::string("[FD00::5]")));
    EXPECT_FALSE(check.allows(std::string("[fd00::6]")));
}

} // namespace
} // namespace rotator::admin
