#pragma once

// The stage machine lives in core/Lifecycle.h, so that the store's rows can hold it too; the
// rotation module uses it under its own namespace.
#include "rotator/core/Lifecycle.h"

namespace rotator::rotation
{

using core::isActive;
using core::isInProgress;
using core::isTerminal;
using core::Stage;
using core::StageEvent;
using core::stageFromString;
using core::transition;

} // namespace rotator::rotation
