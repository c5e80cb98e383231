#include "Files.h"

#include <cerrno>
#include <stdexcept>

#include "rotator/os/AtomicFile.h"
#include "rotator/os/Errno.h"
#include "rotator/os/ReadFile.h"

namespace rotator::sim
{

void writeFileAtomically(const std::string& path, std::string_view content, unsigned mode)
{
    os::WriteOptions options;
    options.allowSharedDirectory = true;
    const auto written = os::writeFileAtomically(path, content, mode, options);
    if (!written)
    {
        throw std::runtime_error(written.error().message);
    }
}

bool readWholeFile(const std::string& path, std::string& out)
{
    const int error = os::readFile(path, out);
    if (error == ENOENT)
    {
        return false;
    }
    if (error != 0)
    {
        throw std::runtime_error("cannot read " + path + ": " + os::errnoText(error));
    }
    return true;
}

} // namespace rotator::sim
