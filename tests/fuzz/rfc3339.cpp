// core::parseRfc3339 and the formatters. Properties:
// - an accepted text, formatted with nanoseconds (or milliseconds), parses back to the same
//   instant (or the same millisecond);
// - every 64-bit nanosecond count (the first 8 bytes of the input) formats to a text that
//   parses back to that count; as milliseconds, it formats without overflow.

#include "FuzzTarget.h"

#include <cstring>
#include <limits>

#include "rotator/core/Time.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    using rotator::core::formatRfc3339Ms;
    using rotator::core::formatRfc3339Nanos;
    using rotator::core::parseRfc3339;

    const auto parsed = parseRfc3339(rotator::fuzz::asText(data, size));
    if (parsed)
    {
        const auto again = parseRfc3339(formatRfc3339Nanos(parsed->unixNanos));
        FUZZ_CHECK(again && *again == *parsed);
        // Except in the first millisecond of the range, whose start is not representable.
        const auto ms = parseRfc3339(formatRfc3339Ms(parsed->unixMs()));
        FUZZ_CHECK(ms ? ms->unixMs() == parsed->unixMs() && ms->unixNanos % 1000000 == 0
                      : parsed->unixMs() < std::numeric_limits<std::int64_t>::min() / 1000000);
    }

    if (size >= sizeof(std::int64_t))
    {
        std::int64_t nanos = 0;
        std::memcpy(&nanos, data, sizeof nanos);
        const std::string text = formatRfc3339Nanos(nanos);
        const auto back = parseRfc3339(text);
        FUZZ_CHECK(back && back->unixNanos == nanos);
        // The same count as milliseconds reaches far past year 9999: formatting must not
        // overflow, and whatever parses back is the same millisecond.
        const auto ms = parseRfc3339(formatRfc3339Ms(nanos));
        FUZZ_CHECK(!ms || ms->unixMs() == nanos);
        const auto seconds = parseRfc3339(rotator::core::formatRfc3339Seconds(nanos));
        FUZZ_CHECK(!seconds || seconds->unixMs() == nanos - (nanos % 1000 + 1000) % 1000);
    }
    return 0;
}
