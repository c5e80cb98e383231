#pragma once

#include "rotator/api/TokenApi.h"

namespace rotator::test
{

/// Passes every call to another `TokenApi`, which it does not own: hands an owner (a Runtime,
/// a command) the test's fake, and is the base of probes that override a call or two.
class ForwardingTokenApi : public api::TokenApi
{
public:
    explicit ForwardingTokenApi(api::TokenApi& target) : _target(target) {}

    core::Outcome<std::vector<core::ClientInfo>> listClients() override
    {
        return _target.listClients();
    }
    core::Outcome<core::CreatedClient> createClient(const core::CreateRequest& request) override
    {
        return _target.createClient(request);
    }
    core::Outcome<void> deleteClient(const std::string& clientId) override
    {
        return _target.deleteClient(clientId);
    }
    core::Outcome<std::string> currentOrg() override { return _target.currentOrg(); }
    core::Outcome<std::string> currentOrgWith(const core::Secret& token) override
    {
        return _target.currentOrgWith(token);
    }
    core::Outcome<std::vector<core::Role>> listRoles() override { return _target.listRoles(); }
    core::Outcome<void> checkAdminToken(const core::Secret& token) override
    {
        return _target.checkAdminToken(token);
    }
    void adoptAdminToken(const core::Secret& token) override { _target.adoptAdminToken(token); }
    std::string adminClientId() const override { return _target.adminClientId(); }

private:
    api::TokenApi& _target;
};

} // namespace rotator::test
