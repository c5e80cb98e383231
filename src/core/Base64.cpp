#include "rotator/core/Base64.h"

#include "rotator/core/SecureWipe.h"

namespace rotator::core
{

std::optional<std::string> base64Decode(std::string_view text)
{
    static const std::string alphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if (text.size() % 4 != 0)
    {
        return std::nullopt;
    }
    std::string out;
    out.reserve(text.size() / 4 * 3);
    for (std::size_t i = 0; i < text.size(); i += 4)
    {
        const bool last = i + 4 == text.size();
        unsigned bits = 0;
        int pad = 0;
        for (std::size_t j = 0; j < 4; ++j)
        {
            const char c = text[i + j];
            const std::size_t v = alphabet.find(c);
            if (c == '=' && last && j >= 2 && (pad > 0 || j == 2 || text[i + 3] == '='))
            {
                ++pad;
                bits <<= 6;
                continue;
            }
            if (v == std::string::npos || pad > 0)
            {
                core::secureWipe(out);
                return std::nullopt;
            }
            bits = (bits << 6) | static_cast<unsigned>(v);
        }
        out += static_cast<char>((bits >> 16) & 0xFF);
        if (pad < 2)
        {
            out += static_cast<char>((bits >> 8) & 0xFF);
        }
        if (pad < 1)
        {
            out += static_cast<char>(bits & 0xFF);
        }
    }
    return out;
}

} // namespace rotator::core
