#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <tl/expected.hpp>

namespace rotator::core
{

/// How an expected failure should be handled by the caller.
enum class FailureKind
{
    Transient, ///< worth retrying later: timeouts, 429, 5xx, dropped connections
    Auth,      ///< the credential was refused (401) or lacks permission (403)
    NotFound,  ///< the thing does not exist (404)
    Permanent, ///< retrying the same request will not help: 400, malformed answers, local errors
};

/// An expected failure, as a value. `message` never carries a secret or a raw response body.
struct Failure
{
    FailureKind kind = FailureKind::Permanent;
    std::string message;
    std::optional<std::int64_t> retryAfterMs; ///< from a Retry-After header, when given
    int httpStatus = 0;                       ///< 0 when no HTTP answer was received
    std::optional<std::int64_t> apiErrorId;   ///< `errors[0].ID` of a DevOps error body

    /// True when the request may have reached the server and been acted on (timeouts,
    /// dropped connections, 5xx): the outcome of a non-idempotent call is unknown. For a sink:
    /// it may hold the credential although the delivery failed (a hook that timed out or died
    /// after it could read its stdin, a file that failed after its rename), so the rotation
    /// must only roll forward.
    bool ambiguous = false;
};

template <typename T>
using Outcome = tl::expected<T, Failure>;

inline tl::unexpected<Failure> fail(FailureKind kind, std::string message, int httpStatus = 0)
{
    Failure f;
    f.kind = kind;
    f.message = std::move(message);
    f.httpStatus = httpStatus;
    return tl::unexpected<Failure>(std::move(f));
}

/// `fail` for an outcome that may have taken effect (`Failure::ambiguous`).
inline tl::unexpected<Failure> failAmbiguous(FailureKind kind, std::string message)
{
    auto f = fail(kind, std::move(message));
    f.value().ambiguous = true;
    return f;
}

} // namespace rotator::core
