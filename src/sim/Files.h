#pragma once

// The simulator's own files (state, admin token, port), private to src/sim.

#include <string>
#include <string_view>

namespace rotator::sim
{

/// Replaces `path` with `content` through os::writeFileAtomically (temp file, fsync, rename,
/// fsync of the directory), also in a directory others may write to such as /tmp. A failure
/// throws std::runtime_error naming the path (never the content) and leaves no temp file.
void writeFileAtomically(const std::string& path, std::string_view content, unsigned mode = 0600);

/// Reads the whole file into `out`. Returns false when it does not exist; throws
/// std::runtime_error naming the path when it exists but cannot be read.
bool readWholeFile(const std::string& path, std::string& out);

} // namespace rotator::sim
