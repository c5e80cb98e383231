// api::parseErrorBody. Input: the Content-Type on the first line, the body after it. The message
// is what ends up in logs and exception texts: one line, at most 200 characters (plus "..."),
// and no token of the body survives in it.

#include "FuzzTarget.h"

#include "rotator/api/JsonMapping.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::string_view input = rotator::fuzz::asText(data, size);
    const std::size_t newline = input.find('\n');
    const std::string_view contentType =
        newline == std::string_view::npos ? std::string_view() : input.substr(0, newline);
    const std::string_view body =
        newline == std::string_view::npos ? input : input.substr(newline + 1);

    const auto error = rotator::api::parseErrorBody(contentType, body);
    FUZZ_CHECK(error.message.size() <= 203);
    for (const char c : error.message)
    {
        const auto byte = static_cast<unsigned char>(c);
        FUZZ_CHECK(byte >= 0x20 && byte != 0x7f);
    }
    for (const auto token : rotator::fuzz::findTokens(body))
    {
        FUZZ_CHECK(error.message.find(token) == std::string::npos);
    }
    // Nor one that JSON escapes spelled differently in the body.
    FUZZ_CHECK(rotator::fuzz::findTokens(error.message).empty());
    return 0;
}
