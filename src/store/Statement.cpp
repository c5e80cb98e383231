#include "rotator/store/Statement.h"

#include <cstdint>
#include <limits>
#include <utility>

#include <sqlite3.h>

#include "rotator/core/Errors.h"
#include "rotator/store/Database.h"

#include "StatementCache.h"

namespace rotator::store
{
namespace
{

// SQLITE_TRANSIENT is a C cast in a macro; spell the same value without one.
const sqlite3_destructor_type kTransient =
    reinterpret_cast<sqlite3_destructor_type>(static_cast<std::intptr_t>(-1));

} // namespace

Statement::Statement(Database& db, std::string_view sql)
    : _db(db.handle()), _path(db.path()), _cache(db.statementCache()), _sql(sql)
{
    if (_db == nullptr)
    {
        throw core::StoreError(_path + ": prepare on a closed database");
    }
    if (_cache != nullptr)
    {
        _stmt = _cache->take(sql);
        if (_stmt != nullptr)
        {
            return;
        }
    }
    if (sql.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()))
    {
        throw core::StoreError(_path + ": statement too long");
    }
    const char* tail = nullptr;
    const int rc = sqlite3_prepare_v3(_db, sql.data(), static_cast<int>(sql.size()),
                                      SQLITE_PREPARE_PERSISTENT, &_stmt, &tail);
    if (rc != SQLITE_OK)
    {
        throw core::StoreError(_path + ": " + sqlite3_errmsg(_db) + " (in: " + std::string(sql) +
                               ")");
    }
    if (_stmt == nullptr)
    {
        throw core::StoreError(_path + ": no statement in: " + std::string(sql));
    }
    const std::string_view rest = sql.substr(static_cast<std::size_t>(tail - sql.data()));
    if (rest.find_first_not_of(" \t\r\n;") != std::string_view::npos)
    {
        sqlite3_finalize(_stmt);
        _stmt = nullptr;
        throw core::StoreError(_path + ": more than one statement in: " + std::string(sql));
    }
}

Statement::~Statement()
{
    release();
}

void Statement::release() noexcept
{
    if (_stmt == nullptr)
    {
        return;
    }
    if (_cache != nullptr)
    {
        _cache->give(_sql, _stmt);
    }
    else
    {
        sqlite3_finalize(_stmt);
    }
    _stmt = nullptr;
}

Statement::Statement(Statement&& other) noexcept
    : _db(std::exchange(other._db, nullptr)), _stmt(std::exchange(other._stmt, nullptr)),
      _path(std::move(other._path)), _cache(std::exchange(other._cache, nullptr)),
      _sql(std::move(other._sql))
{
}

Statement& Statement::operator=(Statement&& other) noexcept
{
    if (this != &other)
    {
        release();
        _db = std::exchange(other._db, nullptr);
        _stmt = std::exchange(other._stmt, nullptr);
        _path = std::move(other._path);
        _cache = std::exchange(other._cache, nullptr);
        _sql = std::move(other._sql);
    }
    return *this;
}

void Statement::fail(std::string_view what) const
{
    std::string message = _path + ": " + std::string(what);
    if (_db != nullptr)
    {
        message += ": ";
        message += sqlite3_errmsg(_db);
    }
    if (_stmt != nullptr)
    {
        message += " (in: ";
        message += sqlite3_sql(_stmt);
        message += ")";
    }
    throw core::StoreError(message);
}

void Statement::check(int rc, std::string_view what) const
{
    if (rc != SQLITE_OK)
    {
        fail(what);
    }
}

Statement& Statement::bind(int index, std::int64_t value)
{
    check(sqlite3_bind_int64(_stmt, index, static_cast<sqlite3_int64>(value)), "bind");
    return *this;
}

Statement& Statement::bind(int index, std::string_view value)
{
    // A non-null pointer even for an empty view: a null pointer would bind NULL, not ''.
    const char* data = value.data() != nullptr ? value.data() : "";
    check(sqlite3_bind_text64(_stmt, index, data, static_cast<sqlite3_uint64>(value.size()),
                              kTransient, SQLITE_UTF8),
          "bind");
    return *this;
}

Statement& Statement::bindNull(int index)
{
    check(sqlite3_bind_null(_stmt, index), "bind");
    return *this;
}

bool Statement::step()
{
    const int rc = sqlite3_step(_stmt);
    if (rc == SQLITE_ROW)
    {
        return true;
    }
    if (rc == SQLITE_DONE)
    {
        return false;
    }
    std::string message = _path + ": " + sqlite3_errmsg(_db) + " (in: " + sqlite3_sql(_stmt) + ")";
    sqlite3_reset(_stmt);
    throw core::StoreError(message);
}

int Statement::execute()
{
    while (step())
    {
    }
    return sqlite3_changes(_db);
}

void Statement::reset()
{
    // The return code repeats the last step's error, which step() already reported.
    sqlite3_reset(_stmt);
}

void Statement::clearBindings()
{
    sqlite3_clear_bindings(_stmt);
}

int Statement::columnCount() const
{
    return sqlite3_column_count(_stmt);
}

std::string Statement::columnName(int column) const
{
    const char* name = sqlite3_column_name(_stmt, column);
    return name != nullptr ? name : "";
}

bool Statement::isNull(int column) const
{
    return sqlite3_column_type(_stmt, column) == SQLITE_NULL;
}

std::int64_t Statement::getInt64(int column) const
{
    return static_cast<std::int64_t>(sqlite3_column_int64(_stmt, column));
}

int Statement::getInt(int column) const
{
    return sqlite3_column_int(_stmt, column);
}

std::string Statement::getText(int column) const
{
    const unsigned char* text = sqlite3_column_text(_stmt, column);
    if (text == nullptr)
    {
        return {};
    }
    // column_bytes after column_text: the length of the UTF-8 form just produced.
    const int bytes = sqlite3_column_bytes(_stmt, column);
    return std::string(reinterpret_cast<const char*>(text), static_cast<std::size_t>(bytes));
}

std::optional<std::int64_t> Statement::getOptionalInt64(int column) const
{
    if (isNull(column))
    {
        return std::nullopt;
    }
    return getInt64(column);
}

std::optional<std::string> Statement::getOptionalText(int column) const
{
    if (isNull(column))
    {
        return std::nullopt;
    }
    return getText(column);
}

std::string Statement::sql() const
{
    return _stmt != nullptr ? sqlite3_sql(_stmt) : "";
}

} // namespace rotator::store
