#include "rotator/core/JsonString.h"

#include <array>

namespace rotator::core
{

namespace
{

constexpr std::array<char, 16> kHex = {'0', '1', '2', '3', '4', '5', '6', '7',
                                       '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'};

} // namespace

void appendJsonString(std::string& out, std::string_view value)
{
    out += '"';
    for (const char c : value)
    {
        switch (c)
        {
        case '"':
            out += "\\\"";
            break;
        case '\\':
            out += "\\\\";
            break;
        case '\b':
            out += "\\b";
            break;
        case '\f':
            out += "\\f";
            break;
        case '\n':
            out += "\\n";
            break;
        case '\r':
            out += "\\r";
            break;
        case '\t':
            out += "\\t";
            break;
        default:
        {
            const auto byte = static_cast<unsigned char>(c);
            if (byte < 0x20)
            {
                out += "\\u00";
                out += kHex[byte >> 4];
                out += kHex[byte & 0x0f];
            }
            else
            {
                // Bytes >= 0x80 are copied: the API sends UTF-8 and JSON allows it raw.
                out += c;
            }
        }
        }
    }
    out += '"';
}

} // namespace rotator::core
