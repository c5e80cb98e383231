#include "rotator/core/Outcome.h"

namespace rotator::core
{

const char* toString(FailureKind kind)
{
    switch (kind)
    {
    case FailureKind::Transient:
        return "transient";
    case FailureKind::Auth:
        return "auth";
    case FailureKind::NotFound:
        return "not_found";
    case FailureKind::Permanent:
        return "permanent";
    }
    return "permanent";
}

} // namespace rotator::core
