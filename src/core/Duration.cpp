#include "rotator/core/Duration.h"

#include <limits>

namespace rotator::core
{

std::optional<std::int64_t> parseDurationMs(std::string_view s)
{
    if (s.empty())
    {
        return std::nullopt;
    }
    constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
    std::int64_t total = 0;
    std::size_t pos = 0;
    // Units must get strictly smaller ("1h30m", not "30m1h" or "1m1m"): a repeated or
    // reordered unit is almost always a typo.
    std::int64_t previousUnit = kMax;
    while (pos < s.size())
    {
        std::int64_t value = 0;
        std::size_t digits = 0;
        while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9')
        {
            const int digit = s[pos] - '0';
            if (value > (kMax - digit) / 10) // exact: INT64_MAX itself is a valid count of ms
            {
                return std::nullopt;
            }
            value = value * 10 + digit;
            ++pos;
            ++digits;
        }
        if (digits == 0 || pos >= s.size())
        {
            return std::nullopt;
        }
        std::int64_t unit = 0;
        if (s.substr(pos, 2) == "ms")
        {
            unit = 1;
            pos += 2;
        }
        else
        {
            switch (s[pos])
            {
            case 's':
                unit = 1000;
                break;
            case 'm':
                unit = 60 * 1000;
                break;
            case 'h':
                unit = 3600 * 1000;
                break;
            case 'd':
                unit = 86400LL * 1000;
                break;
            default:
                return std::nullopt;
            }
            ++pos;
        }
        if (unit >= previousUnit)
        {
            return std::nullopt;
        }
        previousUnit = unit;
        if (value > (kMax - total) / unit)
        {
            return std::nullopt;
        }
        total += value * unit;
    }
    return total;
}

std::string formatDuration(std::int64_t ms)
{
    if (ms == 0)
    {
        return "0s";
    }
    struct Unit
    {
        std::int64_t ms;
        const char* suffix;
    };
    static const Unit kUnits[] = {{86400000, "d"}, {3600000, "h"}, {60000, "m"}, {1000, "s"}};
    for (const auto& u : kUnits)
    {
        if (ms % u.ms == 0)
        {
            return std::to_string(ms / u.ms) + u.suffix;
        }
    }
    return std::to_string(ms) + "ms";
}

std::string formatAge(std::int64_t seconds)
{
    if (seconds < 0)
    {
        // -(INT64_MIN) overflows; one second less is indistinguishable in an age.
        return "-" + formatAge(seconds == std::numeric_limits<std::int64_t>::min()
                                   ? std::numeric_limits<std::int64_t>::max()
                                   : -seconds);
    }
    const std::int64_t d = seconds / 86400;
    const std::int64_t h = (seconds % 86400) / 3600;
    const std::int64_t m = (seconds % 3600) / 60;
    const std::int64_t s = seconds % 60;
    if (d > 0)
    {
        return std::to_string(d) + "d " + std::to_string(h) + "h";
    }
    if (h > 0)
    {
        return std::to_string(h) + "h " + std::to_string(m) + "m";
    }
    if (m > 0)
    {
        return std::to_string(m) + "m " + std::to_string(s) + "s";
    }
    return std::to_string(s) + "s";
}

} // namespace rotator::core
