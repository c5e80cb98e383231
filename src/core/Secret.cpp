#include "rotator/core/Secret.h"

#include <ostream>

#include "rotator/core/SecureWipe.h"

namespace rotator::core
{

Secret::Secret(Secret&& other) noexcept : _value(std::move(other._value))
{
    other.wipe();
}

Secret& Secret::operator=(const Secret& other)
{
    if (this != &other)
    {
        wipe();
        _value = other._value;
    }
    return *this;
}

Secret& Secret::operator=(Secret&& other) noexcept
{
    if (this != &other)
    {
        wipe();
        _value = std::move(other._value);
        other.wipe();
    }
    return *this;
}

Secret::~Secret()
{
    wipe();
}

void Secret::wipe() noexcept
{
    secureWipe(_value);
}

std::ostream& operator<<(std::ostream& out, const Secret&)
{
    return out << "***";
}

bool constantTimeEquals(std::string_view a, std::string_view b)
{
    unsigned char diff = a.size() == b.size() ? 0 : 1;
    const std::size_t n = a.size() < b.size() ? a.size() : b.size();
    for (std::size_t i = 0; i < n; ++i)
    {
        diff = static_cast<unsigned char>(diff | (static_cast<unsigned char>(a[i]) ^
                                                  static_cast<unsigned char>(b[i])));
    }
    return diff == 0;
}

} // namespace rotator::core
