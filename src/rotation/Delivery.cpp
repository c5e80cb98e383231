#include "Delivery.h"

#include <algorithm>
#include <map>

#include "rotator/core/CpuAccount.h"
#include "rotator/core/Errors.h"
#include "rotator/core/Time.h"

namespace rotator::rotation
{

bool mayHold(const store::SinkStateRow& s)
{
    return s.state == SinkDelivery::Delivered ||
           (s.state == SinkDelivery::Pending && s.attempts > 0);
}

store::SinkStateRow deliveryStarted(const config::CredentialSettings& c, const std::string& sink)
{
    return store::SinkStateRow{sink, SinkDelivery::Pending, sink == c.sinks.front() ? 1 : 0,
                               std::nullopt, std::nullopt};
}

DeliveryOutcome Delivery::deliver(const config::CredentialSettings& c, store::RotationRow& rotation,
                                  const sink::Credential& secret, bool firstAttemptJournaled)
{
    std::map<std::string, store::SinkStateRow> states;
    if (firstAttemptJournaled)
    {
        // Journaled by the caller as the delivery started, and no other row exists: a rotation
        // reaches "delivering" only there.
        for (const auto& name : c.sinks)
        {
            states[name] = deliveryStarted(c, name);
        }
    }
    else
    {
        for (auto& s : _ctx.store.sinkStates(rotation.id))
        {
            states[s.sink] = s;
        }
    }
    // A sink holds the new client, or may from an earlier attempt (not the first sink's
    // attempt journaled for this call, which has not happened yet).
    bool anyHolds = std::any_of(states.begin(), states.end(),
                                [&](const auto& kv) {
                                    return mayHold(kv.second) &&
                                           !(firstAttemptJournaled && kv.first == c.sinks.front());
                                });
    std::vector<std::string> failures;
    std::function<void()> lastDelivery;
    for (const auto& name : c.sinks)
    {
        auto& state = states[name];
        state.sink = name;
        if (state.state == SinkDelivery::Delivered)
        {
            continue;
        }
        const auto sinkIt = _ctx.sinks.find(name);
        if (sinkIt == _ctx.sinks.end())
        {
            throw core::InvariantError("sink " + name + " is not built");
        }
        // Journal the attempt first: if we die during it, the sink may hold the new client.
        // (The first sink's first attempt was journaled with the start of the delivery.)
        const bool journaled = firstAttemptJournaled && &name == &c.sinks.front();
        const bool interrupted =
            !journaled && state.state == SinkDelivery::Pending && state.attempts > 0;
        if (!journaled)
        {
            state.attempts += 1;
            _ctx.store.saveSinkState(rotation.id, state);
        }
        _ctx.crashPoint("before-sink:" + name);
        auto delivered = [&]
        {
            const core::cpu_account::Scope account("sink-write");
            return sinkIt->second->deliver(secret);
        }();
        if (delivered)
        {
            state.state = SinkDelivery::Delivered;
            state.deliveredMs = _ctx.clock.nowMs();
            state.lastError.reset();
            // `state` is an element of `states`, which outlives the deferred call.
            const std::function<void()> record =
                [this, &rotation, &c, &state,
                 detail = "sink " + name + ": " + sinkIt->second->describe()]
            {
                _ctx.store.saveSinkState(rotation.id, state);
                _ctx.event("delivered", c.name, rotation.newClientId, rotation.id, detail);
            };
            if (&name == &c.sinks.back() && failures.empty())
            {
                lastDelivery = record; // committed with the promotion that follows at once
            }
            else
            {
                _ctx.store.runInTransaction(record);
            }
            anyHolds = true;
            _ctx.crashPoint("after-sink:" + name);
            continue;
        }
        const std::string why = "sink " + name + ": " + delivered.error().message;
        // An ambiguous failure (a hook killed after it could read the credential) may have
        // installed it: "may hold" (state pending), like an attempt we died in. A clean failure
        // after either keeps "may hold", as the earlier attempt may still have installed it.
        const bool mayHoldNow = interrupted || delivered.error().ambiguous;
        state.state = mayHoldNow ? SinkDelivery::Pending : SinkDelivery::Failed;
        state.lastError = delivered.error().message;
        _ctx.store.saveSinkState(rotation.id, state);
        logger().error("rotation %Ld of %s: %s", static_cast<Poco::Int64>(rotation.id), c.name,
                       why);
        anyHolds = anyHolds || mayHoldNow;
        if (!anyHolds)
        {
            // No consumer has the new client: revoke it and try again later.
            return {DeliveryOutcome::Kind::RollBack, why};
        }
        failures.push_back(why);
    }
    if (!failures.empty())
    {
        // Roll forward only: the old client stays alive, failing sinks are retried.
        std::string why = "rolling forward; ";
        for (std::size_t i = 0; i < failures.size(); ++i)
        {
            why += (i ? "; " : "") + failures[i];
        }
        rotation.error = why;
        rotation.updatedMs = _ctx.clock.nowMs();
        _ctx.store.saveRotation(rotation);
        return {DeliveryOutcome::Kind::RollForward, why};
    }
    promote(c, rotation, lastDelivery);
    _ctx.pending.remove(rotation.id);
    _ctx.crashPoint("promoted");
    return {DeliveryOutcome::Kind::Promoted, ""};
}

void Delivery::promote(const config::CredentialSettings& c, store::RotationRow& rotation,
                       const std::function<void()>& lastDelivery)
{
    const std::int64_t now = _ctx.clock.nowMs();
    _ctx.store.runInTransaction(
        [&]
        {
            if (lastDelivery)
            {
                lastDelivery();
            }
            auto row = _ctx.store.findCredential(c.name);
            const std::string replaced = row->currentClientId;
            _ctx.setStage(rotation, advanced(rotation, StageEvent::Promoted, true));
            rotation.error.reset();
            const bool bootstrap = rotation.oldClientId.empty();
            if (bootstrap)
            {
                _ctx.setStage(rotation, advanced(rotation, StageEvent::Confirmed, true));
            }
            _ctx.store.saveRotation(rotation);
            row->currentClientId = rotation.newClientId;
            row->previousClientId = rotation.oldClientId;
            row->revokeAfterMs =
                bootstrap
                    ? std::nullopt
                    : std::optional<std::int64_t>(rotation.noGrace ? now : now + c.gracePeriodMs);
            row->state = bootstrap ? CredentialState::Idle : CredentialState::Grace;
            row->consecutiveFailures = 0;
            row->nextAttemptMs.reset();
            row->lastSuccessMs = now;
            row->lastRotationId = rotation.id;
            row->updatedMs = now;
            _ctx.store.saveCredential(*row);
            _ctx.event("promoted", c.name, rotation.newClientId, rotation.id,
                       bootstrap && replaced.empty() ? "first client of the credential"
                       : bootstrap                   ? "replaces client " + replaced +
                                         ", which is no longer listed (nothing to revoke)"
                       : rotation.noGrace
                           ? "previous client " + rotation.oldClientId +
                                 " revoked at once (no grace period)"
                           : "previous client " + rotation.oldClientId + " revoked after " +
                                 core::formatRfc3339Seconds(*row->revokeAfterMs));
        });
    note(Poco::Message::PRIO_INFORMATION,
         "rotation " + std::to_string(rotation.id) + " of " + c.name + ": client " +
             rotation.newClientId + " is current",
         rotation, rotation.newClientId);
}

} // namespace rotator::rotation
