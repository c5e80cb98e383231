#include "rotator/admin/Reply.h"

#include <sstream>

#include <Poco/DateTimeFormat.h>
#include <Poco/DateTimeFormatter.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Timestamp.h>

#include "rotator/core/JsonString.h"

namespace rotator::admin
{

Reply json(int status, const Poco::JSON::Object& o)
{
    std::ostringstream out;
    o.stringify(out);
    Reply r;
    r.status = status;
    r.body = out.str();
    return r;
}

Reply statusReply(int status, const std::string& value, const std::string& reason)
{
    Poco::JSON::Object o(Poco::JSON_PRESERVE_KEY_ORDER);
    o.set("status", value);
    if (!reason.empty())
    {
        o.set("reason", reason);
    }
    return json(status, o);
}

Reply error(int status, const std::string& code, const std::string& message)
{
    Poco::JSON::Object::Ptr e = new Poco::JSON::Object(Poco::JSON_PRESERVE_KEY_ORDER);
    e->set("code", code);
    e->set("message", message);
    Poco::JSON::Object o;
    o.set("error", e);
    return json(status, o);
}

std::string serializeReply(const Reply& reply)
{
    Poco::Net::HTTPResponse response;
    response.setVersion(Poco::Net::HTTPMessage::HTTP_1_1); // before setKeepAlive, which reads it
    response.setStatusAndReason(static_cast<Poco::Net::HTTPResponse::HTTPStatus>(reply.status));
    response.setDate(Poco::Timestamp());
    response.setContentType(reply.contentType);
    response.set("Cache-Control", "no-store");
    response.set("X-Content-Type-Options", "nosniff");
    for (const auto& [name, value] : reply.headers)
    {
        response.set(name, value);
    }
    response.setKeepAlive(!reply.close);
    response.setContentLength(static_cast<std::streamsize>(reply.body.size()));
    std::ostringstream out;
    response.write(out);
    out << reply.body;
    return out.str();
}

std::string escapeForLog(std::string_view text, std::size_t max)
{
    std::string json;
    core::appendJsonString(json, text.substr(0, max));
    std::string out;
    for (const char c : std::string_view(json).substr(1, json.size() - 2)) // without the quotes
    {
        if (c == '\x7f') // DEL too: JSON allows it raw, a terminal need not show it
        {
            out += "\\u007f";
        }
        else
        {
            out += c;
        }
    }
    return text.size() > max ? out + "..." : out;
}

} // namespace rotator::admin
