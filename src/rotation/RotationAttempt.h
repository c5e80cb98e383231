#pragma once

#include <optional>
#include <string>

#include "Delivery.h"
#include "EngineContext.h"
#include "rotator/config/Settings.h"
#include "rotator/rotation/Outcomes.h"
#include "rotator/sink/SecretSink.h"
#include "rotator/store/StateStore.h"

namespace rotator::rotation
{

/// How minting a rotation's new client ended.
struct MintOutcome
{
    enum class Kind
    {
        Minted,   ///< committed at `minted`: go on with `secret` (continueFromMinted)
        Failed,   ///< nothing was created; the failure is journaled and counted
        Ambiguous ///< the create's outcome is unknown or its answer refused: reconcile by listing
    };
    Kind kind = Kind::Failed;
    std::optional<sink::Credential> secret; ///< with Minted
    std::string why;                        ///< unless Minted: the reason, as journaled
};

/// The steps of one rotation, one row of the journal: start → mint → verify → deliver →
/// promote, or roll back, or fail (and quarantine).
///
/// Each stage is committed before the external action that follows it. Never reconciles a
/// create itself: `mint` says "ambiguous" and the caller lists the clients and hands the
/// rotation to `LostCreates`. Thread-safe as the context is: the workers of a pass run
/// attempts of different credentials at once.
class RotationAttempt
{
public:
    explicit RotationAttempt(EngineContext& context) : _ctx(context), _delivery(context) {}

    /// No trigger: "schedule", or "bootstrap" when the credential has no current client or its
    /// current client is no longer listed (read in the same commit, not before it).
    /// `noGrace` is journaled with the rotation: the old client is revoked at once when the
    /// new one is promoted, even if the process is interrupted before that. A rotation whose
    /// roles cannot be resolved is not started (id 0, `error` set).
    store::RotationRow start(const config::CredentialSettings& credential,
                             std::optional<std::string> trigger, bool noGrace = false);
    MintOutcome mint(const config::CredentialSettings& credential, store::RotationRow& rotation,
                     PassReport& report);
    /// Verifies (when configured) and delivers a minted client; true once it is promoted.
    bool continueFromMinted(const config::CredentialSettings& credential,
                            store::RotationRow& rotation, const sink::Credential& secret,
                            PassReport& report);
    /// Goes on with a rotation interrupted at minted, verified or delivering, from its
    /// pending file.
    void resume(const config::CredentialSettings& credential, store::RotationRow& rotation,
                PassReport& report);
    /// `rotate NAME` on a quarantined rotation: resumes the delivery of the client sinks may
    /// already hold, with the credential's failures forgotten.
    bool liftQuarantine(const config::CredentialSettings& credential, store::RotationRow& rotation,
                        store::CredentialRow row, const sink::Credential& secret,
                        PassReport& report);

    enum class Quarantine
    {
        AfterMaxFailures, ///< count the failure; quarantine once scheduler.maxFailures is reached
        Now               ///< a person must look: quarantine at once
    };
    void fail(const std::string& credential, store::RotationRow* rotation, const std::string& why,
              Stage stage, PassReport& report,
              Quarantine quarantine = Quarantine::AfterMaxFailures);

private:
    bool verify(const config::CredentialSettings& credential, store::RotationRow& rotation,
                const sink::Credential& secret);
    /// `TokenApi::checkAdminToken` in the shape of `currentOrgWith` (no org ID).
    core::Outcome<std::string> adminCheck(const core::Secret& token);
    /// Rolls back or fails the attempt as the delivery's outcome says; true once promoted.
    bool settle(const config::CredentialSettings& credential, store::RotationRow& rotation,
                const DeliveryOutcome& delivered, PassReport& report);
    /// Revokes the new client and journals the roll-back: true. False, with the failure
    /// counted, when the DELETE failed (the next pass tries again) or was refused because the
    /// new client is the admin token's in use (quarantined at once: never locks the rotator out).
    bool rollBack(store::RotationRow& rotation, const std::string& why, PassReport& report);

    EngineContext& _ctx;
    Delivery _delivery;
};

} // namespace rotator::rotation
