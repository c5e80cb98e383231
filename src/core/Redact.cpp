#include "rotator/core/Redact.h"

#include <array>

namespace rotator::core
{

// Four passes, each equivalent to a regex_replace over the previous pass's output:
//   ("(?:secret|token|clientSecret)"\s*:\s*")(?:[^"\\]|\\.)*"      -> $1***"
//   (\\"(?:secret|token|clientSecret)\\"\s*:\s*\\")(?:[^\\"]|\\[^"])*\\"  -> $1***\"
//   AstraCS:[A-Za-z0-9:_.\-]+                                       -> AstraCS:***
//   ([Bb]earer\s+)[^\s",;]+                                          -> $1***
// They are hand-written scanners because libstdc++'s std::regex recurses once per repeated
// character: a long secret (tens of kilobytes, e.g. in a configuration error) overflowed the
// stack. Each scanner is linear and uses no recursion.

namespace
{

constexpr std::array<std::string_view, 3> kSecretNames = {"secret", "token", "clientSecret"};

bool isSpace(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

bool isTokenChar(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == ':' || c == '_' || c == '.' || c == '-';
}

std::size_t skipSpaces(std::string_view s, std::size_t pos)
{
    while (pos < s.size() && isSpace(s[pos]))
    {
        ++pos;
    }
    return pos;
}

bool startsWith(std::string_view s, std::size_t pos, std::string_view prefix)
{
    return s.substr(pos, prefix.size()) == prefix;
}

// `quote` is `"` for plain JSON and `\"` for JSON escaped into a string. Returns the end of
// `quote NAME quote \s* : \s* quote` at `pos`, or npos.
std::size_t secretMemberPrefix(std::string_view s, std::size_t pos, std::string_view quote)
{
    if (!startsWith(s, pos, quote))
    {
        return std::string_view::npos;
    }
    pos += quote.size();
    for (const auto name : kSecretNames)
    {
        if (startsWith(s, pos, name) && startsWith(s, pos + name.size(), quote))
        {
            std::size_t p = skipSpaces(s, pos + name.size() + quote.size());
            if (p < s.size() && s[p] == ':')
            {
                p = skipSpaces(s, p + 1);
                if (startsWith(s, p, quote))
                {
                    return p + quote.size();
                }
            }
        }
    }
    return std::string_view::npos;
}

// The end (after the closing quote) of a JSON string body starting at `pos`: `[^"\\]` or a
// backslash and any character but a line break, up to a `"`. npos when unterminated.
std::size_t jsonStringEnd(std::string_view s, std::size_t pos)
{
    while (pos < s.size())
    {
        const char c = s[pos];
        if (c == '"')
        {
            return pos + 1;
        }
        if (c == '\\')
        {
            if (pos + 1 >= s.size() || s[pos + 1] == '\n' || s[pos + 1] == '\r')
            {
                return std::string_view::npos;
            }
            pos += 2;
            continue;
        }
        ++pos;
    }
    return std::string_view::npos;
}

// The same for a string escaped once more: `[^\\"]` or a backslash and anything but `"`, up to
// `\"`. npos when unterminated or when a bare `"` comes first.
std::size_t escapedJsonStringEnd(std::string_view s, std::size_t pos)
{
    while (pos < s.size())
    {
        const char c = s[pos];
        if (c == '"' || (c == '\\' && pos + 1 >= s.size()))
        {
            return std::string_view::npos;
        }
        if (c == '\\')
        {
            if (s[pos + 1] == '"')
            {
                return pos + 2;
            }
            pos += 2;
            continue;
        }
        ++pos;
    }
    return std::string_view::npos;
}

std::string maskSecretMembers(std::string_view s, std::string_view quote, bool escaped)
{
    std::string out;
    out.reserve(s.size());
    std::size_t copied = 0;
    for (std::size_t pos = s.find(quote); pos != std::string_view::npos; pos = s.find(quote, pos))
    {
        const std::size_t valueStart = secretMemberPrefix(s, pos, quote);
        const std::size_t end = valueStart == std::string_view::npos ? valueStart
                                : escaped ? escapedJsonStringEnd(s, valueStart)
                                          : jsonStringEnd(s, valueStart);
        if (end == std::string_view::npos)
        {
            ++pos;
            continue;
        }
        out.append(s.substr(copied, valueStart - copied));
        out += "***";
        out += quote;
        copied = pos = end;
    }
    out.append(s.substr(copied));
    return out;
}

std::string maskTokens(std::string_view s)
{
    constexpr std::string_view kPrefix = "AstraCS:";
    std::string out;
    out.reserve(s.size());
    std::size_t copied = 0;
    for (std::size_t pos = s.find(kPrefix); pos != std::string_view::npos;
         pos = s.find(kPrefix, pos))
    {
        std::size_t end = pos + kPrefix.size();
        while (end < s.size() && isTokenChar(s[end]))
        {
            ++end;
        }
        if (end == pos + kPrefix.size())
        {
            ++pos;
            continue;
        }
        out.append(s.substr(copied, pos - copied));
        out += "AstraCS:***";
        copied = pos = end;
    }
    out.append(s.substr(copied));
    return out;
}

std::string maskBearer(std::string_view s)
{
    const auto isValueChar = [](char c) { return !isSpace(c) && c != '"' && c != ',' && c != ';'; };
    std::string out;
    out.reserve(s.size());
    std::size_t copied = 0;
    for (std::size_t pos = s.find("earer"); pos != std::string_view::npos; pos = s.find("earer", pos))
    {
        if (pos == 0 || (s[pos - 1] != 'B' && s[pos - 1] != 'b'))
        {
            ++pos;
            continue;
        }
        const std::size_t valueStart = skipSpaces(s, pos + 5);
        std::size_t end = valueStart;
        while (end < s.size() && isValueChar(s[end]))
        {
            ++end;
        }
        if (valueStart == pos + 5 || end == valueStart || pos - 1 < copied)
        {
            ++pos;
            continue;
        }
        out.append(s.substr(copied, valueStart - copied));
        out += "***";
        copied = pos = end;
    }
    out.append(s.substr(copied));
    return out;
}

} // namespace

std::string redactSecrets(std::string_view text)
{
    std::string out = maskSecretMembers(text, "\"", false);
    out = maskSecretMembers(out, "\\\"", true);
    out = maskTokens(out);
    return maskBearer(out);
}

} // namespace rotator::core
