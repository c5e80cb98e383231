#pragma once

// Small socket helpers of the admin front end.

#include <cstdint>
#include <string>

#include <sys/socket.h>

namespace rotator::admin
{

/// Milliseconds of the steady clock (network deadlines; not the injected schedule clock).
std::int64_t nowMs();

/// The numeric host of an accepted peer, e.g. 127.0.0.1 or ::1.
std::string peerAddress(const sockaddr_storage& address, socklen_t length);

/// Writes `bytes` to the non-blocking `fd` until done or `deadlineMs` (steady) passes; false
/// when the client did not take them in time or the connection failed.
bool sendAll(int fd, const std::string& bytes, std::int64_t deadlineMs);

/// Reads and drops what has arrived on `fd` (bounded, never waiting): a refused client's request.
void discardArrived(int fd);

} // namespace rotator::admin
