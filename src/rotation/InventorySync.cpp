#include "rotator/rotation/InventorySync.h"

#include <algorithm>

#include <Poco/Logger.h>

namespace rotator::rotation
{

core::Outcome<SyncReport> syncInventory(api::TokenApi& api, store::StateStore& store,
                                        const config::Settings& settings, core::Clock& clock)
{
    auto clients = api.listClients();
    if (!clients)
    {
        return tl::unexpected(clients.error());
    }
    return applyInventory(*clients, store, settings, clock.nowMs());
}

SyncReport applyInventory(const std::vector<core::ClientInfo>& clients, store::StateStore& store,
                          const config::Settings& settings, std::int64_t now)
{
    SyncReport report;
    report.inventory = store.syncInventory(clients, now);

    std::vector<std::string> names;
    for (const auto& c : settings.credentials)
    {
        names.push_back(c.name);
    }
    store.ensureCredentials(names, now);

    for (const auto& c : settings.credentials)
    {
        if (c.clientId.empty())
        {
            continue;
        }
        auto row = store.findCredential(c.name);
        if (!row || !row->currentClientId.empty())
        {
            continue;
        }
        const bool listed =
            std::any_of(clients.begin(), clients.end(),
                        [&](const core::ClientInfo& info) { return info.clientId == c.clientId; });
        if (!listed)
        {
            report.warnings.push_back("credentials." + c.name + ".clientId: client " +
                                      c.clientId + " is not in the org; nothing adopted");
            continue;
        }
        const auto existing = store.findClient(c.clientId);
        if (existing && !existing->credential.empty())
        {
            report.warnings.push_back("credentials." + c.name + ".clientId: client " +
                                      c.clientId + " already belongs to credential " +
                                      existing->credential);
            continue;
        }
        row->currentClientId = c.clientId;
        row->updatedMs = now;
        store.saveCredential(*row);
        store::EventRow event;
        event.atMs = now;
        event.credential = c.name;
        event.clientId = c.clientId;
        event.event = "adopted";
        event.detail = "from credentials." + c.name + ".clientId";
        store.appendEvent(event);
        ++report.adopted;
    }
    for (const auto& w : report.warnings)
    {
        Poco::Logger::get("sync").warning(w);
    }
    return report;
}

} // namespace rotator::rotation
