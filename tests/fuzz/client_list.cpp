// api::parseClientList over arbitrary bytes: never throws, and what it accepts is well formed.

#include "FuzzTarget.h"

#include <set>

#include "rotator/api/JsonMapping.h"
#include "rotator/core/Time.h"
#include "rotator/core/Token.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const auto clients = rotator::api::parseClientList(rotator::fuzz::asText(data, size));
    if (!clients)
    {
        FUZZ_CHECK(clients.error().kind == rotator::core::FailureKind::Permanent);
        return 0;
    }
    std::set<std::string> ids;
    for (const auto& c : *clients)
    {
        FUZZ_CHECK(rotator::core::isValidClientId(c.clientId));
        FUZZ_CHECK(ids.insert(c.clientId).second);
        const auto generated = rotator::core::parseRfc3339(c.generatedOn);
        FUZZ_CHECK(generated && generated->unixMs() == c.generatedOnMs);
        // Kept as text: valid RFC 3339, possibly beyond the range of an Instant (year 9999).
        FUZZ_CHECK(!c.tokenExpiry || rotator::core::isRfc3339(*c.tokenExpiry));
    }
    return 0;
}
