#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "EngineContext.h"
#include "rotator/core/Model.h"
#include "rotator/rotation/Outcomes.h"
#include "rotator/sink/SecretSink.h"
#include "rotator/store/StateStore.h"

namespace rotator::rotation
{

/// How reconciling a planned rotation (a create whose outcome is unknown) ended.
struct PlannedOutcome
{
    enum class Kind
    {
        Recovered,  ///< killed after the pending file was written: go on from `minted`
        RolledBack, ///< no client was created, or the lost create's client was revoked
        Waiting,    ///< still planned: a later pass decides (late create, failed call)
        Failed      ///< several clients could be the create's; none was revoked
    };
    Kind kind = Kind::Waiting;
    std::optional<sink::Credential> secret; ///< with Recovered: the secret of the pending file
};

/// Finds the clients of creates whose answer was lost, refused or came late, and revokes
/// those it can attribute to a rotation of this installation; reports the clients that look
/// like a rotator's but cannot be attributed (`unattributed`) or belong to another
/// installation (`foreign`), and never revokes them.
///
/// Attribution: this installation's marker for the rotation on a client generated inside the
/// rotation's mint window or, with no descriptions to go by, a client unknown before the mint
/// with exactly the credential's roles generated inside that window. The only part of the
/// engine that reads markers. Does not go on with a rotation itself: `reconcilePlanned` says
/// how it ended and the caller continues. Thread-safe as the context is.
class LostCreates
{
public:
    explicit LostCreates(EngineContext& context) : _ctx(context) {}

    /// Settles a rotation left at `planned`, from this pass's client list.
    PlannedOutcome reconcilePlanned(store::RotationRow& rotation,
                                    const std::vector<core::ClientInfo>& clients,
                                    PassReport& report);
    /// Revokes again the clients this rotator revoked that the list still shows.
    void revokeStillListed(const std::vector<core::ClientInfo>& clients, PassReport& report);
    /// Reports (once) marked clients no rotation here accounts for, and revokes the late
    /// clients of our finished rotations.
    void reportUnattributed(const std::vector<core::ClientInfo>& clients, PassReport& report);

private:
    struct MintWindow
    {
        std::int64_t fromMs = 0;      ///< earliest generatedOn (clock-skew allowance included)
        std::int64_t toMs = 0;        ///< latest generatedOn, and when a late create is ruled out
        std::int64_t mintStartMs = 0; ///< the POST's start by our clock
        bool contains(std::int64_t t) const { return t >= fromMs && t <= toMs; }
    };
    MintWindow mintWindow(const store::RotationRow& rotation) const;
    bool isProtected(const store::RotationRow& rotation, const std::string& clientId,
                     const std::set<std::string>& claimed) const;

    EngineContext& _ctx;
};

} // namespace rotator::rotation
