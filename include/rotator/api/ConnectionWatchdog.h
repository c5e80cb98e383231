#pragma once

#include <chrono>
#include <condition_variable>
#include <list>
#include <mutex>
#include <thread>

#include "rotator/os/UniqueFd.h"

namespace rotator::api
{

/// Enforces an absolute deadline on HTTP exchanges, however their bytes arrive: one thread
/// that shuts down (`shutdown(SHUT_RDWR)`) the connection of every watched exchange whose
/// deadline has passed, which wakes the poll or recv it is blocked in with an end of file.
///
/// A per-read timeout cannot do this (a server sending one byte per second never lets one
/// expire), and Poco reads the status line and headers without a virtual hook per read, so the
/// connection is cut from outside instead. The watchdog keeps its own duplicate of the watched
/// descriptor, so a descriptor number the exchange closed and the process reused meanwhile is
/// never touched. The thread starts with the first watch and stops in the destructor.
/// Thread-safe; time is the steady clock (real time: this bounds real I/O).
class ConnectionWatchdog
{
public:
    using Clock = std::chrono::steady_clock;

    ConnectionWatchdog() = default;
    ConnectionWatchdog(const ConnectionWatchdog&) = delete;
    ConnectionWatchdog& operator=(const ConnectionWatchdog&) = delete;
    ~ConnectionWatchdog();

    /// One exchange, watched from construction to destruction.
    class Watch
    {
    public:
        Watch(ConnectionWatchdog& watchdog, Clock::time_point deadline);
        Watch(const Watch&) = delete;
        Watch& operator=(const Watch&) = delete;
        ~Watch();

        /// The connection the exchange now uses (call after each connect); shut down at once
        /// when the deadline has already passed.
        void setSocket(int fd);
        /// True once the deadline passed (the connection, if any, was shut down).
        bool expired() const;
        /// Stops watching before the connection goes back to a pool, where another exchange
        /// may take it under its own deadline; returns `expired()`. When false, the watchdog
        /// never shuts the connection down afterwards (the destructor alone would leave a
        /// moment between the last check and the end of the watch).
        bool finish();
        Clock::time_point deadline() const { return _deadline; }

    private:
        friend class ConnectionWatchdog;
        ConnectionWatchdog& _watchdog;
        Clock::time_point _deadline;
        os::UniqueFd _socket; ///< our duplicate; guarded by the watchdog's mutex
        bool _expired = false;
        bool _finished = false; ///< `_entry` erased; guarded by the watchdog's mutex
        std::list<Watch*>::iterator _entry;
    };

private:
    void run();
    /// Marks `watch` expired and shuts its connection down; needs `_mutex`.
    static void expire(Watch& watch);

    mutable std::mutex _mutex;
    std::condition_variable _changed;
    std::list<Watch*> _watches;
    bool _stopping = false;
    std::thread _thread;
};

} // namespace rotator::api
