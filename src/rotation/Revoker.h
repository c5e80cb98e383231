#pragma once

#include <string>
#include <vector>

#include "EngineContext.h"
#include "rotator/core/Model.h"
#include "rotator/rotation/Outcomes.h"

namespace rotator::rotation
{

/// Ends the life of clients the rotator replaced: revokes each previous client once every
/// sink holds its successor and the grace period is over, confirms by a list that the
/// revoked clients are gone, and ends a credential that left the configuration (`retire`).
///
/// The DELETEs of a pass run on the worker pool; one commit afterwards journals every outcome
/// (a DELETE is idempotent, so a crash before it only makes the next pass ask again).
/// Thread-safe as the context is.
class Revoker
{
public:
    explicit Revoker(EngineContext& context) : _ctx(context) {}

    /// Revokes the previous clients whose grace period is over (every one with `force`), of
    /// every credential or of `only`.
    void revokeDue(PassReport& report, bool force, const std::string& only);
    /// Confirms the revocations the list (a fresh one when `clients` is null) no longer shows.
    void confirmRevocations(const std::vector<core::ClientInfo>* clients, PassReport& report);
    /// `retire NAME` for a credential no longer configured, from this list of the clients.
    RetireOutcome retire(const std::string& name, bool revoke,
                         const std::vector<core::ClientInfo>& clients, PassReport& report);

private:
    EngineContext& _ctx;
};

} // namespace rotator::rotation
