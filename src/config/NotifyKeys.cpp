#include "LoaderParts.h"

#include "rotator/core/EventKinds.h"

#include <algorithm>

// The keys of `notify.<name>.*`: webhooks that events (failures by default) are sent to.

namespace rotator::config::detail
{

namespace
{

/// A key of `notify.<name>`.
struct NotifyKey
{
    const char* name;
    void (*apply)(NotifierSettings&, const Entry&);
};

std::vector<std::string> eventList(const Entry& e)
{
    std::vector<std::string> events = list(e, "event");
    for (const auto& event : events)
    {
        if (std::find(core::eventKinds().begin(), core::eventKinds().end(), event) == core::eventKinds().end())
        {
            const std::string guess = closest(event, core::eventKinds());
            fail(e.key, "unknown event " + inQuotes(event) +
                            (guess.empty() ? "" : " (did you mean " + inQuotes(guess) + "?)") +
                            "; use " + joined(core::eventKinds()));
        }
    }
    return events;
}

constexpr NotifyKey kNotifyKeys[] = {
    // The only type so far, yet required: a second type must not change what a file means.
    {"type",
     [](NotifierSettings&, const Entry& e) {
         choice<int>(e, {{"webhook", 0}});
     }},
    {"url", [](NotifierSettings& n, const Entry& e) { n.url = webhookUrl(e); }},
    {"events", [](NotifierSettings& n, const Entry& e) { n.events = eventList(e); }},
    {"format",
     [](NotifierSettings& n, const Entry& e)
     {
         n.format = choice<NotifyFormat>(
             e, {{"json", NotifyFormat::Json}, {"slack", NotifyFormat::Slack}});
     }},
    {"tokenFile", [](NotifierSettings& n, const Entry& e) { n.tokenFile = absolutePath(e); }},
    {"caFile", [](NotifierSettings& n, const Entry& e) { n.caFile = absolutePath(e); }},
    {"timeout", [](NotifierSettings& n, const Entry& e) { n.timeoutMs = positiveDuration(e); }},
};

} // namespace

std::vector<NotifierSettings> loadNotifiers(const Poco::Util::AbstractConfiguration& cfg)
{
    std::vector<Entry> leaves;
    collectLeaves(cfg, "notify", leaves);
    const auto groups = groupByName(leaves, "notify", "notifier", "notify.oncall.type");
    std::vector<std::string> known;
    for (const auto& row : kNotifyKeys)
    {
        known.emplace_back(row.name);
    }
    std::vector<NotifierSettings> notifiers;
    for (const auto& [name, group] : groups)
    {
        const std::string prefix = "notify." + name + ".";
        for (const auto& [setting, entry] : group.entries)
        {
            if (std::find(known.begin(), known.end(), setting) == known.end())
            {
                unknownKey(entry.key, prefix, setting, known);
            }
        }
        NotifierSettings notifier;
        notifier.name = name;
        notifier.events = kDefaultNotifyEvents;
        for (const auto& row : kNotifyKeys)
        {
            const auto it = group.entries.find(row.name);
            if (it != group.entries.end() && !it->second.value.empty())
            {
                row.apply(notifier, it->second);
            }
        }
        for (const char* required : {"type", "url"})
        {
            const auto it = group.entries.find(required);
            if (it == group.entries.end() || it->second.value.empty())
            {
                fail(prefix + required, std::string("missing (a notifier needs type = webhook and "
                                                    "a url)"));
            }
        }
        notifiers.push_back(std::move(notifier));
    }
    return notifiers;
}

} // namespace rotator::config::detail
