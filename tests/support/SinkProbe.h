#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "rotator/sink/Credential.h"

namespace rotator::test
{

/// Reads a `json` file sink (or any file holding the json form, e.g. what an exec sink got on
/// stdin) back into a credential; nullopt when the file is missing or is not exactly the json
/// form of PRODUCT.md §5.
std::optional<sink::Credential> readJsonSink(const std::string& path,
                                             const std::string& credentialName = "");

/// `GET /v2/currentOrg` with `token` as Bearer against `https://127.0.0.1:<port>` (the
/// certificate verified against `caFile`, strictly); returns the HTTP status, 0 when no answer
/// came. The token never appears in anything this function throws or returns.
int currentOrgStatus(std::uint16_t port, const std::string& caFile, const std::string& token);

/// The clientId inside `AstraCS:<clientId>:<hex>`; empty when the text is not a token.
std::string clientIdOfToken(const std::string& token);

} // namespace rotator::test
