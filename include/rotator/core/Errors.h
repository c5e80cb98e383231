#pragma once

#include <cstdio>
#include <stdexcept>
#include <string>
#include <string_view>

namespace rotator::core
{

/// `text` with control characters (but tab) written as `\xNN`: a NUL read from a file would
/// otherwise end a message (what() is a C string) before its reason.
inline std::string printable(std::string_view text)
{
    std::string out;
    out.reserve(text.size());
    for (const char c : text)
    {
        const auto byte = static_cast<unsigned char>(c);
        if ((byte < 0x20 && c != '\t') || byte == 0x7f)
        {
            char escaped[5];
            std::snprintf(escaped, sizeof escaped, "\\x%02x", byte);
            out += escaped;
        }
        else
        {
            out += c;
        }
    }
    return out;
}

/// A configuration problem. `key()` names the offending key (empty when the file itself is
/// unreadable). Exit code 78 (EX_CONFIG). Control characters in either show as `\xNN`.
class ConfigError : public std::runtime_error
{
public:
    ConfigError(const std::string& key, const std::string& message)
        : std::runtime_error(key.empty() ? printable(message)
                                         : printable(key) + ": " + printable(message)),
          _key(printable(key))
    {
    }
    const std::string& key() const { return _key; }

private:
    std::string _key;
};

/// A problem with the local database (I/O, corruption, schema mismatch). Never carries secrets.
class StoreError : public std::runtime_error
{
public:
    using std::runtime_error::runtime_error;
};

/// Something the configuration is right about but this machine cannot do now (the admin port
/// is taken by another process): exit code 1, so that a supervisor retries it, unlike a
/// configuration error (78), which only an edit fixes.
class StartupError : public std::runtime_error
{
public:
    using std::runtime_error::runtime_error;
};

/// A command-line usage problem. Exit code 64 (EX_USAGE).
class UsageError : public std::runtime_error
{
public:
    using std::runtime_error::runtime_error;
};

/// A broken internal rule: a bug, never an expected outcome.
class InvariantError : public std::logic_error
{
public:
    using std::logic_error::logic_error;
};

} // namespace rotator::core
