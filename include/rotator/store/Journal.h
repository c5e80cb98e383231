#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string_view>
#include <utility>

#include "rotator/store/SharedStateStore.h"
#include "rotator/store/StateStore.h"

namespace rotator::store
{

/// One unit of the journal: the row writes that become durable together, and a name that
/// says which steps of the protocol they are ("minted", "delivery started + first attempt").
/// Several steps share one commit only when nothing outside happens between them; the name
/// says so where it happens, and a `core::StoreError` of a failed step quotes it.
struct JournalStep
{
    std::string_view name; ///< a string literal
    std::function<void()> writes;
};

/// Durability of the rows (journal first, act second): `commit` runs a step's writes against
/// `rows()` as one atomic unit and returns only once it is durable, so the caller may act on it.
///
/// The rows are what a `StateStore` reads and writes; the journal decides how they reach the
/// disk. `TransactionJournal` commits one transaction per step; `GroupCommitJournal` lets the
/// steps of concurrent rotations share one commit (one fsync). The runtime chooses; the
/// rotation engine sees only this interface. Both are thread-safe: `rows()` may be used by many
/// threads at once. A write through `rows()` outside a step is a step of its own; a commit
/// inside a step's writes is part of that step. A step that throws leaves nothing behind and
/// its exception propagates; a failed commit (full disk, I/O error) throws too, and then nothing
/// of the step is stored. A `core::StoreError` (of a write or of the commit) is rethrown as one
/// that names the step: "journal step 'minted' failed: ...". A write through `rows()` outside a
/// step is the step 'write'.
///
/// Borrows its backend, which must outlive it.
class Journal
{
public:
    virtual ~Journal() = default;
    Journal(const Journal&) = delete;
    Journal& operator=(const Journal&) = delete;

    /// The rows, for reads and for a step's writes.
    StateStore& rows() { return _rows; }
    /// Runs `step.writes` as one unit; durable when it returns.
    void commit(const JournalStep& step);
    /// The same, spelled `journal.commit("minted", [&] { ... })`.
    void commit(std::string_view name, std::function<void()> writes)
    {
        commit(JournalStep{name, std::move(writes)});
    }

    /// Registers the constructing thread as one that commits side by side with others (a
    /// worker of a pass) until the Writer is destroyed: a group-committing journal waits for
    /// their steps before it commits.
    class Writer
    {
    public:
        explicit Writer(Journal& journal) : _journal(journal) { _journal.writerJoined(); }
        ~Writer() { _journal.writerLeft(); }
        Writer(const Writer&) = delete;
        Writer& operator=(const Writer&) = delete;

    private:
        Journal& _journal;
    };

protected:
    explicit Journal(TransactionalStore& backend);

    /// Commits a step that is not inside another step of this journal; durable when it returns.
    /// The implementation runs the writes inside a `RunningSteps` on the connection's thread.
    virtual void commitOutermost(const JournalStep& step) = 0;
    virtual void writerJoined() {}
    virtual void writerLeft() {}

    /// While it lives, the constructing thread runs steps of this journal: a commit it makes
    /// meanwhile (a step's own write through `rows()`, a nested step) is part of them.
    class RunningSteps
    {
    public:
        explicit RunningSteps(const Journal& journal);
        ~RunningSteps();
        RunningSteps(const RunningSteps&) = delete;
        RunningSteps& operator=(const RunningSteps&) = delete;

    private:
        const Journal* _previous;
    };

    TransactionalStore& _backend;
    std::recursive_mutex _connection; ///< reads, and the writes of the steps being committed

private:
    SharedStateStore _rows;
};

/// The journal the daemon commits through, for `concurrentRotations` (scheduler.concurrency):
/// rotations that run side by side share commits (`GroupCommitJournal`); one at a time, a step
/// is a transaction (`TransactionJournal`). The runtime and the engine's tests build it here,
/// so the tests run the journal production runs. Borrows `backend`, which must outlive it.
std::unique_ptr<Journal> makeJournal(TransactionalStore& backend, int concurrentRotations);

} // namespace rotator::store
