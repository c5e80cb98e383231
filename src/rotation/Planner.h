#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "EngineContext.h"
#include "rotator/config/Settings.h"
#include "rotator/rotation/Outcomes.h"

namespace rotator::rotation
{

/// What is due and when: the credentials a pass rotates, the dry run (`plan`) and the next
/// wake-up of the scheduler. Reads only: the store, the sinks' checks and GET calls (the
/// roles list). Thread-safe as the context is.
class Planner
{
public:
    explicit Planner(EngineContext& context) : _ctx(context) {}

    /// Whether a credential is due by what the store knew before this pass's list.
    bool anyDue() const;
    /// The configured credentials due now that have no unfinished rotation (each logged with
    /// the reason it is due).
    /// A self-rotation runs alone: while one has not switched to its new token nothing is
    /// due, and the admin credential is due (alone) only while no application rotation is in
    /// progress.
    std::vector<const config::CredentialSettings*> dueCredentials() const;
    /// What a pass would do now, without any write anywhere.
    std::vector<PlanItem> plan();
    /// The earliest instant something is due (a rotation, a retry, a revocation); nullopt when
    /// nothing is scheduled.
    std::optional<std::int64_t> nextWakeMs();
    /// Why `c` may not start now although nothing of its own is unfinished (StartRule's
    /// waitsForAnotherRotation). nullopt: it may start.
    std::optional<std::string> waitsForAnother(const config::CredentialSettings& c) const;

private:
    std::optional<std::string>
    waitsForAnother(const config::CredentialSettings& c,
                    const std::vector<store::RotationRow>& unfinished) const;

    EngineContext& _ctx;
};

} // namespace rotator::rotation
