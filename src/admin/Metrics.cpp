#include "rotator/admin/Metrics.h"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <vector>

#include "rotator/schedule/Schedule.h"

namespace rotator::admin
{

namespace
{

using Labels = std::vector<std::pair<std::string, std::string>>;

// Every result the engine reports; each configured credential gets all of them at 0 so that
// `increase()` works from the first failure on (a series that appears at 1 has no increase).
constexpr std::array<const char*, 4> kResults = {"success", "failed", "quarantined", "rolled_back"};
constexpr std::array<const char*, 3> kSinkResults = {"delivered", "failed", "may_hold"};
constexpr std::array<const char*, 3> kNotificationResults = {"delivered", "retry", "rejected"};
constexpr std::array<const char*, 8> kStatuses = {"current",   "previous", "rotating", "retired",
                                                  "unmanaged", "foreign",  "revoked",  "missing"};

/// Builds the text exposition family by family.
class Exposition
{
public:
    void family(const std::string& name, const char* type, const char* help)
    {
        _out += "# HELP " + name + " " + help + "\n";
        _out += "# TYPE " + name + " " + type + "\n";
    }

    void sample(const std::string& name, const Labels& labels, const std::string& value)
    {
        _out += name;
        if (!labels.empty())
        {
            _out += '{';
            for (std::size_t i = 0; i < labels.size(); ++i)
            {
                if (i > 0)
                {
                    _out += ',';
                }
                _out +=
                    labels[i].first + "=\"" + Metrics::escapeLabelValue(labels[i].second) + "\"";
            }
            _out += '}';
        }
        _out += ' ' + value + '\n';
    }

    std::string take() { return std::move(_out); }

private:
    std::string _out;
};

bool live(const store::ClientRow& c)
{
    return c.status != "revoked" && c.status != "missing";
}

} // namespace

void Metrics::recordApiRequest(std::string_view method, int status)
{
    std::lock_guard<std::mutex> lock(_mutex);
    ++_apiRequests[{std::string(method), std::to_string(status)}];
}

void Metrics::recordRotation(const std::string& credential, const std::string& result)
{
    std::lock_guard<std::mutex> lock(_mutex);
    ++_rotations[{credential, result}];
}

void Metrics::recordSinkDelivery(const std::string& sink, const std::string& result,
                                 std::int64_t ms)
{
    std::lock_guard<std::mutex> lock(_mutex);
    ++_sinkDeliveries[{sink, result}];
    Latency& latency = _sinkLatency[sink];
    for (std::size_t i = 0; i < latency.buckets.size(); ++i)
    {
        if (i == kSinkLatencyBuckets.size() ||
            static_cast<double>(ms) <= kSinkLatencyBuckets[i] * 1000)
        {
            ++latency.buckets[i];
        }
    }
    latency.sumMs += ms;
}

api::RequestObserver Metrics::apiObserver()
{
    return [this](std::string_view method, std::string_view, int status)
    { recordApiRequest(method, status); };
}

rotation::ResultObserver Metrics::rotationObserver()
{
    return [this](const std::string& credential, const std::string& result)
    { recordRotation(credential, result); };
}

rotation::SinkObserver Metrics::sinkObserver()
{
    return [this](const std::string& sink, const std::string& result, std::int64_t ms)
    { recordSinkDelivery(sink, result, ms); };
}

std::string Metrics::escapeLabelValue(std::string_view value)
{
    std::string out;
    out.reserve(value.size());
    for (const char c : value)
    {
        switch (c)
        {
        case '\\':
            out += "\\\\";
            break;
        case '"':
            out += "\\\"";
            break;
        case '\n':
            out += "\\n";
            break;
        default:
            out += c;
        }
    }
    return out;
}

std::string Metrics::formatSeconds(std::int64_t ms)
{
    const bool negative = ms < 0;
    // Through unsigned arithmetic, so that INT64_MIN does not overflow.
    const std::uint64_t magnitude =
        negative ? 0 - static_cast<std::uint64_t>(ms) : static_cast<std::uint64_t>(ms);
    std::string out = (negative ? "-" : "") + std::to_string(magnitude / 1000);
    std::uint64_t fraction = magnitude % 1000;
    if (fraction != 0)
    {
        std::string digits = std::to_string(fraction);
        digits.insert(0, 3 - digits.size(), '0');
        while (digits.back() == '0')
        {
            digits.pop_back();
        }
        out += '.' + digits;
    }
    return out;
}

std::string Metrics::render(const config::Settings& settings, const store::StateStore& store,
                            std::int64_t nowMs, const DaemonState& daemon) const
{
    // Read the store first: a StoreError then leaves nothing half-written.
    const auto clients = store.listClients();
    const auto credentialRows = store.listCredentials();
    const auto notificationBacklog = store.notificationBacklog();
    std::map<std::string, const store::ClientRow*> clientById;
    for (const auto& c : clients)
    {
        clientById[c.clientId] = &c;
    }
    std::map<std::string, const store::CredentialRow*> rowByName;
    for (const auto& r : credentialRows)
    {
        rowByName[r.name] = &r;
    }
    std::size_t unattributed = 0;
    for (const auto& c : clients)
    {
        if (c.status != "unmanaged")
        {
            continue;
        }
        store::HistoryQuery q;
        q.clientId = c.clientId;
        q.limit = 0; // every event of this client: a handful, the engine records it once
        for (const auto& e : store.history(q))
        {
            if (e.event == "unattributed")
            {
                ++unattributed;
                break;
            }
        }
    }
    std::map<std::pair<std::string, std::string>, std::uint64_t> apiRequests;
    std::map<std::pair<std::string, std::string>, std::uint64_t> rotations;
    std::map<std::pair<std::string, std::string>, std::uint64_t> sinkDeliveries;
    std::map<std::string, Latency> sinkLatency;
    std::map<std::pair<std::string, std::string>, std::uint64_t> notifications;
    {
        std::lock_guard<std::mutex> lock(_mutex);
        notifications = _notifications;
        apiRequests = _apiRequests;
        rotations = _rotations;
        sinkDeliveries = _sinkDeliveries;
        sinkLatency = _sinkLatency;
    }
    for (const auto& sink : settings.sinks)
    {
        for (const char* result : kSinkResults)
        {
            sinkDeliveries.try_emplace({sink.name, result}, 0);
        }
    }
    for (const auto& c : settings.credentials)
    {
        for (const char* result : kResults)
        {
            rotations.try_emplace({c.name, result}, 0);
        }
    }

    Exposition x;
    x.family("astra_rotator_up", "gauge", "1 while the astra-rotator daemon answers scrapes.");
    x.sample("astra_rotator_up", {}, "1");

    x.family("astra_rotator_api_requests_total", "counter",
             "HTTP exchanges with the Astra DevOps API by method and status code (code 0: no "
             "answer, e.g. a timeout or a dropped connection).");
    for (const auto& [key, count] : apiRequests)
    {
        x.sample("astra_rotator_api_requests_total", {{"method", key.first}, {"code", key.second}},
                 std::to_string(count));
    }

    x.family("astra_rotator_rotations_total", "counter",
             "Finished rotation attempts by credential and result (success, failed, "
             "quarantined, rolled_back) since the daemon started.");
    for (const auto& [key, count] : rotations)
    {
        x.sample("astra_rotator_rotations_total",
                 {{"credential", key.first}, {"result", key.second}}, std::to_string(count));
    }

    x.family("astra_rotator_sink_deliveries_total", "counter",
             "Delivery attempts by sink and result (delivered: written and read back; failed: "
             "the sink cannot hold the credential; may_hold: failed after the sink may have "
             "taken it, so the rotation only rolls forward) since the daemon started.");
    for (const auto& [key, count] : sinkDeliveries)
    {
        x.sample("astra_rotator_sink_deliveries_total",
                 {{"sink", key.first}, {"result", key.second}}, std::to_string(count));
    }
    x.family("astra_rotator_sink_delivery_seconds", "histogram",
             "How long delivery attempts took, by sink (whatever their result).");
    for (const auto& [sink, latency] : sinkLatency)
    {
        for (std::size_t i = 0; i < latency.buckets.size(); ++i)
        {
            const std::string le =
                i < kSinkLatencyBuckets.size()
                    ? formatSeconds(static_cast<std::int64_t>(kSinkLatencyBuckets[i] * 1000))
                    : std::string("+Inf");
            x.sample("astra_rotator_sink_delivery_seconds_bucket", {{"sink", sink}, {"le", le}},
                     std::to_string(latency.buckets[i]));
        }
        x.sample("astra_rotator_sink_delivery_seconds_sum", {{"sink", sink}},
                 formatSeconds(latency.sumMs));
        x.sample("astra_rotator_sink_delivery_seconds_count", {{"sink", sink}},
                 std::to_string(latency.buckets.back()));
    }

    x.family("astra_rotator_client_age_seconds", "gauge",
             "Age (now - generatedOn) of every client in the inventory that is neither revoked "
             "nor missing; credential is empty for an unmanaged client.");
    for (const auto& c : clients)
    {
        if (live(c))
        {
            x.sample("astra_rotator_client_age_seconds",
                     {{"client_id", c.clientId}, {"credential", c.credential}},
                     formatSeconds(nowMs - c.generatedOnMs));
        }
    }

    x.family("astra_rotator_clients", "gauge",
             "Clients in the inventory by status (current, previous, rotating, retired, unmanaged, "
             "foreign, revoked, missing).");
    std::map<std::string, std::size_t> byStatus;
    for (const auto& c : clients)
    {
        ++byStatus[c.status];
    }
    for (const char* status : kStatuses)
    {
        x.sample("astra_rotator_clients", {{"status", status}}, std::to_string(byStatus[status]));
    }

    x.family("astra_rotator_grace_clients", "gauge",
             "Previous clients of a rotation still valid during their grace period, waiting to "
             "be revoked.");
    x.sample("astra_rotator_grace_clients", {}, std::to_string(byStatus["previous"]));

    x.family("astra_rotator_unattributed_clients", "gauge",
             "Clients still in the inventory (not revoked, not missing) that belong to no "
             "credential and have an unattributed event: they look created by a rotator but no "
             "rotation here can be proven to own them, so they are never revoked automatically.");
    x.sample("astra_rotator_unattributed_clients", {}, std::to_string(unattributed));

    // Per configured credential.
    struct CredentialGauges
    {
        std::string name;
        const store::CredentialRow* row = nullptr;
        std::optional<std::int64_t> generatedOnMs;
        bool currentMissing = false; ///< the current client is no longer listed
    };
    std::vector<CredentialGauges> creds;
    for (const auto& c : settings.credentials)
    {
        CredentialGauges g{c.name, nullptr, std::nullopt, false};
        if (const auto r = rowByName.find(c.name); r != rowByName.end())
        {
            g.row = r->second;
            if (const auto cl = clientById.find(g.row->currentClientId);
                !g.row->currentClientId.empty() && cl != clientById.end())
            {
                g.generatedOnMs = cl->second->generatedOnMs;
                g.currentMissing = cl->second->goneElsewhere();
            }
        }
        creds.push_back(g);
    }

    x.family("astra_rotator_credential_age_seconds", "gauge",
             "Age of the current client of each configured credential (absent while it has none "
             "in the inventory).");
    for (const auto& g : creds)
    {
        if (g.generatedOnMs)
        {
            x.sample("astra_rotator_credential_age_seconds", {{"credential", g.name}},
                     formatSeconds(nowMs - *g.generatedOnMs));
        }
    }

    x.family("astra_rotator_last_success_timestamp_seconds", "gauge",
             "Unix time of the last successful rotation of each credential (absent: never).");
    for (const auto& g : creds)
    {
        if (g.row && g.row->lastSuccessMs)
        {
            x.sample("astra_rotator_last_success_timestamp_seconds", {{"credential", g.name}},
                     formatSeconds(*g.row->lastSuccessMs));
        }
    }

    x.family("astra_rotator_next_rotation_timestamp_seconds", "gauge",
             "Unix time at which each credential is next due for rotation (absent while "
             "quarantined or when its window never opens).");
    for (std::size_t i = 0; i < creds.size(); ++i)
    {
        const auto plan =
            schedule::nextRotation(settings.credentials[i], creds[i].row, creds[i].generatedOnMs,
                                   nowMs, creds[i].currentMissing);
        if (plan.atMs)
        {
            x.sample("astra_rotator_next_rotation_timestamp_seconds",
                     {{"credential", creds[i].name}}, formatSeconds(*plan.atMs));
        }
    }

    x.family("astra_rotator_quarantined", "gauge",
             "1 when a credential is quarantined after repeated failures (only `astra-rotator "
             "rotate NAME` or POST /v1/credentials/NAME/rotate retries it), else 0.");
    for (const auto& g : creds)
    {
        const bool quarantined = g.row && g.row->state == core::CredentialState::Quarantined;
        x.sample("astra_rotator_quarantined", {{"credential", g.name}}, quarantined ? "1" : "0");
    }

    x.family("astra_rotator_current_client_missing", "gauge",
             "1 while a credential's current client is no longer listed (revoked outside the "
             "rotator): its consumers hold a dead token until the replacement is delivered.");
    for (const auto& g : creds)
    {
        x.sample("astra_rotator_current_client_missing", {{"credential", g.name}},
                 g.currentMissing ? "1" : "0");
    }

    x.family("astra_rotator_consecutive_failures", "gauge",
             "Rotation failures of each credential since its last success.");
    for (const auto& g : creds)
    {
        x.sample("astra_rotator_consecutive_failures", {{"credential", g.name}},
                 std::to_string(g.row ? g.row->consecutiveFailures : 0));
    }

    x.family("astra_rotator_last_pass_timestamp_seconds", "gauge",
             "Unix time at which the scheduler last finished a pass (absent before the first).");
    if (daemon.lastPassMs)
    {
        x.sample("astra_rotator_last_pass_timestamp_seconds", {},
                 formatSeconds(*daemon.lastPassMs));
    }

    x.family("astra_rotator_last_pass_reached_api", "gauge",
             "1 when the last pass listed the org's clients through the DevOps API, else 0.");
    x.sample("astra_rotator_last_pass_reached_api", {}, daemon.lastPassReachedApi ? "1" : "0");

    x.family("astra_rotator_admin_token_valid", "gauge",
             "1 when the last inventory list authenticated with the admin token, 0 after the "
             "API refused it (401); absent before either.");
    if (daemon.adminTokenValid)
    {
        x.sample("astra_rotator_admin_token_valid", {}, *daemon.adminTokenValid ? "1" : "0");
    }

    x.family("astra_rotator_notifications_pending", "gauge",
             "Notifications queued and not delivered yet (nor refused for good).");
    x.sample("astra_rotator_notifications_pending", {},
             std::to_string(notificationBacklog.pending));
    x.family("astra_rotator_notifications_oldest_pending_seconds", "gauge",
             "Age of the oldest notification not delivered yet (absent when none is pending).");
    if (notificationBacklog.oldestPendingMs)
    {
        x.sample(
            "astra_rotator_notifications_oldest_pending_seconds", {},
            formatSeconds(std::max<std::int64_t>(0, nowMs - *notificationBacklog.oldestPendingMs)));
    }
    for (const auto& n : settings.notifiers)
    {
        for (const char* result : kNotificationResults)
        {
            notifications.try_emplace({n.name, result}, 0);
        }
    }
    x.family("astra_rotator_notifications_total", "counter",
             "Webhook delivery attempts by notifier and result (delivered: answered 2xx; retry: "
             "failed, sent again later; rejected: refused for good by a 4xx, not retried).");
    for (const auto& [key, count] : notifications)
    {
        x.sample("astra_rotator_notifications_total",
                 {{"notifier", key.first}, {"result", key.second}}, std::to_string(count));
    }

    return x.take();
}

void Metrics::recordNotification(const std::string& notifier, const std::string& result)
{
    std::lock_guard<std::mutex> lock(_mutex);
    ++_notifications[{notifier, result}];
}

std::function<void(const std::string&, const std::string&)> Metrics::notificationObserver()
{
    return [this](const std::string& notifier, const std::string& result)
    { recordNotification(notifier, result); };
}

} // namespace rotator::admin
