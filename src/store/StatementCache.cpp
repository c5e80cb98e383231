#include "StatementCache.h"

#include <sqlite3.h>

namespace rotator::store
{

StatementCache::~StatementCache()
{
    for (auto& [sql, statements] : _idle)
    {
        for (auto* statement : statements)
        {
            sqlite3_finalize(statement);
        }
    }
}

sqlite3_stmt* StatementCache::take(std::string_view sql)
{
    const auto it = _idle.find(sql);
    if (it == _idle.end() || it->second.empty())
    {
        return nullptr;
    }
    auto* statement = it->second.back();
    it->second.pop_back();
    --_count;
    return statement;
}

void StatementCache::give(const std::string& sql, sqlite3_stmt* statement) noexcept
{
    // Reset's return code repeats the last step's error, which step() already reported.
    sqlite3_reset(statement);
    sqlite3_clear_bindings(statement);
    if (_count >= kCapacity)
    {
        sqlite3_finalize(statement);
        return;
    }
    try
    {
        _idle[sql].push_back(statement);
        ++_count;
    }
    catch (...)
    {
        sqlite3_finalize(statement); // out of memory: just do not keep it
    }
}

} // namespace rotator::store
