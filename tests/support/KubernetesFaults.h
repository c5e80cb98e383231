#pragma once

#include <string>

#include "rotator/sim/FaultRule.h"

namespace rotator::test
{

/// A fault of the Kubernetes simulator: `kind` for the next `method` request (`*`: any) under
/// `/api` (core and named API groups), answering `status` where the kind answers one.
inline sim::FaultRule kubernetesFault(sim::FaultKind kind, const std::string& method,
                                      int status = 0)
{
    sim::FaultRule rule;
    rule.kind = kind;
    rule.method = method;
    rule.pathPrefix = "/api";
    rule.status = status;
    rule.count = 1;
    return rule;
}

} // namespace rotator::test
