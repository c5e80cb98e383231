#include "support/FakeTokenApi.h"

#include "rotator/core/Time.h"
#include "rotator/core/Token.h"

namespace rotator::test
{

core::Failure makeTestFailure(core::FailureKind kind, const std::string& message, int httpStatus,
                              bool ambiguous)
{
    core::Failure f;
    f.kind = kind;
    f.message = message;
    f.httpStatus = httpStatus;
    f.ambiguous = ambiguous;
    return f;
}

FakeTokenApi::FakeTokenApi(core::Clock& clock) : _clock(clock) {}

std::optional<core::Failure> FakeTokenApi::takeFailure(Call call)
{
    ++_calls[call];
    auto& queue = _failures[call];
    if (queue.empty())
    {
        return std::nullopt;
    }
    auto f = queue.front();
    queue.pop_front();
    return f;
}

std::string FakeTokenApi::newClientId()
{
    // 24 letters, deterministic, and unique for all practical purposes.
    static const char* kLetters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    const std::string hex = core::sha256Hex("fake-client-" + std::to_string(++_counter));
    std::string id;
    for (std::size_t i = 0; i < 24; ++i)
    {
        const auto byte = std::stoul(hex.substr(i * 2, 2), nullptr, 16);
        id += kLetters[byte % 52];
    }
    return id;
}

core::Outcome<std::vector<core::ClientInfo>> FakeTokenApi::listClients()
{
    std::lock_guard<std::mutex> lock(_mutex);
    if (auto f = takeFailure(Call::List))
    {
        return tl::unexpected(*f);
    }
    std::vector<core::ClientInfo> out;
    for (const auto& [id, stored] : _clients)
    {
        auto info = stored.info;
        if (!_descriptions)
        {
            info.description.reset();
        }
        out.push_back(info);
    }
    return out;
}

core::Outcome<core::CreatedClient> FakeTokenApi::createClient(const core::CreateRequest& request)
{
    std::lock_guard<std::mutex> lock(_mutex);
    if (auto f = takeFailure(Call::Create))
    {
        return tl::unexpected(*f);
    }
    core::CreatedClient created;
    created.clientId = newClientId();
    created.secret = core::Secret("secret-" + created.clientId + "-" + std::to_string(_counter) +
                                  ".,+_-Zz9");
    created.token = core::makeToken(created.clientId, created.secret);
    created.orgId = orgId;
    created.roles = request.roleIds;
    const std::int64_t now = _clock.nowMs();
    created.generatedOn = core::formatRfc3339Nanos(now * 1000000 + 123456);
    created.generatedOnMs = now;
    Stored stored;
    stored.info.clientId = created.clientId;
    stored.info.roles = request.roleIds;
    stored.info.generatedOn = core::formatRfc3339Ms(now);
    stored.info.generatedOnMs = now;
    stored.info.description = request.description;
    stored.info.tokenExpiry = request.tokenExpiry;
    stored.token = created.token.reveal();
    _clients[created.clientId] = stored;
    if (_commitThenFail)
    {
        auto f = *_commitThenFail;
        _commitThenFail.reset();
        return tl::unexpected(f);
    }
    if (_tamper)
    {
        std::exchange(_tamper, nullptr)(created);
    }
    return created;
}

void FakeTokenApi::tamperNextCreateAnswer(std::function<void(core::CreatedClient&)> tamper)
{
    std::lock_guard<std::mutex> lock(_mutex);
    _tamper = std::move(tamper);
}

core::Outcome<void> FakeTokenApi::deleteClient(const std::string& clientId)
{
    std::lock_guard<std::mutex> lock(_mutex);
    if (auto f = takeFailure(Call::Delete))
    {
        return tl::unexpected(*f);
    }
    _clients.erase(clientId);
    return {};
}

core::Outcome<std::string> FakeTokenApi::currentOrg()
{
    std::lock_guard<std::mutex> lock(_mutex);
    if (auto f = takeFailure(Call::CurrentOrg))
    {
        return tl::unexpected(*f);
    }
    return orgId;
}

core::Outcome<std::string> FakeTokenApi::currentOrgWith(const core::Secret& token)
{
    std::lock_guard<std::mutex> lock(_mutex);
    if (auto f = takeFailure(Call::CurrentOrgWith))
    {
        return tl::unexpected(*f);
    }
    for (const auto& [id, stored] : _clients)
    {
        if (core::constantTimeEquals(stored.token, token.reveal()))
        {
            return orgId;
        }
    }
    return tl::unexpected(makeTestFailure(core::FailureKind::Auth, "GET /v2/currentOrg: HTTP 401",
                                          401));
}

core::Outcome<std::vector<core::Role>> FakeTokenApi::listRoles()
{
    std::lock_guard<std::mutex> lock(_mutex);
    if (auto f = takeFailure(Call::Roles))
    {
        return tl::unexpected(*f);
    }
    return roles;
}

std::string FakeTokenApi::seedClient(std::vector<std::string> clientRoles,
                                     std::int64_t generatedOnMs,
                                     std::optional<std::string> description)
{
    std::lock_guard<std::mutex> lock(_mutex);
    Stored stored;
    stored.info.clientId = newClientId();
    stored.info.roles = std::move(clientRoles);
    stored.info.generatedOn = core::formatRfc3339Ms(generatedOnMs);
    stored.info.generatedOnMs = generatedOnMs;
    stored.info.description = std::move(description);
    stored.token = "AstraCS:" + stored.info.clientId + ":" + core::sha256Hex(stored.info.clientId);
    const auto id = stored.info.clientId;
    _clients[id] = stored;
    return id;
}

void FakeTokenApi::failNext(Call call, core::Failure failure, int count)
{
    std::lock_guard<std::mutex> lock(_mutex);
    for (int i = 0; i < count; ++i)
    {
        _failures[call].push_back(failure);
    }
}

void FakeTokenApi::commitThenFailNextCreate(core::Failure failure)
{
    std::lock_guard<std::mutex> lock(_mutex);
    _commitThenFail = std::move(failure);
}

void FakeTokenApi::setReturnsDescriptions(bool on)
{
    std::lock_guard<std::mutex> lock(_mutex);
    _descriptions = on;
}

bool FakeTokenApi::exists(const std::string& clientId) const
{
    std::lock_guard<std::mutex> lock(_mutex);
    return _clients.count(clientId) > 0;
}

std::vector<std::string> FakeTokenApi::clientIds() const
{
    std::lock_guard<std::mutex> lock(_mutex);
    std::vector<std::string> out;
    for (const auto& [id, stored] : _clients)
    {
        out.push_back(id);
    }
    return out;
}

int FakeTokenApi::calls(Call call) const
{
    std::lock_guard<std::mutex> lock(_mutex);
    const auto it = _calls.find(call);
    return it == _calls.end() ? 0 : it->second;
}

std::string FakeTokenApi::tokenOf(const std::string& clientId) const
{
    std::lock_guard<std::mutex> lock(_mutex);
    const auto it = _clients.find(clientId);
    return it == _clients.end() ? std::string() : it->second.token;
}

} // namespace rotator::test
