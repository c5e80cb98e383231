#include "rotator/notify/Notifier.h"

#include <algorithm>
#include <exception>
#include <utility>

#include <Poco/Logger.h>
#include <Poco/URI.h>

#include "rotator/core/SecureWipe.h"
#include "rotator/core/Time.h"
#include "rotator/notify/Payload.h"

namespace rotator::notify
{
namespace
{

Poco::Logger& logger()
{
    return Poco::Logger::get("notify");
}

/// `text` with every occurrence of `path` replaced: a webhook's path may be its secret (Slack).
std::string withoutPath(std::string text, const std::string& path)
{
    if (path.size() <= 1)
    {
        return text;
    }
    for (std::size_t at = text.find(path); at != std::string::npos; at = text.find(path, at))
    {
        text.replace(at, path.size(), "/…");
        at += 1;
    }
    return text;
}

} // namespace

const char* attemptResult(std::optional<int> status)
{
    if (status && *status >= 200 && *status < 300)
    {
        return "delivered";
    }
    if (status && *status >= 400 && *status < 500 && *status != 408 && *status != 429)
    {
        return "rejected";
    }
    return "retry";
}

std::int64_t retryDelayMs(api::Backoff& backoff, const api::Backoff::Policy& policy, int attempts,
                          std::optional<std::int64_t> retryAfterMs)
{
    return std::max(policy.baseMs / 4, backoff.delayMs(attempts, retryAfterMs));
}

/// One configured webhook: its connection pool, where to POST, and its bearer token.
struct Notifier::Target
{
    config::NotifierSettings settings;
    std::string target; ///< path and query
    std::string path;   ///< the path alone, kept out of messages
    std::unique_ptr<api::HttpChannel> channel;
    std::shared_ptr<config::TokenSource> token; ///< null without tokenFile
};

Notifier::Notifier(const std::vector<config::NotifierSettings>& notifiers, store::StateStore& rows,
                   core::Clock& clock, Options options, std::vector<std::string>& warnings)
    : _rows(rows), _clock(clock), _options(options), _backoff(options.backoff, options.jitterSeed)
{
    for (const auto& n : notifiers)
    {
        auto target = std::make_unique<Target>();
        target->settings = n;
        const Poco::URI uri(n.url);
        target->target = uri.getPathEtc();
        target->path = uri.getPath();
        const std::string prefix = "notify." + n.name + ".";
        target->channel = std::make_unique<api::HttpChannel>(
            api::ChannelOptions{.url = uri.getScheme() + "://" + uri.getAuthority(),
                                .caFile = n.caFile,
                                .timeoutMs = n.timeoutMs,
                                .requestDeadlineMs = 3 * n.timeoutMs,
                                .maxBodyBytes = 64 * 1024,
                                .caKey = prefix + "caFile",
                                .deadlineKey = prefix + "timeout"},
            clock);
        if (!n.tokenFile.empty())
        {
            target->token =
                config::TokenSource::follow(n.tokenFile, prefix + "tokenFile", warnings);
        }
        _targets.emplace(n.name, std::move(target));
    }
}

Notifier::~Notifier() = default;

void Notifier::wake()
{
    {
        std::lock_guard<std::mutex> lock(_mutex);
        _woken = true;
    }
    _wake.notify_all();
}

void Notifier::stop()
{
    {
        std::lock_guard<std::mutex> lock(_mutex);
        _stopping = true;
    }
    _wake.notify_all();
}

void Notifier::run()
{
    while (true)
    {
        {
            std::lock_guard<std::mutex> lock(_mutex);
            if (_stopping)
            {
                return;
            }
            _woken = false; // what was committed before this round is read by it
        }
        std::optional<std::int64_t> next;
        try
        {
            next = deliverDue();
        }
        catch (const std::exception& e)
        {
            // Catch at the top of the thread: the rows stay, the next wake or retry sends them.
            logger().error("sending notifications failed: %s", std::string(e.what()));
            next = _clock.nowMs() + _options.backoff.baseMs;
        }
        std::unique_lock<std::mutex> lock(_mutex);
        const auto woken = [this] { return _stopping || _woken; };
        if (next)
        {
            _clock.waitFor(lock, _wake, std::max<std::int64_t>(0, *next - _clock.nowMs()), woken);
        }
        else
        {
            _wake.wait(lock, woken); // nothing pending: sleep until a commit queues one
        }
    }
}

std::optional<std::int64_t> Notifier::deliverDue()
{
    while (true)
    {
        auto due = _rows.dueNotifications(_clock.nowMs(), _options.batch);
        for (auto& row : due)
        {
            {
                std::lock_guard<std::mutex> lock(_mutex);
                if (_stopping)
                {
                    return std::nullopt;
                }
            }
            deliver(std::move(row));
        }
        if (static_cast<int>(due.size()) < _options.batch)
        {
            return _rows.nextNotificationMs();
        }
    }
}

void Notifier::deliver(store::NotificationRow row)
{
    const auto found = _targets.find(row.notifier);
    const std::int64_t startedMs = _clock.nowMs();
    if (found == _targets.end())
    {
        row.failedMs = startedMs;
        row.lastError = "notify." + row.notifier + " is no longer configured";
        _rows.saveNotification(row);
        logger().warning("notification %s dropped: %s", row.idempotencyKey, *row.lastError);
        return;
    }
    Target& t = *found->second;
    const std::string body = renderPayload(row, t.settings.format);
    api::HttpRequestSpec request{.method = "POST", .target = t.target, .headers = {}, .body = body};
    request.headers.emplace_back("Idempotency-Key", row.idempotencyKey);
    request.headers.emplace_back("User-Agent", "astra-rotator");
    core::Secret bearer;
    if (t.token)
    {
        bearer = core::Secret("Bearer " + t.token->current().reveal());
        request.headers.emplace_back("Authorization", bearer.reveal());
    }
    const auto outcome = t.channel->send(request);
    for (auto& header : request.headers)
    {
        core::secureWipe(header.second);
    }
    const std::int64_t nowMs = _clock.nowMs();
    row.attempts += 1;
    const std::string result =
        attemptResult(outcome ? std::optional<int>(outcome->status) : std::nullopt);
    std::optional<std::int64_t> retryAfterMs;
    if (outcome)
    {
        row.lastStatus = outcome->status;
        retryAfterMs = outcome->retryAfterMs;
    }
    if (result == "delivered")
    {
        row.deliveredMs = nowMs;
        row.lastError.reset();
    }
    else if (outcome)
    {
        row.lastError =
            "notify." + row.notifier + " answered HTTP " + std::to_string(outcome->status);
    }
    else
    {
        row.lastError =
            "notify." + row.notifier + ": " + withoutPath(outcome.error().message, t.path);
        retryAfterMs = outcome.error().retryAfterMs;
    }
    if (result == "rejected")
    {
        row.failedMs = nowMs;
        logger().error("notification %s refused for good (%s); it is not retried",
                       row.idempotencyKey, *row.lastError);
    }
    else if (result == "retry")
    {
        row.nextAttemptMs =
            nowMs + retryDelayMs(_backoff, _options.backoff, row.attempts, retryAfterMs);
        logger().warning("notification %s not delivered (attempt %d): %s; retrying at %s",
                         row.idempotencyKey, row.attempts, *row.lastError,
                         core::formatRfc3339Ms(row.nextAttemptMs));
    }
    _rows.saveNotification(row);
    if (_observer)
    {
        _observer(row.notifier, result);
    }
}

} // namespace rotator::notify
