#pragma once

#include <cstddef>
#include <string>

namespace rotator::core
{

/// Overwrites `size` bytes at `data` with zeros; the compiler may not drop the stores as dead
/// (explicit_bzero). For buffers that held a secret. Thread-safe for distinct buffers.
void secureWipe(void* data, std::size_t size) noexcept;

/// Zeroes the bytes of `buffer`, then empties it. Only the current bytes are wiped: a string
/// that grew reallocated, and the old copies are out of reach, so size buffers up front.
void secureWipe(std::string& buffer) noexcept;

} // namespace rotator::core
