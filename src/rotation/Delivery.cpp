#include "Delivery.h"

#include <algorithm>
#include <map>
#include <optional>

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

Delivery::SinkRows Delivery::journalStart(const config::CredentialSettings& c,
                                          store::RotationRow& rotation)
{
    _ctx.setStage(rotation, advanced(rotation, StageEvent::DeliveryStarted, false));
    _ctx.store.saveRotation(rotation);
    SinkRows started;
    for (const auto& name : c.sinks)
    {
        // The first sink's attempt is journaled here, one commit less before it.
        const auto& row = started[name] = deliveryStarted(c, name);
        _ctx.store.saveSinkState(rotation.id, row);
    }
    return started;
}

DeliveryOutcome Delivery::deliverStarted(const config::CredentialSettings& c,
                                         store::RotationRow& rotation,
                                         const sink::Credential& secret, SinkRows started)
{
    return run(c, rotation, secret, std::move(started),
               c.sinks.empty() ? nullptr : &c.sinks.front());
}

DeliveryOutcome Delivery::resume(const config::CredentialSettings& c, store::RotationRow& rotation,
                                 const sink::Credential& secret)
{
    std::map<std::string, store::SinkStateRow> states;
    for (auto& s : _ctx.store.sinkStates(rotation.id))
    {
        states[s.sink] = s;
    }
    return run(c, rotation, secret, std::move(states), nullptr);
}

namespace
{

/// Moves a sink's row through the delivery table; anything else is a bug in the engine.
void moveTo(store::SinkStateRow& row, SinkDelivery to, std::int64_t rotationId)
{
    if (!core::keepsDelivered(row.state, to))
    {
        throw core::InvariantError("rotation " + std::to_string(rotationId) + ": sink " + row.sink +
                                   " cannot move from " + std::string(toString(row.state)) +
                                   " to " + std::string(toString(to)));
    }
    row.state = to;
}

} // namespace

DeliveryOutcome Delivery::run(const config::CredentialSettings& c, store::RotationRow& rotation,
                              const sink::Credential& secret, SinkRows states,
                              const std::string* attemptJournaled)
{
    // A sink holds the new client, or may from an earlier attempt (not the attempt the start
    // step journaled, which has not happened yet).
    bool anyHolds = std::any_of(states.begin(), states.end(),
                                [&](const auto& kv) {
                                    return mayHold(kv.second) &&
                                           !(attemptJournaled && kv.first == *attemptJournaled);
                                });
    std::vector<std::string> failures;
    std::optional<Delivered> lastDelivery;
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
        const bool journaled = attemptJournaled && name == *attemptJournaled;
        const bool interrupted =
            !journaled && state.state == SinkDelivery::Pending && state.attempts > 0;
        if (!journaled)
        {
            state.attempts += 1;
            _ctx.store.saveSinkState(rotation.id, state);
        }
        _ctx.crashPoint("before-sink:" + name);
        const auto delivered = _ctx.deliverTo(*sinkIt->second, secret);
        if (delivered)
        {
            moveTo(state, SinkDelivery::Delivered, rotation.id);
            state.deliveredMs = _ctx.clock.nowMs();
            state.lastError.reset();
            Delivered record{state, "sink " + name + ": " + sinkIt->second->describe()};
            if (&name == &c.sinks.back() && failures.empty())
            {
                lastDelivery = std::move(record); // one step with the promotion that follows
            }
            else
            {
                _ctx.journal.commit("delivered to a sink",
                                    [&] { journalDelivered(c, rotation, record); });
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
        moveTo(state, mayHoldNow ? SinkDelivery::Pending : SinkDelivery::Failed, rotation.id);
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
    promote(c, rotation, lastDelivery ? &*lastDelivery : nullptr);
    _ctx.pending.remove(rotation.id);
    _ctx.crashPoint("promoted");
    return {DeliveryOutcome::Kind::Promoted, ""};
}

void Delivery::journalDelivered(const config::CredentialSettings& c,
                                const store::RotationRow& rotation, const Delivered& delivered)
{
    _ctx.store.saveSinkState(rotation.id, delivered.row);
    _ctx.event("delivered", c.name, rotation.newClientId, rotation.id, delivered.detail);
}

void Delivery::promote(const config::CredentialSettings& c, store::RotationRow& rotation,
                       const Delivered* lastDelivery)
{
    const std::int64_t now = _ctx.clock.nowMs();
    _ctx.journal.commit(
        lastDelivery ? "delivered to the last sink + promoted" : "promoted",
        [&]
        {
            if (lastDelivery)
            {
                journalDelivered(c, rotation, *lastDelivery);
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
