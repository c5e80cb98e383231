// core::redactSecrets: no token (AstraCS:<24 letters and digits>:<64 hex>) of the input
// survives in the output, and redacting twice changes nothing more.

#include "FuzzTarget.h"

#include "rotator/core/Redact.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view input = rotator::fuzz::asText(data, size);
    const std::string output = rotator::core::redactSecrets(input);
    for (const auto token : rotator::fuzz::findTokens(input))
    {
        FUZZ_CHECK(output.find(token) == std::string::npos);
    }
    FUZZ_CHECK(rotator::fuzz::findTokens(output).empty());
    return 0;
}
