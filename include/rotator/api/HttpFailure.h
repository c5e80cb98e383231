#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <Poco/Exception.h>

#include "rotator/core/Outcome.h"

namespace rotator::api
{

/// One HTTP answer, before interpretation.
struct HttpResult
{
    int status = 0;
    std::string contentType;
    std::string body;
    std::optional<std::int64_t> retryAfterMs;
};

/// Turns a non-2xx answer into a classified failure (exposed for tests).
core::Failure classifyHttpFailure(std::string_view method, std::string_view path,
                                  const HttpResult& result);

/// Parses `Retry-After` (delta-seconds or an HTTP date) into milliseconds from `nowMs`.
std::optional<std::int64_t> parseRetryAfter(std::string_view value, std::int64_t nowMs);

/// Names one exchange in failure messages: `where` is "METHOD /path", `peer` "host:port".
struct Exchange
{
    std::string where;
    std::string peer;
    std::string host;
    std::int64_t timeoutMs = 0;
    std::int64_t deadlineMs = 0; ///< astra.requestDeadline
    std::string caKey = "astra.caFile";                ///< named when a certificate is refused
    std::string deadlineKey = "astra.requestDeadline"; ///< named when the deadline passes
};

core::Failure makeFailure(core::FailureKind kind, std::string message, bool ambiguous,
                          int status = 0);

/// A failure after some of the request was written: the server may have received it and acted
/// on it, so the outcome is unknown (ambiguous, transient) whatever exception carries it.
core::Failure lostAfterSending(const Poco::Exception& e, const Exchange& x);

/// A failure before any byte of the request was written (connect, TLS handshake, certificate
/// check on a fresh connection): the server cannot have acted on it, so it is never ambiguous.
core::Failure failedBeforeSending(const Poco::Exception& e, const Exchange& x);

/// The attempt outlived astra.requestDeadline and its connection was cut: transient, and
/// ambiguous when some of the request had been written.
core::Failure pastDeadline(const Exchange& x, bool requestWritten);

} // namespace rotator::api
