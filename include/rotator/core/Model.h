#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "rotator/core/Secret.h"

namespace rotator::core
{

/// One client as the list endpoint describes it. Never holds a secret.
struct ClientInfo
{
    std::string clientId;
    std::vector<std::string> roles; ///< role IDs as the API returned them
    std::string generatedOn;        ///< the API's RFC 3339 text, kept verbatim
    std::int64_t generatedOnMs = 0; ///< the same instant in Unix milliseconds
    std::optional<std::string> description;
    std::optional<std::string> tokenExpiry; ///< RFC 3339 text, when the server sent one
};

/// What a create call returns: the only time the secret is ever visible.
struct CreatedClient
{
    std::string clientId;
    Secret secret;
    Secret token; ///< `AstraCS:<clientId>:<sha256hex(secret)>`
    std::string orgId;
    std::vector<std::string> roles;
    std::string generatedOn;
    std::int64_t generatedOnMs = 0;
};

/// A role of the organisation (`GET /v2/organizations/roles`).
struct Role
{
    std::string id;
    std::string name;
};

/// Parameters of a create call.
struct CreateRequest
{
    std::vector<std::string> roleIds;
    std::optional<std::string> description;
    std::optional<std::string> tokenExpiry; ///< RFC 3339 instant
};

} // namespace rotator::core
