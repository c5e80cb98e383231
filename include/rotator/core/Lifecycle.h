#pragma once

#include <iosfwd>
#include <optional>
#include <string_view>

namespace rotator::core
{

// The lifecycle of a credential, of one rotation and of one sink's delivery: the three enums
// the store's rows hold, with the rules that move them (a transition table for Stage, one
// invariant for SinkDelivery; CredentialState follows its rotations). Bottom layer, so that
// both `store/` (which converts them to and from the database's text) and `rotation/` (which
// moves them) include it. The text names are the database's values and the JSON/text outputs'
// words.

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

/// Done, rolled back or failed: the row gets its finish time and never moves again.
bool isTerminal(Stage stage);
/// Before the new client is promoted: planned, minted, verified or delivering. A rotation in
/// progress is resumed by the next pass, and no other rotation of its credential may start.
bool isInProgress(Stage stage);
/// In progress or quarantined: the rotation may still need its pending file, and it is not
/// in its grace period or revocation.
bool isActive(Stage stage);

/// A managed credential's state (table `credentials`). It has no transition table of its own:
/// it follows its rotations (any step may fail it; a promotion, possibly resumed after a
/// failure, sets grace or idle; an operator's `rotate NAME` lifts a quarantine).
enum class CredentialState
{
    Idle,       ///< nothing under way
    Rotating,   ///< a rotation of it was started
    Grace,      ///< promoted; the previous client waits for its revocation
    Failed,     ///< the last attempt failed; retried after a backoff
    Quarantined ///< too many failures: only an operator's `rotate NAME` retries
};

/// Failed or quarantined: a pass that leaves it so is a failure for cron (exit code 1).
bool isFailing(CredentialState state);

/// One sink's delivery of a rotation's new client (table `rotation_sinks`).
enum class SinkDelivery
{
    Pending,   ///< not delivered; with attempts > 0 the sink may hold it (an attempt in doubt)
    Delivered, ///< the sink holds the new client
    Failed     ///< the last attempt failed cleanly; the sink does not hold it
};

/// The one rule of a sink's delivery states, checked as an invariant (not a transition table):
/// false only when a delivered sink would move to another state. Every other move is allowed.
bool keepsDelivered(SinkDelivery from, SinkDelivery to);

std::string_view toString(Stage stage);
std::string_view toString(StageEvent event);
std::string_view toString(CredentialState state);
std::string_view toString(SinkDelivery delivery);

/// The enum named by `text` (its `toString`), nullopt for any other text.
std::optional<Stage> stageFromString(std::string_view text);
std::optional<CredentialState> credentialStateFromString(std::string_view text);
std::optional<SinkDelivery> sinkDeliveryFromString(std::string_view text);

/// The text names, for log lines, messages and test failures.
std::ostream& operator<<(std::ostream& out, Stage stage);
std::ostream& operator<<(std::ostream& out, StageEvent event);
std::ostream& operator<<(std::ostream& out, CredentialState state);
std::ostream& operator<<(std::ostream& out, SinkDelivery delivery);

} // namespace rotator::core
