#include "ConfigText.h"
#include "rotator/config/SettingsLoader.h"
#include "rotator/core/SecureWipe.h"
#include "rotator/os/Errno.h"
#include "rotator/os/ReadFile.h"
#include "rotator/os/TrustedPath.h"
#include "rotator/os/UniqueFd.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace rotator::config
{

using detail::fail;
using os::errnoText;

namespace
{

// A token is a few hundred bytes; anything this large is the wrong file.
constexpr std::size_t kMaxTokenFileSize = 64 * 1024;

/// The one-token shape check, done without ever copying the content into a message.
bool hasInnerWhitespaceOrControl(const std::string& token)
{
    return std::any_of(token.begin(), token.end(),
                       [](char c)
                       {
                           const auto u = static_cast<unsigned char>(c);
                           return u < 0x20 || u == 0x7f || c == ' ';
                       });
}

} // namespace

core::Secret readTokenFile(const std::string& path, const std::string& key,
                           std::vector<std::string>& warnings)
{
    if (path.empty())
    {
        fail(key, "no token file name given");
    }
    // Through trusted directories (links followed: Kubernetes secret volumes are links), then
    // O_NONBLOCK so that a FIFO planted at the path cannot hang start-up; checks use fstat on
    // the open descriptor so the file cannot be swapped between the check and the read.
    // os::openTrustedInput opens with these rules but judges the file (inputFileProblem) at
    // once: a token file's own mode checks come first, so that one others may read or write is
    // told "chmod 600" (with the Kubernetes hint), not "chmod go-w", which leaves it readable.
    os::TrustRules rules;
    rules.followLinks = true;
    rules.stickyLastDirectory = true;
    auto file = os::openTrustedFile(path, rules, true);
    if (!file)
    {
        fail(key, "cannot read token file " + path + ": " + file.error().message);
    }
    const os::UniqueFd fd = std::move(file->fd);
    const struct stat info = file->st;
    if (!S_ISREG(info.st_mode))
    {
        fail(key, "token file " + path + " is not a regular file");
    }
    struct stat link
    {
    };
    const bool isSymlink = ::lstat(path.c_str(), &link) == 0 && S_ISLNK(link.st_mode);
    const std::string kubernetesHint =
        isSymlink ? " (for a Kubernetes secret volume, set defaultMode: 0440 or 0400; the "
                    "automounted service account token is 0644: mount a projected "
                    "serviceAccountToken with defaultMode 0400 instead)"
                  : "";
    const unsigned mode = static_cast<unsigned>(info.st_mode) & 07777U;
    const std::string modeText = detail::octalMode(mode);
    if ((mode & 007U) != 0)
    {
        fail(key, "token file " + path + " is accessible by others (mode " + modeText +
                      "); it must not be: run \"chmod 600 " + path + "\"" + kubernetesHint);
    }
    if ((mode & 020U) != 0)
    {
        fail(key, "token file " + path + " is writable by its group (mode " + modeText +
                      "): run \"chmod 600 " + path + "\" (or 640)" + kubernetesHint);
    }
    // Whoever may replace it could hand the rotator a token of their choosing.
    if (auto problem = os::inputFileProblem(path, info))
    {
        fail(key, *problem);
    }
    if ((mode & 040U) != 0)
    {
        warnings.push_back(key + ": token file " + path + " is readable by its group (mode " +
                           modeText + "); consider \"chmod 600 " + path + "\"");
    }
    if (static_cast<std::size_t>(info.st_size) > kMaxTokenFileSize)
    {
        fail(key, "token file " + path + " is larger than 64 KiB; it should hold one token");
    }

    // One byte over the limit tells a file that grew since the fstat.
    std::string content;
    if (const int error = os::readUpTo(fd.get(), kMaxTokenFileSize + 1, content); error != 0)
    {
        fail(key, "cannot read token file " + path + ": " + errnoText(error));
    }
    if (content.size() > kMaxTokenFileSize)
    {
        core::secureWipe(content);
        fail(key, "token file " + path + " is larger than 64 KiB; it should hold one token");
    }

    std::string token = detail::trim(content);
    core::secureWipe(content);
    if (token.empty())
    {
        fail(key, "token file " + path + " is empty");
    }
    if (hasInnerWhitespaceOrControl(token))
    {
        core::secureWipe(token);
        fail(key, "token file " + path +
                      " must hold the token alone on one line (found whitespace inside it)");
    }
    core::Secret secret(token);
    core::secureWipe(token);
    return secret;
}

core::Secret loadAdminToken(const Settings& settings,
                            const std::function<const char*(const char*)>& getenv,
                            std::vector<std::string>& warnings)
{
    if (!settings.astra.tokenFile.empty())
    {
        return readTokenFile(settings.astra.tokenFile, "astra.tokenFile", warnings);
    }
    const char* fromEnvironment = getenv ? getenv("ASTRA_TOKEN") : nullptr;
    if (fromEnvironment != nullptr)
    {
        std::string token = detail::trim(fromEnvironment);
        if (hasInnerWhitespaceOrControl(token))
        {
            core::secureWipe(token);
            fail("astra.tokenFile",
                 "ASTRA_TOKEN must hold the token alone (found whitespace inside it)");
        }
        if (!token.empty())
        {
            core::Secret secret(token);
            core::secureWipe(token);
            return secret;
        }
    }
    fail("astra.tokenFile", "no admin token: set astra.tokenFile or ASTRA_TOKEN");
}

} // namespace rotator::config
