#pragma once

// Helpers shared by the files of SqliteStateStore (private to src/store/).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rotator/core/Errors.h"
#include "rotator/store/Database.h"
#include "rotator/store/Statement.h"

namespace rotator::store::sqlite_rows
{

/// A JSON array of strings (the `roles` column, and a list of names bound as one parameter).
std::string rolesToJson(const std::vector<std::string>& roles);

// The first row of a query that matches at most one.
template <typename T> std::optional<T> firstOf(std::vector<T> rows)
{
    if (rows.empty())
    {
        return std::nullopt;
    }
    return std::move(rows.front());
}

inline std::optional<std::string> nullIfEmpty(const std::string& text)
{
    return text.empty() ? std::nullopt : std::optional<std::string>(text);
}

/// `select`, narrowed to the row whose `keyColumn` is `*key` when `key` is set, in `orderBy`
/// order: the query behind both "list all" and "find one".
inline Statement prepareAllOrOne(Database& db, std::string select, const char* keyColumn,
                                 const std::string* key, const char* orderBy)
{
    if (key != nullptr)
    {
        select += std::string(" WHERE ") + keyColumn + " = ?1";
    }
    select += std::string(" ORDER BY ") + orderBy;
    Statement query = db.prepare(select);
    if (key != nullptr)
    {
        query.bind(1, *key);
    }
    return query;
}

/// The enum a text column names, through `parse` (core/Lifecycle.h). Text that no version of
/// this program writes (a foreign or hand-edited database) throws, naming the column and value.
template <typename Enum>
Enum enumColumn(std::optional<Enum> (*parse)(std::string_view), const std::string& text,
                const char* tableAndColumn, const std::string& path)
{
    if (const auto value = parse(text))
    {
        return *value;
    }
    throw core::StoreError(path + ": " + tableAndColumn + " holds the unknown value \"" + text +
                           "\"");
}

} // namespace rotator::store::sqlite_rows
