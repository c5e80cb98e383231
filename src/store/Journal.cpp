#include "rotator/store/Journal.h"

#include <string>

#include "rotator/core/Errors.h"
#include "rotator/store/GroupCommitJournal.h"
#include "rotator/store/TransactionJournal.h"

namespace rotator::store
{
namespace
{

/// The journal whose steps this thread is running: its commits join them.
thread_local const Journal* tRunningStepsOf = nullptr;

} // namespace

Journal::Journal(TransactionalStore& backend)
    : _backend(backend), _rows(backend, _connection,
                               [this](const std::function<void()>& write) {
                                   commit({"write", write});
                               })
{
}

void Journal::commit(const JournalStep& step)
{
    if (tRunningStepsOf == this)
    {
        step.writes(); // inside a step this thread is running: part of that step
        return;
    }
    try
    {
        commitOutermost(step);
    }
    catch (const core::StoreError& e)
    {
        throw core::StoreError("journal step '" + std::string(step.name) + "' failed: " + e.what());
    }
}

Journal::RunningSteps::RunningSteps(const Journal& journal) : _previous(tRunningStepsOf)
{
    tRunningStepsOf = &journal;
}

Journal::RunningSteps::~RunningSteps()
{
    tRunningStepsOf = _previous;
}

std::unique_ptr<Journal> makeJournal(TransactionalStore& backend, int concurrentRotations)
{
    if (concurrentRotations > 1)
    {
        return std::make_unique<GroupCommitJournal>(backend);
    }
    return std::make_unique<TransactionJournal>(backend);
}

} // namespace rotator::store
