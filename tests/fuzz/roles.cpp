// api::parseRoles over arbitrary bytes, then api::resolveRoleIds over what it returned: a
// role's own ID always resolves to itself.

#include "FuzzTarget.h"

#include "rotator/api/JsonMapping.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const auto roles = rotator::api::parseRoles(rotator::fuzz::asText(data, size));
    if (!roles)
    {
        FUZZ_CHECK(roles.error().kind == rotator::core::FailureKind::Permanent);
        return 0;
    }
    for (const auto& role : *roles)
    {
        const auto resolved = rotator::api::resolveRoleIds({role.id}, *roles);
        FUZZ_CHECK(resolved && resolved->size() == 1 && resolved->front() == role.id);
        // By name: resolves to some role or fails (unknown or ambiguous), never throws.
        static_cast<void>(rotator::api::resolveRoleIds({role.name}, *roles));
    }
    return 0;
}
