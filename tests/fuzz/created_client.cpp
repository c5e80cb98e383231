// api::parseCreatedClient and api::checkCreatedClient: never throw; the self-check accepts an
// answer exactly when its token is AstraCS:<clientId>:<sha256hex(secret)>, its secret is one the
// sinks can write verbatim, and the roles match.

#include "FuzzTarget.h"

#include "rotator/api/JsonMapping.h"
#include "rotator/core/Token.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    using rotator::core::FailureKind;
    const auto created = rotator::api::parseCreatedClient(rotator::fuzz::asText(data, size));
    if (!created)
    {
        FUZZ_CHECK(created.error().kind == FailureKind::Permanent);
        return 0;
    }
    FUZZ_CHECK(rotator::core::isValidClientId(created->clientId));
    FUZZ_CHECK(!created->secret.empty());

    rotator::core::CreateRequest same;
    same.roleIds = created->roles;
    const bool selfConsistent =
        rotator::core::tokenMatches(created->clientId, created->secret, created->token) &&
        rotator::api::isAcceptableSecret(created->secret.reveal());
    const auto checked = rotator::api::checkCreatedClient(*created, same);
    FUZZ_CHECK(checked.has_value() == selfConsistent);
    if (!checked)
    {
        FUZZ_CHECK(checked.error().kind == FailureKind::Permanent);
    }

    rotator::core::CreateRequest more = same;
    more.roleIds.push_back("an-extra-role");
    FUZZ_CHECK(!rotator::api::checkCreatedClient(*created, more));
    return 0;
}
