#include <string>

#include <gtest/gtest.h>

#include "rotator/store/Database.h"
#include "rotator/store/Migrator.h"
#include "rotator/store/Statement.h"
#include "support/TempDir.h"

namespace rotator::store
{
namespace
{

/// The query plan SQLite chooses, one detail per line.
std::string planOf(Database& db, const std::string& sql)
{
    std::string plan;
    Statement explain = db.prepare("EXPLAIN QUERY PLAN " + sql);
    while (explain.step())
    {
        plan += explain.getText(3) + "\n";
    }
    return plan;
}

// token_ages looks up each client's credential by current_client_id and previous_client_id;
// without an index on those columns every client walks the whole credentials table
// (10,000 clients x 1,000 credentials: `ages` took 11 s, scripts/bench ops).
TEST(TokenAgesPlan, FindsTheCredentialOfAClientThroughAnIndex)
{
    test::TempDir dir;
    Database db(dir.file("rotator.db"));
    Migrator(db).migrate();
    const std::string plan = planOf(db, "SELECT * FROM token_ages");
    EXPECT_NE(plan.find("INDEX credentials_by_current_client (current_client_id=?)"),
              std::string::npos)
        << plan;
    EXPECT_NE(plan.find("INDEX credentials_by_previous_client (previous_client_id=?)"),
              std::string::npos)
        << plan;
}

// `history --limit=N` reads the newest events from the time index, without sorting the table.
TEST(TokenAgesPlan, HistoryNewestFirstNeedsNoSort)
{
    test::TempDir dir;
    Database db(dir.file("rotator.db"));
    Migrator(db).migrate();
    const std::string plan =
        planOf(db, "SELECT id FROM events ORDER BY at_ms DESC, id DESC LIMIT 100");
    EXPECT_NE(plan.find("events_by_time"), std::string::npos) << plan;
    EXPECT_EQ(plan.find("TEMP B-TREE"), std::string::npos) << plan;
}

} // namespace
} // namespace rotator::store
