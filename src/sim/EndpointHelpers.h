#pragma once

// Pieces of answers shared by the API endpoints (Endpoints.cpp) and the /_sim ones
// (ControlEndpoints.cpp).

#include <cstdint>
#include <optional>
#include <string>

#include <Poco/JSON/Object.h>
#include <Poco/Net/HTTPServerRequest.h>

#include "SimulatorImpl.h"
#include "rotator/sim/Org.h"

namespace rotator::sim
{

/// The bearer token of the request, or empty.
std::string bearer(const Poco::Net::HTTPServerRequest& request);
/// An optional RFC 3339 member as Unix milliseconds; json::Invalid when it is not one.
std::optional<std::int64_t> optInstantMs(const Poco::JSON::Object& object, const std::string& key);
Reply jsonReply(int status, const std::string& body);
Reply emptyReply(int status);
/// Nanoseconds below the clock's millisecond, for the nanosecond timestamps of the API.
std::int64_t subMillisecondNanos();
Poco::JSON::Object::Ptr clientJson(const SimClient& c, bool descriptions, bool nanos);
Poco::JSON::Object::Ptr roleJson(const SimRole& role, const std::string& orgId, RoleCasing casing);

} // namespace rotator::sim
