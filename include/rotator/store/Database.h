#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

struct sqlite3;

namespace rotator::store
{

class Statement;
class StatementCache;

/// How a `Database` is opened.
enum class OpenMode
{
    ReadWrite, ///< creates the file (mode 0600) when missing; WAL, synchronous=FULL
    ReadOnly,  ///< never writes; reads a WAL database while another process writes it
};

/// One SQLite connection (RAII over `sqlite3*`).
///
/// Owns the connection and closes it on destruction. Opening read-write creates the file with
/// mode 0600 and sets `journal_mode=WAL`, `synchronous=FULL`, `foreign_keys=ON`; every
/// connection waits up to 5 s for a lock (`busy_timeout`). A database file, -wal or -shm that
/// is a symbolic link, belongs to another user or is writable by its group or others is
/// refused before SQLite touches it (SQLITE_OPEN_NOFOLLOW besides). Movable, not copyable;
/// statements and transactions borrow the connection and must not outlive it. Not thread-safe:
/// one thread at a time. Every failure throws `core::StoreError` naming the path and SQLite's
/// message (SQL text may appear in messages; values never do, they are always bound).
class Database
{
public:
    explicit Database(std::string path, OpenMode mode = OpenMode::ReadWrite);
    ~Database();
    Database(Database&& other) noexcept;
    Database& operator=(Database&& other) noexcept;
    Database(const Database&) = delete;
    Database& operator=(const Database&) = delete;

    /// Runs one or more statements that take no parameters (DDL, PRAGMA, BEGIN ...).
    void exec(std::string_view sql);
    /// Prepares exactly one statement, or reuses an idle one prepared from the same SQL text
    /// (see `StatementCache`).
    Statement prepare(std::string_view sql);
    /// The single integer a query such as `PRAGMA user_version` returns (0 when no row).
    std::int64_t queryInt(std::string_view sql);

    std::int64_t lastInsertRowId() const;
    /// Rows changed by the last INSERT, UPDATE or DELETE.
    int changes() const;
    /// False while a transaction is open.
    bool autocommit() const;

    const std::string& path() const { return _path; }
    bool readOnly() const { return _mode == OpenMode::ReadOnly; }
    sqlite3* handle() const { return _db; }
    /// Where this connection's statements go back to after use.
    StatementCache* statementCache() const { return _cache.get(); }

private:
    /// Sets the connection's pragmas; returns why the file cannot be used (empty: fine).
    std::string configure();
    void close() noexcept;
    [[noreturn]] void fail(std::string_view what) const;

    sqlite3* _db = nullptr;
    std::unique_ptr<StatementCache> _cache;
    std::string _path;
    OpenMode _mode = OpenMode::ReadWrite;
};

} // namespace rotator::store
