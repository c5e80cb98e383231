#include "rotator/core/Lifecycle.h"

#include <array>
#include <ostream>

namespace rotator::core
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

// The names, in the order of each enum's values: the database's CHECK lists and the outputs'.
constexpr std::array<std::string_view, 10> kStageNames = {
    "planned", "minted", "verified",    "delivering", "grace",
    "revoked", "done",   "rolled_back", "failed",     "quarantined"};

constexpr std::array<std::string_view, 10> kEventNames = {
    "minted",    "verified",    "delivery_started", "promoted",    "revoked",
    "confirmed", "rolled_back", "failed",           "quarantined", "resumed"};

constexpr std::array<std::string_view, 5> kCredentialStateNames = {"idle", "rotating", "grace",
                                                                   "failed", "quarantined"};

constexpr std::array<std::string_view, 3> kSinkDeliveryNames = {"pending", "delivered", "failed"};

template <typename Enum, std::size_t N>
std::optional<Enum> fromName(const std::array<std::string_view, N>& names, std::string_view text)
{
    for (std::size_t i = 0; i < names.size(); ++i)
    {
        if (names[i] == text)
        {
            return static_cast<Enum>(i);
        }
    }
    return std::nullopt;
}

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

bool isInProgress(Stage stage)
{
    return stage == Stage::Planned || stage == Stage::Minted || stage == Stage::Verified ||
           stage == Stage::Delivering;
}

bool isActive(Stage stage)
{
    return isInProgress(stage) || stage == Stage::Quarantined;
}

bool isFailing(CredentialState state)
{
    return state == CredentialState::Failed || state == CredentialState::Quarantined;
}

bool keepsDelivered(SinkDelivery from, SinkDelivery to)
{
    // A sink that holds the new client is never asked again; every other state may be retried
    // and end anywhere (an attempt in doubt leaves it pending).
    return from != SinkDelivery::Delivered || to == SinkDelivery::Delivered;
}

std::string_view toString(Stage stage)
{
    return kStageNames[static_cast<std::size_t>(stage)];
}

std::string_view toString(StageEvent event)
{
    return kEventNames[static_cast<std::size_t>(event)];
}

std::string_view toString(CredentialState state)
{
    return kCredentialStateNames[static_cast<std::size_t>(state)];
}

std::string_view toString(SinkDelivery delivery)
{
    return kSinkDeliveryNames[static_cast<std::size_t>(delivery)];
}

std::optional<Stage> stageFromString(std::string_view text)
{
    return fromName<Stage>(kStageNames, text);
}

std::optional<CredentialState> credentialStateFromString(std::string_view text)
{
    return fromName<CredentialState>(kCredentialStateNames, text);
}

std::optional<SinkDelivery> sinkDeliveryFromString(std::string_view text)
{
    return fromName<SinkDelivery>(kSinkDeliveryNames, text);
}

std::ostream& operator<<(std::ostream& out, Stage stage)
{
    return out << toString(stage);
}

std::ostream& operator<<(std::ostream& out, StageEvent event)
{
    return out << toString(event);
}

std::ostream& operator<<(std::ostream& out, CredentialState state)
{
    return out << toString(state);
}

std::ostream& operator<<(std::ostream& out, SinkDelivery delivery)
{
    return out << toString(delivery);
}

} // namespace rotator::core
