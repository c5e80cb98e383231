#pragma once

#include <string>
#include <vector>

#include "rotator/core/Model.h"
#include "rotator/core/Outcome.h"
#include "rotator/core/Secret.h"

namespace rotator::api
{

/// The token endpoints of the Astra DevOps API, as the rest of the product sees them.
///
/// Implementations: `AstraClient` (HTTPS) and test fakes. Every call returns an `Outcome`:
/// expected failures (HTTP errors, timeouts, malformed answers) are values, never exceptions.
/// `createClient` is never retried by an implementation: its outcome may be unknown
/// (`Failure::ambiguous`), and only a later list can tell (the rotation engine reconciles).
class TokenApi
{
public:
    virtual ~TokenApi() = default;

    /// `GET /v2/clientIdSecrets`: every client of the org.
    virtual core::Outcome<std::vector<core::ClientInfo>> listClients() = 0;
    /// `POST /v2/clientIdSecrets`: mints a client; the only time its secret is visible.
    virtual core::Outcome<core::CreatedClient> createClient(const core::CreateRequest& request) = 0;
    /// `DELETE /v2/clientIdSecrets/{clientId}`. 2xx and 404 both mean "gone".
    virtual core::Outcome<void> deleteClient(const std::string& clientId) = 0;
    /// `GET /v2/currentOrg` with the admin token: the org ID.
    virtual core::Outcome<std::string> currentOrg() = 0;
    /// `GET /v2/currentOrg` with another token (verifying a freshly minted one). 403 is a
    /// success with an empty org ID: the token authenticates but may not read the org.
    virtual core::Outcome<std::string> currentOrgWith(const core::Secret& token) = 0;
    /// `GET /v2/organizations/roles`.
    virtual core::Outcome<std::vector<core::Role>> listRoles() = 0;
    /// Lists the clients and the roles with another token: the calls the rotator makes with
    /// its own, so a new admin token that passes can replace it (self-rotation). Unlike
    /// `currentOrgWith`, a 403 is a failure. An API that cannot tell fails (Permanent).
    virtual core::Outcome<void> checkAdminToken(const core::Secret& token)
    {
        (void)token;
        return core::fail(core::FailureKind::Permanent, "this API cannot check an admin token");
    }
    /// Calls with `token` from now on (self-rotation wrote it to the token file, or found it
    /// in a pending file after a crash). An API whose token cannot change ignores it.
    virtual void adoptAdminToken(const core::Secret& token) { (void)token; }
    /// The client ID of the admin token this API calls with (empty when unknown): the rotator
    /// never revokes it, nor takes it for a client it created.
    virtual std::string adminClientId() const { return {}; }
};

} // namespace rotator::api
