#include "rotator/notify/Payload.h"

#include "rotator/core/JsonString.h"
#include "rotator/core/Time.h"

namespace rotator::notify
{
namespace
{

void appendMember(std::string& out, const char* name, const std::string& value)
{
    out += out.size() > 1 ? ",\"" : "\"";
    out += name;
    out += "\":";
    if (value.empty())
    {
        out += "null";
    }
    else
    {
        core::appendJsonString(out, value);
    }
}

/// One line for a chat: what happened to what, why, and what to run.
std::string sentence(const store::NotificationRow& row, const std::string& fix)
{
    const store::EventRow& e = row.event;
    std::string text = "astra-rotator: " + e.event;
    if (!e.credential.empty())
    {
        text += " (credential " + e.credential + ")";
    }
    if (!e.clientId.empty())
    {
        text += ", client " + e.clientId;
    }
    if (!e.detail.empty())
    {
        text += ": " + e.detail;
    }
    text += " (" + core::formatRfc3339Seconds(e.atMs) + ")";
    if (!fix.empty())
    {
        text += ". Fix: " + fix;
    }
    return text;
}

} // namespace

std::string fixFor(const store::EventRow& event)
{
    const std::string& kind = event.event;
    if (!event.credential.empty() && (kind == "failed" || kind == "quarantined" ||
                                      kind == "rolled_back" || kind == "current_missing"))
    {
        return "astra-rotator rotate " + event.credential;
    }
    if (!event.credential.empty() && kind == "retired")
    {
        return "astra-rotator retire " + event.credential + " --revoke";
    }
    if (kind == "unattributed" || kind == "foreign")
    {
        // Never revoked by the rotator: a person decides, from the org's inventory.
        return "astra-rotator ages";
    }
    if (kind == "admin_token_invalid")
    {
        return "put a valid admin token in astra.tokenFile (re-read on change), then "
               "astra-rotator sync";
    }
    return "";
}

std::string renderPayload(const store::NotificationRow& row, config::NotifyFormat format)
{
    const std::string fix = fixFor(row.event);
    std::string out = "{";
    if (format == config::NotifyFormat::Slack)
    {
        appendMember(out, "text", sentence(row, fix));
        return out + "}";
    }
    const store::EventRow& e = row.event;
    appendMember(out, "event", e.event);
    appendMember(out, "credential", e.credential);
    appendMember(out, "clientId", e.clientId);
    out += ",\"rotationId\":" + (e.rotationId ? std::to_string(*e.rotationId) : "null");
    appendMember(out, "reason", e.detail);
    appendMember(out, "fix", fix);
    appendMember(out, "at", core::formatRfc3339Ms(e.atMs));
    appendMember(out, "notifier", row.notifier);
    appendMember(out, "idempotencyKey", row.idempotencyKey);
    return out + "}";
}

} // namespace rotator::notify
