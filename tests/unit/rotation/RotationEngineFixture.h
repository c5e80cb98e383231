#pragma once

// The fixture of the engine's unit tests: one credential over a fake org, a real SQLite file and
// a real pending directory. Shared by RotationEngineTest and FieldSafetyTest.

#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <sys/stat.h>

#include "rotator/rotation/RotationEngine.h"
#include "rotator/store/Journal.h"
#include "rotator/store/SqliteStateStore.h"
#include "support/FakeClock.h"
#include "support/FakeTokenApi.h"
#include "support/RecordingSink.h"
#include "support/TempDir.h"

namespace
{

using namespace rotator;
using test::FakeTokenApi;

constexpr std::int64_t kDay = 86'400'000;
constexpr std::int64_t kHour = 3'600'000;

struct Crash
{
    std::string point;
};

/// One credential ("billing", two recording sinks) over a fake org, a real SQLite file and a
/// real pending directory; the engine can be torn down and rebuilt from them at any time.
class RotationEngineTest : public ::testing::Test
{
protected:
    RotationEngineTest() : api(clock)
    {
        settings.state.dir = dir.path();
        settings.astra.propagationTimeoutMs = 10'000;
        settings.scheduler.maxFailures = 3;
        settings.scheduler.retryBackoffMs = 60'000;
        settings.scheduler.concurrency = 1;
        config::CredentialSettings c;
        c.name = "billing";
        c.roles = {"Database Administrator"};
        c.maxAgeMs = 30 * kDay;
        c.gracePeriodMs = kHour;
        c.sinks = {"a", "b"};
        settings.credentials = {c};
        ::mkdir(dir.file("pending").c_str(), 0700);
        unmanaged = api.seedClient({api.roles[1].id}, clock.nowMs() - 400 * kDay);
        reopenStore();
    }

    void adoptOldClient(std::int64_t ageMs = 31 * kDay)
    {
        oldClient = api.seedClient({api.roles[1].id}, clock.nowMs() - ageMs);
        settings.credentials[0].clientId = oldClient;
    }

    void reopenStore()
    {
        store.reset();
        store = std::make_unique<store::SqliteStateStore>(dir.file("rotator.db"));
    }

    std::unique_ptr<rotation::RotationEngine> engine()
    {
        std::map<std::string, std::unique_ptr<sink::SecretSink>> sinks;
        sinks["a"] = std::make_unique<test::RecordingSink>("a", a);
        sinks["b"] = std::make_unique<test::RecordingSink>("b", b);
        for (const auto& [name, record] : extraSinks)
        {
            sinks[name] = std::make_unique<test::RecordingSink>(name, record);
        }
        // As the daemon's runtime builds it for settings.scheduler.concurrency. Each engine gets
        // its own journal on the store of the moment (a test may reopen it between engines).
        journals.push_back(store::makeJournal(*store, settings.scheduler.concurrency));
        return std::make_unique<rotation::RotationEngine>(
            settings, api, *journals.back(), std::move(sinks),
            rotation::PendingFiles(dir.file("pending")), clock);
    }

    store::CredentialRow credential() { return store->findCredential("billing").value(); }

    std::vector<std::string> events()
    {
        store::HistoryQuery q;
        q.credential = "billing";
        q.limit = 1000;
        std::vector<std::string> out;
        for (const auto& e : store->history(q))
        {
            out.insert(out.begin(), e.event);
        }
        return out;
    }

    std::size_t pendingFiles()
    {
        std::size_t n = 0;
        for ([[maybe_unused]] const auto& e :
             std::filesystem::directory_iterator(dir.file("pending")))
        {
            ++n;
        }
        return n;
    }

    /// The invariants of PRODUCT.md §3, checked against the fake org and the sinks.
    void checkInvariants(const std::string& when, bool createInFlight = false)
    {
        SCOPED_TRACE(when);
        // A sink that ever received a credential holds one that is valid at the API.
        for (const auto* record : {a.get(), b.get()})
        {
            if (!record->clientId.empty())
            {
                EXPECT_TRUE(api.exists(record->clientId))
                    << "a sink holds revoked client " << record->clientId;
            }
        }
        // What the rotator did not create or adopt is never revoked.
        EXPECT_TRUE(api.exists(unmanaged));
        for (const auto& id : othersClients)
        {
            EXPECT_TRUE(api.exists(id)) << "revoked client " << id << " of someone else";
        }
        // The old client goes only after every sink holds the new one.
        if (!oldClient.empty() && !api.exists(oldClient))
        {
            EXPECT_FALSE(a->clientId.empty());
            EXPECT_EQ(a->clientId, b->clientId);
            EXPECT_NE(a->clientId, oldClient);
        }
        // No orphan: every client is accounted for by the credential or a rotation in flight.
        std::set<std::string> accounted = othersClients;
        accounted.insert(unmanaged);
        const auto row = store->findCredential("billing");
        if (row)
        {
            accounted.insert(row->currentClientId);
            accounted.insert(row->previousClientId);
        }
        if (!oldClient.empty())
        {
            accounted.insert(oldClient);
        }
        for (const auto& r : store->unfinishedRotations())
        {
            accounted.insert(r.newClientId);
        }
        // (Right after a crash a create may be in flight, unjournaled: the next pass decides.)
        for (const auto& id : api.clientIds())
        {
            EXPECT_TRUE(createInFlight || accounted.count(id)) << "orphan client " << id;
        }
    }

    /// Passes until the credential is rotated and the old client revoked (or `max` passes).
    void converge(int max = 8)
    {
        for (int i = 0; i < max; ++i)
        {
            auto e = engine();
            e->runPass();
            checkInvariants("pass " + std::to_string(i));
            clock.advanceMs(2 * kHour);
            const auto row = store->findCredential("billing");
            if (row && row->previousClientId.empty() && !row->currentClientId.empty() &&
                row->currentClientId != oldClient && store->unfinishedRotations().empty())
            {
                return;
            }
        }
    }

    test::TempDir dir;
    test::FakeClock clock{1'790'000'000'000};
    FakeTokenApi api;
    config::Settings settings;
    std::unique_ptr<store::SqliteStateStore> store;
    std::vector<std::unique_ptr<store::Journal>> journals; ///< one per engine() (borrow `store`)
    std::shared_ptr<test::SinkRecord> a = std::make_shared<test::SinkRecord>();
    std::shared_ptr<test::SinkRecord> b = std::make_shared<test::SinkRecord>();
    std::map<std::string, std::shared_ptr<test::SinkRecord>> extraSinks;
    std::string unmanaged;
    std::string oldClient;
    std::set<std::string> othersClients; ///< made by someone else (another installation)
};

core::Failure failure(core::FailureKind kind, const std::string& message, int status = 0,
                      bool ambiguous = false)
{
    return test::makeTestFailure(kind, message, status, ambiguous);
}

} // namespace
