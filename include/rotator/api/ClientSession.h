#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <Poco/Net/Context.h>
#include <Poco/Net/HTTPClientSession.h>

#include "rotator/api/ConnectionWatchdog.h"

namespace rotator::api
{

/// What a client session reports about the exchange in progress, and the deadline it is under.
struct ExchangeState
{
    /// Set before the first byte of a request goes to the socket: a failure from then on may
    /// follow a request the server acted on.
    bool requestWritten = false;
    /// The attempt's deadline; each new connection is handed to it. Null: none.
    ConnectionWatchdog::Watch* watch = nullptr;
};

/// The TLS context of the DevOps API client: VERIFY_STRICT, TLS 1.2+, strong ciphers, the
/// system CA store (looked up lazily) plus `caFile`, and a process-wide handler that rejects an
/// unverified certificate instead of asking on stdin.
Poco::Net::Context::Ptr makeClientContext(const std::string& caFile);

/// A keep-alive HTTP(S) session to `host:port` (https when `context` is set) that reports to
/// `state`, which must outlive it. Over TLS, each read or write waits once for the session's
/// timeout (see SingleWaitHttpsSession in the source).
std::unique_ptr<Poco::Net::HTTPClientSession>
makeClientSession(const std::string& host, std::uint16_t port,
                  const Poco::Net::Context::Ptr& context, ExchangeState& state);

} // namespace rotator::api
