#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rotator::sim
{

/// What an injected fault does to a matching request.
enum class FaultKind
{
    Latency,         ///< wait `delayMs` before answering; the request is then handled normally
    Status,          ///< answer `status` (default 500) with an `Errors` JSON body; no side effect
    RateLimit,       ///< answer 429 (or `status`), optional `Retry-After`, `Errors` JSON body
    DropAfterCommit, ///< handle the request (a create is committed), then close the connection
                     ///< without sending any response
    InvalidJson,     ///< handle the request, then answer 200 with a truncated JSON body
    TextError,       ///< answer `status` (default 500) with a `text/plain` body; no side effect
    /// Like DropAfterCommit, but ends the TCP connection under TLS without a close_notify: the
    /// client's TLS layer reads an unexpected end of file (over plain HTTP: DropAfterCommit).
    TlsEofAfterCommit,
    /// Handle the request (a create is committed), then send the whole answer, status line and
    /// headers included, one byte every `delayMs` (default 1000): a client without an overall
    /// deadline stays in the exchange for minutes.
    Trickle,
};

/// `latency`, `status`, `rate_limit`, `drop_after_commit`, `tls_eof_after_commit`,
/// `invalid_json`, `text_error`, `trickle`.
const char* toString(FaultKind kind);
std::optional<FaultKind> parseFaultKind(std::string_view name);

/// One fault-injection rule of the simulator: a plain value.
///
/// A rule matches a request when `method` is `*` or equal to the request method and the request
/// path starts with `pathPrefix`. Each match consumes one unit of `count`; a rule whose count
/// reaches 0 is removed. Latency rules add up; of the other kinds only the first matching rule
/// (in insertion order) applies. The `/_sim/` control endpoints are never faulted.
struct FaultRule
{
    FaultKind kind = FaultKind::Status;
    std::string method = "*"; ///< `GET`, `POST`, `DELETE`, ... or `*` for any
    std::string pathPrefix = "/v2/";
    std::optional<int> count;             ///< requests left to affect; nullopt = unlimited
    int status = 0;                       ///< Status, RateLimit, TextError; 0 = the kind's default
    std::optional<int> retryAfterSeconds; ///< RateLimit: send `Retry-After` when set
    std::int64_t delayMs = 0; ///< Latency: how long to wait; Trickle: between two bytes (0: 1 s)

    /// The status the rule answers with: `status`, or 429 for RateLimit and 500 otherwise.
    int effectiveStatus() const;
};

/// Parses the command-line form `KIND[:key=value[,key=value...]]`, with the keys `method`,
/// `path`, `count` (a number or `inf`), `status`, `retryAfter` and `ms`, e.g.
/// `rate_limit:method=POST,path=/v2/clientIdSecrets,count=2,retryAfter=3`.
/// Throws core::UsageError naming the offending part.
FaultRule parseFaultSpec(std::string_view spec);

/// Checks the fields (known method form, status range, non-negative numbers).
/// Throws core::UsageError naming the offending field.
void validate(const FaultRule& rule);

} // namespace rotator::sim
