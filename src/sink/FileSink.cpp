#include "rotator/sink/FileSink.h"

#include <charconv>
#include <limits>
#include <vector>

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <Poco/Logger.h>

#include "rotator/core/Secret.h"
#include "rotator/os/Errno.h"
#include "rotator/os/TrustedPath.h"

namespace rotator::sink
{

using core::FailureKind;

namespace
{

const char* formatName(config::SinkFormat format)
{
    switch (format)
    {
    case config::SinkFormat::Json:
        return "json";
    case config::SinkFormat::Env:
        return "env";
    case config::SinkFormat::Token:
        return "token";
    }
    return "json";
}

/// A numeric id: digits only, in range, and not (id_t)-1, which chown reads as "leave as is".
template <typename Id> std::optional<Id> numericId(const std::string& text)
{
    if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos)
    {
        return std::nullopt;
    }
    unsigned long long value = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size() ||
        value >= static_cast<unsigned long long>(std::numeric_limits<Id>::max()))
    {
        return std::nullopt;
    }
    return static_cast<Id>(value);
}

/// getpwnam_r/getgrnam_r with a growing buffer. `lookup` returns the call's result code and
/// sets `found`.
template <typename Lookup> int withGrowingBuffer(Lookup lookup)
{
    const long hint = ::sysconf(_SC_GETPW_R_SIZE_MAX);
    std::size_t size = hint > 0 ? static_cast<std::size_t>(hint) : 16384;
    for (;;)
    {
        std::vector<char> buffer(size);
        const int rc = lookup(buffer);
        if (rc != ERANGE || size >= (1U << 20))
        {
            return rc;
        }
        size *= 2;
    }
}

/// The man page lists these as "not found" on some systems rather than errors.
bool meansNotFound(int rc)
{
    return rc == 0 || rc == ENOENT || rc == ESRCH || rc == EBADF || rc == EPERM;
}

core::Outcome<uid_t> resolveUser(const std::string& owner)
{
    if (auto id = numericId<uid_t>(owner))
    {
        return *id;
    }
    struct passwd pw = {};
    struct passwd* found = nullptr;
    const int rc = withGrowingBuffer(
        [&](std::vector<char>& buffer)
        { return ::getpwnam_r(owner.c_str(), &pw, buffer.data(), buffer.size(), &found); });
    if (found != nullptr)
    {
        return pw.pw_uid;
    }
    if (meansNotFound(rc))
    {
        return core::fail(FailureKind::Permanent,
                          "unknown user '" + owner +
                              "' (create the account, or set owner to an existing name or uid)");
    }
    return core::fail(FailureKind::Transient,
                      "cannot look up user '" + owner + "': " + os::errnoText(rc));
}

core::Outcome<gid_t> resolveGroup(const std::string& group)
{
    if (auto id = numericId<gid_t>(group))
    {
        return *id;
    }
    struct group gr = {};
    struct group* found = nullptr;
    const int rc = withGrowingBuffer(
        [&](std::vector<char>& buffer)
        { return ::getgrnam_r(group.c_str(), &gr, buffer.data(), buffer.size(), &found); });
    if (found != nullptr)
    {
        return gr.gr_gid;
    }
    if (meansNotFound(rc))
    {
        return core::fail(FailureKind::Permanent,
                          "unknown group '" + group +
                              "' (create the group, or set group to an existing name or gid)");
    }
    return core::fail(FailureKind::Transient,
                      "cannot look up group '" + group + "': " + os::errnoText(rc));
}

} // namespace

core::Outcome<os::FileOwner> resolveFileOwner(const std::string& owner, const std::string& group)
{
    os::FileOwner out;
    if (!owner.empty())
    {
        auto uid = resolveUser(owner);
        if (!uid)
        {
            return tl::make_unexpected(uid.error());
        }
        out.uid = *uid;
    }
    if (!group.empty())
    {
        auto gid = resolveGroup(group);
        if (!gid)
        {
            return tl::make_unexpected(gid.error());
        }
        out.gid = *gid;
    }
    return out;
}

FileSink::FileSink(config::SinkSettings settings) : _settings(std::move(settings)) {}

std::string FileSink::describe() const
{
    std::string out = "file " + _settings.path + " (" + formatName(_settings.format) + ", " +
                      os::modeText(_settings.mode);
    if (!_settings.owner.empty())
    {
        out += ", owner " + _settings.owner;
    }
    if (!_settings.group.empty())
    {
        out += ", group " + _settings.group;
    }
    if (!_settings.trustDirOwner.empty())
    {
        out += ", trusting directories of " + _settings.trustDirOwner;
    }
    return out + ")";
}

std::string FileSink::render(const Credential& credential) const
{
    switch (_settings.format)
    {
    case config::SinkFormat::Env:
        return renderEnv(credential);
    case config::SinkFormat::Token:
        return renderToken(credential);
    case config::SinkFormat::Json:
        break;
    }
    return renderJson(credential);
}

core::Outcome<os::WriteOptions> FileSink::writeOptions() const
{
    // One at a time, so the message names the key to fix.
    auto user = resolveFileOwner(_settings.owner, "");
    auto group = user ? resolveFileOwner("", _settings.group) : user;
    auto trusted = group ? resolveFileOwner(_settings.trustDirOwner, "") : group;
    if (!trusted)
    {
        core::Failure failure = trusted.error();
        failure.message = "file sink " + _settings.name + ": " + failure.message + " (sinks." +
                          _settings.name +
                          (!user    ? ".owner)"
                           : !group ? ".group)"
                                    : ".trustDirOwner)");
        return tl::make_unexpected(std::move(failure));
    }
    os::WriteOptions options;
    options.owner.uid = user->uid;
    options.owner.gid = group->gid;
    options.trustedDirOwner = trusted->uid;
    options.trustHint = "if that user may decide where the file lands, set sinks." +
                        _settings.name + ".trustDirOwner to it";
    return options;
}

core::Outcome<void> FileSink::deliver(const Credential& credential)
{
    auto options = writeOptions();
    if (!options)
    {
        return tl::make_unexpected(options.error());
    }
    // Held as a Secret so the rendered bytes are wiped when this call ends.
    const core::Secret content(render(credential));
    auto written =
        os::writeFileAtomically(_settings.path, content.reveal(), _settings.mode, *options);
    if (!written)
    {
        core::Failure failure = written.error();
        failure.message = "file sink " + _settings.name + ": " + failure.message;
        return tl::make_unexpected(std::move(failure));
    }
    Poco::Logger::get("sink").information("file sink " + _settings.name + ": " +
                                          (*written ? "wrote " : "unchanged ") + _settings.path +
                                          " (clientId " + credential.clientId + ")");
    return {};
}

core::Outcome<void> FileSink::check() const
{
    auto options = writeOptions();
    if (!options)
    {
        return tl::make_unexpected(options.error());
    }
    auto ok = os::checkFileWritable(_settings.path, _settings.mode, *options);
    if (!ok)
    {
        core::Failure failure = ok.error();
        failure.message = "file sink " + _settings.name + ": " + failure.message;
        return tl::make_unexpected(std::move(failure));
    }
    return {};
}

config::SinkSettings asTheFileIsNow(config::SinkSettings settings)
{
    struct stat st
    {
    };
    if (::stat(settings.path.c_str(), &st) == 0)
    {
        settings.mode = st.st_mode & 07777;
        settings.owner = std::to_string(st.st_uid);
        settings.group = std::to_string(st.st_gid);
    }
    return settings;
}

} // namespace rotator::sink
