#pragma once

#include <string>
#include <vector>

namespace rotator::core
{

/// Every kind of event the history records (the CHECK of `events.event`, migrations/0004), in
/// the order a rotation meets them: what `notify.N.events` and `history --event` accept.
const std::vector<std::string>& eventKinds();

} // namespace rotator::core
