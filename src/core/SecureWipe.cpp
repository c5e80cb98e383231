#include "rotator/core/SecureWipe.h"

#include <string.h>

namespace rotator::core
{

void secureWipe(void* data, std::size_t size) noexcept
{
    if (size > 0)
    {
        ::explicit_bzero(data, size);
    }
}

void secureWipe(std::string& buffer) noexcept
{
    secureWipe(buffer.data(), buffer.size());
    buffer.clear();
}

} // namespace rotator::core
