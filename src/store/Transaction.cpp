#include "rotator/store/Transaction.h"

#include "rotator/store/Database.h"

namespace rotator::store
{

Transaction::Transaction(Database& db, TransactionMode mode) : _db(db)
{
    // Inside an open transaction a nested scope becomes a savepoint, so a store method that
    // opens its own transaction also works as one step of a larger atomic change.
    _nested = !_db.autocommit();
    if (_nested)
    {
        _db.exec("SAVEPOINT nested");
    }
    else
    {
        _db.exec(mode == TransactionMode::Immediate ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED");
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
    _db.exec(_nested ? "RELEASE nested" : "COMMIT");
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
        _db.exec("ROLLBACK TO nested");
        _db.exec("RELEASE nested");
    }
    else
    {
        _db.exec("ROLLBACK");
    }
}

} // namespace rotator::store
