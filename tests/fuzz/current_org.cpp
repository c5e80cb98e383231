// api::parseCurrentOrg over arbitrary bytes: never throws, fails only as Permanent. (An empty
// id is accepted: the engine skips the org comparison for it.)

#include "FuzzTarget.h"

#include "rotator/api/JsonMapping.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const auto org = rotator::api::parseCurrentOrg(rotator::fuzz::asText(data, size));
    if (!org)
    {
        FUZZ_CHECK(org.error().kind == rotator::core::FailureKind::Permanent);
    }
    return 0;
}
