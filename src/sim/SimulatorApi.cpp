#include "rotator/sim/Simulator.h"

#include "SimulatorImpl.h"

namespace rotator::sim
{

// The public API: the Impl behind a stable interface.

Simulator::Simulator(SimulatorOptions options) : _impl(std::make_unique<Impl>(std::move(options)))
{
}

Simulator::~Simulator() = default;

void Simulator::stop()
{
    _impl->stop();
}

std::uint16_t Simulator::port() const
{
    return _impl->_port;
}

std::string Simulator::baseUrl() const
{
    return _impl->_baseUrl;
}

const std::string& Simulator::orgId() const
{
    return _impl->_org.orgId(); // never reassigned after construction
}

core::Secret Simulator::adminToken() const
{
    std::lock_guard lock(_impl->_mutex);
    return _impl->_adminToken;
}

std::string Simulator::roleId(std::string_view roleName) const
{
    std::lock_guard lock(_impl->_mutex);
    const SimRole* role = _impl->_org.findRoleByName(roleName);
    if (role == nullptr)
    {
        throw std::out_of_range("no role named '" + std::string(roleName) + "'");
    }
    return role->id;
}

std::vector<SimRole> Simulator::roles() const
{
    std::lock_guard lock(_impl->_mutex);
    return _impl->_org.roles();
}

std::vector<SimClient> Simulator::clients() const
{
    std::lock_guard lock(_impl->_mutex);
    return _impl->_org.clients();
}

core::CreatedClient Simulator::createClient(const ClientSeed& seed)
{
    std::lock_guard lock(_impl->_mutex);
    return _impl->seedClient(seed);
}

bool Simulator::revokeClient(std::string_view clientId)
{
    std::lock_guard lock(_impl->_mutex);
    const bool removed = _impl->_org.remove(clientId);
    if (removed)
    {
        _impl->persist();
    }
    return removed;
}

void Simulator::addFault(FaultRule rule)
{
    validate(rule);
    std::lock_guard lock(_impl->_mutex);
    _impl->_faults.push_back(std::move(rule));
}

void Simulator::clearFaults()
{
    std::lock_guard lock(_impl->_mutex);
    _impl->_faults.clear();
}

std::vector<FaultRule> Simulator::faults() const
{
    std::lock_guard lock(_impl->_mutex);
    return _impl->_faults;
}

void Simulator::setLatencyMs(std::int64_t ms)
{
    std::lock_guard lock(_impl->_mutex);
    _impl->_latencyMs = std::max<std::int64_t>(0, ms);
}

void Simulator::setPropagationDelayMs(std::int64_t ms)
{
    std::lock_guard lock(_impl->_mutex);
    _impl->_propagationDelayMs = std::max<std::int64_t>(0, ms);
}

std::int64_t Simulator::requestCount(std::string_view method, std::string_view pathTemplate,
                                     std::optional<int> status) const
{
    std::lock_guard lock(_impl->_mutex);
    return _impl->countOf(method, pathTemplate, status);
}

bool Simulator::awaitRequestCount(std::string_view method, std::string_view pathTemplate,
                                  std::int64_t count, std::chrono::milliseconds timeout) const
{
    std::unique_lock lock(_impl->_mutex);
    return _impl->_counted.wait_for(
        lock, timeout, [&] { return _impl->countOf(method, pathTemplate, {}) >= count; });
}

std::vector<RequestCount> Simulator::requestCounts() const
{
    std::lock_guard lock(_impl->_mutex);
    std::vector<RequestCount> out;
    for (const auto& [key, n] : _impl->_counts)
    {
        out.push_back({std::get<0>(key), std::get<1>(key), std::get<2>(key), n});
    }
    return out;
}

void Simulator::resetRequestCounts()
{
    std::lock_guard lock(_impl->_mutex);
    _impl->_counts.clear();
}

std::int64_t Simulator::connectionCount() const
{
    return _impl->_connections.load();
}

} // namespace rotator::sim
