#include "rotator/rotation/StartRule.h"

#include "rotator/core/Lifecycle.h"

namespace rotator::rotation
{

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

} // namespace rotator::rotation
