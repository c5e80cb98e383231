#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <Poco/JSON/Object.h>

namespace rotator::admin
{

/// An answer of the admin API, computed completely before anything is sent.
struct Reply
{
    int status = 200;
    std::string contentType = "application/json";
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
    bool close = false; ///< end the connection after this answer (e.g. a body left unread)
};

/// `o` as the JSON body of a `status` answer.
Reply json(int status, const Poco::JSON::Object& o);
/// `{"status":value,"reason":reason}` (no reason when empty), as /healthz and /readyz answer.
Reply statusReply(int status, const std::string& value, const std::string& reason = "");
/// `{"error":{"code":code,"message":message}}`.
Reply error(int status, const std::string& code, const std::string& message);

/// The bytes of `reply` as an HTTP/1.1 response, with `Date`, `Content-Length`,
/// `Cache-Control: no-store`, `X-Content-Type-Options: nosniff`, and `Connection: close` when
/// `reply.close` (else keep-alive).
std::string serializeReply(const Reply& reply);

/// `text` made safe for one log line: the contents of its JSON string (core::appendJsonString:
/// `\\`, `\"`, `\r`, `\n`, `\t`, `\u001b`...) and DEL as `\u007f`, so that a request cannot
/// forge or colour log lines in the text format; cut to `max` input bytes with `...`.
std::string escapeForLog(std::string_view text, std::size_t max);

} // namespace rotator::admin
