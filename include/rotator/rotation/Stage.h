#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace rotator::rotation
{

/// The stages of one rotation (PRODUCT.md §3). Each is committed to the journal before the
/// external action that follows it.
enum class Stage
{
    Planned,    ///< row committed, nothing asked of the API yet (or a create in doubt)
    Minted,     ///< the new client exists; its secret rests in the pending file
    Verified,   ///< the new token authenticated
    Delivering, ///< sinks are being written; per-sink results in rotation_sinks
    Grace,      ///< the new client is current; the old one waits for revoke_after
    Revoked,    ///< DELETE of the old client succeeded; waiting for a list to confirm
    Done,       ///< finished
    RolledBack, ///< no sink got the new client; it was revoked (or never existed)
    Failed,     ///< gave up before anything was created
    Quarantined ///< automation stopped; every client a consumer may hold stays alive
};

/// What happened, as the engine reports it to the stage machine.
enum class StageEvent
{
    Minted,          ///< create answered and checked; pending file written
    Verified,        ///< the new token passed GET /v2/currentOrg
    DeliveryStarted, ///< about to write the sinks
    Promoted,        ///< every sink holds the new client; it is now current
    Revoked,         ///< the old client was deleted (2xx or 404)
    Confirmed,       ///< a list no longer shows the old client (or there was none)
    RolledBack,      ///< the new client was revoked, or no client was created
    Failed,          ///< nothing was created and the attempt is over
    Quarantined,     ///< too many failures
    Resumed          ///< an operator lifted a quarantine (`rotate NAME`)
};

/// The pure transition function: the next stage, or nullopt for an illegal transition.
/// `anySinkHolds` is whether some sink has received the new client: from then on the
/// rotation may only roll forward, never back (the new client is in use).
std::optional<Stage> transition(Stage from, StageEvent event, bool anySinkHolds);

bool isTerminal(Stage stage);

std::string_view toString(Stage stage);
std::string_view toString(StageEvent event);
std::optional<Stage> stageFromString(std::string_view text);

} // namespace rotator::rotation
