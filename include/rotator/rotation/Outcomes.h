#pragma once

// What RotationEngine's passes and commands report, and the hooks it calls.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rotator::rotation
{

/// What one pass did.
struct PassReport
{
    int rotated = 0;        ///< rotations promoted (new client delivered everywhere)
    int failed = 0;         ///< rotation attempts that failed (rolled back, failed, stuck)
    int revoked = 0;        ///< old clients deleted
    int confirmed = 0;      ///< revocations confirmed by a list
    int orphansRevoked = 0; ///< clients of lost creates found and revoked
    int unattributed = 0;   ///< clients that look like ours but cannot be attributed
    int foreign = 0;        ///< clients of another installation, reported for the first time
    /// Credentials whose current client is no longer listed (each is replaced at once).
    std::vector<std::string> currentMissing;
    bool listFailed = false;
    bool adminTokenRejected = false; ///< the list answered 401: the admin token was refused
    std::vector<std::string> errors;
};

/// The result of `rotate NAME`.
struct RotateOutcome
{
    bool ok = false;
    std::int64_t rotationId = 0;
    bool resumed = false; ///< the rotation was an interrupted one, finished by this command
    std::string stage;
    std::string message;
};

/// The result of `retire NAME`.
struct RetireOutcome
{
    bool ok = false;
    std::string message;
    std::vector<std::string> revoked;  ///< clients revoked (with --revoke)
    std::vector<std::string> released; ///< clients left alive, now unmanaged (without)
};

/// One line of `plan`.
struct PlanItem
{
    std::string credential;
    bool dueNow = false;
    std::optional<std::int64_t> nextAtMs;
    std::string reason;
    std::vector<std::string> actions; ///< "would mint ...", "would write ...", "would revoke ..."
    std::vector<std::string> problems; ///< sink checks and role resolution that fail now
    std::vector<std::string> warnings; ///< e.g. an adopted client whose roles differ
};

/// Called with a point name at every stage boundary (tests throw from it to simulate a crash
/// there; production leaves it empty).
using CrashHook = std::function<void(std::string_view point)>;

/// Called once per finished attempt with the credential and its result
/// (`success`, `rolled_back`, `failed`, `quarantined`), for metrics.
using ResultObserver = std::function<void(const std::string& credential, const std::string&)>;

/// Called after every delivery attempt with the sink's name, the result (`delivered`, `failed`,
/// or `may_hold`: an ambiguous failure after which the sink may hold the credential) and how
/// long the attempt took (real time, milliseconds), for metrics.
using SinkObserver =
    std::function<void(const std::string& sink, const std::string& result, std::int64_t ms)>;

} // namespace rotator::rotation
