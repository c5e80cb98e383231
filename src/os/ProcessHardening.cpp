#include "rotator/os/ProcessHardening.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <sys/prctl.h>
#include <sys/resource.h>

#include "rotator/core/SecureWipe.h"
#include "rotator/os/Errno.h"

namespace rotator::os
{

std::vector<std::string> hardenProcess()
{
    std::vector<std::string> problems;
    if (::prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
    {
        problems.push_back("cannot make the process non-dumpable: " + errnoText(errno));
    }
    const rlimit noCore{0, 0};
    if (::setrlimit(RLIMIT_CORE, &noCore) != 0)
    {
        problems.push_back("cannot set the core size limit to 0: " + errnoText(errno));
    }
    return problems;
}

std::optional<core::Secret> takeEnvironmentSecret(const char* name)
{
    char* value = ::getenv(name);
    if (value == nullptr)
    {
        return std::nullopt;
    }
    core::Secret secret{std::string(value)};
    // The pointer stays valid after unsetenv (which only drops it from `environ`): wipe the
    // bytes it points to, which for a variable we were started with are the very bytes
    // /proc/<pid>/environ shows.
    const std::size_t length = std::strlen(value);
    ::unsetenv(name);
    core::secureWipe(value, length);
    return secret;
}

bool becomeChildSubreaper()
{
    return ::prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0;
}

} // namespace rotator::os
