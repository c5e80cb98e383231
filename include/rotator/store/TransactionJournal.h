#pragma once

#include <mutex>

#include "rotator/store/Journal.h"
#include "rotator/store/SharedStateStore.h"

namespace rotator::store
{

/// The plain `Journal`: each step is one transaction of the backend, committed before
/// `commit` returns. Threads take turns (one connection); a step's writes and any read of
/// another thread never interleave. Borrows the backend, which must outlive it.
class TransactionJournal final : public Journal
{
public:
    explicit TransactionJournal(TransactionalStore& backend);

    StateStore& rows() override { return _rows; }

protected:
    void commitStep(const JournalStep& step) override;

private:
    TransactionalStore& _backend;
    std::recursive_mutex _connection;
    int _depth = 0; ///< steps open on the thread that holds _connection
    SharedStateStore _rows;
};

} // namespace rotator::store
