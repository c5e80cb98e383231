#pragma once

// How the simulator answers: a normal reply, and the faults that mangle or withhold one.

#include <functional>

#include <Poco/Net/HTTPServerRequest.h>
#include <Poco/Net/HTTPServerResponse.h>

#include "SimulatorImpl.h"
#include "rotator/sim/FaultRule.h"

namespace rotator::sim
{

/// Sends `reply` as it is.
void send(Poco::Net::HTTPServerResponse& response, const Reply& reply);

/// Closes the connection without a response: the client sees the connection end.
void dropConnection(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response);

/// Ends the connection under TLS without a close_notify alert, so that the client's TLS layer
/// reads an unexpected end of file. Over plain HTTP the same as dropConnection.
void cutConnection(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response);

/// Sends `reply` (status line, headers, body; the connection then closes) one byte at a time,
/// calling `pause` between two bytes; stops early when `pause` returns false (the simulator
/// stops) or the client goes away.
void trickle(Poco::Net::HTTPServerRequest& request, Poco::Net::HTTPServerResponse& response,
             const Reply& reply, const std::function<bool()>& pause);

/// The answer of a Status, RateLimit or TextError rule.
Reply faultReply(const FaultRule& rule);

/// A 200 whose body is a strict prefix of the real JSON answer, so never valid JSON.
Reply invalidJson(const Reply& real);

} // namespace rotator::sim
