#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rotator/core/Model.h"
#include "rotator/core/Outcome.h"

namespace rotator::api
{

/// Strict mapping between the DevOps API's JSON and the product's types.
///
/// Pure functions over bytes (fuzzed). Every field's type is checked (`Poco::JSON` would
/// convert a number into a string silently); a missing required field, a wrong type, an
/// invalid clientId or timestamp fails the whole answer with a `Permanent` failure whose
/// message names the field, never the raw body.

/// `{"clients":[{clientId, roles, generatedOn, [description], [tokenExpiry]}]}`.
core::Outcome<std::vector<core::ClientInfo>> parseClientList(std::string_view body);

/// The create answer: `{clientId, secret, orgId, roles, token, generatedOn}`. A missing
/// `token` is rebuilt from clientId and secret (the spec marks it optional).
core::Outcome<core::CreatedClient> parseCreatedClient(std::string_view body);

/// The longest secret a create answer may carry.
constexpr std::size_t kMaxSecretBytes = 512;

/// A secret the sinks can write as it is: 1 to kMaxSecretBytes bytes of printable ASCII
/// without space, double quote or backslash (env files, JSON and hooks' stdin take it verbatim).
bool isAcceptableSecret(std::string_view secret);

/// Checks a create answer against the request: the clientId format, the secret
/// (`isAcceptableSecret`), the token self-check (`AstraCS:<clientId>:<sha256hex(secret)>`) and
/// the roles.
core::Outcome<void> checkCreatedClient(const core::CreatedClient& created,
                                       const core::CreateRequest& request);

/// `{"id":"<uuid>"}`.
core::Outcome<std::string> parseCurrentOrg(std::string_view body);

/// A bare array of roles; keys matched case-insensitively (`ID`/`Name` or `id`/`name`).
core::Outcome<std::vector<core::Role>> parseRoles(std::string_view body);

/// The create request body.
std::string createRequestJson(const core::CreateRequest& request);

/// What an error answer says: `{"errors":[{"ID":…,"message":…}]}` or a `text/plain` body.
struct ErrorBody
{
    std::optional<std::int64_t> id;
    std::string message; ///< sanitised: one line, at most 200 characters, tokens masked
};

ErrorBody parseErrorBody(std::string_view contentType, std::string_view body);

/// Masks anything that looks like a token or bearer credential, folds the text onto one line
/// and cuts it to `maxLength` characters. For text that came from outside.
std::string sanitizeForMessage(std::string_view text, std::size_t maxLength = 200);

/// Maps configured role names or IDs to role IDs: a value equal (case-sensitively) to a
/// role's ID is kept; otherwise it must equal exactly one role's name, compared
/// case-insensitively. Unknown or ambiguous names fail, naming the value.
core::Outcome<std::vector<std::string>> resolveRoleIds(const std::vector<std::string>& wanted,
                                                       const std::vector<core::Role>& roles);

} // namespace rotator::api
