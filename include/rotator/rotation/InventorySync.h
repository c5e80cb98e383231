#pragma once

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
    std::vector<std::string> warnings; ///< e.g. a configured clientId that is not in the org
};

/// Lists the org's clients and records them (`discovered`, `disappeared`), then makes sure
/// every configured credential has a row and adopts `credentials.X.clientId` for credentials
/// that have no current client yet (`adopted`). An answer that fails validation changes
/// nothing: the list is checked completely before the store is touched.
core::Outcome<SyncReport> syncInventory(api::TokenApi& api, store::StateStore& store,
                                        const config::Settings& settings, core::Clock& clock);

/// The same, for a list already fetched (a pass reuses one list for sync and reconcile).
SyncReport applyInventory(const std::vector<core::ClientInfo>& clients, store::StateStore& store,
                          const config::Settings& settings, std::int64_t nowMs);

} // namespace rotator::rotation
