#pragma once

namespace rotator::store
{

class Database;

/// How a transaction takes its locks.
enum class TransactionMode
{
    Immediate, ///< BEGIN IMMEDIATE: the write lock at once, so no upgrade deadlock later
    Deferred,  ///< BEGIN: a read snapshot (the only kind a read-only connection can open)
};

/// A transaction scope: begins on construction, rolls back on destruction unless `commit()`
/// succeeded. Opened inside another transaction it is a savepoint of it (nestable).
///
/// Owns nothing but the open transaction of the borrowed `Database`; must not outlive it.
/// Not copyable, not movable, not thread-safe. The constructor and `commit()` throw
/// `core::StoreError`; the destructor never throws (a failed rollback is ignored: SQLite then
/// has already rolled back, or the connection is closing).
class Transaction
{
public:
    explicit Transaction(Database& db, TransactionMode mode = TransactionMode::Immediate);
    ~Transaction();
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    Transaction(Transaction&&) = delete;
    Transaction& operator=(Transaction&&) = delete;

    void commit();
    /// Rolls back now (the destructor then does nothing).
    void rollback();
    bool active() const { return _active; }

private:
    Database& _db;
    bool _active = false;
    bool _nested = false;
};

} // namespace rotator::store
