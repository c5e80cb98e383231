#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rotator::core
{

/// Parses `45s`, `15m`, `12h`, `30d` (also `0s`, `500ms`, and sums like `1h30m` with units in
/// decreasing order) into milliseconds. No sign, no spaces inside, no bare numbers, no repeated
/// unit, no overflow: anything else is nullopt.
std::optional<std::int64_t> parseDurationMs(std::string_view text);

/// The largest exact unit form: 90000 -> "90s", 3600000 -> "1h", 0 -> "0s".
std::string formatDuration(std::int64_t ms);

/// Human age with the two most significant units: `3d 4h`, `5h 2m`, `42s`.
std::string formatAge(std::int64_t seconds);

} // namespace rotator::core
