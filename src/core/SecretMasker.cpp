#include "rotator/core/SecretMasker.h"

#include <algorithm>
#include <array>

#include "rotator/core/JsonString.h"
#include "rotator/core/Redact.h"
#include "rotator/core/SecureWipe.h"

namespace rotator::core
{

std::string base64Encode(std::string_view bytes, bool urlSafe, bool pad)
{
    static constexpr std::string_view kStandard =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    static constexpr std::string_view kUrlSafe =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const std::string_view alphabet = urlSafe ? kUrlSafe : kStandard;
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    for (std::size_t i = 0; i < bytes.size(); i += 3)
    {
        const std::size_t n = std::min<std::size_t>(3, bytes.size() - i);
        std::uint32_t group = 0;
        for (std::size_t j = 0; j < 3; ++j)
        {
            group = (group << 8U) | (j < n ? static_cast<unsigned char>(bytes[i + j]) : 0U);
        }
        for (std::size_t j = 0; j < 4; ++j)
        {
            if (j <= n)
            {
                out += alphabet[(group >> (18U - 6U * j)) & 0x3FU];
            }
            else if (pad)
            {
                out += '=';
            }
        }
    }
    return out;
}

std::string percentEncode(std::string_view bytes, bool lowerHex)
{
    const char* digits = lowerHex ? "0123456789abcdef" : "0123456789ABCDEF";
    std::string out;
    for (const char c : bytes)
    {
        const auto u = static_cast<unsigned char>(c);
        const bool unreserved = (u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') ||
                                (u >= '0' && u <= '9') || c == '-' || c == '.' || c == '_' ||
                                c == '~';
        if (unreserved)
        {
            out += c;
        }
        else
        {
            out += '%';
            out += digits[u >> 4U];
            out += digits[u & 0xFU];
        }
    }
    return out;
}

namespace
{

/// Every form of `value`: itself, JSON-escaped, percent-encoded, and base64. A value inside a
/// longer base64 stream starts at one of three byte alignments; the characters that mix in
/// the neighbouring bytes (the first group of an offset encoding, a last partial group) are
/// left out, the pieces of the rest still match.
std::vector<std::string> formsOf(std::string_view value)
{
    std::vector<std::string> forms;
    forms.emplace_back(value);
    std::string quoted;
    appendJsonString(quoted, value);
    forms.push_back(quoted.substr(1, quoted.size() - 2));
    secureWipe(quoted);
    forms.push_back(percentEncode(value, false));
    forms.push_back(percentEncode(value, true));
    for (const bool urlSafe : {false, true})
    {
        forms.push_back(base64Encode(value, urlSafe, true));
        for (std::size_t offset = 1; offset <= 2; ++offset)
        {
            std::string shifted(offset, '\0');
            shifted.append(value);
            std::string encoded = base64Encode(shifted, urlSafe, false);
            const std::size_t whole = shifted.size() / 3 * 4; // complete groups only
            secureWipe(shifted);
            forms.push_back(encoded.substr(4, whole > 4 ? whole - 4 : 0));
            secureWipe(encoded);
        }
    }
    return forms;
}

} // namespace

SecretMasker::~SecretMasker()
{
    _pieces.clear();
    for (auto* list : {&_wholes, &_forms})
    {
        for (auto& s : *list)
        {
            secureWipe(s);
        }
    }
}

void SecretMasker::addWhole(std::string value)
{
    if (!value.empty() && std::find(_wholes.begin(), _wholes.end(), value) == _wholes.end())
    {
        _wholes.push_back(std::move(value));
        return;
    }
    secureWipe(value);
}

void SecretMasker::addPieces(std::string value)
{
    // Many forms coincide (a value of unreserved characters is its own percent-encoding, one
    // whose base64 has no `+` or `/` has the same URL-safe form): each is held and sliced once.
    if (value.size() < kMinPiece || std::find(_forms.begin(), _forms.end(), value) != _forms.end())
    {
        secureWipe(value);
        return;
    }
    // A deque never moves its elements, so the views stay valid.
    const std::string& form = _forms.emplace_back(std::move(value));
    for (std::size_t i = 0; i + kMinPiece <= form.size(); ++i)
    {
        _pieces.insert(std::string_view(form).substr(i, kMinPiece));
    }
}

void SecretMasker::addSecret(std::string_view value)
{
    for (auto& form : formsOf(value))
    {
        addWhole(form);
        addPieces(std::move(form));
    }
}

void SecretMasker::addSecretWithPublicPrefix(std::string_view prefix, std::string_view secret)
{
    std::string whole(prefix);
    whole.append(secret);
    for (auto& form : formsOf(whole))
    {
        addWhole(std::move(form));
    }
    secureWipe(whole);
    addSecret(secret);
}

std::size_t SecretMasker::longest() const
{
    std::size_t n = 0;
    for (const auto& s : _wholes)
    {
        n = std::max(n, s.size());
    }
    return n;
}

std::vector<bool> SecretMasker::coverage(std::string_view text) const
{
    std::vector<bool> masked(text.size(), false);
    const auto mark = [&masked](std::size_t from, std::size_t length)
    {
        std::fill(masked.begin() + static_cast<std::ptrdiff_t>(from),
                  masked.begin() + static_cast<std::ptrdiff_t>(from + length), true);
    };
    for (const auto& whole : _wholes)
    {
        for (auto pos = text.find(whole); pos != std::string_view::npos;
             pos = text.find(whole, pos + 1))
        {
            mark(pos, whole.size());
        }
    }
    if (!_pieces.empty())
    {
        for (std::size_t i = 0; i + kMinPiece <= text.size(); ++i)
        {
            if (_pieces.count(text.substr(i, kMinPiece)) != 0)
            {
                mark(i, kMinPiece);
            }
        }
    }
    return masked;
}

std::string SecretMasker::clean(std::string_view raw, std::size_t keep) const
{
    keep = std::min(keep, raw.size());
    // Do not cut inside a UTF-8 sequence.
    while (keep > 0 && keep < raw.size() &&
           (static_cast<unsigned char>(raw[keep]) & 0xC0U) == 0x80U)
    {
        --keep;
    }
    const std::vector<bool> masked = coverage(raw);
    std::string out;
    out.reserve(keep);
    for (std::size_t i = 0; i < keep; ++i)
    {
        if (masked[i])
        {
            if (i == 0 || !masked[i - 1])
            {
                out += "***";
            }
            continue;
        }
        const auto c = static_cast<unsigned char>(raw[i]);
        out += (c < 0x20 && c != '\t') || c == 0x7f ? '?' : raw[i];
    }
    return redactSecrets(out);
}

} // namespace rotator::core
