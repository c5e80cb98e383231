#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "rotator/config/Settings.h"
#include "rotator/store/StateStore.h"

namespace rotator::rotation
{

/// What stops a new rotation of a credential from starting now.
enum class StartBlock
{
    None,       ///< it may start
    InProgress, ///< its newest rotation is in progress (planned to delivering)
    InGrace     ///< its previous client is still in its grace period (or has no revocation time)
};

/// The rule "may a rotation start now?", one function for the engine's `rotateNow` and the
/// admin API (which answers 409 at once instead of accepting a request that must fail).
/// `last` is the credential's newest rotation, `row` its state. A quarantined rotation does not
/// block: a manual rotation is what lifts a quarantine. `InGrace` is what `rotate --no-grace`
/// overrides, by revoking the previous client first. Pure.
///
/// A scheduled rotation follows a stricter rule (Planner): it waits while any rotation of the
/// credential is unfinished, quarantined, in grace or revoked ones included.
StartBlock startBlock(const std::optional<store::RotationRow>& last,
                      const std::optional<store::CredentialRow>& row, std::int64_t nowMs);

/// Why `last` blocks as `StartBlock::InProgress`, in the words of both refusals (the admin API's
/// 409 and `rotate NAME`): "rotation 7 of billing is in progress (stage minted)".
std::string inProgressRefusal(const store::RotationRow& last);

/// Why `c` may not start now although nothing of its own is unfinished, for the Planner and the
/// admin API (a 409 at once): a self-rotation that has not switched to its new token (while
/// `selfRotation`, whether astra.selfRotation is configured: one left over from before it was
/// turned off never switches), or, for the admin credential, an application rotation in
/// progress. `unfinished`: the store's unfinished rotations. nullopt: it may start.
std::optional<std::string>
waitsForAnotherRotation(const config::CredentialSettings& c, bool selfRotation,
                        const store::StateStore& store,
                        const std::vector<store::RotationRow>& unfinished);

} // namespace rotator::rotation
