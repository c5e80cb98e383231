#include "rotator/schedule/Schedule.h"

#include <algorithm>

#include "rotator/core/Duration.h"
#include "rotator/core/Time.h"

namespace rotator::schedule
{

namespace
{

constexpr std::int64_t kDayMs = 86'400'000;

std::int64_t floorDiv(std::int64_t a, std::int64_t b)
{
    std::int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
    {
        --q;
    }
    return q;
}

} // namespace

std::int64_t jitterOffsetMs(const std::string& name, std::int64_t jitterMs)
{
    if (jitterMs <= 0)
    {
        return 0;
    }
    std::uint64_t hash = 1469598103934665603ULL;
    for (char c : name)
    {
        hash ^= static_cast<unsigned char>(c);
        hash *= 1099511628211ULL;
    }
    return static_cast<std::int64_t>(hash % (static_cast<std::uint64_t>(jitterMs) + 1));
}

std::optional<std::int64_t> nextInWindow(std::int64_t t, const config::Window& window)
{
    if ((window.days & 0x7f) == 0)
    {
        return std::nullopt;
    }
    const std::int64_t today = floorDiv(t, kDayMs);
    const int lengthMinutes = window.endMinute > window.startMinute
                                  ? window.endMinute - window.startMinute
                                  : window.endMinute + 24 * 60 - window.startMinute;
    // Yesterday's window may still be open (it crosses midnight); a week ahead always has one.
    for (std::int64_t day = today - 1; day <= today + 8; ++day)
    {
        const auto weekday = static_cast<unsigned>(((day % 7) + 7 + 3) % 7); // 1970-01-01: Thu
        if ((window.days & (1u << weekday)) == 0)
        {
            continue;
        }
        const std::int64_t start = day * kDayMs + window.startMinute * 60'000LL;
        const std::int64_t end = start + lengthMinutes * 60'000LL;
        if (t < end)
        {
            return t > start ? t : start;
        }
    }
    return std::nullopt;
}

DuePlan nextRotation(const config::CredentialSettings& credential, const store::CredentialRow* row,
                     std::optional<std::int64_t> currentGeneratedOnMs, std::int64_t nowMs,
                     bool currentMissing)
{
    DuePlan plan;
    if (row && row->state == core::CredentialState::Quarantined)
    {
        plan.reason = "quarantined after " + std::to_string(row->consecutiveFailures) +
                      " consecutive failures; `astra-rotator rotate " + credential.name +
                      "` retries";
        return plan;
    }
    std::int64_t at = nowMs;
    const bool hasCurrent = row && !row->currentClientId.empty();
    if (!hasCurrent)
    {
        plan.reason = "no current client yet: the first pass creates one";
    }
    else if (currentMissing)
    {
        plan.reason = "current client " + row->currentClientId +
                      " is no longer listed: replaced at once (nothing to revoke)";
    }
    else if (!currentGeneratedOnMs)
    {
        plan.reason = "current client " + row->currentClientId +
                      " is not in the inventory (run sync); rotating replaces it";
    }
    else
    {
        const std::int64_t jitter = jitterOffsetMs(credential.name, credential.jitterMs);
        at = *currentGeneratedOnMs + credential.maxAgeMs + jitter;
        plan.reason = "client " + row->currentClientId + " reaches maxAge " +
                      core::formatDuration(credential.maxAgeMs) + " (generated " +
                      core::formatRfc3339Seconds(*currentGeneratedOnMs) + ")";
        if (jitter >= 1000)
        {
            plan.reason += ", jitter +" + core::formatAge(jitter / 1000);
        }
    }
    if (row && !row->previousClientId.empty() && row->revokeAfterMs && *row->revokeAfterMs > at)
    {
        at = *row->revokeAfterMs;
        plan.reason += "; not before the previous client " + row->previousClientId +
                       " is revoked";
    }
    if (row && row->nextAttemptMs && *row->nextAttemptMs > at)
    {
        at = *row->nextAttemptMs;
        plan.reason += "; retry backoff after " + std::to_string(row->consecutiveFailures) +
                       " failure(s)";
    }
    if (credential.window && !(hasCurrent && currentMissing))
    {
        // (A dead current client is replaced at once, window or not.)
        // An overdue rotation still waits for the window: search from now, not from the past.
        const auto inWindow = nextInWindow(std::max(at, nowMs), *credential.window);
        if (!inWindow)
        {
            plan.reason += "; window " + credential.window->text + " never opens";
            return plan;
        }
        if (*inWindow != at)
        {
            plan.reason += "; waits for window " + credential.window->text;
        }
        else
        {
            plan.reason += "; inside window " + credential.window->text;
        }
        at = *inWindow;
    }
    plan.atMs = at;
    return plan;
}

DuePlan nextRotation(const config::CredentialSettings& credential, const store::StateStore& store,
                     std::int64_t nowMs)
{
    const auto row = store.findCredential(credential.name);
    std::optional<std::int64_t> generated;
    bool missing = false;
    if (row && !row->currentClientId.empty())
    {
        if (const auto client = store.findClient(row->currentClientId))
        {
            generated = client->generatedOnMs;
            missing = client->goneElsewhere();
        }
    }
    return nextRotation(credential, row ? &*row : nullptr, generated, nowMs, missing);
}

} // namespace rotator::schedule
