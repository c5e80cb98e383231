#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

struct sqlite3_stmt;

namespace rotator::store
{

/// The idle prepared statements of one connection, by SQL text, so the store's fixed queries
/// are parsed once per connection instead of once per call.
///
/// `Database::prepare` takes an idle statement when one is there; a `Statement` hands its
/// statement back (reset, bindings cleared) instead of finalizing it. A statement still in use
/// is not here, so a nested use of the same SQL gets a second one. Keeps at most `kCapacity`
/// statements (the store has about 30 distinct ones). Owned by the `Database` on the heap, so
/// its address survives moving the `Database`. Not thread-safe, like the connection.
class StatementCache
{
public:
    static constexpr std::size_t kCapacity = 64;

    StatementCache() = default;
    ~StatementCache();
    StatementCache(const StatementCache&) = delete;
    StatementCache& operator=(const StatementCache&) = delete;

    /// An idle statement prepared from exactly `sql`, or nullptr.
    sqlite3_stmt* take(std::string_view sql);
    /// Keeps `statement` (prepared from `sql`) for reuse, or finalizes it when full.
    void give(const std::string& sql, sqlite3_stmt* statement) noexcept;

private:
    std::map<std::string, std::vector<sqlite3_stmt*>, std::less<>> _idle;
    std::size_t _count = 0;
};

} // namespace rotator::store
