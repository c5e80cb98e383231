#pragma once

// File-system and process probes for tests (header-only): what a directory holds, how a path
// looks without following links, whether a process is gone, which children are zombies, which
// pages a core dump leaves out.

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace rotator::test
{

/// The names in a directory, "." and ".." excluded, sorted.
inline std::vector<std::string> listDir(const std::string& path)
{
    std::vector<std::string> names;
    if (DIR* dir = ::opendir(path.c_str()))
    {
        while (const dirent* entry = ::readdir(dir))
        {
            const std::string name = entry->d_name;
            if (name != "." && name != "..")
            {
                names.push_back(name);
            }
        }
        ::closedir(dir);
    }
    std::sort(names.begin(), names.end());
    return names;
}

inline struct stat lstatOf(const std::string& path)
{
    struct stat st = {};
    if (::lstat(path.c_str(), &st) != 0)
    {
        st.st_ino = 0;
    }
    return st;
}

/// True when `pid` no longer runs: gone, or a zombie waiting for a reaper that is not us (in
/// a container the init process may be slow to reap orphans).
inline bool processGone(pid_t pid)
{
    if (::kill(pid, 0) != 0 && errno == ESRCH)
    {
        return true;
    }
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(stat, line))
    {
        return true;
    }
    const auto close = line.rfind(')');
    return close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'Z';
}

/// Polls `done` until it holds or `limit` passes; a bounded wait, not a fixed sleep.
template <typename Predicate>
bool eventually(Predicate done, std::chrono::milliseconds limit = std::chrono::seconds(10))
{
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!done())
    {
        if (std::chrono::steady_clock::now() >= deadline)
        {
            return false;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return true;
}

/// Children of this process that are zombies (exited, never reaped).
inline std::vector<pid_t> zombieChildren()
{
    std::vector<pid_t> zombies;
    const std::string self = std::to_string(::getpid());
    for (const auto& name : listDir("/proc"))
    {
        if (name.find_first_not_of("0123456789") != std::string::npos)
        {
            continue;
        }
        std::ifstream stat("/proc/" + name + "/stat");
        std::string line;
        if (!std::getline(stat, line))
        {
            continue;
        }
        const auto close = line.rfind(')');
        if (close == std::string::npos || close + 2 >= line.size())
        {
            continue;
        }
        // After ")": " <state> <ppid> ..."
        std::istringstream rest(line.substr(close + 2));
        std::string state;
        std::string ppid;
        rest >> state >> ppid;
        if (state == "Z" && ppid == self)
        {
            zombies.push_back(static_cast<pid_t>(std::stoi(name)));
        }
    }
    return zombies;
}

/// Descriptor `number` open without close-on-exec while it lives, like one a library might
/// leave behind: a child must not inherit it.
class InheritableDescriptor
{
public:
    explicit InheritableDescriptor(int number) : _number(number)
    {
        const int opened = ::open("/dev/null", O_RDONLY);
        _valid = opened >= 0 && ::dup2(opened, number) == number;
        ::close(opened);
    }
    InheritableDescriptor(const InheritableDescriptor&) = delete;
    InheritableDescriptor& operator=(const InheritableDescriptor&) = delete;
    ~InheritableDescriptor() { ::close(_number); }

    bool valid() const { return _valid; }
    /// A shell test printing "leaked" when the descriptor reached the shell, else "closed".
    std::string shellProbe() const
    {
        return "if [ -e /proc/$$/fd/" + std::to_string(_number) +
               " ]; then echo leaked; else echo closed; fi";
    }

private:
    int _number;
    bool _valid = false;
};

/// The `VmFlags` line of the mapping in /proc/self/smaps that holds `address`, or "".
inline std::string vmFlagsOf(const void* address)
{
    const auto at = reinterpret_cast<std::uintptr_t>(address);
    std::ifstream smaps("/proc/self/smaps");
    std::string line;
    bool inside = false;
    while (std::getline(smaps, line))
    {
        std::uintptr_t from = 0;
        std::uintptr_t to = 0;
        char dash = 0;
        std::istringstream head(line);
        if (head >> std::hex >> from >> dash >> to && dash == '-')
        {
            inside = from <= at && at < to;
        }
        else if (inside && line.rfind("VmFlags:", 0) == 0)
        {
            return line;
        }
    }
    return "";
}

/// Whether the page that holds `address` is marked MADV_DONTDUMP (`dd` in its VmFlags).
inline bool leftOutOfCoreDumps(const void* address)
{
    std::istringstream flags(vmFlagsOf(address));
    std::string flag;
    while (flags >> flag)
    {
        if (flag == "dd")
        {
            return true;
        }
    }
    return false;
}

} // namespace rotator::test
