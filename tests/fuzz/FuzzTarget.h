#pragma once

// What every harness in tests/fuzz defines and how it states a property.
//
// A harness is one function over bytes, run by libFuzzer (`fuzz_<name>`, clang) or by the
// replay driver (`fuzz_replay_<name>`, any compiler) over the corpus and the kept crashes. A
// violated property aborts, which both count as a crash.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace rotator::fuzz
{

[[noreturn]] inline void violated(const char* what, const char* file, int line)
{
    std::fprintf(stderr, "%s:%d: property violated: %s\n", file, line, what);
    std::abort();
}

inline std::string_view asText(const std::uint8_t* data, std::size_t size)
{
    return {reinterpret_cast<const char*>(data), size};
}

/// Every substring of `text` that matches `AstraCS:[A-Za-z0-9]{24}:[0-9a-f]{64}`.
inline std::vector<std::string_view> findTokens(std::string_view text)
{
    constexpr std::string_view kPrefix = "AstraCS:";
    constexpr std::size_t kLength = 8 + 24 + 1 + 64;
    const auto alnum = [](char c)
    { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
    const auto hex = [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); };
    std::vector<std::string_view> found;
    for (auto pos = text.find(kPrefix); pos != std::string_view::npos;
         pos = text.find(kPrefix, pos + 1))
    {
        if (text.size() - pos < kLength)
        {
            break;
        }
        const std::string_view candidate = text.substr(pos, kLength);
        bool ok = candidate[32] == ':';
        for (std::size_t i = 8; ok && i < 32; ++i)
        {
            ok = alnum(candidate[i]);
        }
        for (std::size_t i = 33; ok && i < kLength; ++i)
        {
            ok = hex(candidate[i]);
        }
        if (ok)
        {
            found.push_back(candidate);
        }
    }
    return found;
}

} // namespace rotator::fuzz

/// Aborts (a crash for libFuzzer and for the replay driver) when `cond` is false.
#define FUZZ_CHECK(cond)                                                                           \
    ((cond) ? static_cast<void>(0) : ::rotator::fuzz::violated(#cond, __FILE__, __LINE__))
