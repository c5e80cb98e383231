#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace rotator::store
{

class Database;
class StatementCache;

/// One prepared SQL statement (RAII over `sqlite3_stmt*`).
///
/// Owns the statement until destruction, when it goes back to its connection's statement cache
/// (reset, bindings cleared) for the next `Database::prepare` of the same SQL. Parameters are bound by 1-based index,
/// columns are read by 0-based index (SQLite's conventions). Movable, not copyable; must not
/// outlive its `Database`. Not thread-safe. Errors throw `core::StoreError` with the database
/// path, SQLite's message and the statement's SQL text (never a bound value).
class Statement
{
public:
    Statement(Database& db, std::string_view sql);
    ~Statement();
    Statement(Statement&& other) noexcept;
    Statement& operator=(Statement&& other) noexcept;
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;

    Statement& bind(int index, std::int64_t value);
    Statement& bind(int index, int value) { return bind(index, static_cast<std::int64_t>(value)); }
    Statement& bind(int index, std::string_view value);
    Statement& bind(int index, const char* value) { return bind(index, std::string_view(value)); }
    Statement& bind(int index, const std::string& value)
    {
        return bind(index, std::string_view(value));
    }
    Statement& bindNull(int index);
    /// Binds the value, or NULL when empty.
    template <typename T> Statement& bind(int index, const std::optional<T>& value)
    {
        return value ? bind(index, *value) : bindNull(index);
    }

    /// Advances: true when a row is available, false when the statement is done.
    bool step();
    /// Runs a statement that returns no rows to completion; returns the rows changed.
    int execute();
    /// Makes the statement runnable again, keeping the bindings.
    void reset();
    /// Sets every parameter back to NULL.
    void clearBindings();

    int columnCount() const;
    std::string columnName(int column) const;
    bool isNull(int column) const;
    std::int64_t getInt64(int column) const;
    int getInt(int column) const;
    /// The text of a column; empty for NULL.
    std::string getText(int column) const;
    std::optional<std::int64_t> getOptionalInt64(int column) const;
    std::optional<std::string> getOptionalText(int column) const;

    /// The SQL text the statement was prepared from.
    std::string sql() const;

private:
    void check(int rc, std::string_view what) const;
    [[noreturn]] void fail(std::string_view what) const;
    void release() noexcept;

    sqlite3* _db = nullptr;
    sqlite3_stmt* _stmt = nullptr;
    std::string _path;
    StatementCache* _cache = nullptr; ///< where the statement goes back to (none: finalized)
    std::string _sql;                 ///< the text it was prepared from (the cache key)
};

} // namespace rotator::store
