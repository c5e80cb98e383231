#include "rotator/store/Database.h"

#include <cerrno>
#include <cstring>
#include <utility>

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rotator/core/Errors.h"
#include "rotator/os/TrustedPath.h"
#include "rotator/store/Statement.h"

#include "StatementCache.h"

namespace rotator::store
{
namespace
{

constexpr int kBusyTimeoutMs = 5000;

// SQLite creates a missing database with the process umask (usually 0644), and its -wal and
// -shm files copy the database's mode. Creating the empty file ourselves first makes all three
// 0600. An empty file is a valid empty database.
void createPrivateFile(const std::string& path)
{
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd >= 0)
    {
        ::close(fd);
        return;
    }
    if (errno != EEXIST)
    {
        throw core::StoreError("cannot create database " + path + ": " + std::strerror(errno));
    }
}

// The journal decides which clients get revoked: a database (or its -wal/-shm) that another
// user owns or can write, or a link to one, is refused before SQLite opens or creates anything.
void checkOwnFiles(const std::string& path)
{
    for (const std::string& file : {path, path + "-wal", path + "-shm"})
    {
        struct stat st = {};
        if (::lstat(file.c_str(), &st) != 0)
        {
            continue; // absent: created below with our owner and mode 0600
        }
        if (auto problem = os::privateEntryProblem("database file", file, st))
        {
            throw core::StoreError("cannot open database " + path + ": " + *problem);
        }
    }
}

} // namespace

Database::Database(std::string path, OpenMode mode)
    : _cache(std::make_unique<StatementCache>()), _path(std::move(path)), _mode(mode)
{
    checkOwnFiles(_path);
    int flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE | SQLITE_OPEN_NOFOLLOW;
    if (mode == OpenMode::ReadWrite)
    {
        createPrivateFile(_path);
        flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    }
    else
    {
        flags |= SQLITE_OPEN_READONLY;
    }
    const int rc = sqlite3_open_v2(_path.c_str(), &_db, flags, nullptr);
    if (rc != SQLITE_OK)
    {
        const std::string message = _db != nullptr ? sqlite3_errmsg(_db) : sqlite3_errstr(rc);
        close();
        throw core::StoreError("cannot open database " + _path + ": " + message);
    }
    sqlite3_busy_timeout(_db, kBusyTimeoutMs);
    std::string reason;
    try
    {
        reason = configure();
    }
    catch (const core::StoreError& e)
    {
        // The first statement reads the header: a file that is not SQLite fails here.
        reason = e.what();
        if (reason.rfind(_path + ": ", 0) == 0)
        {
            reason.erase(0, _path.size() + 2);
        }
        if ((sqlite3_extended_errcode(_db) & 0xff) == SQLITE_NOTADB)
        {
            reason = "not an SQLite database";
        }
    }
    if (!reason.empty())
    {
        close();
        throw core::StoreError("cannot open database " + _path + ": " + reason);
    }
}

std::string Database::configure()
{
    if (_mode == OpenMode::ReadWrite)
    {
        Statement journal = prepare("PRAGMA journal_mode = WAL");
        if (!journal.step() || journal.getText(0) != "wal")
        {
            return "WAL journal mode is not available for this file";
        }
        exec("PRAGMA synchronous = FULL");
    }
    else
    {
        queryInt("PRAGMA schema_version");
    }
    exec("PRAGMA foreign_keys = ON");
    return {};
}

Database::~Database()
{
    close();
}

Database::Database(Database&& other) noexcept
    : _db(std::exchange(other._db, nullptr)), _cache(std::move(other._cache)),
      _path(std::move(other._path)), _mode(other._mode)
{
}

Database& Database::operator=(Database&& other) noexcept
{
    if (this != &other)
    {
        close();
        _db = std::exchange(other._db, nullptr);
        _cache = std::move(other._cache);
        _path = std::move(other._path);
        _mode = other._mode;
    }
    return *this;
}

void Database::close() noexcept
{
    _cache.reset(); // finalizes the idle statements
    if (_db != nullptr)
    {
        // close_v2 defers the close until any statement still alive is finalized.
        sqlite3_close_v2(_db);
        _db = nullptr;
    }
}

void Database::fail(std::string_view what) const
{
    throw core::StoreError(_path + ": " + std::string(what) + ": " +
                           (_db != nullptr ? sqlite3_errmsg(_db) : "database is closed"));
}

void Database::exec(std::string_view sql)
{
    if (_db == nullptr)
    {
        fail("exec");
    }
    const std::string text(sql);
    char* error = nullptr;
    const int rc = sqlite3_exec(_db, text.c_str(), nullptr, nullptr, &error);
    if (rc != SQLITE_OK)
    {
        std::string message = error != nullptr ? error : sqlite3_errstr(rc);
        sqlite3_free(error);
        throw core::StoreError(_path + ": " + message);
    }
}

Statement Database::prepare(std::string_view sql)
{
    return Statement(*this, sql);
}

std::int64_t Database::queryInt(std::string_view sql)
{
    Statement statement(*this, sql);
    return statement.step() ? statement.getInt64(0) : 0;
}

std::int64_t Database::lastInsertRowId() const
{
    return static_cast<std::int64_t>(sqlite3_last_insert_rowid(_db));
}

int Database::changes() const
{
    return sqlite3_changes(_db);
}

bool Database::autocommit() const
{
    return sqlite3_get_autocommit(_db) != 0;
}

} // namespace rotator::store
