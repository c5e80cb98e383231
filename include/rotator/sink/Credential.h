#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rotator/core/Model.h"
#include "rotator/core/Secret.h"

namespace rotator::sink
{

/// What a sink receives: a newly minted client of one managed credential.
///
/// The only struct (besides the API's `core::CreatedClient`) holding a new secret; `secret`
/// and `token` are `core::Secret`, so they print as `***` and are wiped on destruction.
/// A plain value: no synchronisation, copy it freely between threads.
struct Credential
{
    std::string credential; ///< the managed credential's name, e.g. "billing"
    std::string clientId;
    core::Secret secret;
    core::Secret token; ///< `AstraCS:<clientId>:<sha256hex(secret)>`
    std::string orgId;
    std::vector<std::string> roles;
    std::string generatedOn; ///< RFC 3339 as the API sent it
};

/// A Credential for `credentialName` from a create answer.
Credential makeCredential(std::string credentialName, const core::CreatedClient& created);

// The renderers below return text that contains the secret: hold it in a `core::Secret` (or
// wipe it) and never log it.

/// `{"clientId":…,"secret":…,"token":…,"orgId":…,"roles":[…],"generatedOn":…}` and a newline
/// (PRODUCT.md §5): keys in this order, no spaces, strings escaped as JSON requires (`"`, `\`
/// and control characters; other bytes, UTF-8 included, are copied as they are).
std::string renderJson(const Credential& credential);

/// The fields a secret-store sink may store (`sinks.S.fields`): `credential`, `clientId`,
/// `secret`, `token`, `orgId`, `roles`, `generatedOn`.
const std::vector<std::string>& knownCredentialFields();
/// What a store holds when `sinks.S.fields` is not set: `clientId, secret, token, orgId,
/// generatedOn`.
const std::vector<std::string>& defaultStoreFields();
/// One field as text (`roles` comma-separated; an unknown name: empty). For `secret` and
/// `token` the result holds the secret: wipe it.
std::string credentialField(const Credential& credential, std::string_view field);
/// `{"clientId":"…","secret":"…",…}`: each of `fields` (empty: defaultStoreFields()) as a JSON
/// string, in that order, no spaces, no newline. Holds the secret.
std::string renderFieldsJson(const Credential& credential, const std::vector<std::string>& fields);

/// Three lines `ASTRA_CLIENT_ID=…`, `ASTRA_CLIENT_SECRET=…`, `ASTRA_DB_APPLICATION_TOKEN=…`,
/// each value passed through `quoteEnvValue`.
std::string renderEnv(const Credential& credential);

/// The token and a newline.
std::string renderToken(const Credential& credential);

/// Quotes one value for a dotenv file, a systemd `EnvironmentFile=` and POSIX `sh` (`set -a;
/// . file`). The rule:
/// - a value made only of `[A-Za-z0-9_.,+:/@-]` (clientIds, tokens and Astra secrets are) is
///   written bare; so is the empty value;
/// - any other value is wrapped in single quotes, inside which every byte is literal for all
///   three readers (no `$` expansion, no backslash escapes, newlines kept);
/// - a single quote inside the value is written `'"'"'` (close, a double-quoted `'`, reopen):
///   systemd's parser and `sh` both join adjacent quoted segments. Plain dotenv libraries do
///   not all understand that; such values never come from the DevOps API.
std::string quoteEnvValue(std::string_view value);

/// The inverse of `renderJson`, used to read the pending file back: accepts exactly the bytes
/// `renderJson` produces (the six keys in order, correct types, no extra whitespace, the final
/// newline) and nullopt on any mismatch. `credentialName` fills `Credential::credential`,
/// which the JSON form does not carry. It does not check the token against the secret: the
/// caller does that with `core::tokenMatches` when it needs to.
std::optional<Credential> parseCredentialJson(std::string_view json, std::string credentialName);

} // namespace rotator::sink
