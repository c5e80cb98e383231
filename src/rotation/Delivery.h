#pragma once

#include <functional>
#include <string>

#include "EngineContext.h"
#include "rotator/config/Settings.h"
#include "rotator/sink/SecretSink.h"
#include "rotator/store/StateStore.h"

namespace rotator::rotation
{

/// How delivering a rotation's new client to its sinks ended.
struct DeliveryOutcome
{
    enum class Kind
    {
        Promoted,   ///< every sink holds the new client, which is now current
        RollBack,   ///< no sink holds (or may hold) the new client: it can be revoked
        RollForward ///< some sink may hold it: keep both clients, retry the failing sinks
    };
    Kind kind = Kind::RollForward;
    std::string why; ///< the sinks' failures, unless Promoted
};

/// Writes a rotation's new client to each sink of its credential, journaling each attempt
/// before it and each delivery after it, and promotes the new client once every sink holds
/// it (the last delivery commits with the promotion). Decides nothing about a failure beyond
/// journaling it: the caller rolls back or fails the attempt. Thread-safe as the context is.
class Delivery
{
public:
    explicit Delivery(EngineContext& context) : _ctx(context) {}

    /// `firstAttemptJournaled`: the caller journaled the first sink's attempt already.
    DeliveryOutcome deliver(const config::CredentialSettings& c, store::RotationRow& rotation,
                            const sink::Credential& secret, bool firstAttemptJournaled = false);

private:
    /// Makes the new client current; `lastDelivery` (when set) journals the last sink's
    /// delivery in the same commit.
    void promote(const config::CredentialSettings& c, store::RotationRow& rotation,
                 const std::function<void()>& lastDelivery);

    EngineContext& _ctx;
};

/// A sink "may hold" the new client when it was delivered, or when an attempt started and its
/// outcome was never recorded (the process died during it): from then on, only roll forward.
bool mayHold(const store::SinkStateRow& s);

/// A sink's row as journaled when its credential's delivery starts: pending, with the first
/// sink's attempt counted (it follows at once, without a commit of its own).
store::SinkStateRow deliveryStarted(const config::CredentialSettings& c, const std::string& sink);

} // namespace rotator::rotation
