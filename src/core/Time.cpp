#include "rotator/core/Time.h"

#include <cstdio>

namespace rotator::core
{

namespace
{

bool isDigit(char c)
{
    return c >= '0' && c <= '9';
}

// Reads exactly `n` digits at `pos`; false when any is missing.
bool readDigits(std::string_view s, std::size_t pos, std::size_t n, int& out)
{
    if (pos + n > s.size())
    {
        return false;
    }
    int v = 0;
    for (std::size_t i = 0; i < n; ++i)
    {
        const char c = s[pos + i];
        if (!isDigit(c))
        {
            return false;
        }
        v = v * 10 + (c - '0');
    }
    out = v;
    return true;
}

bool isLeap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int daysInMonth(int y, int m)
{
    static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && isLeap(y) ? 29 : kDays[m - 1];
}

struct Civil
{
    std::int64_t year;
    unsigned month;
    unsigned day;
};

Civil civilFromDays(std::int64_t z)
{
    z += 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const auto doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    const unsigned d = doy - (153 * mp + 2) / 5 + 1;
    const unsigned m = mp < 10 ? mp + 3 : mp - 9;
    return {m <= 2 ? y + 1 : y, m, d};
}

std::int64_t floorDiv(std::int64_t a, std::int64_t b)
{
    std::int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
    {
        --q;
    }
    return q;
}

// Nonnegative remainder of a / b (b > 0), safe for INT64_MIN.
std::int64_t floorMod(std::int64_t a, std::int64_t b)
{
    const std::int64_t r = a % b;
    return r < 0 ? r + b : r;
}

// Seconds and the fraction apart, never a product: a nanosecond count only covers 1677 to 2262,
// and the formatters take any int64 (milliseconds reach far beyond).
std::string format(std::int64_t unixSeconds, std::int64_t fractionNanos, int fractionDigits)
{
    const std::int64_t days = floorDiv(unixSeconds, 86400);
    const std::int64_t secs = floorMod(unixSeconds, 86400);
    const std::int64_t nanos = fractionNanos;
    const Civil c = civilFromDays(days);
    char buf[64];
    int n = std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld",
                          static_cast<long long>(c.year), c.month, c.day,
                          static_cast<long long>(secs / 3600),
                          static_cast<long long>((secs / 60) % 60),
                          static_cast<long long>(secs % 60));
    std::string out(buf, static_cast<std::size_t>(n));
    if (fractionDigits == 3)
    {
        std::snprintf(buf, sizeof buf, ".%03lld", static_cast<long long>(nanos / 1000000));
        out += buf;
    }
    else if (fractionDigits == 9)
    {
        std::snprintf(buf, sizeof buf, ".%09lld", static_cast<long long>(nanos));
        out += buf;
    }
    out += 'Z';
    return out;
}

} // namespace

std::int64_t Instant::unixMs() const
{
    return floorDiv(unixNanos, 1000000);
}

std::int64_t daysFromCivil(std::int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2 ? 1 : 0;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const auto yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

namespace
{

// The grammar and field ranges of parseRfc3339, without the Instant range: seconds since the
// epoch (no overflow for years 0000 to 9999) and the fraction in nanoseconds.
bool parseFields(std::string_view s, std::int64_t& unixSeconds, std::int64_t& fractionNanos)
{
    int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
    if (!readDigits(s, 0, 4, year) || s.size() < 20 || s[4] != '-' ||
        !readDigits(s, 5, 2, month) || s[7] != '-' || !readDigits(s, 8, 2, day) ||
        (s[10] != 'T' && s[10] != 't') || !readDigits(s, 11, 2, hour) || s[13] != ':' ||
        !readDigits(s, 14, 2, minute) || s[16] != ':' || !readDigits(s, 17, 2, second))
    {
        return false;
    }
    if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || hour > 23 ||
        minute > 59 || second > 59)
    {
        return false;
    }
    std::size_t pos = 19;
    std::int64_t nanos = 0;
    if (pos < s.size() && s[pos] == '.')
    {
        ++pos;
        std::size_t digits = 0;
        while (pos < s.size() && isDigit(s[pos]))
        {
            if (++digits > 9)
            {
                return false;
            }
            nanos = nanos * 10 + (s[pos] - '0');
            ++pos;
        }
        if (digits == 0)
        {
            return false;
        }
        for (std::size_t i = digits; i < 9; ++i)
        {
            nanos *= 10;
        }
    }
    if (pos >= s.size())
    {
        return false;
    }
    std::int64_t offsetSeconds = 0;
    if (s[pos] == 'Z' || s[pos] == 'z')
    {
        ++pos;
    }
    else if (s[pos] == '+' || s[pos] == '-')
    {
        const int sign = s[pos] == '-' ? -1 : 1;
        int oh = 0, om = 0;
        if (!readDigits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
            !readDigits(s, pos + 4, 2, om) || oh > 23 || om > 59)
        {
            return false;
        }
        offsetSeconds = sign * (oh * 3600 + om * 60);
        pos += 6;
    }
    else
    {
        return false;
    }
    if (pos != s.size())
    {
        return false;
    }
    const std::int64_t days =
        daysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
    unixSeconds = days * 86400 + hour * 3600 + minute * 60 + second - offsetSeconds;
    fractionNanos = nanos;
    return true;
}

} // namespace

std::optional<Instant> parseRfc3339(std::string_view s)
{
    std::int64_t secs = 0;
    std::int64_t nanos = 0;
    if (!parseFields(s, secs, nanos))
    {
        return std::nullopt;
    }
    // Instants before 1677-09-21 or after 2262-04-11 do not fit in int64 nanoseconds: refuse
    // them instead of overflowing. A negative second with a fraction is computed as the next
    // second minus the rest, so that the very first representable nanosecond still fits.
    if (secs < 0 && nanos > 0)
    {
        ++secs;
        nanos -= 1000000000LL;
    }
    std::int64_t unixNanos = 0;
    if (__builtin_mul_overflow(secs, 1000000000LL, &unixNanos) ||
        __builtin_add_overflow(unixNanos, nanos, &unixNanos))
    {
        return std::nullopt;
    }
    return Instant{unixNanos};
}

bool isRfc3339(std::string_view s)
{
    std::int64_t secs = 0;
    std::int64_t nanos = 0;
    return parseFields(s, secs, nanos);
}

std::string formatRfc3339Ms(std::int64_t unixMs)
{
    return format(floorDiv(unixMs, 1000), floorMod(unixMs, 1000) * 1000000, 3);
}

std::string formatRfc3339Nanos(std::int64_t unixNanos)
{
    return format(floorDiv(unixNanos, 1000000000), floorMod(unixNanos, 1000000000), 9);
}

std::string formatRfc3339Seconds(std::int64_t unixMs)
{
    return format(floorDiv(unixMs, 1000), 0, 0);
}

} // namespace rotator::core
