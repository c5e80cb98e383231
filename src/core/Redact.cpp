#include "rotator/core/Redact.h"

#include <regex>

namespace rotator::core
{

std::string redactSecrets(std::string_view text)
{
    static const std::regex kJsonSecret(
        R"re(("(?:secret|token|clientSecret)"\s*:\s*")(?:[^"\\]|\\.)*")re");
    // The same inside JSON that was itself escaped into a string: {\"secret\":\"...\"}.
    static const std::regex kEscapedJsonSecret(
        R"re((\\"(?:secret|token|clientSecret)\\"\s*:\s*\\")(?:[^\\"]|\\[^"])*\\")re");
    static const std::regex kToken(R"(AstraCS:[A-Za-z0-9:_.\-]+)");
    static const std::regex kBearer(R"(([Bb]earer\s+)[^\s",;]+)");
    std::string out = std::regex_replace(std::string(text), kJsonSecret, "$1***\"");
    out = std::regex_replace(out, kEscapedJsonSecret, "$1***\\\"");
    out = std::regex_replace(out, kToken, "AstraCS:***");
    out = std::regex_replace(out, kBearer, "$1***");
    return out;
}

} // namespace rotator::core
