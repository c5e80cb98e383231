#pragma once

// Small text helpers shared by the configuration sources (not a public header).

#include "rotator/core/Errors.h"

#include <cctype>
#include <cstdio>
#include <string>
#include <string_view>

namespace rotator::config::detail
{

inline bool isSpace(char c)
{
    return std::isspace(static_cast<unsigned char>(c)) != 0;
}

inline std::string trim(std::string_view text)
{
    std::size_t begin = 0;
    std::size_t end = text.size();
    while (begin < end && isSpace(text[begin]))
    {
        ++begin;
    }
    while (end > begin && isSpace(text[end - 1]))
    {
        --end;
    }
    return std::string(text.substr(begin, end - begin));
}

inline std::string toLower(std::string_view text)
{
    std::string out(text);
    for (char& c : out)
    {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return out;
}

inline std::string inQuotes(std::string_view text)
{
    return "\"" + std::string(text) + "\"";
}

/// `0640`, as people write modes.
inline std::string octalMode(unsigned mode)
{
    char buffer[16];
    std::snprintf(buffer, sizeof buffer, "%04o", mode);
    return buffer;
}

[[noreturn]] inline void fail(const std::string& key, const std::string& message)
{
    throw core::ConfigError(key, message);
}

} // namespace rotator::config::detail
