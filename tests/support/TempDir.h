#pragma once

#include <string>

namespace rotator::test
{

/// A fresh directory under $TMPDIR (mode 0700), removed with everything in it on destruction.
class TempDir
{
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::string& path() const { return _path; }
    /// `path() + "/" + name`.
    std::string file(const std::string& name) const;

private:
    std::string _path;
};

/// Reads a whole file; empty string when it does not exist.
std::string readFile(const std::string& path);
/// Writes a whole file with the given mode (created or truncated).
void writeFile(const std::string& path, const std::string& content, unsigned mode = 0600);

} // namespace rotator::test
