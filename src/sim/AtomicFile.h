#pragma once

#include <string>

namespace rotator::sim
{

/// Replaces `path` with `content` atomically: a temp file in the same directory (mode `mode`),
/// fsync, rename, fsync of the directory. A failure throws std::runtime_error naming the path
/// (never the content) and leaves no temp file behind.
void writeFileAtomically(const std::string& path, const std::string& content, unsigned mode = 0600);

/// Reads the whole file into `out`. Returns false when it does not exist; throws
/// std::runtime_error naming the path when it exists but cannot be read.
bool readWholeFile(const std::string& path, std::string& out);

} // namespace rotator::sim
