#pragma once

#include <cstdint>
#include <string>

#include <Poco/Exception.h>

#include "rotator/core/Outcome.h"

namespace rotator::api
{

/// Names one exchange in failure messages: `where` is "METHOD /path", `peer` "host:port".
struct Exchange
{
    std::string where;
    std::string peer;
    std::string host;
    std::int64_t timeoutMs = 0;
    std::int64_t deadlineMs = 0; ///< astra.requestDeadline
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
