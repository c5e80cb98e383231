#include "rotator/sim/FaultRule.h"

#include <array>
#include <charconv>
#include <utility>

#include "rotator/core/Errors.h"

namespace rotator::sim
{

namespace
{

constexpr std::array<std::pair<FaultKind, const char*>, 8> kKindNames{{
    {FaultKind::Latency, "latency"},
    {FaultKind::Status, "status"},
    {FaultKind::RateLimit, "rate_limit"},
    {FaultKind::DropAfterCommit, "drop_after_commit"},
    {FaultKind::TlsEofAfterCommit, "tls_eof_after_commit"},
    {FaultKind::InvalidJson, "invalid_json"},
    {FaultKind::TextError, "text_error"},
    {FaultKind::Trickle, "trickle"},
}};

std::int64_t parseNumber(std::string_view text, std::string_view what)
{
    std::int64_t value = 0;
    const auto* end = text.data() + text.size();
    const auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (text.empty() || ec != std::errc() || ptr != end || value < 0)
    {
        throw core::UsageError("fault: " + std::string(what) +
                               " must be a non-negative number, not '" + std::string(text) + "'");
    }
    return value;
}

int parseSmallNumber(std::string_view text, std::string_view what)
{
    const std::int64_t value = parseNumber(text, what);
    if (value > 1'000'000'000)
    {
        throw core::UsageError("fault: " + std::string(what) + " is too large");
    }
    return static_cast<int>(value);
}

void applyKey(FaultRule& rule, std::string_view key, std::string_view value)
{
    if (key == "method")
    {
        rule.method = std::string(value);
    }
    else if (key == "path")
    {
        rule.pathPrefix = std::string(value);
    }
    else if (key == "count")
    {
        rule.count =
            value == "inf" ? std::nullopt : std::optional<int>(parseSmallNumber(value, "count"));
    }
    else if (key == "status")
    {
        rule.status = parseSmallNumber(value, "status");
    }
    else if (key == "retryAfter")
    {
        rule.retryAfterSeconds = parseSmallNumber(value, "retryAfter");
    }
    else if (key == "ms")
    {
        rule.delayMs = parseNumber(value, "ms");
    }
    else
    {
        throw core::UsageError("fault: unknown key '" + std::string(key) +
                               "' (expected method, path, count, status, retryAfter, ms)");
    }
}

} // namespace

const char* toString(FaultKind kind)
{
    for (const auto& [k, name] : kKindNames)
    {
        if (k == kind)
        {
            return name;
        }
    }
    return "unknown";
}

std::optional<FaultKind> parseFaultKind(std::string_view name)
{
    for (const auto& [k, kindName] : kKindNames)
    {
        if (name == kindName)
        {
            return k;
        }
    }
    return std::nullopt;
}

int FaultRule::effectiveStatus() const
{
    if (status != 0)
    {
        return status;
    }
    return kind == FaultKind::RateLimit ? 429 : 500;
}

FaultRule parseFaultSpec(std::string_view spec)
{
    const auto colon = spec.find(':');
    const std::string_view kindName = spec.substr(0, colon);
    const auto kind = parseFaultKind(kindName);
    if (!kind)
    {
        throw core::UsageError("fault: unknown kind '" + std::string(kindName) +
                               "' (expected latency, status, rate_limit, drop_after_commit, "
                               "tls_eof_after_commit, invalid_json or text_error)");
    }
    FaultRule rule;
    rule.kind = *kind;
    std::string_view rest =
        colon == std::string_view::npos ? std::string_view() : spec.substr(colon + 1);
    while (!rest.empty())
    {
        const auto comma = rest.find(',');
        const std::string_view item = rest.substr(0, comma);
        rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
        const auto eq = item.find('=');
        if (eq == std::string_view::npos)
        {
            throw core::UsageError("fault: expected key=value, not '" + std::string(item) + "'");
        }
        applyKey(rule, item.substr(0, eq), item.substr(eq + 1));
    }
    validate(rule);
    return rule;
}

void validate(const FaultRule& rule)
{
    if (rule.method.empty())
    {
        throw core::UsageError("fault: method must not be empty (use * for any)");
    }
    for (char c : rule.method)
    {
        if (c != '*' && (c < 'A' || c > 'Z'))
        {
            throw core::UsageError("fault: method must be upper case, like GET, or *");
        }
    }
    if (rule.pathPrefix.empty() || rule.pathPrefix.front() != '/')
    {
        throw core::UsageError("fault: path must start with /");
    }
    if (rule.count && *rule.count < 1)
    {
        throw core::UsageError("fault: count must be at least 1 (or inf)");
    }
    if (rule.status != 0 && (rule.status < 400 || rule.status > 599))
    {
        throw core::UsageError("fault: status must be between 400 and 599");
    }
    if (rule.delayMs < 0 || (rule.kind == FaultKind::Latency && rule.delayMs == 0))
    {
        throw core::UsageError("fault: latency needs ms=N with N > 0");
    }
    if (rule.retryAfterSeconds && *rule.retryAfterSeconds < 0)
    {
        throw core::UsageError("fault: retryAfter must not be negative");
    }
}

} // namespace rotator::sim
