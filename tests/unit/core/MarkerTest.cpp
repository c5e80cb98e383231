#include <gtest/gtest.h>

#include "rotator/core/Marker.h"

namespace
{

using rotator::core::formatMarker;
using rotator::core::parseMarker;

TEST(Marker, ParsesWhatItFormatsAndTheOldForm)
{
    const auto current = parseMarker(formatMarker("0123456789abcdef", "billing-api.v2", 42));
    ASSERT_TRUE(current);
    EXPECT_EQ(current->installationId, "0123456789abcdef");
    EXPECT_EQ(current->credential, "billing-api.v2");
    EXPECT_EQ(current->rotationId, 42);

    const auto old = parseMarker("astra-rotator billing 7");
    ASSERT_TRUE(old);
    EXPECT_TRUE(old->installationId.empty());
    EXPECT_EQ(old->credential, "billing");
    EXPECT_EQ(old->rotationId, 7);
}

TEST(Marker, RefusesAnythingElse)
{
    for (const char* text :
         {"", "astra-rotator", "astra-rotator billing", "astra-rotator billing 0",
          "astra-rotator billing -3", "astra-rotator billing 7x", "astra-rotator billing 7 ",
          "astra-rotator 0123456789ABCDEF billing 1", "astra-rotator 0123456789abcdef  1",
          "astra-rotator bill\ning 1", "astra-rotator 0123456789abcdef bi\x1b[0mll 1",
          "Astra-rotator billing 1", "astra-rotator billing 99999999999999999999",
          "astra-rotator a b c d"})
    {
        EXPECT_FALSE(parseMarker(text)) << text;
    }
}

} // namespace
