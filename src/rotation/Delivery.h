#pragma once

#include <map>
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
/// it (the last delivery commits with the promotion, one journal step). Decides nothing about
/// a failure beyond journaling it: the caller rolls back or fails the attempt. Thread-safe as
/// the context is.
class Delivery
{
public:
    explicit Delivery(EngineContext& context) : _ctx(context) {}

    /// The sinks' rows, by sink name.
    using SinkRows = std::map<std::string, store::SinkStateRow>;

    /// The writes that start a delivery: stage `delivering`, every sink's row, and the first
    /// sink's attempt (it follows at once). Part of the caller's journal step, which may hold
    /// the step before it too (verified): nothing outside happens between them. Returns the
    /// sinks' rows it wrote.
    SinkRows journalStart(const config::CredentialSettings& c, store::RotationRow& rotation);
    /// Delivers right after the caller committed `journalStart`, from the rows it returned.
    DeliveryOutcome deliverStarted(const config::CredentialSettings& c,
                                   store::RotationRow& rotation, const sink::Credential& secret,
                                   SinkRows started);
    /// Goes on with a delivery started earlier (a resumed rotation, a lifted quarantine), from
    /// the sink rows of the journal.
    DeliveryOutcome resume(const config::CredentialSettings& c, store::RotationRow& rotation,
                           const sink::Credential& secret);

private:
    /// A sink that received the new client, as the journal records it.
    struct Delivered
    {
        store::SinkStateRow row;
        std::string detail;
    };

    /// `attemptJournaled`: the sink whose coming attempt the start step journaled already.
    DeliveryOutcome run(const config::CredentialSettings& c, store::RotationRow& rotation,
                        const sink::Credential& secret, SinkRows states,
                        const std::string* attemptJournaled);
    /// The writes that record a delivery (part of a step).
    void journalDelivered(const config::CredentialSettings& c, const store::RotationRow& rotation,
                          const Delivered& delivered);
    /// Makes the new client current, in one step with the last sink's delivery (when given).
    void promote(const config::CredentialSettings& c, store::RotationRow& rotation,
                 const Delivered* lastDelivery);

    EngineContext& _ctx;
};

/// A sink "may hold" the new client when it was delivered, or when an attempt started and its
/// outcome was never recorded (the process died during it): from then on, only roll forward.
bool mayHold(const store::SinkStateRow& s);

/// A sink's row as journaled when its credential's delivery starts: pending, with the first
/// sink's attempt counted (it follows at once, without a commit of its own).
store::SinkStateRow deliveryStarted(const config::CredentialSettings& c, const std::string& sink);

} // namespace rotator::rotation
