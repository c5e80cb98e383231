// core::parseDurationMs: never overflows, never yields a negative duration, and
// formatDuration of an accepted value parses back to the same value.

#include "FuzzTarget.h"

#include "rotator/core/Duration.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const auto ms = rotator::core::parseDurationMs(rotator::fuzz::asText(data, size));
    if (ms)
    {
        FUZZ_CHECK(*ms >= 0);
        const auto again = rotator::core::parseDurationMs(rotator::core::formatDuration(*ms));
        FUZZ_CHECK(again && *again == *ms);
        static_cast<void>(rotator::core::formatAge(*ms / 1000));
    }
    return 0;
}
