#pragma once

// Failures of file operations in os/, shared by the atomic writer and the trusted-path walker.

#include <string>

#include "rotator/core/Outcome.h"

namespace rotator::os::detail
{

/// Errors a person has to fix are `Permanent`; everything else may pass on a later attempt.
core::FailureKind kindOf(int error);

/// The errno text plus what to do about it, for an operation in directory `dir`.
std::string explain(int error, const std::string& dir);

/// "cannot write <path> (<step>): <explanation>", of the kind `error` calls for.
tl::unexpected<core::Failure> ioFailure(const std::string& path, const std::string& step, int error,
                                        const std::string& dir);

} // namespace rotator::os::detail
