#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rotator::core
{

/// An instant with nanosecond precision (the DevOps API sends up to 9 fraction digits).
struct Instant
{
    std::int64_t unixNanos = 0;
    std::int64_t unixMs() const;
    auto operator<=>(const Instant&) const = default;
};

/// Strict RFC 3339 date-time: `YYYY-MM-DDTHH:MM:SS[.f{1,9}](Z|±HH:MM)`. `T`/`Z` may be lower
/// case (RFC 3339 §5.6 allows it). Rejects everything else: out-of-range fields, leap seconds
/// (`:60`, which the API never sends), more than 9 fraction digits and trailing text. Unlike
/// Poco's DateTimeParser it never guesses and keeps every fraction digit.
/// Also rejects instants an Instant cannot hold (before 1677-09-21T00:12:43.145224192Z or after
/// 2262-04-11T23:47:16.854775807Z).
std::optional<Instant> parseRfc3339(std::string_view text);

/// The same grammar without the range limit: true for any valid RFC 3339 date-time, also one
/// in year 0000 or 9999 (a far-future "never expires" timestamp a server may send).
bool isRfc3339(std::string_view text);

/// `2021-02-22T17:09:58.668Z` (milliseconds, UTC).
std::string formatRfc3339Ms(std::int64_t unixMs);
/// `2022-09-21T17:48:15.260897295Z` (nanoseconds, UTC).
std::string formatRfc3339Nanos(std::int64_t unixNanos);
/// `2022-09-21T17:48:15Z` (seconds, UTC) for human-facing JSON.
std::string formatRfc3339Seconds(std::int64_t unixMs);

/// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
std::int64_t daysFromCivil(std::int64_t year, unsigned month, unsigned day);

} // namespace rotator::core
