#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "rotator/api/TokenApi.h"
#include "rotator/config/Settings.h"
#include "rotator/core/Clock.h"
#include "rotator/rotation/Outcomes.h"
#include "rotator/rotation/PendingFiles.h"
#include "rotator/sink/SecretSink.h"
#include "rotator/store/Journal.h"

namespace rotator::rotation
{

struct EngineContext;
class LostCreates;
class Planner;
class Revoker;
class RotationAttempt;

/// Rotates credentials by the journal-first protocol of PRODUCT.md §3.
///
/// Every stage is committed to the store before the external action that follows it, and the
/// minted secret rests only in the pending file until every sink holds it, so a process killed
/// at any point resumes from the store and the pending directory on the next pass
/// (`reconcile`). Invariants: a consumer never holds a revoked client (no roll-back once a
/// sink has the new client); the old client is revoked only after every sink has the new one
/// and the grace period passed; clients of lost creates are found (description marker, or
/// roles + generatedOn window) and revoked; a client that cannot be attributed is never
/// revoked. Up to `scheduler.concurrency` rotations run at once; store calls are serialised
/// inside. Expected failures are values in the reports; store errors and broken invariants
/// throw.
///
/// A facade: it orders a pass's steps and the commands' and hands the work to its parts
/// (src/rotation/), which share one EngineContext and never call back up: RotationAttempt
/// (one rotation's steps, with Delivery), LostCreates (clients of lost creates, markers),
/// Revoker (revocation, confirmation, retirement), Planner (what is due, `plan`, next wake),
/// over a RoleCache and a WorkerPool.
class RotationEngine
{
public:
    /// `journal` is the store and its durability (the runtime chooses group commit or one
    /// transaction per step); the engine reads and writes through `journal.rows()`.
    RotationEngine(const config::Settings& settings, api::TokenApi& api, store::Journal& journal,
                   std::map<std::string, std::unique_ptr<sink::SecretSink>> sinks,
                   PendingFiles pending, core::Clock& clock);
    ~RotationEngine();

    /// A full pass: list, sync, reconcile, rotate what is due, revoke what is due, confirm.
    PassReport runPass();
    /// Rotates one credential now (due or not), lifting a quarantine; waits until delivered.
    /// With `noGrace` the old client is revoked at once and the revocation confirmed.
    RotateOutcome rotateNow(const std::string& name, bool noGrace);
    /// Ends a credential that is no longer configured: with `revoke` its current and previous
    /// clients are revoked, without it they are left alive and unmanaged. Refused while the
    /// credential is configured, while a rotation of it is unfinished before its grace period,
    /// and (without `revoke`) while its previous client waits for its grace period to end.
    RetireOutcome retire(const std::string& name, bool revoke);
    /// What a pass would do now, without any write anywhere (only GET calls).
    std::vector<PlanItem> plan();
    /// The earliest instant something is due (a rotation, a retry, a revocation); nullopt when
    /// nothing is scheduled.
    std::optional<std::int64_t> nextWakeMs();

    void setCrashHook(CrashHook hook);
    void setResultObserver(ResultObserver observer);
    /// Told about every sink delivery attempt (see SinkObserver). Set before the first rotation.
    void setSinkObserver(SinkObserver observer);
    /// Set from another thread: no new rotation starts, and waits end early.
    void requestStop();
    bool stopRequested() const;

private:
    // Pass steps.
    std::optional<std::vector<core::ClientInfo>> listAndSync(PassReport& report);
    /// After the admin token was refused (401): the new admin token of an unfinished
    /// self-rotation, from its pending file, becomes the token in use. False when there is none.
    bool adoptPendingAdminToken();
    /// Resumes every unfinished rotation (the journal-first recovery) and removes the pending
    /// files nothing needs any more.
    void reconcile(const std::vector<core::ClientInfo>& clients, PassReport& report);
    void rotateDue(PassReport& report);
    /// Rotates `due` side by side (up to scheduler.concurrency at once).
    void rotateEach(const std::vector<const config::CredentialSettings*>& due, PassReport& report);
    /// Mints a started rotation and carries it through; an ambiguous create is reconciled
    /// from a fresh list (LostCreates) and counted as a failure.
    bool runAttempt(const config::CredentialSettings& credential, store::RotationRow& rotation,
                    PassReport& report);
    /// Settles a rotation left at `planned` (LostCreates) and, when its create turns out to
    /// have succeeded, goes on with it.
    void resumePlanned(store::RotationRow& rotation, const std::vector<core::ClientInfo>& clients,
                       PassReport& report);
    /// Credentials whose current client the last sync found missing: event `current_missing`
    /// once per client.
    void reportCurrentMissing(PassReport& report);

    std::unique_ptr<EngineContext> _ctx;
    std::unique_ptr<LostCreates> _lostCreates;
    std::unique_ptr<RotationAttempt> _attempt;
    std::unique_ptr<Revoker> _revoker;
    std::unique_ptr<Planner> _planner;
    /// The event `admin_token_invalid` was recorded for the refusals going on: once per run of
    /// 401s (passes run one at a time), so a notifier tells of it once, not every pass.
    bool _adminTokenRefusalRecorded = false;
};

} // namespace rotator::rotation
