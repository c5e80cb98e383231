#include "rotator/rotation/StartRule.h"

#include <algorithm>

#include "rotator/core/Lifecycle.h"

namespace rotator::rotation
{

namespace
{

/// Whether a self-rotation has written its new token to the token file (or is promoted).
bool adminTokenSwitched(const store::StateStore& store, const store::RotationRow& rotation)
{
    if (!core::isInProgress(rotation.stage))
    {
        return true; // promoted (or over): the token file holds the new token
    }
    const auto sinks = store.sinkStates(rotation.id);
    return std::any_of(sinks.begin(), sinks.end(),
                       [](const store::SinkStateRow& s) {
                           return s.sink == config::kTokenFileSink &&
                                  s.state == core::SinkDelivery::Delivered;
                       });
}

} // namespace

StartBlock startBlock(const std::optional<store::RotationRow>& last,
                      const std::optional<store::CredentialRow>& row, std::int64_t nowMs)
{
    if (last && core::isInProgress(last->stage))
    {
        return StartBlock::InProgress;
    }
    // Until a pass revokes the previous client, a new rotation would need a third live client.
    if (row && !row->previousClientId.empty() &&
        (!row->revokeAfterMs || *row->revokeAfterMs > nowMs))
    {
        return StartBlock::InGrace;
    }
    return StartBlock::None;
}

std::string inProgressRefusal(const store::RotationRow& last)
{
    return "rotation " + std::to_string(last.id) + " of " + last.credential +
           " is in progress (stage " + std::string(core::toString(last.stage)) + ")";
}

std::optional<std::string>
waitsForAnotherRotation(const config::CredentialSettings& c, bool selfRotation,
                        const store::StateStore& store,
                        const std::vector<store::RotationRow>& unfinished)
{
    // A self-rotation never overlaps an application rotation that still calls the API with
    // the old admin token: the one that started first goes on alone.
    for (const auto& r : unfinished)
    {
        if (r.credential == c.name)
        {
            continue;
        }
        if (selfRotation && r.credential == config::kAdminCredential &&
            !adminTokenSwitched(store, r))
        {
            return "self-rotation " + std::to_string(r.id) +
                   " has not switched to the new admin token yet";
        }
        if (c.adminToken && core::isInProgress(r.stage))
        {
            return inProgressRefusal(r);
        }
    }
    return std::nullopt;
}

} // namespace rotator::rotation
