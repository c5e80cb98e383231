#include "rotator/api/JsonMapping.h"

#include <algorithm>
#include <cctype>
#include <sstream>
#include <set>

#include <Poco/Exception.h>
#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/JSON/Stringifier.h>

#include "rotator/core/Redact.h"
#include "rotator/core/Time.h"
#include "rotator/core/Token.h"

namespace rotator::api
{

using core::FailureKind;
using Poco::JSON::Array;
using Poco::JSON::Object;

namespace
{

constexpr std::size_t kMaxDepth = 32;

tl::unexpected<core::Failure> malformed(const std::string& what)
{
    return core::fail(FailureKind::Permanent, "malformed API answer: " + what);
}

// Parses `body`; nullopt (and `error` set) when it is not JSON.
std::optional<Poco::Dynamic::Var> parseJson(std::string_view body, std::string& error)
{
    try
    {
        Poco::JSON::Parser parser;
        parser.setDepth(kMaxDepth);
        return std::optional<Poco::Dynamic::Var>(std::in_place, parser.parse(std::string(body)));
    }
    catch (const Poco::Exception&)
    {
        error = "not valid JSON";
    }
    catch (const std::exception&)
    {
        error = "not valid JSON";
    }
    return std::nullopt;
}

Object::Ptr asObject(const Poco::Dynamic::Var& v)
{
    if (v.type() == typeid(Object::Ptr))
    {
        return v.extract<Object::Ptr>();
    }
    return nullptr;
}

Array::Ptr asArray(const Poco::Dynamic::Var& v)
{
    if (v.type() == typeid(Array::Ptr))
    {
        return v.extract<Array::Ptr>();
    }
    return nullptr;
}

bool isString(const Poco::Dynamic::Var& v)
{
    return v.isString() && !v.isEmpty();
}

// A required string member.
std::optional<std::string> stringField(const Object& obj, const std::string& key)
{
    if (!obj.has(key))
    {
        return std::nullopt;
    }
    const auto v = obj.get(key);
    if (!isString(v))
    {
        return std::nullopt;
    }
    return v.extract<std::string>();
}

// An optional string member: absent or null gives nullopt; another type is an error.
bool optionalStringField(const Object& obj, const std::string& key,
                         std::optional<std::string>& out)
{
    out.reset();
    if (!obj.has(key) || obj.isNull(key))
    {
        return true;
    }
    const auto v = obj.get(key);
    if (!isString(v))
    {
        return false;
    }
    out = v.extract<std::string>();
    return true;
}

std::optional<std::vector<std::string>> stringArray(const Object& obj, const std::string& key)
{
    if (!obj.has(key))
    {
        return std::nullopt;
    }
    const auto arr = asArray(obj.get(key));
    if (!arr)
    {
        return std::nullopt;
    }
    std::vector<std::string> out;
    out.reserve(arr->size());
    for (std::size_t i = 0; i < arr->size(); ++i)
    {
        const auto v = arr->get(static_cast<unsigned>(i));
        if (!isString(v))
        {
            return std::nullopt;
        }
        out.push_back(v.extract<std::string>());
    }
    return out;
}

std::string lower(std::string_view s)
{
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

// The value of the member whose name equals `key` ignoring case (the docs say `ID`/`Name`,
// the spec `id`/`name`).
std::optional<Poco::Dynamic::Var> memberIgnoringCase(const Object& obj, const std::string& key)
{
    for (const auto& [name, value] : obj)
    {
        if (lower(name) == key)
        {
            return std::optional<Poco::Dynamic::Var>(std::in_place, value);
        }
    }
    return std::nullopt;
}

} // namespace

core::Outcome<std::vector<core::ClientInfo>> parseClientList(std::string_view body)
{
    std::string error;
    const auto root = parseJson(body, error);
    if (!root)
    {
        return malformed("client list is " + error);
    }
    const auto obj = asObject(*root);
    if (!obj)
    {
        return malformed("client list is not a JSON object");
    }
    if (!obj->has("clients"))
    {
        return malformed("client list has no \"clients\" member");
    }
    const auto clients = asArray(obj->get("clients"));
    if (!clients)
    {
        return malformed("\"clients\" is not an array");
    }
    std::vector<core::ClientInfo> out;
    out.reserve(clients->size());
    std::set<std::string> seen;
    for (std::size_t i = 0; i < clients->size(); ++i)
    {
        const std::string where = "clients[" + std::to_string(i) + "]";
        const auto c = asObject(clients->get(static_cast<unsigned>(i)));
        if (!c)
        {
            return malformed(where + " is not an object");
        }
        core::ClientInfo info;
        auto id = stringField(*c, "clientId");
        if (!id || !core::isValidClientId(*id))
        {
            return malformed(where + ".clientId is missing or not 24 letters and digits");
        }
        info.clientId = *id;
        if (!seen.insert(info.clientId).second)
        {
            return malformed(where + ".clientId " + info.clientId + " appears twice");
        }
        auto roles = stringArray(*c, "roles");
        if (!roles)
        {
            return malformed(where + ".roles is missing or not an array of strings");
        }
        info.roles = std::move(*roles);
        auto generated = stringField(*c, "generatedOn");
        const auto instant = generated ? core::parseRfc3339(*generated) : std::nullopt;
        if (!instant)
        {
            return malformed(where + ".generatedOn is missing or not an RFC 3339 time");
        }
        info.generatedOn = *generated;
        info.generatedOnMs = instant->unixMs();
        if (!optionalStringField(*c, "description", info.description))
        {
            return malformed(where + ".description is not a string");
        }
        // Kept as text only: a far-future expiry (year 9999) beyond the range of an Instant is
        // still a valid answer.
        if (!optionalStringField(*c, "tokenExpiry", info.tokenExpiry) ||
            (info.tokenExpiry && !core::isRfc3339(*info.tokenExpiry)))
        {
            return malformed(where + ".tokenExpiry is not an RFC 3339 time");
        }
        out.push_back(std::move(info));
    }
    return out;
}

core::Outcome<core::CreatedClient> parseCreatedClient(std::string_view body)
{
    std::string error;
    const auto root = parseJson(body, error);
    if (!root)
    {
        return malformed("create answer is " + error);
    }
    const auto obj = asObject(*root);
    if (!obj)
    {
        return malformed("create answer is not a JSON object");
    }
    core::CreatedClient out;
    auto id = stringField(*obj, "clientId");
    if (!id || !core::isValidClientId(*id))
    {
        return malformed("create answer's clientId is missing or not 24 letters and digits");
    }
    out.clientId = *id;
    auto secret = stringField(*obj, "secret");
    if (!secret || secret->empty())
    {
        return malformed("create answer has no secret");
    }
    out.secret = core::Secret(std::move(*secret));
    std::optional<std::string> token;
    if (!optionalStringField(*obj, "token", token))
    {
        return malformed("create answer's token is not a string");
    }
    out.token = token ? core::Secret(std::move(*token)) : core::makeToken(out.clientId, out.secret);
    auto org = stringField(*obj, "orgId");
    if (!org)
    {
        return malformed("create answer has no orgId");
    }
    out.orgId = *org;
    auto roles = stringArray(*obj, "roles");
    if (!roles)
    {
        return malformed("create answer's roles is missing or not an array of strings");
    }
    out.roles = std::move(*roles);
    std::optional<std::string> generated;
    if (!optionalStringField(*obj, "generatedOn", generated))
    {
        return malformed("create answer's generatedOn is not a string");
    }
    if (generated)
    {
        const auto instant = core::parseRfc3339(*generated);
        if (!instant)
        {
            return malformed("create answer's generatedOn is not an RFC 3339 time");
        }
        out.generatedOn = *generated;
        out.generatedOnMs = instant->unixMs();
    }
    return out;
}

bool isAcceptableSecret(std::string_view secret)
{
    return !secret.empty() && secret.size() <= kMaxSecretBytes &&
           std::all_of(secret.begin(), secret.end(),
                       [](char c) { return c > ' ' && c < 0x7f && c != '"' && c != '\\'; });
}

core::Outcome<void> checkCreatedClient(const core::CreatedClient& created,
                                       const core::CreateRequest& request)
{
    if (!core::isValidClientId(created.clientId))
    {
        return core::fail(FailureKind::Permanent, "created clientId is not 24 letters and digits");
    }
    // The secret goes into env files, JSON files and hooks' stdin as it is: refuse what could
    // break out of them (space, quote, backslash, control bytes) or is absurdly long.
    if (!isAcceptableSecret(created.secret.reveal()))
    {
        return core::fail(FailureKind::Permanent,
                          "created client " + created.clientId +
                              " came with a secret that is empty, longer than " +
                              std::to_string(kMaxSecretBytes) +
                              " bytes, or not printable ASCII without spaces, quotes and "
                              "backslashes");
    }
    if (!core::tokenMatches(created.clientId, created.secret, created.token))
    {
        return core::fail(FailureKind::Permanent,
                          "created client " + created.clientId +
                              " failed the token self-check (token != AstraCS:<clientId>:"
                              "<sha256(secret)>)");
    }
    std::multiset<std::string> want(request.roleIds.begin(), request.roleIds.end());
    std::multiset<std::string> got(created.roles.begin(), created.roles.end());
    if (want != got)
    {
        return core::fail(FailureKind::Permanent,
                          "created client " + created.clientId +
                              " does not carry the requested roles");
    }
    return {};
}

core::Outcome<std::string> parseCurrentOrg(std::string_view body)
{
    std::string error;
    const auto root = parseJson(body, error);
    if (!root)
    {
        return malformed("currentOrg answer is " + error);
    }
    const auto obj = asObject(*root);
    if (!obj)
    {
        return malformed("currentOrg answer is not a JSON object");
    }
    auto id = stringField(*obj, "id");
    if (!id)
    {
        return malformed("currentOrg answer has no string id");
    }
    return *id;
}

core::Outcome<std::vector<core::Role>> parseRoles(std::string_view body)
{
    std::string error;
    const auto root = parseJson(body, error);
    if (!root)
    {
        return malformed("role list is " + error);
    }
    const auto arr = asArray(*root);
    if (!arr)
    {
        return malformed("role list is not a JSON array");
    }
    std::vector<core::Role> out;
    out.reserve(arr->size());
    for (std::size_t i = 0; i < arr->size(); ++i)
    {
        const std::string where = "roles[" + std::to_string(i) + "]";
        const auto r = asObject(arr->get(static_cast<unsigned>(i)));
        if (!r)
        {
            return malformed(where + " is not an object");
        }
        const auto id = memberIgnoringCase(*r, "id");
        const auto name = memberIgnoringCase(*r, "name");
        if (!id || !isString(*id) || !name || !isString(*name))
        {
            return malformed(where + " has no string id and name");
        }
        auto roleId = id->extract<std::string>();
        if (roleId.empty())
        {
            return malformed(where + " has an empty id"); // a create would send it as a role
        }
        out.push_back({std::move(roleId), name->extract<std::string>()});
    }
    return out;
}

std::string createRequestJson(const core::CreateRequest& request)
{
    Object obj;
    Array::Ptr roles = new Array;
    for (const auto& r : request.roleIds)
    {
        roles->add(r);
    }
    obj.set("roles", roles);
    if (request.description)
    {
        obj.set("description", *request.description);
    }
    if (request.tokenExpiry)
    {
        obj.set("tokenExpiry", *request.tokenExpiry);
    }
    std::ostringstream out;
    obj.stringify(out);
    return out.str();
}

std::string sanitizeForMessage(std::string_view text, std::size_t maxLength)
{
    std::string folded;
    folded.reserve(std::min(text.size(), maxLength * 4));
    for (char c : text.substr(0, maxLength * 4))
    {
        const auto uc = static_cast<unsigned char>(c);
        folded += (uc < 0x20 || uc == 0x7f) ? ' ' : c;
    }
    std::string masked = core::redactSecrets(folded);
    if (masked.size() > maxLength)
    {
        masked.resize(maxLength);
        masked += "...";
    }
    return masked;
}

ErrorBody parseErrorBody(std::string_view contentType, std::string_view body)
{
    ErrorBody out;
    if (body.empty())
    {
        return out;
    }
    std::string error;
    const bool looksJson = contentType.find("json") != std::string_view::npos ||
                           (!body.empty() && body.front() == '{');
    if (looksJson)
    {
        if (const auto root = parseJson(body, error))
        {
            if (const auto obj = asObject(*root); obj && obj->has("errors"))
            {
                if (const auto errors = asArray(obj->get("errors")); errors && errors->size() > 0)
                {
                    if (const auto first = asObject(errors->get(0)))
                    {
                        if (const auto id = memberIgnoringCase(*first, "id");
                            id && id->isInteger())
                        {
                            try
                            {
                                out.id = id->convert<std::int64_t>();
                            }
                            catch (const Poco::RangeException&)
                            {
                                // An ID above INT64_MAX (Poco holds it as UInt64): no usable ID,
                                // the message still counts.
                            }
                        }
                        if (const auto msg = memberIgnoringCase(*first, "message");
                            msg && msg->isString())
                        {
                            out.message = sanitizeForMessage(msg->extract<std::string>());
                        }
                        return out;
                    }
                }
            }
        }
    }
    out.message = sanitizeForMessage(body);
    return out;
}

core::Outcome<std::vector<std::string>> resolveRoleIds(const std::vector<std::string>& wanted,
                                                       const std::vector<core::Role>& roles)
{
    std::vector<std::string> out;
    for (const auto& w : wanted)
    {
        const auto byId = std::find_if(roles.begin(), roles.end(),
                                       [&](const core::Role& r) { return r.id == w; });
        if (byId != roles.end())
        {
            out.push_back(byId->id);
            continue;
        }
        std::vector<const core::Role*> matches;
        for (const auto& r : roles)
        {
            if (lower(r.name) == lower(w))
            {
                matches.push_back(&r);
            }
        }
        if (matches.empty())
        {
            return core::fail(FailureKind::Permanent,
                              "role \"" + w + "\" is neither a role ID nor a role name of the org");
        }
        if (matches.size() > 1)
        {
            return core::fail(FailureKind::Permanent,
                              "role name \"" + w + "\" matches " + std::to_string(matches.size()) +
                                  " roles; use the role ID");
        }
        out.push_back(matches.front()->id);
    }
    return out;
}

} // namespace rotator::api
