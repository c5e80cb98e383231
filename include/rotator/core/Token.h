#pragma once

#include <string>
#include <string_view>

#include "rotator/core/Secret.h"

namespace rotator::core
{

/// Lower-case hex SHA-256 of `data`.
std::string sha256Hex(std::string_view data);

/// True for a 24-character alphanumeric client ID (the API only ever showed letters, but the
/// format is inferred, so digits are accepted too).
bool isValidClientId(std::string_view clientId);

/// The client ID of a token `AstraCS:<clientId>:<hex>`; empty when it is not of that form.
std::string clientIdOfToken(const Secret& token);

/// Builds `AstraCS:<clientId>:<sha256hex(secret)>`.
Secret makeToken(std::string_view clientId, const Secret& secret);

/// The create response self-check: token == "AstraCS:" + clientId + ":" + sha256hex(secret),
/// compared in constant time.
bool tokenMatches(std::string_view clientId, const Secret& secret, const Secret& token);

} // namespace rotator::core
