#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "rotator/core/Outcome.h"
#include "rotator/sink/Credential.h"

namespace rotator::rotation
{

/// The only place a freshly minted secret rests before every sink has it:
/// `<state.dir>/pending/<rotation-id>.json`, mode 0600, in a 0700 directory, written
/// atomically (temp file, fsync, rename, fsync of the directory) before the journal records
/// `minted`. Removed once the rotation is promoted or rolled back. Thread-safe (distinct
/// rotations touch distinct files).
class PendingFiles
{
public:
    explicit PendingFiles(std::string directory);

    core::Outcome<void> write(std::int64_t rotationId, const sink::Credential& credential);
    /// nullopt when the file is absent or unreadable as a credential, or (logged as a warning)
    /// when it is a link, not a regular file, not the rotator's user's or writable by others.
    std::optional<sink::Credential> read(std::int64_t rotationId,
                                         const std::string& credentialName) const;
    bool exists(std::int64_t rotationId) const;
    /// Removes the file (a missing file is fine). Not synced: recovery removes the file of a
    /// finished rotation again if a power cut undoes the removal.
    void remove(std::int64_t rotationId);
    /// Removes temporary files a writer killed mid-write left behind (they may hold a secret).
    void removeStaleTemporaries();
    /// The rotation IDs that have a pending file.
    std::vector<std::int64_t> list() const;

    const std::string& directory() const { return _directory; }

private:
    std::string path(std::int64_t rotationId) const;
    std::string _directory;
};

} // namespace rotator::rotation
