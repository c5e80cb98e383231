// sink::parseCredentialJson (the pending file reader): never throws; what it accepts is exactly
// what renderJson writes for the result.

#include "FuzzTarget.h"

#include "rotator/sink/Credential.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view input = rotator::fuzz::asText(data, size);
    const auto credential = rotator::sink::parseCredentialJson(input, "fuzz");
    if (credential)
    {
        FUZZ_CHECK(credential->credential == "fuzz");
        FUZZ_CHECK(!credential->clientId.empty() && !credential->secret.empty() &&
                   !credential->token.empty());
        FUZZ_CHECK(rotator::sink::renderJson(*credential) == input);
        // The other renderers take any value.
        static_cast<void>(rotator::sink::renderEnv(*credential));
        static_cast<void>(rotator::sink::renderToken(*credential));
    }
    return 0;
}
