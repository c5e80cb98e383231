#include "rotator/store/Transaction.h"

#include "rotator/store/Database.h"

namespace rotator::store
{

Transaction::Transaction(Database& db, TransactionMode mode) : _db(db)
{
    _db.exec(mode == TransactionMode::Immediate ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED");
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
    _db.exec("COMMIT");
    _active = false;
}

void Transaction::rollback()
{
    _active = false;
    if (!_db.autocommit())
    {
        _db.exec("ROLLBACK");
    }
}

} // namespace rotator::store
