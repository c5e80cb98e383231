#include "rotator/core/EventKinds.h"

namespace rotator::core
{

const std::vector<std::string>& eventKinds()
{
    static const std::vector<std::string> kinds = {
        "discovered",       "disappeared",        "adopted",  "created",
        "verified",         "delivered",          "promoted", "revoked",
        "revoke_confirmed", "rolled_back",        "failed",   "quarantined",
        "orphan_revoked",   "unattributed",       "foreign",  "retired",
        "current_missing",  "admin_token_invalid"};
    return kinds;
}

} // namespace rotator::core
