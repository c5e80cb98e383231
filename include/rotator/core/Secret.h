#pragma once

#include <iosfwd>
#include <string>
#include <string_view>

namespace rotator::core
{

/// A value that must never be printed, logged, stored in SQLite or compared in variable time.
///
/// Owns its bytes and wipes them on destruction. Streams as `***`. There is no `operator==`
/// (use `constantTimeEquals`) and no implicit conversion: `reveal()` is the only way in, and it
/// appears in few, obvious places (the HTTP client, the sinks, the simulator).
/// Not thread-safe for concurrent mutation; const access from several threads is fine.
class Secret
{
public:
    Secret() = default;
    explicit Secret(std::string value) : _value(std::move(value)) {}
    Secret(const Secret&) = default;
    Secret(Secret&& other) noexcept;
    Secret& operator=(const Secret&);
    Secret& operator=(Secret&& other) noexcept;
    ~Secret();

    /// The plain value. Call it only where the bytes must leave the process (HTTP, sinks).
    const std::string& reveal() const { return _value; }
    bool empty() const { return _value.empty(); }
    std::size_t size() const { return _value.size(); }

private:
    void wipe() noexcept;
    std::string _value;
};

std::ostream& operator<<(std::ostream& out, const Secret& secret);

/// Compares two byte strings in time that depends only on their lengths.
bool constantTimeEquals(std::string_view a, std::string_view b);

} // namespace rotator::core
