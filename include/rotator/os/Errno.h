#pragma once

#include <string>
#include <system_error>

namespace rotator::os
{

/// The text of an errno value ("No such file or directory"), thread-safe unlike strerror.
inline std::string errnoText(int error)
{
    return std::generic_category().message(error);
}

} // namespace rotator::os
