#pragma once

#include <stdexcept>
#include <string>

namespace rotator::core
{

/// A configuration problem. `key()` names the offending key (empty when the file itself is
/// unreadable). Exit code 78 (EX_CONFIG).
class ConfigError : public std::runtime_error
{
public:
    ConfigError(std::string key, const std::string& message)
        : std::runtime_error(key.empty() ? message : key + ": " + message), _key(std::move(key))
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
