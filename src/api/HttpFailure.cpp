#include "rotator/api/HttpFailure.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <Poco/Net/NetException.h>
#include <Poco/Net/SSLException.h>

#include "rotator/api/JsonMapping.h"
#include "rotator/core/Duration.h"
#include "rotator/core/Time.h"

namespace rotator::api
{

using core::Failure;
using core::FailureKind;

Failure makeFailure(FailureKind kind, std::string message, bool ambiguous, int status)
{
    Failure f;
    f.kind = kind;
    f.message = std::move(message);
    f.ambiguous = ambiguous;
    f.httpStatus = status;
    return f;
}

// A connection cut without TLS close_notify ("unexpected eof while reading") is a lost answer,
// not a certificate problem.
Failure lostAfterSending(const Poco::Exception& e, const Exchange& x)
{
    std::string what;
    if (dynamic_cast<const Poco::TimeoutException*>(&e) != nullptr)
    {
        what = "no answer from " + x.peer + " within " + std::to_string(x.timeoutMs) + " ms";
    }
    else if (dynamic_cast<const Poco::Net::NoMessageException*>(&e) != nullptr)
    {
        what = x.peer + " closed the connection without an answer";
    }
    else
    {
        what = "connection to " + x.peer + " lost after the request was sent (" +
               sanitizeForMessage(e.displayText()) + ")";
    }
    return makeFailure(FailureKind::Transient, x.where + ": " + what, true);
}

namespace
{

bool mentions(const Poco::Exception& e, std::string_view text)
{
    return e.displayText().find(text) != std::string::npos;
}

} // namespace

Failure failedBeforeSending(const Poco::Exception& e, const Exchange& x)
{
    const std::string detail = sanitizeForMessage(e.displayText());
    if (dynamic_cast<const Poco::Net::ConnectionRefusedException*>(&e) != nullptr)
    {
        return makeFailure(FailureKind::Transient, x.where + ": connection refused by " + x.peer,
                           false);
    }
    if (dynamic_cast<const Poco::Net::HostNotFoundException*>(&e) != nullptr)
    {
        return makeFailure(FailureKind::Transient, x.where + ": host " + x.host + " not found",
                           false);
    }
    if (dynamic_cast<const Poco::TimeoutException*>(&e) != nullptr)
    {
        return makeFailure(FailureKind::Transient,
                           x.where + ": cannot connect to " + x.peer + " within " +
                               std::to_string(x.timeoutMs) + " ms",
                           false);
    }
    if (dynamic_cast<const Poco::Net::CertificateValidationException*>(&e) != nullptr ||
        mentions(e, "certificate verify failed"))
    {
        return makeFailure(FailureKind::Permanent,
                           x.where + ": TLS with " + x.peer + " failed (" + detail +
                               "); the server certificate must be valid for " + x.host +
                               " and signed by a CA of the system store or of " + x.caKey,
                           false);
    }
    if (mentions(e, "dh key too small"))
    {
        return makeFailure(FailureKind::Permanent,
                           x.where + ": TLS with " + x.peer + " failed (" + detail +
                               "); the server offers Diffie-Hellman parameters under 2048 bits, "
                               "which are refused as too weak: it must offer ECDHE, or DHE with "
                               "2048 bits or more",
                           false);
    }
    if (dynamic_cast<const Poco::Net::SSLException*>(&e) != nullptr)
    {
        return makeFailure(FailureKind::Permanent,
                           x.where + ": TLS handshake with " + x.peer + " failed (" + detail + ")",
                           false);
    }
    return makeFailure(FailureKind::Transient,
                       x.where + ": cannot connect to " + x.peer + " (" + detail + ")", false);
}

Failure pastDeadline(const Exchange& x, bool requestWritten)
{
    const std::string limit = x.deadlineKey + " (" + core::formatDuration(x.deadlineMs) + ")";
    return makeFailure(FailureKind::Transient,
                       requestWritten
                           ? x.where + ": no complete answer from " + x.peer + " within " + limit
                           : x.where + ": cannot reach " + x.peer + " within " + limit,
                       requestWritten);
}

std::optional<std::int64_t> parseRetryAfter(std::string_view value, std::int64_t nowMs)
{
    if (value.empty())
    {
        return std::nullopt;
    }
    bool digits = value.size() <= 9;
    for (char c : value)
    {
        digits = digits && c >= '0' && c <= '9';
    }
    if (digits)
    {
        return std::stoll(std::string(value)) * 1000;
    }
    // IMF-fixdate only ("Sun, 06 Nov 1994 08:49:37 GMT"): Poco's DateTimeParser accepts
    // almost anything, and a misread date must not turn into an arbitrary wait.
    static const char* const kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    if (value.size() == 29 && value.substr(3, 2) == ", " && value.substr(25) == " GMT" &&
        value[7] == ' ' && value[11] == ' ' && value[16] == ' ' && value[19] == ':' &&
        value[22] == ':')
    {
        int month = 0;
        for (int m = 0; m < 12; ++m)
        {
            if (value.substr(8, 3) == kMonths[m])
            {
                month = m + 1;
            }
        }
        const std::string iso = std::string(value.substr(12, 4)) + "-" + (month < 10 ? "0" : "") +
                                std::to_string(month) + "-" + std::string(value.substr(5, 2)) +
                                "T" + std::string(value.substr(17, 8)) + "Z";
        if (const auto when = core::parseRfc3339(iso); month > 0 && when)
        {
            const std::int64_t atMs = when->unixMs();
            return atMs > nowMs ? atMs - nowMs : 0;
        }
    }
    return std::nullopt;
}

Failure classifyHttpFailure(std::string_view method, std::string_view path,
                            const HttpResult& result)
{
    const ErrorBody err = parseErrorBody(result.contentType, result.body);
    std::string message =
        std::string(method) + " " + std::string(path) + ": HTTP " + std::to_string(result.status);
    if (err.id)
    {
        message += " (error " + std::to_string(*err.id) + ")";
    }
    if (!err.message.empty())
    {
        message += ": " + err.message;
    }
    FailureKind kind = FailureKind::Permanent;
    bool ambiguous = false;
    switch (result.status)
    {
    case 401:
    case 403:
        kind = FailureKind::Auth;
        break;
    case 404:
        kind = FailureKind::NotFound;
        break;
    case 408:
    case 429:
        kind = FailureKind::Transient;
        break;
    default:
        if (result.status >= 500 && result.status != 501)
        {
            kind = FailureKind::Transient;
            // The server may have acted before failing.
            ambiguous = true;
        }
        break;
    }
    Failure f = makeFailure(kind, std::move(message), ambiguous, result.status);
    f.retryAfterMs = result.retryAfterMs;
    f.apiErrorId = err.id;
    return f;
}

} // namespace rotator::api
