#include "ConfigText.h"
#include "rotator/config/SettingsLoader.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstring>

namespace rotator::config
{

using detail::fail;
using detail::inQuotes;

namespace
{

constexpr std::array<const char*, 7> kDayNames = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
constexpr const char* kWindowUsage =
    "expected [DAYS] HH:MM-HH:MM, e.g. \"Mon-Fri 02:00-04:00\", \"Sat,Sun 01:00-05:00\", "
    "\"daily 02:00-04:00\"";

[[noreturn]] void badWindow(const std::string& key, const std::string& text, const std::string& why)
{
    fail(key, "invalid window " + inQuotes(text) + ": " + why);
}

int dayIndex(const std::string& name, const std::string& key, const std::string& text)
{
    const std::string lower = detail::toLower(name);
    for (std::size_t i = 0; i < kDayNames.size(); ++i)
    {
        if (lower == kDayNames[i])
        {
            return static_cast<int>(i);
        }
    }
    badWindow(key, text,
              "unknown day " + inQuotes(name) +
                  " (use Mon, Tue, Wed, Thu, Fri, Sat, Sun or daily)");
}

std::uint8_t parseDays(const std::string& days, const std::string& key, const std::string& text)
{
    if (detail::toLower(days) == "daily")
    {
        return 0x7f;
    }
    unsigned mask = 0;
    std::size_t start = 0;
    while (start <= days.size())
    {
        std::size_t comma = days.find(',', start);
        if (comma == std::string::npos)
        {
            comma = days.size();
        }
        const std::string item = days.substr(start, comma - start);
        if (item.empty())
        {
            badWindow(key, text, "empty day in " + inQuotes(days));
        }
        const std::size_t dash = item.find('-');
        if (dash == std::string::npos)
        {
            mask |= 1U << dayIndex(item, key, text);
        }
        else
        {
            const int first = dayIndex(item.substr(0, dash), key, text);
            const int last = dayIndex(item.substr(dash + 1), key, text);
            // A range may wrap around the week: Fri-Mon is Fri, Sat, Sun, Mon.
            for (int d = first;; d = (d + 1) % 7)
            {
                mask |= 1U << d;
                if (d == last)
                {
                    break;
                }
            }
        }
        start = comma + 1;
    }
    return static_cast<std::uint8_t>(mask);
}

/// `HH:MM` (hours may have one digit) to minutes; `24:00` only when `allowEndOfDay`.
int parseTimeOfDay(const std::string& time, bool allowEndOfDay, const std::string& key,
                   const std::string& text)
{
    const std::size_t colon = time.find(':');
    const bool shapeOk =
        colon != std::string::npos && (colon == 1 || colon == 2) && time.size() == colon + 3;
    int hours = -1;
    int minutes = -1;
    if (shapeOk)
    {
        const char* begin = time.data();
        const auto h = std::from_chars(begin, begin + colon, hours);
        const auto m = std::from_chars(begin + colon + 1, begin + time.size(), minutes);
        if (h.ptr != begin + colon || m.ptr != begin + time.size() || time[colon + 1] == '-' ||
            time[0] == '-')
        {
            hours = -1;
        }
    }
    const bool endOfDay = allowEndOfDay && hours == 24 && minutes == 0;
    if (!endOfDay && (hours < 0 || hours > 23 || minutes < 0 || minutes > 59))
    {
        badWindow(key, text, "bad time " + inQuotes(time) + " (use HH:MM, 00:00 to 23:59)");
    }
    return hours * 60 + minutes;
}

bool parsePort(const std::string& text, std::uint16_t& port)
{
    unsigned value = 0;
    const char* end = text.data() + text.size();
    const auto result = std::from_chars(text.data(), end, value);
    if (text.empty() || result.ec != std::errc() || result.ptr != end || value > 65535)
    {
        return false;
    }
    port = static_cast<std::uint16_t>(value);
    return true;
}

bool isIpv6(const std::string& host)
{
    unsigned char buffer[16];
    return ::inet_pton(AF_INET6, host.c_str(), buffer) == 1;
}

bool isHostName(const std::string& host)
{
    for (char c : host)
    {
        const bool ok = std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.' || c == '-';
        if (!ok)
        {
            return false;
        }
    }
    return !host.empty();
}

} // namespace

Window parseWindow(const std::string& text, const std::string& key)
{
    const std::string trimmed = detail::trim(text);
    // The times are the last word; everything before it is the day list ("Mon, Wed-Fri" may
    // contain spaces after commas).
    std::size_t split = trimmed.size();
    while (split > 0 && !detail::isSpace(trimmed[split - 1]))
    {
        --split;
    }
    const std::string times = trimmed.substr(split);
    std::string days;
    for (char c : trimmed.substr(0, split))
    {
        if (!detail::isSpace(c))
        {
            days += c;
        }
    }
    const std::size_t dash = times.find('-');
    if (times.find(':') == std::string::npos || dash == std::string::npos)
    {
        badWindow(key, text, kWindowUsage);
    }
    Window window;
    window.text = trimmed;
    window.days = days.empty() ? std::uint8_t{0x7f} : parseDays(days, key, text);
    window.startMinute = parseTimeOfDay(times.substr(0, dash), false, key, text);
    window.endMinute = parseTimeOfDay(times.substr(dash + 1), true, key, text);
    if (window.endMinute == window.startMinute)
    {
        badWindow(key, text, "the window is empty (start equals end)");
    }
    if (window.endMinute == 0)
    {
        window.endMinute = 24 * 60; // 22:00-00:00 ends at midnight the same day
    }
    return window;
}

std::vector<std::string> splitArgv(const std::string& command, const std::string& key)
{
    enum class Quote
    {
        None,
        Single,
        Double
    };
    std::vector<std::string> argv;
    std::string word;
    bool inWord = false;
    Quote quote = Quote::None;
    for (std::size_t i = 0; i < command.size(); ++i)
    {
        const char c = command[i];
        if (quote == Quote::Single)
        {
            if (c == '\'')
            {
                quote = Quote::None;
            }
            else
            {
                word += c;
            }
        }
        else if (quote == Quote::Double)
        {
            const bool escapable =
                i + 1 < command.size() && std::strchr("\"\\$`", command[i + 1]) != nullptr;
            if (c == '"')
            {
                quote = Quote::None;
            }
            else if (c == '\\' && escapable)
            {
                word += command[++i];
            }
            else
            {
                word += c;
            }
        }
        else if (detail::isSpace(c))
        {
            if (inWord)
            {
                argv.push_back(std::move(word));
                word.clear();
                inWord = false;
            }
        }
        else
        {
            inWord = true;
            if (c == '\'')
            {
                quote = Quote::Single;
            }
            else if (c == '"')
            {
                quote = Quote::Double;
            }
            else if (c == '\\')
            {
                if (i + 1 == command.size())
                {
                    fail(key, "command ends with a lone backslash: " + inQuotes(command));
                }
                word += command[++i];
            }
            else
            {
                word += c;
            }
        }
    }
    if (quote != Quote::None)
    {
        fail(key, std::string("unbalanced ") + (quote == Quote::Single ? "single" : "double") +
                      " quote in " + inQuotes(command));
    }
    if (inWord)
    {
        argv.push_back(std::move(word));
    }
    return argv;
}

ListenAddress parseListenAddress(const std::string& text, const std::string& key)
{
    const std::string usage = " (use HOST:PORT or [IPV6]:PORT, e.g. 127.0.0.1:8710)";
    ListenAddress address;
    std::string port;
    if (!text.empty() && text[0] == '[')
    {
        const std::size_t close = text.find("]:");
        if (close == std::string::npos)
        {
            fail(key, "invalid address " + inQuotes(text) + usage);
        }
        address.host = text.substr(1, close - 1);
        port = text.substr(close + 2);
        if (!isIpv6(address.host))
        {
            fail(key, "invalid IPv6 address " + inQuotes(address.host) + " in " + inQuotes(text));
        }
    }
    else
    {
        const std::size_t colon = text.rfind(':');
        if (colon == std::string::npos)
        {
            fail(key, "missing port in " + inQuotes(text) + usage);
        }
        address.host = text.substr(0, colon);
        port = text.substr(colon + 1);
        if (address.host.find(':') != std::string::npos)
        {
            fail(key,
                 "an IPv6 address needs brackets: " + inQuotes("[" + address.host + "]:" + port));
        }
        if (address.host.empty())
        {
            fail(key, "missing host in " + inQuotes(text) +
                          " (127.0.0.1:PORT for this machine only, 0.0.0.0:PORT for every "
                          "interface)");
        }
        if (!isHostName(address.host))
        {
            fail(key, "invalid host " + inQuotes(address.host) + usage);
        }
    }
    if (!parsePort(port, address.port))
    {
        fail(key, "invalid port " + inQuotes(port) + " (0 to 65535)");
    }
    return address;
}

bool isLoopbackHost(const std::string& rawHost)
{
    std::string host = detail::toLower(rawHost);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    {
        host = host.substr(1, host.size() - 2);
    }
    if (host == "localhost")
    {
        return true;
    }
    unsigned char v4[4];
    if (::inet_pton(AF_INET, host.c_str(), v4) == 1)
    {
        return v4[0] == 127;
    }
    unsigned char v6[16];
    if (::inet_pton(AF_INET6, host.c_str(), v6) == 1)
    {
        static const unsigned char kLoopback[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
        static const unsigned char kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (std::memcmp(v6, kLoopback, 16) == 0)
        {
            return true;
        }
        return std::memcmp(v6, kMappedPrefix, 12) == 0 && v6[12] == 127;
    }
    return false;
}

std::optional<std::string> hostOfHostValue(std::string_view value)
{
    std::string_view host = value;
    std::string_view port;
    if (value.substr(0, 1) == "[")
    {
        const auto close = value.find(']');
        if (close == std::string_view::npos)
        {
            return std::nullopt;
        }
        host = value.substr(0, close + 1);
        port = value.substr(close + 1);
        if (!port.empty() && port.front() != ':')
        {
            return std::nullopt;
        }
    }
    else if (const auto colon = value.find(':'); colon != std::string_view::npos)
    {
        host = value.substr(0, colon);
        port = value.substr(colon);
    }
    if (!port.empty())
    {
        port.remove_prefix(1);
        if (port.empty() || port.size() > 5 ||
            !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }))
        {
            return std::nullopt;
        }
    }
    if (!host.empty() && host.back() == '.')
    {
        host.remove_suffix(1);
    }
    if (host.empty())
    {
        return std::nullopt;
    }
    std::string out(host);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

} // namespace rotator::config
