#include "rotator/rotation/Stage.h"

#include <array>

namespace rotator::rotation
{

namespace
{

struct Edge
{
    Stage from;
    StageEvent event;
    Stage to;
};

// Every legal edge. Anything not listed is a bug in the engine.
constexpr std::array kEdges = {
    Edge{Stage::Planned, StageEvent::Minted, Stage::Minted},
    Edge{Stage::Planned, StageEvent::RolledBack, Stage::RolledBack},
    Edge{Stage::Planned, StageEvent::Failed, Stage::Failed},
    Edge{Stage::Planned, StageEvent::Quarantined, Stage::Quarantined},
    Edge{Stage::Minted, StageEvent::Verified, Stage::Verified},
    Edge{Stage::Minted, StageEvent::DeliveryStarted, Stage::Delivering},
    Edge{Stage::Minted, StageEvent::RolledBack, Stage::RolledBack},
    Edge{Stage::Minted, StageEvent::Quarantined, Stage::Quarantined},
    Edge{Stage::Verified, StageEvent::DeliveryStarted, Stage::Delivering},
    Edge{Stage::Verified, StageEvent::RolledBack, Stage::RolledBack},
    Edge{Stage::Verified, StageEvent::Quarantined, Stage::Quarantined},
    Edge{Stage::Delivering, StageEvent::Promoted, Stage::Grace},
    Edge{Stage::Delivering, StageEvent::RolledBack, Stage::RolledBack},
    Edge{Stage::Delivering, StageEvent::Quarantined, Stage::Quarantined},
    Edge{Stage::Grace, StageEvent::Revoked, Stage::Revoked},
    Edge{Stage::Grace, StageEvent::Confirmed, Stage::Done},
    Edge{Stage::Revoked, StageEvent::Confirmed, Stage::Done},
    Edge{Stage::Quarantined, StageEvent::Resumed, Stage::Delivering},
    Edge{Stage::Quarantined, StageEvent::RolledBack, Stage::RolledBack},
};

constexpr std::array<std::string_view, 10> kStageNames = {
    "planned", "minted", "verified",    "delivering", "grace",
    "revoked", "done",   "rolled_back", "failed",     "quarantined"};

constexpr std::array<std::string_view, 10> kEventNames = {
    "minted",  "verified",  "delivery_started", "promoted",    "revoked",
    "confirmed", "rolled_back", "failed",       "quarantined", "resumed"};

} // namespace

std::optional<Stage> transition(Stage from, StageEvent event, bool anySinkHolds)
{
    // Once a consumer may hold the new client, revoking it would break that consumer.
    if (event == StageEvent::RolledBack && anySinkHolds)
    {
        return std::nullopt;
    }
    for (const auto& e : kEdges)
    {
        if (e.from == from && e.event == event)
        {
            return e.to;
        }
    }
    return std::nullopt;
}

bool isTerminal(Stage stage)
{
    return stage == Stage::Done || stage == Stage::RolledBack || stage == Stage::Failed;
}

std::string_view toString(Stage stage)
{
    return kStageNames[static_cast<std::size_t>(stage)];
}

std::string_view toString(StageEvent event)
{
    return kEventNames[static_cast<std::size_t>(event)];
}

std::optional<Stage> stageFromString(std::string_view text)
{
    for (std::size_t i = 0; i < kStageNames.size(); ++i)
    {
        if (kStageNames[i] == text)
        {
            return static_cast<Stage>(i);
        }
    }
    return std::nullopt;
}

} // namespace rotator::rotation
