#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "rotator/core/Secret.h"

namespace rotator::sink::sigv4
{

/// The key pair (and, for temporary credentials, the session token) requests are signed with.
/// `secretAccessKey` and `sessionToken` never go into a message; `accessKeyId` is not secret
/// (AWS prints it in its own errors).
struct AwsCredentials
{
    std::string accessKeyId;
    core::Secret secretAccessKey;
    core::Secret sessionToken;               ///< empty for long-term keys
    std::optional<std::int64_t> expiresAtMs; ///< temporary credentials: their Expiration
    std::string source; ///< where they came from, for messages: "environment", "web identity", ...
};

using Headers = std::vector<std::pair<std::string, std::string>>;

/// One HTTP request as it goes on the wire, before signing.
struct Request
{
    std::string method;
    std::string path;  ///< as sent (not decoded); `/` for the JSON and query APIs
    std::string query; ///< raw, without `?`
    Headers headers;   ///< every header here is signed (include Host)
    std::string_view body;
};

/// What signing produced: the headers to add to the request, and the intermediate strings
/// (for tests; the canonical request holds the session token, so never log it).
struct Signed
{
    Headers headers; ///< X-Amz-Date, X-Amz-Security-Token (session credentials), Authorization
    std::string canonicalRequest;
    std::string stringToSign;
    std::string authorization;
};

// The steps of AWS Signature Version 4, each public so that tests (the official test-suite
// vectors) and the simulator (which verifies signatures) use the same definitions.

/// `20150830T123600Z` for `unixMs`.
std::string amzDate(std::int64_t unixMs);
/// Lower-case hex SHA-256 (OpenSSL).
std::string sha256Hex(std::string_view data);
/// Raw HMAC-SHA256 (OpenSSL) of `data` under `key`.
std::string hmacSha256(std::string_view key, std::string_view data);
/// RFC 3986 percent-encoding as SigV4 wants it: unreserved `A-Za-z0-9-._~` kept, every other
/// byte `%XX` upper case; `/` kept when `keepSlash`.
std::string uriEncode(std::string_view text, bool keepSlash);
/// The canonical URI of a non-S3 service: the path normalised (RFC 3986 dot segments removed,
/// empty segments dropped, a trailing slash kept) and each segment encoded again, as the
/// specification says for every service but S3 (a path sent encoded is encoded twice).
std::string canonicalUri(std::string_view path);
/// The canonical query: each `name=value` decoded and re-encoded, sorted by name then value.
std::string canonicalQuery(std::string_view rawQuery);
/// Canonical headers (`name:value\n`, names lower case, values trimmed with inner runs of spaces
/// collapsed, repeated names joined with `,`, sorted) and the signed header list (`a;b;c`).
std::pair<std::string, std::string> canonicalHeaders(const Headers& headers);
/// The whole canonical request of `request` whose payload hash is `payloadHash`.
std::string canonicalRequest(const Request& request, const std::string& payloadHash);
/// `AWS4-HMAC-SHA256\n<date>\n<scope>\n<sha256(canonical request)>`.
std::string stringToSign(const std::string& amzDateText, const std::string& scope,
                         const std::string& canonical);
/// `YYYYMMDD/<region>/<service>/aws4_request`.
std::string credentialScope(const std::string& amzDateText, const std::string& region,
                            const std::string& service);
/// Hex HMAC of `toSign` under the key derived from `secretAccessKey` for the scope's date,
/// region and service. Intermediate keys are wiped.
std::string signature(const core::Secret& secretAccessKey, const std::string& amzDateText,
                      const std::string& region, const std::string& service,
                      const std::string& toSign);

/// Signs `request` at `unixMs`: adds X-Amz-Date and, for session credentials,
/// X-Amz-Security-Token to the signed headers, and returns them with the Authorization header.
Signed sign(const Request& request, const AwsCredentials& credentials, const std::string& region,
            const std::string& service, std::int64_t unixMs);

/// The parts of an `Authorization: AWS4-HMAC-SHA256 Credential=..., SignedHeaders=...,
/// Signature=...` header (the simulator verifies them); nullopt when malformed.
struct Authorization
{
    std::string accessKeyId;
    std::string date; ///< YYYYMMDD
    std::string region;
    std::string service;
    std::vector<std::string> signedHeaders;
    std::string signature;
};
std::optional<Authorization> parseAuthorization(std::string_view header);

} // namespace rotator::sink::sigv4
