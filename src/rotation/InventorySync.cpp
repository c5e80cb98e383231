#include "rotator/rotation/InventorySync.h"

#include <algorithm>
#include <set>

#include <Poco/Logger.h>

#include "rotator/api/JsonMapping.h"
#include "rotator/core/Lifecycle.h"

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
    auto report = applyInventory(*clients, store, settings, clock.nowMs());
    // As a pass does: `(admin)` then has its client and age before the first pass (status, plan).
    adoptAdminClient(*clients, store, settings, api.adminClientId(), clock.nowMs());
    return report;
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
    for (const auto& name : store.retireUnconfigured(names, now))
    {
        const auto row = store.findCredential(name);
        store::EventRow event;
        event.atMs = now;
        event.credential = name;
        event.clientId = row ? row->currentClientId : "";
        event.event = "retired";
        event.detail = "credential no longer configured; its client" +
                       std::string(row && !row->previousClientId.empty()
                                       ? "s " + row->currentClientId + " and " +
                                             row->previousClientId + " stay"
                                       : " stays") +
                       " alive until `astra-rotator retire " + name + " --revoke`";
        store.appendEvent(event);
        report.retired.push_back(name);
        report.warnings.push_back("credential " + name +
                                  " is no longer configured: " + event.detail);
    }

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
        if (existing && (existing->status == "current" || existing->status == "previous" ||
                         existing->status == "rotating" || existing->status == "retired"))
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

bool adoptAdminClient(const std::vector<core::ClientInfo>& clients, store::StateStore& store,
                      const config::Settings& settings, const std::string& adminClientId,
                      std::int64_t now)
{
    const auto* admin = settings.findCredential(config::kAdminCredential);
    auto row = admin ? store.findCredential(admin->name) : std::nullopt;
    // The previous client during its grace period: the token file went back to it; the revoker
    // refuses to revoke the client in use, and a person must look.
    if (!row || adminClientId.empty() || row->currentClientId == adminClientId ||
        row->previousClientId == adminClientId ||
        std::none_of(clients.begin(), clients.end(),
                     [&](const core::ClientInfo& info) { return info.clientId == adminClientId; }))
    {
        return false;
    }
    // A quarantined self-rotation counts too: the token in use may be its new client's, taken
    // from its pending file, not one put in the token file.
    if (const auto last = store.lastRotation(admin->name); last && core::isActive(last->stage))
    {
        return false;
    }
    store::EventRow event;
    event.atMs = now;
    event.credential = admin->name;
    event.clientId = adminClientId;
    event.event = "adopted";
    event.detail = row->currentClientId.empty()
                       ? "the admin token's own client (astra.tokenFile)"
                       : "astra.tokenFile now holds this client's token (replaced outside the "
                         "rotator); client " +
                             row->currentClientId + " stays alive, unmanaged";
    row->currentClientId = adminClientId;
    row->updatedMs = now;
    store.saveCredential(*row);
    store.appendEvent(event);
    Poco::Logger::get("sync").information("%s: adopted client %s: %s", admin->name, adminClientId,
                                          event.detail);
    return true;
}

namespace
{

std::string roleNames(const std::vector<std::string>& ids, const std::vector<core::Role>& roles)
{
    std::string out;
    for (const auto& id : std::set<std::string>(ids.begin(), ids.end()))
    {
        const auto role = std::find_if(roles.begin(), roles.end(),
                                       [&](const core::Role& r) { return r.id == id; });
        out += (out.empty() ? "" : ", ") + (role != roles.end() ? role->name : id);
    }
    return "[" + out + "]";
}

} // namespace

std::optional<std::string> adoptedRoleWarning(const config::CredentialSettings& c,
                                              const std::vector<std::string>& adoptedRoles,
                                              const std::vector<core::Role>& roles)
{
    const auto wanted = api::resolveRoleIds(c.roles, roles);
    if (c.clientId.empty() || !wanted ||
        std::set<std::string>(adoptedRoles.begin(), adoptedRoles.end()) ==
            std::set<std::string>(wanted->begin(), wanted->end()))
    {
        return std::nullopt;
    }
    return "credentials." + c.name + ".clientId: the adopted client " + c.clientId + " has roles " +
           roleNames(adoptedRoles, roles) + " but credentials." + c.name + ".roles names " +
           roleNames(*wanted, roles) + "; its replacements get the configured roles";
}

std::vector<std::string> adoptedRoleWarnings(const config::Settings& settings,
                                             const std::vector<core::ClientInfo>& clients,
                                             const std::vector<core::Role>& roles)
{
    std::vector<std::string> warnings;
    for (const auto& c : settings.credentials)
    {
        const auto client =
            std::find_if(clients.begin(), clients.end(),
                         [&](const core::ClientInfo& i) { return i.clientId == c.clientId; });
        if (client == clients.end())
        {
            continue;
        }
        if (auto w = adoptedRoleWarning(c, client->roles, roles))
        {
            warnings.push_back(std::move(*w));
        }
    }
    return warnings;
}

} // namespace rotator::rotation
