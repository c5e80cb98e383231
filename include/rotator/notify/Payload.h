#pragma once

#include <string>

#include "rotator/config/Settings.h"
#include "rotator/store/StateStore.h"

namespace rotator::notify
{

/// What a person should run (or do) about `event`; empty when nothing needs doing.
std::string fixFor(const store::EventRow& event);

/// The body of one notification, in the notifier's format.
///
/// `json`: `{"event","credential","clientId","rotationId","reason","fix","at","notifier",
/// "idempotencyKey"}` (absent values are null). `slack`: `{"text": "..."}`, which Slack,
/// Mattermost and Teams incoming webhooks all accept. Built from the event row alone, which
/// never holds a secret (the history is readable by anyone who may read the database), so a
/// payload cannot carry one either.
std::string renderPayload(const store::NotificationRow& row, config::NotifyFormat format);

} // namespace rotator::notify
