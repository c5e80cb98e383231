#include "rotator/store/TransactionJournal.h"

#include "rotator/core/CpuAccount.h"

namespace rotator::store
{

TransactionJournal::TransactionJournal(TransactionalStore& backend)
    : _backend(backend), _rows(backend, _connection,
                               [this](const std::function<void()>& write) {
                                   commit({"write", write});
                               })
{
}

void TransactionJournal::commitStep(const JournalStep& step)
{
    const core::cpu_account::Scope account("journal-write");
    std::lock_guard<std::recursive_mutex> lock(_connection);
    if (_depth > 0)
    {
        step.writes(); // inside this thread's step (only it holds the lock): part of that step
        return;
    }
    struct Open
    {
        int& depth;
        explicit Open(int& d) : depth(d) { ++depth; }
        ~Open() { --depth; }
        Open(const Open&) = delete;
        Open& operator=(const Open&) = delete;
    } open(_depth);
    _backend.runInTransaction(step.writes);
}

} // namespace rotator::store
