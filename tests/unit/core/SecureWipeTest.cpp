#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <string>

#include "rotator/core/SecureWipe.h"

using rotator::core::secureWipe;

namespace
{

bool allZero(const char* data, std::size_t size)
{
    return std::all_of(data, data + size, [](char c) { return c == '\0'; });
}

} // namespace

TEST(SecureWipe, ZeroesEveryByteOfABuffer)
{
    std::array<char, 64> buffer{};
    buffer.fill('s');
    secureWipe(buffer.data(), buffer.size());
    EXPECT_TRUE(allZero(buffer.data(), buffer.size()));
}

TEST(SecureWipe, ZeroesAStringInItsOwnStorageAndEmptiesIt)
{
    std::string secret(100, 's');
    // clear() keeps the allocation, so these bytes stay ours to inspect after the wipe.
    const char* storage = secret.data();
    secureWipe(secret);
    EXPECT_TRUE(secret.empty());
    ASSERT_EQ(secret.data(), storage);
    EXPECT_TRUE(allZero(storage, 100));
}
