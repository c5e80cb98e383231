#pragma once

#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "rotator/sink/SecretSink.h"

namespace rotator::test
{

/// What a recording sink holds, shared with the test after the engine took the sink.
struct SinkRecord
{
    std::mutex mutex;
    std::string token;    ///< the token it holds now (empty: never delivered)
    std::string clientId; ///< the client it holds now
    int deliveries = 0;
    std::deque<core::Failure> failures; ///< the next deliveries fail with these, in order
    bool failAlways = false;
    core::Failure always;
};

/// A sink that keeps the delivered token in memory and fails when told to.
class RecordingSink final : public sink::SecretSink
{
public:
    RecordingSink(std::string name, std::shared_ptr<SinkRecord> record)
        : _name(std::move(name)), _record(std::move(record))
    {
    }
    const std::string& name() const override { return _name; }
    std::string describe() const override { return "recording sink " + _name; }
    core::Outcome<void> deliver(const sink::Credential& credential) override
    {
        std::lock_guard<std::mutex> lock(_record->mutex);
        if (_record->failAlways)
        {
            return tl::unexpected(_record->always);
        }
        if (!_record->failures.empty())
        {
            auto f = _record->failures.front();
            _record->failures.pop_front();
            return tl::unexpected(f);
        }
        _record->token = credential.token.reveal();
        _record->clientId = credential.clientId;
        ++_record->deliveries;
        return {};
    }
    core::Outcome<void> check() const override { return {}; }

private:
    std::string _name;
    std::shared_ptr<SinkRecord> _record;
};

} // namespace rotator::test
