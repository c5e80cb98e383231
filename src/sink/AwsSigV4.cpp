#include "rotator/sink/AwsSigV4.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <map>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "rotator/core/SecureWipe.h"
#include "rotator/core/Time.h"

namespace rotator::sink::sigv4
{

namespace
{

constexpr const char* kAlgorithm = "AWS4-HMAC-SHA256";

std::string hex(const unsigned char* data, std::size_t size)
{
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(size * 2);
    for (std::size_t i = 0; i < size; ++i)
    {
        out += kDigits[data[i] >> 4];
        out += kDigits[data[i] & 0xf];
    }
    return out;
}

int hexValue(char c)
{
    if (c >= '0' && c <= '9')
    {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f')
    {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F')
    {
        return c - 'A' + 10;
    }
    return -1;
}

/// Percent-decoding of a query component (`+` stays `+`: SigV4 encodes it as `%2B`).
std::string percentDecode(std::string_view text)
{
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i)
    {
        if (text[i] == '%' && i + 2 < text.size() && hexValue(text[i + 1]) >= 0 &&
            hexValue(text[i + 2]) >= 0)
        {
            out += static_cast<char>(hexValue(text[i + 1]) * 16 + hexValue(text[i + 2]));
            i += 2;
        }
        else
        {
            out += text[i];
        }
    }
    return out;
}

std::string lower(std::string text)
{
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

/// Trimmed, with each run of spaces inside collapsed to one.
std::string normaliseValue(std::string_view value)
{
    std::string out;
    bool space = false;
    for (const char c : value)
    {
        if (c == ' ' || c == '\t')
        {
            space = !out.empty();
            continue;
        }
        if (space)
        {
            out += ' ';
            space = false;
        }
        out += c;
    }
    return out;
}

} // namespace

std::string amzDate(std::int64_t unixMs)
{
    std::string text = core::formatRfc3339Seconds(unixMs); // 2015-08-30T12:36:00Z
    text.erase(
        std::remove_if(text.begin(), text.end(), [](char c) { return c == '-' || c == ':'; }),
        text.end());
    return text;
}

std::string sha256Hex(std::string_view data)
{
    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int size = 0;
    EVP_Digest(data.data(), data.size(), digest.data(), &size, EVP_sha256(), nullptr);
    return hex(digest.data(), size);
}

std::string hmacSha256(std::string_view key, std::string_view data)
{
    std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
    unsigned int size = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac.data(), &size);
    std::string out(reinterpret_cast<const char*>(mac.data()), size);
    core::secureWipe(mac.data(), mac.size());
    return out;
}

std::string uriEncode(std::string_view text, bool keepSlash)
{
    static constexpr char kDigits[] = "0123456789ABCDEF";
    std::string out;
    for (const char c : text)
    {
        const auto u = static_cast<unsigned char>(c);
        if (std::isalnum(u) != 0 || c == '-' || c == '_' || c == '.' || c == '~' ||
            (keepSlash && c == '/'))
        {
            out += c;
        }
        else
        {
            out += '%';
            out += kDigits[u >> 4];
            out += kDigits[u & 0xf];
        }
    }
    return out;
}

std::string canonicalUri(std::string_view path)
{
    std::vector<std::string_view> segments;
    std::size_t start = path.empty() || path[0] != '/' ? 0 : 1;
    while (start <= path.size())
    {
        const std::size_t slash = std::min(path.find('/', start), path.size());
        const std::string_view segment = path.substr(start, slash - start);
        if (segment == "..")
        {
            if (!segments.empty())
            {
                segments.pop_back();
            }
        }
        else if (!segment.empty() && segment != ".")
        {
            segments.push_back(segment);
        }
        start = slash + 1;
    }
    // A path ending in `/`, `/.` or `/..` names a directory: its slash is kept.
    const bool directory = !path.empty() &&
                           (path.back() == '/' || path.ends_with("/.") || path.ends_with("/..")) &&
                           !segments.empty();
    std::string out;
    for (const auto segment : segments)
    {
        out += '/';
        out += uriEncode(segment, false);
    }
    if (out.empty() || directory)
    {
        out += '/';
    }
    return out;
}

std::string canonicalQuery(std::string_view rawQuery)
{
    std::vector<std::pair<std::string, std::string>> params;
    std::size_t start = 0;
    while (start < rawQuery.size())
    {
        const std::size_t amp = std::min(rawQuery.find('&', start), rawQuery.size());
        const std::string_view item = rawQuery.substr(start, amp - start);
        if (!item.empty())
        {
            const std::size_t eq = item.find('=');
            const std::string_view name = item.substr(0, eq);
            const std::string_view value =
                eq == std::string_view::npos ? std::string_view() : item.substr(eq + 1);
            params.emplace_back(uriEncode(percentDecode(name), false),
                                uriEncode(percentDecode(value), false));
        }
        start = amp + 1;
    }
    std::sort(params.begin(), params.end());
    std::string out;
    for (const auto& [name, value] : params)
    {
        out += (out.empty() ? "" : "&") + name + "=" + value;
    }
    return out;
}

std::pair<std::string, std::string> canonicalHeaders(const Headers& headers)
{
    std::map<std::string, std::string> byName;
    for (const auto& [name, value] : headers)
    {
        std::string& joined = byName[lower(name)];
        joined += (joined.empty() ? "" : ",") + normaliseValue(value);
    }
    std::string canonical;
    std::string signedNames;
    for (const auto& [name, value] : byName)
    {
        canonical += name + ":" + value + "\n";
        signedNames += (signedNames.empty() ? "" : ";") + name;
    }
    return {canonical, signedNames};
}

std::string canonicalRequest(const Request& request, const std::string& payloadHash)
{
    const auto [headers, signedNames] = canonicalHeaders(request.headers);
    return request.method + "\n" + canonicalUri(request.path) + "\n" +
           canonicalQuery(request.query) + "\n" + headers + "\n" + signedNames + "\n" + payloadHash;
}

std::string credentialScope(const std::string& amzDateText, const std::string& region,
                            const std::string& service)
{
    return amzDateText.substr(0, 8) + "/" + region + "/" + service + "/aws4_request";
}

std::string stringToSign(const std::string& amzDateText, const std::string& scope,
                         const std::string& canonical)
{
    return std::string(kAlgorithm) + "\n" + amzDateText + "\n" + scope + "\n" +
           sha256Hex(canonical);
}

std::string signature(const core::Secret& secretAccessKey, const std::string& amzDateText,
                      const std::string& region, const std::string& service,
                      const std::string& toSign)
{
    std::string key = "AWS4" + secretAccessKey.reveal();
    for (const std::string& part :
         {amzDateText.substr(0, 8), region, service, std::string("aws4_request")})
    {
        std::string next = hmacSha256(key, part);
        core::secureWipe(key);
        key = std::move(next);
    }
    const std::string mac = hmacSha256(key, toSign);
    core::secureWipe(key);
    return hex(reinterpret_cast<const unsigned char*>(mac.data()), mac.size());
}

Signed sign(const Request& request, const AwsCredentials& credentials, const std::string& region,
            const std::string& service, std::int64_t unixMs)
{
    const std::string date = amzDate(unixMs);
    Signed out;
    out.headers.emplace_back("X-Amz-Date", date);
    if (!credentials.sessionToken.empty())
    {
        out.headers.emplace_back("X-Amz-Security-Token", credentials.sessionToken.reveal());
    }
    Request withDate = request;
    withDate.headers.insert(withDate.headers.end(), out.headers.begin(), out.headers.end());
    out.canonicalRequest = canonicalRequest(withDate, sha256Hex(request.body));
    const std::string scope = credentialScope(date, region, service);
    out.stringToSign = stringToSign(date, scope, out.canonicalRequest);
    out.authorization =
        std::string(kAlgorithm) + " Credential=" + credentials.accessKeyId + "/" + scope +
        ", SignedHeaders=" + canonicalHeaders(withDate.headers).second + ", Signature=" +
        signature(credentials.secretAccessKey, date, region, service, out.stringToSign);
    out.headers.emplace_back("Authorization", out.authorization);
    return out;
}

std::optional<Authorization> parseAuthorization(std::string_view header)
{
    const std::string prefix = std::string(kAlgorithm) + " ";
    if (!header.starts_with(prefix))
    {
        return std::nullopt;
    }
    header.remove_prefix(prefix.size());
    std::map<std::string, std::string> parts;
    std::size_t start = 0;
    while (start < header.size())
    {
        const std::size_t comma = std::min(header.find(',', start), header.size());
        std::string item = normaliseValue(header.substr(start, comma - start));
        const std::size_t eq = item.find('=');
        if (eq == std::string::npos)
        {
            return std::nullopt;
        }
        parts[item.substr(0, eq)] = item.substr(eq + 1);
        start = comma + 1;
    }
    if (!parts.contains("Credential") || !parts.contains("SignedHeaders") ||
        !parts.contains("Signature"))
    {
        return std::nullopt;
    }
    Authorization out;
    std::vector<std::string> scope;
    std::string_view credential = parts["Credential"];
    for (std::size_t from = 0; from <= credential.size();)
    {
        const std::size_t slash = std::min(credential.find('/', from), credential.size());
        scope.emplace_back(credential.substr(from, slash - from));
        from = slash + 1;
    }
    if (scope.size() != 5 || scope[4] != "aws4_request" || scope[1].size() != 8)
    {
        return std::nullopt;
    }
    out.accessKeyId = scope[0];
    out.date = scope[1];
    out.region = scope[2];
    out.service = scope[3];
    std::string_view names = parts["SignedHeaders"];
    for (std::size_t from = 0; from <= names.size();)
    {
        const std::size_t semi = std::min(names.find(';', from), names.size());
        out.signedHeaders.emplace_back(names.substr(from, semi - from));
        from = semi + 1;
    }
    out.signature = parts["Signature"];
    return out;
}

} // namespace rotator::sink::sigv4
