#include "rotator/cli/Commands.h"

#include <algorithm>
#include <ostream>

#include <sys/stat.h>

#include "rotator/api/AstraClient.h"
#include "rotator/api/JsonMapping.h"
#include "rotator/config/SettingsLoader.h"
#include "rotator/config/TrustChecks.h"
#include "rotator/core/Duration.h"
#include "rotator/core/Errors.h"
#include "rotator/core/EventKinds.h"
#include "rotator/core/Suggest.h"
#include "rotator/report/Reports.h"
#include "rotator/rotation/InventorySync.h"
#include "rotator/sink/FileSink.h"
#include "rotator/sink/SinkFactory.h"
#include "rotator/store/SqliteStateStore.h"
#include "rotator/store/StateDir.h"

namespace rotator::cli
{

namespace
{

bool fileExists(const std::string& path)
{
    struct stat st
    {
    };
    return ::stat(path.c_str(), &st) == 0;
}

std::int64_t durationOption(const CommandLine& cl, const std::string& name)
{
    const auto text = cl.get(name).value_or("");
    const auto ms = core::parseDurationMs(text);
    if (!ms)
    {
        throw core::UsageError("--" + name + ": invalid duration \"" + text +
                               "\" (use 45s, 15m, 12h, 30d)");
    }
    return *ms;
}

int checkConfig(const CommandLine& cl, const config::Settings& settings, Environment& env)
{
    for (const auto& w : settings.warnings)
    {
        env.err << "warning: " << w << "\n";
    }
    std::vector<std::string> warnings;
    if (!settings.admin.tokenFile.empty())
    {
        config::readTokenFile(settings.admin.tokenFile, "admin.tokenFile", warnings);
    }
    if (!settings.astra.caFile.empty() && !fileExists(settings.astra.caFile))
    {
        throw core::ConfigError("astra.caFile", "no such file: " + settings.astra.caFile);
    }
    config::checkTrustedInputs(settings, !cl.has("offline"));
    auto api = connectApi(settings, env);
    for (const auto& w : warnings)
    {
        env.err << "warning: " << w << "\n";
    }
    // Sinks: the directory of a file sink must be writable, an exec sink's program runnable.
    for (const auto& s : settings.sinks)
    {
        // A secret store's check asks the store: not with --offline (its keys were checked).
        if (cl.has("offline") &&
            (s.type == config::SinkType::Kubernetes || s.type == config::SinkType::Vault ||
             s.type == config::SinkType::AwsSecretsManager))
        {
            continue;
        }
        // The token file is written keeping its owner, group and mode: checked so too.
        auto check = s.name == config::kTokenFileSink
                         ? sink::FileSink(sink::asTheFileIsNow(s)).check()
                         : sink::makeSink(s)->check();
        if (!check)
        {
            // Self-rotation writes the token file: named by the key the user wrote.
            throw core::ConfigError(s.name == config::kTokenFileSink ? "astra.tokenFile"
                                                                     : "sinks." + s.name,
                                    check.error().message);
        }
    }
    if (!cl.has("offline"))
    {
        auto roles = api->listRoles();
        if (!roles)
        {
            env.err << "error: cannot check role names against " << settings.astra.url << ": "
                    << roles.error().message << "\n";
            return 1;
        }
        for (const auto& c : settings.credentials)
        {
            if (c.adminToken)
            {
                continue; // its roles are those of the admin token's own client
            }
            auto ids = api::resolveRoleIds(c.roles, *roles);
            if (!ids)
            {
                throw core::ConfigError("credentials." + c.name + ".roles", ids.error().message);
            }
        }
        auto clients = api->listClients();
        if (!clients)
        {
            env.err << "error: cannot list the org's clients at " << settings.astra.url << ": "
                    << clients.error().message << "\n";
            return 1;
        }
        for (const auto& w : rotation::adoptedRoleWarnings(settings, *clients, *roles))
        {
            env.err << "warning: " << w << "\n";
        }
    }
    env.out << "configuration OK: " << settings.credentials.size() << " credential(s), "
            << settings.sinks.size() << " sink(s)"
            << (cl.has("offline") ? " (roles not checked: --offline)" : ", roles resolved")
            << "\n";
    return 0;
}

int migrate(const CommandLine&, const config::Settings& settings, Environment& env)
{
    store::StateDir dir(settings.state.dir);
    dir.prepare();
    dir.lock();
    store::SqliteStateStore store(dir.databasePath());
    env.out << "database " << dir.databasePath() << " is at the current schema\n";
    return 0;
}

int sync(const CommandLine&, const config::Settings& settings, Environment& env)
{
    auto api = connectApi(settings, env);
    store::StateDir dir(settings.state.dir);
    dir.prepare();
    dir.lock();
    store::SqliteStateStore store(dir.databasePath());
    routeNotifications(store, settings);
    auto report = rotation::syncInventory(*api, store, settings, env.clock);
    if (!report)
    {
        env.err << "error: sync failed, inventory unchanged: " << report.error().message << "\n";
        return 1;
    }
    for (const auto& w : report->warnings)
    {
        env.err << "warning: " << w << "\n";
    }
    if (auto roles = api->listRoles())
    {
        std::vector<core::ClientInfo> inventory;
        for (const auto& row : store.listClients())
        {
            core::ClientInfo info;
            info.clientId = row.clientId;
            info.roles = row.roles;
            inventory.push_back(std::move(info));
        }
        for (const auto& w : rotation::adoptedRoleWarnings(settings, inventory, *roles))
        {
            env.err << "warning: " << w << "\n";
        }
    }
    else
    {
        env.err << "warning: roles of adopted clients not checked: " << roles.error().message
                << "\n";
    }
    const auto& inv = report->inventory;
    env.out << inv.present << " client(s) in the org: " << inv.discovered << " discovered, "
            << inv.disappeared << " disappeared, " << inv.reappeared << " reappeared, "
            << report->adopted << " adopted\n";
    return 0;
}

int status(const CommandLine& cl, const config::Settings& settings, Environment& env)
{
    const auto store = openStoreForReading(settings);
    const std::int64_t now = env.clock.nowMs();
    const auto rows = report::credentialViews(settings, *store, now);
    const auto backlog = store->notificationBacklog();
    // Without notifiers and nothing queued the outbox has nothing to say.
    const bool notifications = !settings.notifiers.empty() || backlog.pending + backlog.failed > 0;
    if (cl.has("json"))
    {
        env.out << report::credentialsJson(rows, store->installationId(),
                                           notifications ? &backlog : nullptr, now)
                << "\n";
    }
    else
    {
        report::printCredentialsTable(env.out, rows, now, store->installationId());
        if (notifications)
        {
            report::printNotificationBacklog(env.out, backlog, now);
        }
    }
    return 0;
}

int ages(const CommandLine& cl, const config::Settings& settings, Environment& env)
{
    std::optional<std::int64_t> olderThan;
    if (cl.has("older-than"))
    {
        olderThan = durationOption(cl, "older-than") / 1000;
    }
    const auto store = openStoreForReading(settings);
    const auto rows = report::clientViews(*store, env.clock.nowMs(), cl.has("unmanaged"), olderThan,
                                          cl.has("all"));
    if (cl.has("json"))
    {
        env.out << report::clientsJson(rows) << "\n";
    }
    else
    {
        report::printClientsTable(env.out, rows);
    }
    // With --older-than the answer is a check: a cron job alerts on a non-zero exit.
    return olderThan && !rows.empty() ? 1 : 0;
}

/// "discovered, disappeared, …" for a message.
std::string joinedKinds()
{
    std::string text;
    for (const auto& kind : core::eventKinds())
    {
        text += (text.empty() ? "" : ", ") + kind;
    }
    return text;
}

int history(const CommandLine& cl, const config::Settings& settings, Environment& env)
{
    store::HistoryQuery query;
    query.credential = cl.get("credential").value_or("");
    query.clientId = cl.get("client").value_or("");
    for (const auto& given : cl.all("event"))
    {
        // --event=failed --event=quarantined, or --event=failed,quarantined
        std::size_t start = 0;
        while (start <= given.size())
        {
            const std::size_t comma = std::min(given.find(',', start), given.size());
            const std::string kind = given.substr(start, comma - start);
            const auto& kinds = core::eventKinds();
            if (std::find(kinds.begin(), kinds.end(), kind) == kinds.end())
            {
                const std::string guess = core::closestMatch(kind, kinds);
                throw core::UsageError("--event: no event kind \"" + kind + "\"" +
                                       (guess.empty() ? "" : " (did you mean \"" + guess + "\"?)") +
                                       "; the kinds: " + joinedKinds());
            }
            query.events.push_back(kind);
            start = comma + 1;
        }
    }
    if (cl.has("since"))
    {
        query.sinceMs = env.clock.nowMs() - durationOption(cl, "since");
    }
    if (cl.has("limit"))
    {
        const auto text = *cl.get("limit");
        try
        {
            std::size_t used = 0;
            const long n = std::stol(text, &used);
            if (used != text.size() || n < 1 || n > 1'000'000)
            {
                throw std::invalid_argument(text);
            }
            query.limit = static_cast<int>(n);
        }
        catch (const std::exception&)
        {
            throw core::UsageError("--limit: \"" + text + "\" is not a number from 1 to 1000000");
        }
    }
    const auto store = openStoreForReading(settings);
    const auto rows = store->history(query);
    if (cl.has("json"))
    {
        env.out << report::eventsJson(rows) << "\n";
    }
    else
    {
        report::printEventsTable(env.out, rows);
    }
    return 0;
}

} // namespace

void routeNotifications(store::SqliteStateStore& store, const config::Settings& settings)
{
    std::vector<store::SqliteStateStore::NotificationRoute> routes;
    for (const auto& n : settings.notifiers)
    {
        routes.push_back({n.name, n.events});
    }
    store.routeNotifications(routes);
}

std::unique_ptr<store::SqliteStateStore> openStoreForReading(const config::Settings& settings)
{
    const store::StateDir dir(settings.state.dir);
    if (!fileExists(dir.databasePath()))
    {
        throw core::StoreError("no database at " + dir.databasePath() +
                               " yet; run `astra-rotator sync` (or `migrate`) first");
    }
    return store::SqliteStateStore::openReadOnly(dir.databasePath());
}

std::unique_ptr<api::TokenApi> connectApi(const config::Settings& settings, Environment& env)
{
    std::vector<std::string> warnings;
    core::Secret token = config::loadAdminToken(settings, env.getenv, warnings);
    for (const auto& w : warnings)
    {
        env.err << "warning: " << w << "\n";
    }
    auto api = env.makeApi(settings, std::move(token));
    // Before anything can rotate: the adopted client of a credential must not be our own.
    config::refuseAdminClientAsCredential(settings, api->adminClientId());
    return api;
}

std::unique_ptr<api::TokenApi> makeAstraClient(const config::Settings& settings,
                                               core::Secret adminToken, core::Clock& clock,
                                               api::RequestObserver observer)
{
    api::ClientOptions options;
    options.url = settings.astra.url;
    options.caFile = settings.astra.caFile;
    options.timeoutMs = settings.astra.timeoutMs;
    options.requestDeadlineMs = settings.astra.requestDeadlineMs;
    options.maxAttempts = settings.astra.maxAttempts;
    options.requestsPerSecond = settings.astra.requestsPerSecond;
    // A token from a file follows the file (someone else may rotate it); ASTRA_TOKEN cannot
    // change.
    auto source = settings.astra.tokenFile.empty()
                      ? std::make_shared<config::TokenSource>(std::move(adminToken))
                      : std::make_shared<config::TokenSource>(
                            settings.astra.tokenFile, "astra.tokenFile", std::move(adminToken));
    return std::make_unique<api::AstraClient>(options, std::move(source), clock,
                                              std::move(observer));
}

std::vector<Command> oneShotCommands()
{
    // The synopses are the lines of `--help`; the usage errors quote them up to the first two
    // spaces.
    return {
        {.name = "sync",
         .synopsis = "sync                       refresh the inventory from the API",
         .run = sync},
        {.name = "status",
         .options = {{"json"}},
         .synopsis = "status [--json]            one row per credential",
         .run = status},
        {.name = "ages",
         .options = {{"json"}, {"unmanaged"}, {"older-than", true}, {"all"}},
         .synopsis = "ages [--json] [--unmanaged] [--older-than=90d] [--all]\n"
                     "                           every client in the inventory with its age",
         .run = ages},
        {.name = "history",
         .options = {{"json"},
                     {"credential", true},
                     {"client", true},
                     {"event", true},
                     {"since", true},
                     {"limit", true}},
         .synopsis = "history [--credential=NAME] [--client=ID] [--event=KIND]... [--since=7d]\n"
                     "        [--limit=N] [--json]  events, newest first",
         .run = history},
        {.name = "check-config",
         .options = {{"offline"}},
         .synopsis =
             "check-config [--offline]   validate the configuration (and roles, unless offline)",
         .run = checkConfig},
        {.name = "migrate",
         .synopsis = "migrate                    create or upgrade the database",
         .run = migrate},
    };
}

} // namespace rotator::cli
