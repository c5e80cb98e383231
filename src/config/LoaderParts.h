#pragma once

// The parts of the settings loader (not a public header): one configured value, the strict
// parsers of values, the key tables and the walk over a Poco configuration. Every function
// throws core::ConfigError naming the entry's key.

#include "ConfigText.h"
#include "rotator/config/Settings.h"

#include <Poco/AutoPtr.h>
#include <Poco/Util/AbstractConfiguration.h>

#include <cstdint>
#include <iosfwd>
#include <map>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace rotator::config::detail
{

/// One configured value: its full key and its trimmed text.
struct Entry
{
    std::string key;
    std::string value;
};

// Suggestions (EntryReaders.cpp)

/// The candidate closest to `word` when it is a plausible typo of it, else "".
std::string closest(const std::string& word, const std::vector<std::string>& candidates);
/// A duration as configured (`90d`, `1h30m`).
std::string written(std::int64_t ms);
/// `a, b, c`.
std::string joined(const std::vector<std::string>& items);
/// "unknown key" with either the closest known key or the list of known ones.
[[noreturn]] void unknownKey(const std::string& key, const std::string& prefix,
                             const std::string& name, const std::vector<std::string>& known);

// Strict value parsers (EntryReaders.cpp)

[[noreturn]] void invalid(const Entry& e, const std::string& what, const std::string& hint);
std::int64_t duration(const Entry& e);
std::int64_t positiveDuration(const Entry& e);
int integer(const Entry& e, int min, int max);
bool boolean(const Entry& e);
double positiveNumber(const Entry& e);
/// A comma list: trimmed items, none empty, no duplicates.
std::vector<std::string> list(const Entry& e, const std::string& what);
/// A credential or sink name: letters, digits, `_`, `.`, `-`, starting with a letter or digit.
bool isValidName(const std::string& name);

/// One of `choices`, as written (case-sensitive: these are documented lower case).
template <typename T>
T choice(const Entry& e, const std::vector<std::pair<std::string, T>>& choices)
{
    std::vector<std::string> names;
    for (const auto& [name, value] : choices)
    {
        if (e.value == name)
        {
            return value;
        }
        names.push_back(name);
    }
    invalid(e, "value", "use " + joined(names));
}

// Values with rules of their own (EntryReaders.cpp)

/// `astra.url`: https (http only to loopback), a host, no user information, path or query.
std::string astraUrl(const Entry& e);
/// `https://HOST[:PORT]`, or `http://` to a loopback host only: no user information, path,
/// query or fragment. `secret` ("the admin token") and `secretHome` ("astra.tokenFile") word
/// the refusals.
std::string serviceUrl(const Entry& e, const std::string& secret, const std::string& secretHome);
/// `notify.N.url`: like `serviceUrl`, but a webhook's path and query are kept (a fragment is
/// refused): `https://HOST[:PORT]/PATH[?QUERY]`, plain http to a loopback host only.
std::string webhookUrl(const Entry& e);
/// A file mode that lets the owner read and grants nothing to others.
unsigned fileMode(const Entry& e);
/// `sinks.S.fields`: a list of credential field names, each known and listed once.
std::vector<std::string> storeFields(const Entry& e);
/// Parses the command and warns about words a shell would have interpreted.
std::vector<std::string> command(const Entry& e, std::vector<std::string>& warnings);
/// `sinks.S.region`: an AWS region name such as `eu-west-1` or `us-gov-west-1`.
std::string awsRegion(const Entry& e);
/// `sinks.S.secretId`: a Secrets Manager secret name (1-512 of `A-Za-z0-9/_+=.@-`) or its ARN.
std::string awsSecretId(const Entry& e);
/// An absolute path naming a file, normalised.
std::string absolutePath(const Entry& e);

// The key tables (KeyTables.cpp)

/// A key of the fixed sections (astra, state, scheduler, admin, log).
struct FixedKey
{
    const char* key;
    void (*apply)(Settings&, const Entry&);
};

/// A key of `credentials.<name>`.
struct CredentialKey
{
    const char* name;
    bool required;
    void (*apply)(CredentialSettings&, const Entry&);
};

/// The sink types that accept a key: one bit per SinkType, so that a key several types share
/// (`caFile`, `tokenFile`) is declared once.
enum SinkScope : unsigned
{
    File = 1U << 0,
    Exec = 1U << 1,
    Kubernetes = 1U << 2,
    Vault = 1U << 3,
    Aws = 1U << 4,
    Store = Kubernetes | Vault | Aws,
    Any = File | Exec | Store,
};

/// The scope bit of `type`.
SinkScope scopeOf(SinkType type);
/// "file", "exec", "kubernetes", "vault" or "aws-secretsmanager".
const char* sinkTypeName(SinkType type);
/// The types of a scope for a message: "file and exec", "kubernetes, vault and aws-secretsmanager".
std::string scopeText(unsigned scope);

/// A key of `sinks.<name>`; `scope` says which sink types accept it.
struct SinkKey
{
    const char* name;
    unsigned scope; ///< SinkScope bits
    void (*apply)(SinkSettings&, const Entry&, std::vector<std::string>& warnings);
};

std::span<const FixedKey> fixedKeys();
std::span<const CredentialKey> credentialKeys();
std::span<const SinkKey> sinkKeys();

template <typename Table> std::vector<std::string> namesOf(const Table& table)
{
    std::vector<std::string> names;
    for (const auto& row : table)
    {
        names.emplace_back(row.name);
    }
    return names;
}

// The notifiers (NotifyKeys.cpp)

/// `notify.<name>.*`, sorted by name; unknown keys and event kinds are refused with a guess.
std::vector<NotifierSettings> loadNotifiers(const Poco::Util::AbstractConfiguration& cfg);

// Walking the configuration (ConfigWalk.cpp)

/// A `.properties` file whose keys are listed once (walking it level by level is then linear).
Poco::AutoPtr<Poco::Util::AbstractConfiguration> loadProperties(std::istream& in);

/// Every leaf (a key without children) at or below `key`, in Poco's enumeration order.
void collectLeaves(const Poco::Util::AbstractConfiguration& cfg, const std::string& key,
                   std::vector<Entry>& out);

/// A section with a name: `credentials.<name>` or `sinks.<name>`, its entries by setting.
struct Named
{
    std::string name;
    std::map<std::string, Entry> entries; ///< setting name -> entry
};

/// Groups `section.<name>.<setting>` leaves by name. Names may contain dots, the setting is the
/// last component.
std::map<std::string, Named> groupByName(const std::vector<Entry>& leaves,
                                         const std::string& section, const std::string& kind,
                                         const std::string& example);

/// Errors for top-level names that look like a typo of one of ours (or, in a file of our own,
/// for any foreign name).
void checkTopLevel(const Poco::Util::AbstractConfiguration& cfg, bool ownFile);

/// Suggests the closest key of the same section, or the same setting in another section
/// (`astra.syncInterval` -> `scheduler.syncInterval`), else lists the section's keys.
[[noreturn]] void unknownFixedKey(const std::string& key, const std::string& section,
                                  const std::vector<std::string>& known);

} // namespace rotator::config::detail
