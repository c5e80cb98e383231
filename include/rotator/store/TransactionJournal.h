#pragma once

#include "rotator/store/Journal.h"

namespace rotator::store
{

/// The plain `Journal`: each step is one transaction of the backend, committed before
/// `commit` returns. Threads take turns (one connection); a step's writes and any read of
/// another thread never interleave. Borrows the backend, which must outlive it.
class TransactionJournal final : public Journal
{
public:
    explicit TransactionJournal(TransactionalStore& backend) : Journal(backend) {}

protected:
    void commitOutermost(const JournalStep& step) override;
};

} // namespace rotator::store
