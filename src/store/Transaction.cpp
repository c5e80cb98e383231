#include "rotator/store/Transaction.h"

#include "rotator/store/Database.h"
#include "rotator/store/Statement.h"

namespace rotator::store
{
namespace
{

// Through prepare, so the connection's statement cache parses each of these once.
void run(Database& db, std::string_view sql)
{
    db.prepare(sql).execute();
}

} // namespace

Transaction::Transaction(Database& db, TransactionMode mode) : _db(db)
{
    // Inside an open transaction a nested scope becomes a savepoint, so a store method that
    // opens its own transaction also works as one step of a larger atomic change.
    _nested = !_db.autocommit();
    if (_nested)
    {
        run(_db, "SAVEPOINT nested");
    }
    else
    {
        run(_db, mode == TransactionMode::Immediate ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED");
    }
    _active = true;
}

Transaction::~Transaction()
{
    if (_active)
    {
        try
        {
            rollback();
        }
        catch (...)
        {
            // Never throw from a destructor: SQLite has already rolled back after the errors
            // that make ROLLBACK fail (I/O, full disk), and the connection stays usable.
        }
    }
}

void Transaction::commit()
{
    run(_db, _nested ? "RELEASE nested" : "COMMIT");
    _active = false;
}

void Transaction::rollback()
{
    _active = false;
    if (_db.autocommit())
    {
        return;
    }
    if (_nested)
    {
        run(_db, "ROLLBACK TO nested");
        run(_db, "RELEASE nested");
    }
    else
    {
        run(_db, "ROLLBACK");
    }
}

} // namespace rotator::store
