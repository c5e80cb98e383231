#pragma once

#include <cstdint>
#include <optional>

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
StartBlock startBlock(const std::optional<store::RotationRow>& last,
                      const std::optional<store::CredentialRow>& row, std::int64_t nowMs);

} // namespace rotator::rotation
