#include "rotator/core/Marker.h"

#include <algorithm>
#include <charconv>
#include <vector>

namespace rotator::core
{
namespace
{

constexpr std::string_view kPrefix = "astra-rotator ";

// Split at every space: "a  b" and "a b " have an empty word, which no marker has.
std::vector<std::string_view> words(std::string_view text)
{
    std::vector<std::string_view> out;
    for (;;)
    {
        const auto space = text.find(' ');
        out.push_back(text.substr(0, space));
        if (space == std::string_view::npos)
        {
            return out;
        }
        text.remove_prefix(space + 1);
    }
}

std::optional<std::int64_t> positiveId(std::string_view text)
{
    std::int64_t value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || error != std::errc() || end != text.data() + text.size() || value <= 0)
    {
        return std::nullopt;
    }
    return value;
}

} // namespace

bool isInstallationId(std::string_view text)
{
    return text.size() == 16 &&
           std::all_of(text.begin(), text.end(),
                       [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::string formatMarker(std::string_view installationId, std::string_view credential,
                         std::int64_t rotationId)
{
    std::string out(kPrefix);
    out += installationId;
    out += ' ';
    out += credential;
    out += ' ';
    out += std::to_string(rotationId);
    return out;
}

std::optional<Marker> parseMarker(std::string_view description)
{
    if (description.substr(0, kPrefix.size()) != kPrefix)
    {
        return std::nullopt;
    }
    const auto parts = words(description.substr(kPrefix.size()));
    // Credential names are configuration key segments: letters, digits, '_', '.', '-'. A
    // description is anyone's text; what is not a name is not a marker (nor logged as one).
    const auto isName = [](std::string_view name)
    {
        return !name.empty() &&
               std::all_of(name.begin(), name.end(),
                           [](char c)
                           {
                               return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                                      (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
                           });
    };
    if (parts.size() == 3 && isInstallationId(parts[0]) && isName(parts[1]))
    {
        if (const auto id = positiveId(parts[2]))
        {
            return Marker{std::string(parts[0]), std::string(parts[1]), *id};
        }
    }
    if (parts.size() == 2 && isName(parts[0]))
    {
        if (const auto id = positiveId(parts[1]))
        {
            return Marker{"", std::string(parts[0]), *id};
        }
    }
    return std::nullopt;
}

} // namespace rotator::core
