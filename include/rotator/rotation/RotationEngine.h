#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "rotator/api/TokenApi.h"
#include "rotator/config/Settings.h"
#include "rotator/core/Clock.h"
#include "rotator/rotation/PendingFiles.h"
#include "rotator/sink/SecretSink.h"
#include "rotator/store/StateStore.h"

namespace rotator::store
{
class SharedStateStore;
}

namespace rotator::rotation
{

/// What one pass did.
struct PassReport
{
    int rotated = 0;        ///< rotations promoted (new client delivered everywhere)
    int failed = 0;         ///< rotation attempts that failed (rolled back, failed, stuck)
    int revoked = 0;        ///< old clients deleted
    int confirmed = 0;      ///< revocations confirmed by a list
    int orphansRevoked = 0; ///< clients of lost creates found and revoked
    int unattributed = 0;   ///< clients that look like ours but cannot be attributed
    int foreign = 0;        ///< clients of another installation, reported for the first time
    /// Credentials whose current client is no longer listed (each is replaced at once).
    std::vector<std::string> currentMissing;
    bool listFailed = false;
    bool adminTokenRejected = false; ///< the list answered 401: the admin token was refused
    std::vector<std::string> errors;
};

/// The result of `rotate NAME`.
struct RotateOutcome
{
    bool ok = false;
    std::int64_t rotationId = 0;
    bool resumed = false; ///< the rotation was an interrupted one, finished by this command
    std::string stage;
    std::string message;
};

/// The result of `retire NAME`.
struct RetireOutcome
{
    bool ok = false;
    std::string message;
    std::vector<std::string> revoked;  ///< clients revoked (with --revoke)
    std::vector<std::string> released; ///< clients left alive, now unmanaged (without)
};

/// One line of `plan`.
struct PlanItem
{
    std::string credential;
    bool dueNow = false;
    std::optional<std::int64_t> nextAtMs;
    std::string reason;
    std::vector<std::string> actions; ///< "would mint ...", "would write ...", "would revoke ..."
    std::vector<std::string> problems; ///< sink checks and role resolution that fail now
    std::vector<std::string> warnings; ///< e.g. an adopted client whose roles differ
};

/// Called with a point name at every stage boundary (tests throw from it to simulate a crash
/// there; production leaves it empty).
using CrashHook = std::function<void(std::string_view point)>;

/// Called once per finished attempt with the credential and its result
/// (`success`, `rolled_back`, `failed`, `quarantined`), for metrics.
using ResultObserver = std::function<void(const std::string& credential, const std::string&)>;

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
class RotationEngine
{
public:
    RotationEngine(const config::Settings& settings, api::TokenApi& api, store::StateStore& store,
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

    void setCrashHook(CrashHook hook) { _crash = std::move(hook); }
    void setResultObserver(ResultObserver observer) { _observer = std::move(observer); }
    /// Set from another thread: no new rotation starts, and waits end early.
    void requestStop() { _stop = true; }
    bool stopRequested() const { return _stop; }

private:
    struct Context;

    // Pass steps.
    std::optional<std::vector<core::ClientInfo>> listAndSync(PassReport& report);
    void reconcile(const std::vector<core::ClientInfo>& clients, PassReport& report);
    void reportUnattributed(const std::vector<core::ClientInfo>& clients, PassReport& report);
    void revokeStillListed(const std::vector<core::ClientInfo>& clients, PassReport& report);
    void rotateDue(PassReport& report);
    /// Whether a credential is due by what the store knew before this pass's list.
    bool anyDueByStoredState() const;
    void revokeDue(PassReport& report, bool onlyNoGrace, const std::string& onlyCredential);
    void confirmRevocations(const std::vector<core::ClientInfo>* clients, PassReport& report);

    // One rotation.
    /// No trigger: "schedule", or "bootstrap" when the credential has no current client or its
    /// current client is no longer listed (read in the same commit, not before it).
    /// `noGrace` is journaled with the rotation: the old client is revoked at once when the
    /// new one is promoted, even if the process is interrupted before that.
    store::RotationRow startRotation(const config::CredentialSettings& credential,
                                     std::optional<std::string> trigger, bool noGrace = false);
    bool mint(const config::CredentialSettings& credential, store::RotationRow& rotation,
              PassReport& report);
    bool continueFromMinted(const config::CredentialSettings& credential,
                            store::RotationRow& rotation, const sink::Credential& secret,
                            PassReport& report);
    bool verify(const config::CredentialSettings& credential, store::RotationRow& rotation,
                const sink::Credential& secret);
    /// `firstAttemptJournaled`: the caller journaled the first sink's attempt already.
    bool deliver(const config::CredentialSettings& credential, store::RotationRow& rotation,
                 const sink::Credential& secret, PassReport& report,
                 bool firstAttemptJournaled = false);
    /// Makes the new client current; `lastDelivery` (when set) journals the last sink's
    /// delivery in the same commit.
    void promote(const config::CredentialSettings& credential, store::RotationRow& rotation,
                 const std::function<void()>& lastDelivery);
    bool rollBack(store::RotationRow& rotation, const std::string& why, PassReport& report);
    enum class Quarantine
    {
        AfterMaxFailures, ///< count the failure; quarantine once scheduler.maxFailures is reached
        Now               ///< a person must look: quarantine at once
    };
    void fail(const std::string& credential, store::RotationRow* rotation, const std::string& why,
              const std::string& stage, PassReport& report,
              Quarantine quarantine = Quarantine::AfterMaxFailures);
    bool reconcilePlanned(store::RotationRow& rotation, const std::vector<core::ClientInfo>& clients,
                          PassReport& report);

    // Attribution of clients to rotations (lost creates).
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
    /// Every credential's current and previous client.
    std::set<std::string> claimedClients() const;
    /// Credentials whose current client the last sync found missing: event `current_missing`
    /// once per client.
    void reportCurrentMissing(PassReport& report);

    // Helpers.
    /// Runs work(0..count-1) on up to scheduler.concurrency threads; rethrows the first
    /// exception after every thread has finished its current item.
    void forEachConcurrently(std::size_t count, const std::function<void(std::size_t)>& work);
    std::optional<std::vector<std::string>> resolveRoles(const config::CredentialSettings& c,
                                                         std::string& error);
    /// The org's roles, listed once a pass (or taken from the request asked ahead).
    std::optional<std::vector<core::Role>> orgRoles(std::string& error);
    void setStage(store::RotationRow& rotation, std::string_view stage);
    void event(const std::string& name, const std::string& credential, const std::string& clientId,
               std::optional<std::int64_t> rotationId, const std::string& detail);
    void crashPoint(std::string_view point);
    const config::CredentialSettings* credential(const std::string& name) const;

    const config::Settings& _settings;
    api::TokenApi& _api;
    std::unique_ptr<store::SharedStateStore> _store; ///< the rotations' writes, group-committed
    std::map<std::string, std::unique_ptr<sink::SecretSink>> _sinks;
    PendingFiles _pending;
    core::Clock& _clock;
    CrashHook _crash;
    ResultObserver _observer;
    std::atomic<bool> _stop{false};
    std::mutex _rolesMutex;
    std::optional<core::Outcome<std::vector<core::Role>>> _roles; ///< this pass's answer
    /// The roles list asked for while the pass lists the clients (see `runPass`).
    std::future<core::Outcome<std::vector<core::Role>>> _rolesAhead;
};

} // namespace rotator::rotation
