#include "RoleCache.h"

#include "rotator/api/JsonMapping.h"

namespace rotator::rotation
{

RoleCache::Pass::Pass(RoleCache& cache, bool askAhead) : _cache(cache)
{
    std::lock_guard<std::mutex> lock(_cache._mutex);
    _cache._roles.reset(); // roles can change between passes
    if (askAhead)
    {
        _cache._ahead =
            std::async(std::launch::async, [&api = _cache._api] { return api.listRoles(); });
    }
}

RoleCache::Pass::~Pass()
{
    std::lock_guard<std::mutex> lock(_cache._mutex);
    _cache._ahead = {}; // waits for it, if nobody took its answer
}

void RoleCache::forget()
{
    std::lock_guard<std::mutex> lock(_mutex);
    _roles.reset();
}

std::optional<std::vector<core::Role>> RoleCache::orgRoles(std::string& error)
{
    std::lock_guard<std::mutex> lock(_mutex);
    if (!_roles)
    {
        // A failure is kept for the pass too: its rotations fail alike, without asking again.
        _roles = _ahead.valid() ? _ahead.get() : _api.listRoles();
    }
    if (!*_roles)
    {
        error = "cannot list the org's roles: " + _roles->error().message;
        return std::nullopt;
    }
    return **_roles;
}

std::optional<std::vector<std::string>> RoleCache::resolve(const config::CredentialSettings& c,
                                                           std::string& error)
{
    const auto roles = orgRoles(error);
    if (!roles)
    {
        return std::nullopt;
    }
    auto ids = api::resolveRoleIds(c.roles, *roles);
    if (!ids)
    {
        error = "credentials." + c.name + ".roles: " + ids.error().message;
        return std::nullopt;
    }
    return *ids;
}

} // namespace rotator::rotation
