#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "rotator/admin/Metrics.h"
#include "rotator/core/Time.h"
#include "rotator/store/SqliteStateStore.h"
#include "support/AdminSeed.h"
#include "support/TempDir.h"

namespace rotator::admin
{
namespace
{

using test::client;
using test::kDay;
using test::kHour;

constexpr std::int64_t kNow = 1'700'000'000'000; // 2023-11-14T22:13:20Z

std::string id(char letter)
{
    return std::string(24, letter);
}

/// Two credentials over a small inventory: billing (current a, previous d in grace),
/// payroll (quarantined, no client); b and c unmanaged (c unattributed), e revoked.
class MetricsTest : public ::testing::Test
{
protected:
    MetricsTest() : store(dir.file("rotator.db"))
    {
        settings.credentials = test::billingAndPayroll();

        store.syncInventory({client('a', kNow - 10 * kDay), client('b', kNow - 400 * kDay),
                             client('c', kNow - 2 * kDay - 500), client('d', kNow - 40 * kDay),
                             client('e', kNow - 100 * kDay)},
                            kNow - kHour);
        store.ensureCredentials({"billing", "payroll"}, kNow - kHour);
        auto b = store.findCredential("billing").value();
        b.currentClientId = id('a');
        b.previousClientId = id('d');
        b.revokeAfterMs = kNow + kHour;
        b.state = rotator::core::CredentialState::Grace;
        b.lastSuccessMs = kNow - 10 * kDay + 1500;
        b.updatedMs = kNow;
        store.saveCredential(b);
        auto p = store.findCredential("payroll").value();
        p.state = rotator::core::CredentialState::Quarantined;
        p.consecutiveFailures = 5;
        p.updatedMs = kNow;
        store.saveCredential(p);
        store.markClientRevoked(id('e'), kNow - kHour);
        for (char letter : {'c', 'e'})
        {
            store::EventRow e;
            e.atMs = kNow - kHour;
            e.clientId = id(letter);
            e.event = "unattributed";
            e.detail = "described \"astra-rotator x 9\" but no rotation here created it";
            store.appendEvent(e);
        }
    }

    test::TempDir dir;
    config::Settings settings;
    store::SqliteStateStore store;
    Metrics metrics;
};

TEST_F(MetricsTest, RendersTheStoreAndTheCountersExactly)
{
    metrics.recordApiRequest("GET", 200);
    metrics.apiObserver()("GET", "/v2/clientIdSecrets", 200);
    metrics.apiObserver()("POST", "/v2/clientIdSecrets", 0);
    metrics.recordApiRequest("DELETE", 404);
    metrics.rotationObserver()("billing", "success");
    metrics.recordRotation("we\"ird\\cred\nx", "failed");
    metrics.recordRotation("we\"ird\\cred\nx", "failed");
    config::SinkSettings configured;
    configured.name = "billing-file";
    settings.sinks.push_back(configured);
    metrics.sinkObserver()("vault-prod", "delivered", 40);
    metrics.recordSinkDelivery("vault-prod", "may_hold", 1500);
    config::NotifierSettings oncall;
    oncall.name = "oncall";
    settings.notifiers.push_back(oncall);
    metrics.notificationObserver()("oncall", "retry");
    metrics.recordNotification("oncall", "delivered");
    DaemonState daemon;
    daemon.lastPassMs = kNow - 30'000;
    daemon.lastPassReachedApi = true;
    daemon.adminTokenValid = true;

    // The golden exposition, one line per literal (long HELP lines split).
    const std::string expected =
        "# HELP astra_rotator_up 1 while the astra-rotator daemon answers scrapes.\n"
        "# TYPE astra_rotator_up gauge\n"
        "astra_rotator_up 1\n"
        "# HELP astra_rotator_api_requests_total HTTP exchanges with the Astra DevOps API by "
        "method and status code (code 0: no answer, e.g. a timeout or a dropped connection).\n"
        "# TYPE astra_rotator_api_requests_total counter\n"
        "astra_rotator_api_requests_total{method=\"DELETE\",code=\"404\"} 1\n"
        "astra_rotator_api_requests_total{method=\"GET\",code=\"200\"} 2\n"
        "astra_rotator_api_requests_total{method=\"POST\",code=\"0\"} 1\n"
        "# HELP astra_rotator_rotations_total Finished rotation attempts by credential and "
        "result (success, failed, quarantined, rolled_back) since the daemon started.\n"
        "# TYPE astra_rotator_rotations_total counter\n"
        "astra_rotator_rotations_total{credential=\"billing\",result=\"failed\"} 0\n"
        "astra_rotator_rotations_total{credential=\"billing\",result=\"quarantined\"} 0\n"
        "astra_rotator_rotations_total{credential=\"billing\",result=\"rolled_back\"} 0\n"
        "astra_rotator_rotations_total{credential=\"billing\",result=\"success\"} 1\n"
        "astra_rotator_rotations_total{credential=\"payroll\",result=\"failed\"} 0\n"
        "astra_rotator_rotations_total{credential=\"payroll\",result=\"quarantined\"} 0\n"
        "astra_rotator_rotations_total{credential=\"payroll\",result=\"rolled_back\"} 0\n"
        "astra_rotator_rotations_total{credential=\"payroll\",result=\"success\"} 0\n"
        "astra_rotator_rotations_total{credential=\"we\\\"ird\\\\cred\\nx\",result=\"failed\"} "
        "2\n"
        "# HELP astra_rotator_sink_deliveries_total Delivery attempts by sink and result "
        "(delivered: written and read back; failed: the sink cannot hold the credential; "
        "may_hold: failed after the sink may have taken it, so the rotation only rolls forward) "
        "since the daemon started.\n"
        "# TYPE astra_rotator_sink_deliveries_total counter\n"
        "astra_rotator_sink_deliveries_total{sink=\"billing-file\",result=\"delivered\"} 0\n"
        "astra_rotator_sink_deliveries_total{sink=\"billing-file\",result=\"failed\"} 0\n"
        "astra_rotator_sink_deliveries_total{sink=\"billing-file\",result=\"may_hold\"} 0\n"
        "astra_rotator_sink_deliveries_total{sink=\"vault-prod\",result=\"delivered\"} 1\n"
        "astra_rotator_sink_deliveries_total{sink=\"vault-prod\",result=\"may_hold\"} 1\n"
        "# HELP astra_rotator_sink_delivery_seconds How long delivery attempts took, by sink "
        "(whatever their result).\n"
        "# TYPE astra_rotator_sink_delivery_seconds histogram\n"
        "astra_rotator_sink_delivery_seconds_bucket{sink=\"vault-prod\",le=\"0.05\"} 1\n"
        "astra_rotator_sink_delivery_seconds_bucket{sink=\"vault-prod\",le=\"0.1\"} 1\n"
        "astra_rotator_sink_delivery_seconds_bucket{sink=\"vault-prod\",le=\"0.25\"} 1\n"
        "astra_rotator_sink_delivery_seconds_bucket{sink=\"vault-prod\",le=\"0.5\"} 1\n"
        "astra_rotator_sink_delivery_seconds_bucket{sink=\"vault-prod\",le=\"1\"} 1\n"
        "astra_rotator_sink_delivery_seconds_bucket{sink=\"vault-prod\",le=\"2.5\"} 2\n"
        "astra_rotator_sink_delivery_seconds_bucket{sink=\"vault-prod\",le=\"5\"} 2\n"
        "astra_rotator_sink_delivery_seconds_bucket{sink=\"vault-prod\",le=\"10\"} 2\n"
        "astra_rotator_sink_delivery_seconds_bucket{sink=\"vault-prod\",le=\"30\"} 2\n"
        "astra_rotator_sink_delivery_seconds_bucket{sink=\"vault-prod\",le=\"60\"} 2\n"
        "astra_rotator_sink_delivery_seconds_bucket{sink=\"vault-prod\",le=\"+Inf\"} 2\n"
        "astra_rotator_sink_delivery_seconds_sum{sink=\"vault-prod\"} 1.54\n"
        "astra_rotator_sink_delivery_seconds_count{sink=\"vault-prod\"} 2\n"
        "# HELP astra_rotator_client_age_seconds Age (now - generatedOn) of every client in the "
        "inventory that is neither revoked nor missing; credential is empty for an unmanaged "
        "client.\n"
        "# TYPE astra_rotator_client_age_seconds gauge\n"
        "astra_rotator_client_age_seconds{client_id=\"bbbbbbbbbbbbbbbbbbbbbbbb\",credential=\"\"}"
        " 34560000\n"
        "astra_rotator_client_age_seconds{client_id=\"dddddddddddddddddddddddd\",credential=\"bil"
        "ling\"} 3456000\n"
        "astra_rotator_client_age_seconds{client_id=\"aaaaaaaaaaaaaaaaaaaaaaaa\",credential=\"bil"
        "ling\"} 864000\n"
        "astra_rotator_client_age_seconds{client_id=\"cccccccccccccccccccccccc\",credential=\"\"}"
        " 172800.5\n"
        "# HELP astra_rotator_clients Clients in the inventory by status (current, previous, "
        "rotating, retired, unmanaged, foreign, revoked, missing).\n"
        "# TYPE astra_rotator_clients gauge\n"
        "astra_rotator_clients{status=\"current\"} 1\n"
        "astra_rotator_clients{status=\"previous\"} 1\n"
        "astra_rotator_clients{status=\"rotating\"} 0\n"
        "astra_rotator_clients{status=\"retired\"} 0\n"
        "astra_rotator_clients{status=\"unmanaged\"} 2\n"
        "astra_rotator_clients{status=\"foreign\"} 0\n"
        "astra_rotator_clients{status=\"revoked\"} 1\n"
        "astra_rotator_clients{status=\"missing\"} 0\n"
        "# HELP astra_rotator_grace_clients Previous clients of a rotation still valid during "
        "their grace period, waiting to be revoked.\n"
        "# TYPE astra_rotator_grace_clients gauge\n"
        "astra_rotator_grace_clients 1\n"
        "# HELP astra_rotator_unattributed_clients Clients still in the inventory (not revoked, "
        "not missing) that belong to no credential and have an unattributed event: they look "
        "created by a rotator but no rotation here can be proven to own them, so they are never "
        "revoked automatically.\n"
        "# TYPE astra_rotator_unattributed_clients gauge\n"
        "astra_rotator_unattributed_clients 1\n"
        "# HELP astra_rotator_credential_age_seconds Age of the current client of each "
        "configured credential (absent while it has none in the inventory).\n"
        "# TYPE astra_rotator_credential_age_seconds gauge\n"
        "astra_rotator_credential_age_seconds{credential=\"billing\"} 864000\n"
        "# HELP astra_rotator_last_success_timestamp_seconds Unix time of the last successful "
        "rotation of each credential (absent: never).\n"
        "# TYPE astra_rotator_last_success_timestamp_seconds gauge\n"
        "astra_rotator_last_success_timestamp_seconds{credential=\"billing\"} 1699136001.5\n"
        "# HELP astra_rotator_next_rotation_timestamp_seconds Unix time at which each credential "
        "is next due for rotation (absent while quarantined or when its window never opens).\n"
        "# TYPE astra_rotator_next_rotation_timestamp_seconds gauge\n"
        "astra_rotator_next_rotation_timestamp_seconds{credential=\"billing\"} 1701728000\n"
        "# HELP astra_rotator_quarantined 1 when a credential is quarantined after repeated "
        "failures (only `astra-rotator rotate NAME` or POST /v1/credentials/NAME/rotate retries "
        "it), else 0.\n"
        "# TYPE astra_rotator_quarantined gauge\n"
        "astra_rotator_quarantined{credential=\"billing\"} 0\n"
        "astra_rotator_quarantined{credential=\"payroll\"} 1\n"
        "# HELP astra_rotator_current_client_missing 1 while a credential's current client is no "
        "longer listed (revoked outside the rotator): its consumers hold a dead token until the "
        "replacement is delivered.\n"
        "# TYPE astra_rotator_current_client_missing gauge\n"
        "astra_rotator_current_client_missing{credential=\"billing\"} 0\n"
        "astra_rotator_current_client_missing{credential=\"payroll\"} 0\n"
        "# HELP astra_rotator_consecutive_failures Rotation failures of each credential since "
        "its last success.\n"
        "# TYPE astra_rotator_consecutive_failures gauge\n"
        "astra_rotator_consecutive_failures{credential=\"billing\"} 0\n"
        "astra_rotator_consecutive_failures{credential=\"payroll\"} 5\n"
        "# HELP astra_rotator_last_pass_timestamp_seconds Unix time at which the scheduler last "
        "finished a pass (absent before the first).\n"
        "# TYPE astra_rotator_last_pass_timestamp_seconds gauge\n"
        "astra_rotator_last_pass_timestamp_seconds 1699999970\n"
        "# HELP astra_rotator_last_pass_reached_api 1 when the last pass listed the org's "
        "clients through the DevOps API, else 0.\n"
        "# TYPE astra_rotator_last_pass_reached_api gauge\n"
        "astra_rotator_last_pass_reached_api 1\n"
        "# HELP astra_rotator_admin_token_valid 1 when the last inventory list authenticated "
        "with the admin token, 0 after the API refused it (401); absent before either.\n"
        "# TYPE astra_rotator_admin_token_valid gauge\n"
        "astra_rotator_admin_token_valid 1\n"
        "# HELP astra_rotator_notifications_pending Notifications queued and not delivered yet "
        "(nor refused for good).\n"
        "# TYPE astra_rotator_notifications_pending gauge\n"
        "astra_rotator_notifications_pending 0\n"
        "# HELP astra_rotator_notifications_oldest_pending_seconds Age of the oldest "
        "notification not delivered yet (absent when none is pending).\n"
        "# TYPE astra_rotator_notifications_oldest_pending_seconds gauge\n"
        "# HELP astra_rotator_notifications_total Webhook delivery attempts by notifier and "
        "result (delivered: answered 2xx; retry: failed, sent again later; rejected: refused "
        "for good by a 4xx, not retried).\n"
        "# TYPE astra_rotator_notifications_total counter\n"
        "astra_rotator_notifications_total{notifier=\"oncall\",result=\"delivered\"} 1\n"
        "astra_rotator_notifications_total{notifier=\"oncall\",result=\"rejected\"} 0\n"
        "astra_rotator_notifications_total{notifier=\"oncall\",result=\"retry\"} 1\n";
    EXPECT_EQ(metrics.render(settings, store, kNow, daemon), expected);
}

TEST_F(MetricsTest, TheAdminTokenGaugeIsZeroAfterARefusalAndAbsentBeforeAnyAnswer)
{
    DaemonState daemon;
    const auto gauge = [&]
    {
        const std::string text = metrics.render(settings, store, kNow, daemon);
        const std::string sample = "\nastra_rotator_admin_token_valid ";
        const auto at = text.find(sample);
        return at == std::string::npos
                   ? std::string("absent")
                   : text.substr(at + sample.size(), text.find('\n', at + 1) - at - sample.size());
    };
    EXPECT_EQ(gauge(), "absent");
    daemon.adminTokenValid = false;
    EXPECT_EQ(gauge(), "0");
    daemon.adminTokenValid = true;
    EXPECT_EQ(gauge(), "1");
}

TEST_F(MetricsTest, EveryFamilyHasHelpAndTypeAndCountersEndInTotal)
{
    metrics.recordApiRequest("GET", 200);
    metrics.recordSinkDelivery("billing-file", "delivered", 3);
    const std::string text = metrics.render(settings, store, kNow, DaemonState{});
    std::map<std::string, std::string> types;
    std::set<std::string> helps;
    std::istringstream in(text);
    std::string line;
    int samples = 0;
    while (std::getline(in, line))
    {
        if (line.rfind("# HELP ", 0) == 0)
        {
            const auto name = line.substr(7, line.find(' ', 7) - 7);
            EXPECT_TRUE(helps.insert(name).second) << "HELP twice for " << name;
            EXPECT_GT(line.size(), 7 + name.size() + 10) << "HELP without text: " << line;
            continue;
        }
        if (line.rfind("# TYPE ", 0) == 0)
        {
            std::istringstream words(line.substr(7));
            std::string name;
            std::string type;
            words >> name >> type;
            EXPECT_TRUE(helps.count(name)) << "TYPE before HELP for " << name;
            types[name] = type;
            continue;
        }
        ++samples;
        auto name = line.substr(0, line.find_first_of("{ "));
        // A histogram's samples carry its name with a suffix.
        for (const std::string suffix : {"_bucket", "_sum", "_count"})
        {
            const auto base = name.substr(0, name.size() - std::min(name.size(), suffix.size()));
            if (!types.count(name) && name.ends_with(suffix) && types.count(base) &&
                types.at(base) == "histogram")
            {
                name = base;
            }
        }
        EXPECT_TRUE(types.count(name)) << "sample without TYPE: " << line;
        EXPECT_EQ(name.rfind("astra_rotator_", 0), 0u) << name;
    }
    EXPECT_GT(samples, 10);
    EXPECT_EQ(helps.size(), types.size());
    for (const auto& [name, type] : types)
    {
        const bool total = name.size() > 6 && name.substr(name.size() - 6) == "_total";
        if (type == "counter")
        {
            EXPECT_TRUE(total) << name;
        }
        else
        {
            EXPECT_TRUE(type == "gauge" || type == "histogram") << name;
            EXPECT_FALSE(total) << name;
        }
    }
    for (const char* family :
         {"astra_rotator_client_age_seconds", "astra_rotator_credential_age_seconds",
          "astra_rotator_rotations_total", "astra_rotator_last_success_timestamp_seconds",
          "astra_rotator_next_rotation_timestamp_seconds", "astra_rotator_quarantined",
          "astra_rotator_api_requests_total", "astra_rotator_unattributed_clients",
          "astra_rotator_sink_deliveries_total", "astra_rotator_sink_delivery_seconds"})
    {
        EXPECT_TRUE(types.count(family)) << "PRODUCT.md §7 family missing: " << family;
    }
}

TEST_F(MetricsTest, FamiliesWithoutSamplesStillHaveHelpAndType)
{
    const std::string text = Metrics().render(config::Settings{}, store, kNow, DaemonState{});
    EXPECT_NE(text.find("# TYPE astra_rotator_api_requests_total counter\n"), std::string::npos);
    EXPECT_NE(text.find("# TYPE astra_rotator_last_pass_timestamp_seconds gauge\n"),
              std::string::npos);
    EXPECT_EQ(text.find("\nastra_rotator_last_pass_timestamp_seconds "), std::string::npos);
    EXPECT_NE(text.find("astra_rotator_last_pass_reached_api 0\n"), std::string::npos);
    EXPECT_NE(text.find("# TYPE astra_rotator_admin_token_valid gauge\n"), std::string::npos);
}

TEST(Metrics, EscapesBackslashQuoteAndNewlineInLabelValues)
{
    EXPECT_EQ(Metrics::escapeLabelValue("plain"), "plain");
    EXPECT_EQ(Metrics::escapeLabelValue("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
    EXPECT_EQ(Metrics::escapeLabelValue("tab\tstays"), "tab\tstays");
}

TEST(Metrics, FormatsMillisecondsAsExactSeconds)
{
    EXPECT_EQ(Metrics::formatSeconds(0), "0");
    EXPECT_EQ(Metrics::formatSeconds(1500), "1.5");
    EXPECT_EQ(Metrics::formatSeconds(1001), "1.001");
    EXPECT_EQ(Metrics::formatSeconds(1'700'000'000'120), "1700000000.12");
    EXPECT_EQ(Metrics::formatSeconds(-2500), "-2.5");
    EXPECT_EQ(Metrics::formatSeconds(-999), "-0.999");
}

TEST_F(MetricsTest, TheOutboxBacklogIsReadFromTheStoreAtScrapeTime)
{
    store.routeNotifications({{"oncall", {"quarantined"}}});
    store::EventRow e;
    e.atMs = kNow - 90'500;
    e.credential = "payroll";
    e.event = "quarantined";
    store.appendEvent(e);
    const std::string text = metrics.render(settings, store, kNow, DaemonState{});
    EXPECT_NE(text.find("\nastra_rotator_notifications_pending 1\n"), std::string::npos) << text;
    EXPECT_NE(text.find("\nastra_rotator_notifications_oldest_pending_seconds 90.5\n"),
              std::string::npos);
}

} // namespace
} // namespace rotator::admin
