#include "rotator/store/TransactionJournal.h"

#include <mutex>

#include "rotator/core/CpuAccount.h"

namespace rotator::store
{

void TransactionJournal::commitOutermost(const JournalStep& step)
{
    const core::cpu_account::Scope account("journal-write");
    const std::lock_guard<std::recursive_mutex> lock(_connection);
    const RunningSteps running(*this);
    _backend.runInTransaction(step.writes);
}

} // namespace rotator::store
