#include <algorithm>
#include <cctype>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "rotator/core/Errors.h"
#include "rotator/core/Time.h"
#include "rotator/store/Database.h"
#include "rotator/store/Migrator.h"
#include "rotator/store/SqliteStateStore.h"
#include "rotator/store/Statement.h"
#include "rotator/store/Transaction.h"
#include "support/TempDir.h"

namespace rotator::store
{
namespace
{

constexpr std::int64_t kDay = 86'400'000;
constexpr std::int64_t kT0 = 1'700'000'000'000; // 2023-11-14T22:13:20Z

/// A 24-letter client ID made of one repeated letter.
std::string clientId(char letter)
{
    return std::string(24, letter);
}

core::ClientInfo client(char letter, std::vector<std::string> roles = {"role-a"},
                        std::int64_t generatedOnMs = kT0 - 10 * kDay)
{
    core::ClientInfo info;
    info.clientId = clientId(letter);
    info.roles = std::move(roles);
    info.generatedOnMs = generatedOnMs;
    info.generatedOn = core::formatRfc3339Ms(generatedOnMs);
    return info;
}

std::vector<std::string> eventNames(const std::vector<EventRow>& events)
{
    std::vector<std::string> names;
    for (const EventRow& event : events)
    {
        names.push_back(event.event + " " + event.clientId +
                        (event.detail.empty() ? "" : " " + event.detail));
    }
    return names;
}

std::map<std::string, std::string> statusByClient(const std::vector<ClientRow>& rows)
{
    std::map<std::string, std::string> result;
    for (const ClientRow& row : rows)
    {
        result[row.clientId] = row.status + "/" + row.credential;
    }
    return result;
}

EventRow event(std::int64_t atMs, const std::string& name, const std::string& credential = "",
               const std::string& client = "", const std::string& detail = "")
{
    EventRow row;
    row.atMs = atMs;
    row.event = name;
    row.credential = credential;
    row.clientId = client;
    row.detail = detail;
    return row;
}

class SqliteStateStoreTest : public ::testing::Test
{
protected:
    std::string path() const { return _dir.file("rotator.db"); }
    std::vector<EventRow> allEvents() const
    {
        HistoryQuery query;
        query.limit = 0;
        return _store.history(query);
    }

    test::TempDir _dir;
    SqliteStateStore _store{_dir.file("rotator.db")};
};

TEST_F(SqliteStateStoreTest, SyncRecordsNewClientsAsDiscovered)
{
    core::ClientInfo described = client('A', {"r1", "r \"2\"\n"});
    described.description = "astra-rotator billing 7";
    described.tokenExpiry = "2024-01-01T00:00:00Z";
    const SyncResult result = _store.syncInventory({described, client('B')}, kT0);
    EXPECT_EQ(result.discovered, 2);
    EXPECT_EQ(result.present, 2);
    EXPECT_EQ(result.disappeared, 0);

    const std::optional<ClientRow> row = _store.findClient(clientId('A'));
    ASSERT_TRUE(row);
    EXPECT_EQ(row->roles, (std::vector<std::string>{"r1", "r \"2\"\n"}));
    EXPECT_EQ(row->generatedOn, described.generatedOn);
    EXPECT_EQ(row->generatedOnMs, described.generatedOnMs);
    EXPECT_EQ(row->description, described.description);
    EXPECT_EQ(row->tokenExpiry, described.tokenExpiry);
    EXPECT_EQ(row->firstSeenMs, kT0);
    EXPECT_EQ(row->lastSeenMs, kT0);
    EXPECT_EQ(row->status, "unmanaged");
    EXPECT_EQ(row->credential, "");
    EXPECT_FALSE(_store.findClient(clientId('Z')));

    const std::vector<EventRow> events = allEvents();
    ASSERT_EQ(events.size(), 2U);
    EXPECT_EQ(events[0].event, "discovered");
    EXPECT_EQ(events[0].atMs, kT0);
}

TEST_F(SqliteStateStoreTest, ResyncingTheSameListRecordsNoEventsAndKeepsFirstSeen)
{
    _store.syncInventory({client('A'), client('B')}, kT0);
    const std::size_t before = allEvents().size();
    const SyncResult again = _store.syncInventory({client('B'), client('A')}, kT0 + 60'000);
    EXPECT_EQ(again.discovered + again.disappeared + again.reappeared, 0);
    EXPECT_EQ(again.present, 2);
    EXPECT_EQ(allEvents().size(), before);
    const std::optional<ClientRow> row = _store.findClient(clientId('A'));
    ASSERT_TRUE(row);
    EXPECT_EQ(row->firstSeenMs, kT0);
    EXPECT_EQ(row->lastSeenMs, kT0 + 60'000);
}

TEST_F(SqliteStateStoreTest, SyncUpdatesRolesAndDescriptionOfPresentClients)
{
    _store.syncInventory({client('A', {"old"})}, kT0);
    core::ClientInfo changed = client('A', {"new-1", "new-2"});
    changed.description = "now described";
    _store.syncInventory({changed}, kT0 + 1);
    const std::optional<ClientRow> row = _store.findClient(clientId('A'));
    ASSERT_TRUE(row);
    EXPECT_EQ(row->roles, (std::vector<std::string>{"new-1", "new-2"}));
    EXPECT_EQ(row->description, std::optional<std::string>("now described"));
}

TEST_F(SqliteStateStoreTest, AnAbsentClientDisappearsOnceAndReappearsAsDiscovered)
{
    _store.syncInventory({client('A'), client('B')}, kT0);
    const SyncResult gone = _store.syncInventory({client('A')}, kT0 + 1000);
    EXPECT_EQ(gone.disappeared, 1);
    std::optional<ClientRow> row = _store.findClient(clientId('B'));
    ASSERT_TRUE(row);
    EXPECT_EQ(row->disappearedMs, std::optional<std::int64_t>(kT0 + 1000));
    EXPECT_EQ(row->status, "missing");

    EXPECT_EQ(_store.syncInventory({client('A')}, kT0 + 2000).disappeared, 0)
        << "a missing client does not disappear twice";

    const SyncResult back = _store.syncInventory({client('A'), client('B')}, kT0 + 3000);
    EXPECT_EQ(back.reappeared, 1);
    EXPECT_EQ(back.discovered, 0);
    row = _store.findClient(clientId('B'));
    ASSERT_TRUE(row);
    EXPECT_FALSE(row->disappearedMs);
    EXPECT_EQ(row->status, "unmanaged");
    EXPECT_EQ(row->firstSeenMs, kT0);

    HistoryQuery query;
    query.clientId = clientId('B');
    EXPECT_EQ(
        eventNames(_store.history(query)),
        (std::vector<std::string>{"discovered " + clientId('B') + " reappeared",
                                  "disappeared " + clientId('B'), "discovered " + clientId('B')}));
}

TEST_F(SqliteStateStoreTest, SyncOnlyTracksWhetherARevokedClientIsStillListed)
{
    _store.syncInventory({client('A', {"original"})}, kT0);
    EXPECT_TRUE(_store.markClientRevoked(clientId('A'), kT0 + 10));
    EXPECT_FALSE(_store.markClientRevoked(clientId('A'), kT0 + 20)) << "already marked";
    EXPECT_FALSE(_store.markClientRevoked(clientId('Z'), kT0 + 20)) << "unknown";
    const std::size_t before = allEvents().size();

    EXPECT_EQ(_store.syncInventory({}, kT0 + 100).disappeared, 0);
    EXPECT_EQ(_store.findClient(clientId('A'))->disappearedMs,
              std::optional<std::int64_t>(kT0 + 100))
        << "a revoked client no longer listed is gone (ages hides it)";
    _store.syncInventory({client('A', {"changed"})}, kT0 + 200);
    EXPECT_EQ(allEvents().size(), before);
    const std::optional<ClientRow> row = _store.findClient(clientId('A'));
    ASSERT_TRUE(row);
    EXPECT_EQ(row->roles, std::vector<std::string>{"original"});
    EXPECT_EQ(row->revokedMs, std::optional<std::int64_t>(kT0 + 10));
    EXPECT_FALSE(row->disappearedMs);
    EXPECT_EQ(row->lastSeenMs, kT0 + 200);
    EXPECT_EQ(row->status, "revoked");
}

TEST_F(SqliteStateStoreTest, AFailingSyncChangesNothing)
{
    _store.syncInventory({client('A')}, kT0);
    core::ClientInfo bad = client('B');
    bad.clientId.clear(); // violates the CHECK on client_id
    EXPECT_THROW(_store.syncInventory({client('C'), bad}, kT0 + 1), core::StoreError);
    EXPECT_EQ(_store.listClients().size(), 1U);
    EXPECT_FALSE(_store.findClient(clientId('A'))->disappearedMs);
    EXPECT_EQ(allEvents().size(), 1U);
}

TEST_F(SqliteStateStoreTest, InventoryEventsNameTheCredentialOfTheClient)
{
    _store.syncInventory({client('A')}, kT0);
    _store.ensureCredentials({"billing"}, kT0);
    CredentialRow billing = *_store.findCredential("billing");
    billing.currentClientId = clientId('A');
    billing.updatedMs = kT0;
    _store.saveCredential(billing);
    _store.syncInventory({}, kT0 + 1);

    HistoryQuery query;
    query.credential = "billing";
    const std::vector<EventRow> events = _store.history(query);
    ASSERT_EQ(events.size(), 1U);
    EXPECT_EQ(events[0].event, "disappeared");
    EXPECT_EQ(events[0].clientId, clientId('A'));
}

TEST_F(SqliteStateStoreTest, HistoryFiltersByCredentialClientSinceAndLimitNewestFirst)
{
    _store.appendEvent(event(kT0 + 1, "created", "billing", clientId('A'), "first"));
    _store.appendEvent(event(kT0 + 3, "verified", "billing", clientId('A')));
    _store.appendEvent(event(kT0 + 2, "created", "search", clientId('B')));
    _store.appendEvent(event(kT0 + 3, "delivered", "billing", clientId('A'), "tie: id decides"));
    _store.appendEvent(event(kT0 + 4, "unattributed", "", clientId('C')));

    HistoryQuery all;
    all.limit = 0;
    const std::vector<EventRow> everything = _store.history(all);
    ASSERT_EQ(everything.size(), 5U);
    EXPECT_EQ(everything[0].event, "unattributed");
    EXPECT_EQ(everything[0].credential, "");
    EXPECT_EQ(everything[1].event, "delivered");
    EXPECT_EQ(everything[2].event, "verified");
    EXPECT_EQ(everything[3].event, "created");
    EXPECT_EQ(everything[3].clientId, clientId('B'));
    EXPECT_EQ(everything[4].detail, "first");

    HistoryQuery byCredential;
    byCredential.credential = "billing";
    EXPECT_EQ(_store.history(byCredential).size(), 3U);

    HistoryQuery byClient;
    byClient.clientId = clientId('B');
    ASSERT_EQ(_store.history(byClient).size(), 1U);
    EXPECT_EQ(_store.history(byClient)[0].credential, "search");

    HistoryQuery since;
    since.sinceMs = kT0 + 3;
    EXPECT_EQ(_store.history(since).size(), 3U);

    HistoryQuery limited;
    limited.credential = "billing";
    limited.sinceMs = kT0 + 2;
    limited.limit = 1;
    const std::vector<EventRow> one = _store.history(limited);
    ASSERT_EQ(one.size(), 1U);
    EXPECT_EQ(one[0].event, "delivered");
}

TEST_F(SqliteStateStoreTest, TheHistoryViewShowsRfc3339TimesNewestFirst)
{
    _store.appendEvent(event(kT0 + 5, "created", "billing", clientId('A')));
    _store.appendEvent(event(kT0 + 1234, "revoked", "billing", clientId('A'), "old client"));
    Database db(path(), OpenMode::ReadOnly);
    Statement query = db.prepare("SELECT at, at_ms, credential, client_id, event, detail "
                                 "FROM history");
    ASSERT_TRUE(query.step());
    EXPECT_EQ(query.getText(0), core::formatRfc3339Ms(kT0 + 1234));
    EXPECT_EQ(query.getText(0), "2023-11-14T22:13:21.234Z");
    EXPECT_EQ(query.getText(4), "revoked");
    EXPECT_EQ(query.getText(5), "old client");
    ASSERT_TRUE(query.step());
    EXPECT_EQ(query.getText(0), "2023-11-14T22:13:20.005Z");
    EXPECT_FALSE(query.step());
}

TEST_F(SqliteStateStoreTest, AppendEventRefusesAnUnknownEventName)
{
    EXPECT_THROW(_store.appendEvent(event(kT0, "exploded")), core::StoreError);
    const std::int64_t first = _store.appendEvent(event(kT0, "adopted", "billing"));
    EXPECT_GT(_store.appendEvent(event(kT0, "adopted", "search")), first);
}

TEST_F(SqliteStateStoreTest, TokenAgesDerivesEveryStatusAndListClientsAgrees)
{
    // A current, B previous, C unmanaged, D missing, E revoked.
    const core::ClientInfo a = client('A', {"r"}, kT0 - 2 * kDay);
    const core::ClientInfo b = client('B', {"r"}, kT0 - 5 * kDay);
    _store.syncInventory({a, b, client('C'), client('D'), client('E')}, kT0);
    _store.syncInventory({a, b, client('C'), client('E')}, kT0 + 1);
    _store.markClientRevoked(clientId('E'), kT0 + 2);
    _store.ensureCredentials({"billing"}, kT0);
    CredentialRow billing = *_store.findCredential("billing");
    billing.currentClientId = clientId('A');
    billing.previousClientId = clientId('B');
    billing.state = rotator::core::CredentialState::Grace;
    billing.revokeAfterMs = kT0 + kDay;
    billing.updatedMs = kT0 + 3;
    _store.saveCredential(billing);

    const std::map<std::string, std::string> expected = {
        {clientId('A'), "current/billing"}, {clientId('B'), "previous/billing"},
        {clientId('C'), "unmanaged/"},      {clientId('D'), "missing/"},
        {clientId('E'), "revoked/"},
    };
    EXPECT_EQ(statusByClient(_store.listClients()), expected);

    Database db(path(), OpenMode::ReadOnly);
    Statement view = db.prepare(
        "SELECT client_id, coalesce(credential, ''), status, roles, generated_on, age_seconds,"
        " CAST(strftime('%s', 'now') AS INTEGER) FROM token_ages");
    std::map<std::string, std::string> fromView;
    while (view.step())
    {
        fromView[view.getText(0)] = view.getText(2) + "/" + view.getText(1);
        if (view.getText(0) == clientId('B'))
        {
            EXPECT_EQ(view.getText(3), "[\"r\"]");
            EXPECT_EQ(view.getText(4), core::formatRfc3339Ms(kT0 - 5 * kDay));
            // age = now - generatedOn, with the view's own idea of now
            EXPECT_EQ(view.getInt64(5), view.getInt64(6) - (kT0 - 5 * kDay) / 1000);
        }
    }
    EXPECT_EQ(fromView, expected);
}

TEST_F(SqliteStateStoreTest, ListClientsIsOrderedOldestFirst)
{
    _store.syncInventory({client('A', {}, kT0 - kDay), client('B', {}, kT0 - 3 * kDay),
                          client('C', {}, kT0 - 2 * kDay)},
                         kT0);
    const std::vector<ClientRow> rows = _store.listClients();
    ASSERT_EQ(rows.size(), 3U);
    EXPECT_EQ(rows[0].clientId, clientId('B'));
    EXPECT_EQ(rows[1].clientId, clientId('C'));
    EXPECT_EQ(rows[2].clientId, clientId('A'));
    EXPECT_TRUE(rows[0].roles.empty());
}

TEST_F(SqliteStateStoreTest, CredentialsAreEnsuredOnceAndSavedWhole)
{
    _store.ensureCredentials({"search", "billing"}, kT0);
    _store.ensureCredentials({"billing", "new"}, kT0 + 5);
    std::vector<CredentialRow> rows = _store.listCredentials();
    ASSERT_EQ(rows.size(), 3U);
    EXPECT_EQ(rows[0].name, "billing");
    EXPECT_EQ(rows[0].state, rotator::core::CredentialState::Idle);
    EXPECT_EQ(rows[0].createdMs, kT0);
    EXPECT_EQ(rows[0].currentClientId, "");
    EXPECT_EQ(rows[1].name, "new");
    EXPECT_EQ(rows[1].createdMs, kT0 + 5);

    CredentialRow billing = rows[0];
    billing.currentClientId = clientId('A');
    billing.state = rotator::core::CredentialState::Failed;
    billing.consecutiveFailures = 3;
    billing.nextAttemptMs = kT0 + 60'000;
    billing.lastSuccessMs = kT0 - kDay;
    billing.updatedMs = kT0 + 10;
    _store.saveCredential(billing);
    const std::optional<CredentialRow> saved = _store.findCredential("billing");
    ASSERT_TRUE(saved);
    EXPECT_EQ(saved->currentClientId, clientId('A'));
    EXPECT_EQ(saved->previousClientId, "");
    EXPECT_EQ(saved->state, rotator::core::CredentialState::Failed);
    EXPECT_EQ(saved->consecutiveFailures, 3);
    EXPECT_EQ(saved->nextAttemptMs, billing.nextAttemptMs);
    EXPECT_EQ(saved->lastSuccessMs, billing.lastSuccessMs);
    EXPECT_FALSE(saved->lastRotationId);
    EXPECT_EQ(saved->createdMs, kT0);
    EXPECT_EQ(saved->updatedMs, kT0 + 10);
    EXPECT_FALSE(_store.findCredential("unknown"));

    billing.lastRotationId = 99; // no such rotation
    EXPECT_THROW(_store.saveCredential(billing), core::StoreError);
}

TEST_F(SqliteStateStoreTest, SavingACredentialChangesItsClientsOnlyWhenTheyChangeAndAllOrNothing)
{
    _store.ensureCredentials({"search"}, kT0);
    CredentialRow row = *_store.findCredential("search");
    row.currentClientId = clientId('A');
    row.updatedMs = kT0 + 1;
    _store.saveCredential(row);

    // A save that leaves the clients as they are (the client columns are written apart).
    row.state = rotator::core::CredentialState::Rotating;
    row.updatedMs = kT0 + 2;
    _store.saveCredential(row);
    auto saved = _store.findCredential("search");
    ASSERT_TRUE(saved);
    EXPECT_EQ(saved->state, rotator::core::CredentialState::Rotating);
    EXPECT_EQ(saved->currentClientId, clientId('A'));
    EXPECT_EQ(saved->previousClientId, "");

    // A promotion: both client columns change, with the rest.
    row.currentClientId = clientId('B');
    row.previousClientId = clientId('A');
    row.state = rotator::core::CredentialState::Grace;
    row.updatedMs = kT0 + 3;
    _store.saveCredential(row);
    saved = _store.findCredential("search");
    EXPECT_EQ(saved->currentClientId, clientId('B'));
    EXPECT_EQ(saved->previousClientId, clientId('A'));
    EXPECT_EQ(saved->state, rotator::core::CredentialState::Grace);

    // Back to NULL (the old client revoked).
    row.previousClientId.clear();
    row.state = rotator::core::CredentialState::Idle;
    row.updatedMs = kT0 + 4;
    _store.saveCredential(row);
    saved = _store.findCredential("search");
    EXPECT_EQ(saved->currentClientId, clientId('B'));
    EXPECT_EQ(saved->previousClientId, "");
    EXPECT_EQ(saved->updatedMs, kT0 + 4);

    // The clients' CHECK fails after the other columns were written: nothing of it stays.
    CredentialRow bad = row;
    bad.previousClientId = clientId('B'); // the same as current
    bad.state = rotator::core::CredentialState::Failed;
    bad.updatedMs = kT0 + 5;
    EXPECT_THROW(_store.saveCredential(bad), core::StoreError);
    saved = _store.findCredential("search");
    EXPECT_EQ(saved->state, rotator::core::CredentialState::Idle);
    EXPECT_EQ(saved->previousClientId, "");
    EXPECT_EQ(saved->updatedMs, kT0 + 4);

    // A credential saved before it was ensured is created whole.
    CredentialRow fresh;
    fresh.name = "billing";
    fresh.currentClientId = clientId('C');
    fresh.state = rotator::core::CredentialState::Grace;
    fresh.consecutiveFailures = 2;
    fresh.createdMs = kT0 + 6;
    fresh.updatedMs = kT0 + 7;
    _store.saveCredential(fresh);
    saved = _store.findCredential("billing");
    ASSERT_TRUE(saved);
    EXPECT_EQ(saved->currentClientId, clientId('C'));
    EXPECT_EQ(saved->previousClientId, "");
    EXPECT_EQ(saved->state, rotator::core::CredentialState::Grace);
    EXPECT_EQ(saved->consecutiveFailures, 2);
    EXPECT_EQ(saved->createdMs, kT0 + 6);
    EXPECT_EQ(saved->updatedMs, kT0 + 7);
}

TEST_F(SqliteStateStoreTest, AReaderOpenedReadOnlySeesCommittedDataWhileAWriterHoldsATransaction)
{
    _store.syncInventory({client('A'), client('B')}, kT0);

    Database writer(path());
    Transaction open(writer);
    writer.exec("INSERT INTO events (at_ms, event) VALUES (1, 'unattributed')");
    writer.exec("UPDATE clients SET roles = '[\"uncommitted\"]'");

    const std::unique_ptr<SqliteStateStore> reader = SqliteStateStore::openReadOnly(path());
    const std::vector<ClientRow> clients = reader->listClients();
    ASSERT_EQ(clients.size(), 2U);
    EXPECT_EQ(clients[0].roles, std::vector<std::string>{"role-a"});
    HistoryQuery query;
    EXPECT_EQ(reader->history(query).size(), 2U);

    open.commit();
    EXPECT_EQ(reader->history(query).size(), 3U);
    EXPECT_EQ(reader->listClients()[0].roles, std::vector<std::string>{"uncommitted"});
}

TEST_F(SqliteStateStoreTest, AStoreOpenedReadOnlyRefusesToWrite)
{
    const std::unique_ptr<SqliteStateStore> reader = SqliteStateStore::openReadOnly(path());
    EXPECT_THROW(reader->syncInventory({client('A')}, kT0), core::StoreError);
    EXPECT_THROW(reader->appendEvent(event(kT0, "adopted")), core::StoreError);
    EXPECT_THROW(reader->ensureCredentials({"billing"}, kT0), core::StoreError);
    EXPECT_TRUE(reader->listClients().empty());
}

TEST_F(SqliteStateStoreTest, OpenReadOnlyRefusesAMissingOrUnmigratedFile)
{
    EXPECT_THROW(SqliteStateStore::openReadOnly(_dir.file("absent.db")), core::StoreError);
    {
        Database empty(_dir.file("empty.db"));
    }
    try
    {
        SqliteStateStore::openReadOnly(_dir.file("empty.db"));
        FAIL() << "opened a database without schema";
    }
    catch (const core::StoreError& e)
    {
        EXPECT_NE(std::string(e.what()).find("astra-rotator migrate"), std::string::npos)
            << e.what();
    }
}

TEST_F(SqliteStateStoreTest, ReopeningKeepsTheDataAndMigratesNothing)
{
    _store.syncInventory({client('A')}, kT0);
    SqliteStateStore again(path());
    EXPECT_EQ(again.listClients().size(), 1U);
    EXPECT_EQ(again.history(HistoryQuery{}).size(), 1U);
}

TEST_F(SqliteStateStoreTest, NoColumnAnywhereIsNamedLikeASecretOrAToken)
{
    // token_expiry is the API's tokenExpiry: an instant, not a token.
    const std::vector<std::string> allowed = {"token_expiry"};
    Database db(path(), OpenMode::ReadOnly);
    Statement objects = db.prepare("SELECT name FROM sqlite_schema WHERE type IN ('table', 'view') "
                                   "AND name NOT LIKE 'sqlite%'");
    int columns = 0;
    while (objects.step())
    {
        const std::string object = objects.getText(0);
        Statement info = db.prepare("SELECT name FROM pragma_table_info(?1)");
        info.bind(1, object);
        while (info.step())
        {
            ++columns;
            std::string column = info.getText(0);
            std::transform(column.begin(), column.end(), column.begin(),
                           [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
            if (std::find(allowed.begin(), allowed.end(), column) != allowed.end())
            {
                continue;
            }
            for (const char* word : {"secret", "token", "password", "bearer"})
            {
                EXPECT_EQ(column.find(word), std::string::npos) << object << "." << column;
            }
        }
    }
    EXPECT_GT(columns, 40);
}

} // namespace
} // namespace rotator::store
