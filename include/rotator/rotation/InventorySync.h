#pragma once

#include <optional>
#include <string>
#include <vector>

#include "rotator/api/TokenApi.h"
#include "rotator/config/Settings.h"
#include "rotator/core/Clock.h"
#include "rotator/core/Outcome.h"
#include "rotator/store/StateStore.h"

namespace rotator::rotation
{

/// What one inventory refresh did.
struct SyncReport
{
    store::SyncResult inventory;
    int adopted = 0;
    std::vector<std::string> retired;  ///< credentials found no longer configured (event `retired`)
    std::vector<std::string> warnings; ///< e.g. a configured clientId that is not in the org
};

/// Lists the org's clients and records them (`discovered`, `disappeared`), then makes sure
/// every configured credential has a row and adopts `credentials.X.clientId` for credentials
/// that have no current client yet (`adopted`), and the admin token's own client for `(admin)`
/// (`adoptAdminClient`). An answer that fails validation changes
/// nothing: the list is checked completely before the store is touched.
core::Outcome<SyncReport> syncInventory(api::TokenApi& api, store::StateStore& store,
                                        const config::Settings& settings, core::Clock& clock);

/// The same, for a list already fetched (a pass reuses one list for sync and reconcile).
/// Credential rows whose name is no longer configured are marked retired (event `retired`
/// once, naming the clients that stay alive).
SyncReport applyInventory(const std::vector<core::ClientInfo>& clients, store::StateStore& store,
                          const config::Settings& settings, std::int64_t nowMs);

/// Makes the admin token's own client (`adminClientId`) the current client of the admin
/// credential (`astra.selfRotation`), event `adopted`, when it is listed and is not already:
/// on the first sync, and after the token file was replaced outside the rotator (the client it
/// replaces stays alive, unmanaged: someone else may use it). Not while a self-rotation is
/// in progress (before its promotion): its new client is not current yet. Returns whether it
/// adopted.
bool adoptAdminClient(const std::vector<core::ClientInfo>& clients, store::StateStore& store,
                      const config::Settings& settings, const std::string& adminClientId,
                      std::int64_t nowMs);

/// One warning for each credential that adopts a client (`credentials.X.clientId`) whose roles
/// differ from `credentials.X.roles`: rotation would silently widen or narrow what its
/// consumers may do. Names both role sets. `clients` is the list (or the inventory), `roles`
/// the org's roles; roles that do not resolve are check-config's error, not a warning here.
std::vector<std::string> adoptedRoleWarnings(const config::Settings& settings,
                                             const std::vector<core::ClientInfo>& clients,
                                             const std::vector<core::Role>& roles);
/// The same for one credential whose adopted client carries `adoptedRoles`.
std::optional<std::string> adoptedRoleWarning(const config::CredentialSettings& credential,
                                              const std::vector<std::string>& adoptedRoles,
                                              const std::vector<core::Role>& roles);

} // namespace rotator::rotation
