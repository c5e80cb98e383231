#pragma once

#include <string>

namespace rotator::store
{

/// The rotator's state directory (`state.dir`): `rotator.db`, `pending/` and `lock`.
///
/// `prepare()` creates it (and `pending/`) with mode 0700 and narrows an existing mode that
/// lets others read it. It refuses (core::ConfigError for `state.dir`, exit 78) what someone
/// else could have planted or could change: a directory above it that `os::openTrustedDirectory`
/// does not trust, a symbolic link, or a state directory, `pending/`, `rotator.db` (-wal, -shm)
/// or `lock` that the effective user does not own or that its group or others can write.
///
/// `lock()` takes an exclusive, non-blocking `flock` on `<dir>/lock` for the life of
/// the object and writes the holder's PID into it, so a second writer fails fast with a
/// message naming the holder. The lock dies with the process (kill -9 included).
/// Not thread-safe; one instance per process.
class StateDir
{
public:
    explicit StateDir(std::string path);
    ~StateDir();
    StateDir(const StateDir&) = delete;
    StateDir& operator=(const StateDir&) = delete;

    /// Checks and creates the directories; throws core::ConfigError naming the path, its owner
    /// and mode and the fix for an untrusted entry, core::StoreError for a failing call.
    void prepare();
    /// Takes the exclusive lock; throws core::StoreError when another process holds it.
    void lock();
    bool locked() const { return _lockFd >= 0; }

    const std::string& path() const { return _path; }
    std::string databasePath() const { return _path + "/rotator.db"; }
    std::string pendingDir() const { return _path + "/pending"; }

private:
    std::string _path;
    int _lockFd = -1;
};

} // namespace rotator::store
