#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "rotator/config/Settings.h"
#include "rotator/store/StateStore.h"

namespace rotator::rotation
{
struct PlanItem;
} // namespace rotator::rotation

namespace rotator::report
{

/// The last rotation of a credential, as `status` shows it.
struct RotationSummary
{
    std::int64_t id = 0;
    std::string state;
    std::int64_t startedMs = 0;
    std::optional<std::int64_t> finishedMs;
    std::optional<std::string> error;
};

/// One row of `status` / `GET /v1/credentials` (PRODUCT.md §6).
struct CredentialView
{
    std::string name;
    std::string clientId; ///< empty: none yet
    std::optional<std::string> generatedOn;
    std::optional<std::int64_t> ageSeconds;
    std::int64_t maxAgeSeconds = 0;
    std::string state = "idle";  ///< idle | rotating | grace | failed | quarantined | retired
    bool currentMissing = false; ///< the current client is no longer listed (being replaced)
    std::optional<std::int64_t> nextRotationAtMs;
    std::string previousClientId;
    std::optional<std::int64_t> revokeAfterMs;
    std::optional<RotationSummary> lastRotation;
};

/// One row of `ages` / `GET /v1/clients`.
struct ClientView
{
    std::string clientId;
    std::vector<std::string> roles;
    std::string generatedOn;
    std::int64_t ageSeconds = 0;
    std::string credential;
    std::string status;
};

/// Builds the credential rows from the configuration and the store. `nextRotationAtMs` is
/// `schedule::nextRotation`'s answer (the time the scheduler acts on); none while quarantined.
/// Credentials no longer configured whose clients are still alive follow, as `retired`.
std::vector<CredentialView> credentialViews(const config::Settings& settings,
                                            const store::StateStore& store, std::int64_t nowMs);

/// Builds the client rows. `unmanagedOnly` keeps status `unmanaged` only; `olderThanSeconds`
/// keeps live clients (not revoked or missing) at least that old. Revoked clients that a list
/// has confirmed gone are left out unless `includeGone` (`ages --all`).
std::vector<ClientView> clientViews(const store::StateStore& store, std::int64_t nowMs,
                                    bool unmanagedOnly,
                                    std::optional<std::int64_t> olderThanSeconds,
                                    bool includeGone = false);

/// `{"credentials":[…]}`, `{"clients":[…]}`, `{"events":[…]}` (PRODUCT.md §6).
/// With an `installationId`, the object names it first (`status --json`, `/v1/credentials`).
/// With a `backlog` (`status --json`), the notification outbox's follows as
/// `"notifications":{"pending","failed","oldestPendingAt","oldestPendingSeconds"}`.
std::string credentialsJson(const std::vector<CredentialView>& rows,
                            const std::string& installationId = "",
                            const store::NotificationBacklog* backlog = nullptr,
                            std::int64_t nowMs = 0);
std::string credentialJson(const CredentialView& row);
std::string clientsJson(const std::vector<ClientView>& rows);
std::string eventsJson(const std::vector<store::EventRow>& rows);

/// `plan --json`: `{"plan":[{"credential","dueNow","nextRotationAt","reason","actions",
/// "problems","warnings"}]}`, one object per item in order; `nextRotationAt` is RFC 3339 to the
/// second, or null when nothing is scheduled.
std::string planJson(const std::vector<rotation::PlanItem>& items);
/// `plan` for people: per credential when it is next due (marked "(due)" once `nowMs` has
/// reached it), why, then its actions, problems and warnings, indented.
void printPlan(std::ostream& out, const std::vector<rotation::PlanItem>& items, std::int64_t nowMs);

/// Aligned tables for people, fitting 80 columns for typical rows.
void printCredentialsTable(std::ostream& out, const std::vector<CredentialView>& rows,
                           std::int64_t nowMs, const std::string& installationId = "");
/// `status`'s line about the notification outbox: how many wait, since when, how many were
/// refused for good.
void printNotificationBacklog(std::ostream& out, const store::NotificationBacklog& backlog,
                              std::int64_t nowMs);
void printClientsTable(std::ostream& out, const std::vector<ClientView>& rows);
void printEventsTable(std::ostream& out, const std::vector<store::EventRow>& rows);

/// Left-aligned columns separated by two spaces; the last column is not padded.
class TextTable
{
public:
    explicit TextTable(std::vector<std::string> header);
    void add(std::vector<std::string> row);
    void print(std::ostream& out) const;

private:
    std::vector<std::vector<std::string>> _rows;
};

} // namespace rotator::report
