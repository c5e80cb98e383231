#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "rotator/config/Settings.h"
#include "rotator/store/StateStore.h"

namespace rotator::schedule
{

/// Due-time math: no clock; every function takes "now" as an argument. Only the overload
/// taking a store reads anything.

/// A deterministic spread in [0, jitterMs] derived from the credential's name (FNV-1a), so a
/// restart never reshuffles the schedule and two credentials rarely rotate together.
std::int64_t jitterOffsetMs(const std::string& name, std::int64_t jitterMs);

/// The earliest instant at or after `t` inside the UTC window (a window that crosses midnight
/// belongs to the day it starts on). nullopt for a window with no days.
std::optional<std::int64_t> nextInWindow(std::int64_t t, const config::Window& window);

/// When a credential's next rotation is due, and why, in words a user can check.
struct DuePlan
{
    std::optional<std::int64_t> atMs; ///< none while quarantined
    std::string reason;

    /// True when a rotation is due at `nowMs` (never while quarantined).
    bool dueAt(std::int64_t nowMs) const { return atMs && *atMs <= nowMs; }
};

/// `row` may be null (never synced). `currentGeneratedOnMs` is the current client's
/// generatedOn, when there is a current client and it is in the inventory. `currentMissing`:
/// the last list no longer showed the current client, so it is replaced at once (outside any
/// window; backoff and quarantine still apply).
DuePlan nextRotation(const config::CredentialSettings& credential, const store::CredentialRow* row,
                     std::optional<std::int64_t> currentGeneratedOnMs, std::int64_t nowMs,
                     bool currentMissing = false);

/// The same, reading the credential's row and its current client's generatedOn from `store`
/// (the one answer `run-once`, `plan`, `serve` and `status` share).
DuePlan nextRotation(const config::CredentialSettings& credential, const store::StateStore& store,
                     std::int64_t nowMs);

} // namespace rotator::schedule
