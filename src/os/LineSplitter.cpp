#include "rotator/os/LineSplitter.h"

#include "rotator/core/SecureWipe.h"

namespace rotator::os
{

LineSplitter::LineSplitter(std::size_t keep, Handler onLine)
    : _keep(keep), _onLine(std::move(onLine))
{
    // Sized once: growing would leave copies of what the child printed in freed memory.
    _line.reserve(keep);
}

LineSplitter::~LineSplitter()
{
    core::secureWipe(_line);
}

void LineSplitter::feed(std::string_view chunk)
{
    for (const char c : chunk)
    {
        ++_total;
        if (c == '\n')
        {
            endLine();
            continue;
        }
        if (_line.size() < _keep)
        {
            _line += c;
        }
        ++_lineLength;
    }
}

void LineSplitter::finish()
{
    if (_lineLength > 0)
    {
        endLine();
    }
}

void LineSplitter::endLine()
{
    if (_lineLength == _line.size() && !_line.empty() && _line.back() == '\r')
    {
        _line.pop_back();
        --_lineLength;
    }
    _onLine(Line{_line, _lineLength, _lineStart});
    core::secureWipe(_line);
    _lineLength = 0;
    _lineStart = _total;
}

} // namespace rotator::os
