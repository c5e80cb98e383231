#pragma once

#include <string>
#include <vector>

namespace rotator::store
{

/// One forward-only schema step, from `migrations/NNNN_name.sql`.
struct Migration
{
    int version;      ///< NNNN; PRAGMA user_version after it is applied
    std::string name; ///< file name without `.sql`
    std::string sql;
};

/// The migrations compiled into this binary, ascending by version (generated at build time).
const std::vector<Migration>& embeddedMigrations();

} // namespace rotator::store
