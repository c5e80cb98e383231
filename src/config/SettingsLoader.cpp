#include "rotator/config/SettingsLoader.h"

#include "ConfigText.h"
#include "rotator/core/Duration.h"
#include "rotator/core/Token.h"

#include <Poco/AutoPtr.h>
#include <Poco/Exception.h>
#include <Poco/URI.h>
#include <Poco/Util/AbstractConfiguration.h>
#include <Poco/Util/IniFileConfiguration.h>
#include <Poco/Util/JSONConfiguration.h>
#include <Poco/Util/PropertyFileConfiguration.h>
#include <Poco/Util/XMLConfiguration.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <set>
#include <sstream>

namespace rotator::config
{

using detail::fail;
using detail::inQuotes;
using Poco::Util::AbstractConfiguration;

namespace
{

/// One configured value: its full key and its trimmed text.
struct Entry
{
    std::string key;
    std::string value;
};

const std::array<std::string, 7> kSections = {"astra", "state",       "scheduler", "admin",
                                              "log",   "credentials", "sinks"};

// Top-level names a Poco Application puts next to ours; never mistaken for a typo of ours.
const std::array<std::string, 3> kForeignSections = {"application", "system", "logging"};

// ---------------------------------------------------------------------------------------------
// Suggestions

/// Edit distance counting a swap of two neighbours as one edit ("mdoe" is one typo from
/// "mode").
std::size_t editDistance(const std::string& a, const std::string& b)
{
    std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
    for (std::size_t i = 0; i <= a.size(); ++i)
    {
        d[i][0] = i;
    }
    for (std::size_t j = 0; j <= b.size(); ++j)
    {
        d[0][j] = j;
    }
    for (std::size_t i = 1; i <= a.size(); ++i)
    {
        for (std::size_t j = 1; j <= b.size(); ++j)
        {
            const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
            {
                d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
            }
        }
    }
    return d[a.size()][b.size()];
}

/// The candidate closest to `word` (case-insensitive), if it is close enough to be a typo.
std::string closest(const std::string& word, const std::vector<std::string>& candidates)
{
    const std::string lower = detail::toLower(word);
    std::string best;
    std::size_t bestDistance = std::numeric_limits<std::size_t>::max();
    for (const auto& candidate : candidates)
    {
        const std::size_t distance = editDistance(lower, detail::toLower(candidate));
        // Short names get little slack: "g" is not a typo of "f".
        const std::size_t limit = candidate.size() <= 2 ? 0
                                  : candidate.size() <= 5
                                      ? 1
                                      : std::max<std::size_t>(2, candidate.size() / 3);
        if (distance <= limit && distance < bestDistance)
        {
            best = candidate;
            bestDistance = distance;
        }
    }
    return best;
}

/// A duration as people write it in this file: 30d1h, 90s, 0s.
std::string written(std::int64_t ms)
{
    if (ms <= 0)
    {
        return core::formatDuration(ms);
    }
    static const std::pair<std::int64_t, const char*> kUnits[] = {
        {86'400'000, "d"}, {3'600'000, "h"}, {60'000, "m"}, {1'000, "s"}, {1, "ms"}};
    std::string out;
    for (const auto& [unit, suffix] : kUnits)
    {
        if (ms >= unit)
        {
            out += std::to_string(ms / unit) + suffix;
            ms %= unit;
        }
    }
    return out;
}

std::string joined(const std::vector<std::string>& items)
{
    std::string out;
    for (const auto& item : items)
    {
        out += (out.empty() ? "" : ", ") + item;
    }
    return out;
}

/// "unknown key" with either the closest known key or the list of known ones.
[[noreturn]] void unknownKey(const std::string& key, const std::string& prefix,
                             const std::string& name, const std::vector<std::string>& known)
{
    const std::string guess = closest(name, known);
    if (!guess.empty())
    {
        fail(key, "unknown key; did you mean " + prefix + guess + "?");
    }
    fail(key, "unknown key (known keys under " + prefix + "*: " + joined(known) + ")");
}

// ---------------------------------------------------------------------------------------------
// Strict value parsers

[[noreturn]] void invalid(const Entry& e, const std::string& what, const std::string& hint)
{
    std::string message = "invalid " + what + " " + inQuotes(e.value);
    if (!hint.empty())
    {
        message += " (" + hint + ")";
    }
    if (e.value.find('#') != std::string::npos)
    {
        // Poco's property files have no trailing comments: the text after '#' is in the value.
        message += "; note: comments must be on their own line";
    }
    fail(e.key, message);
}

// The longest duration a setting may have. Beyond it `now + duration` (a token's expiry, a
// rotation's due time) could overflow, and no schedule needs it.
constexpr std::int64_t kMaxDurationMs = 36'500LL * 86'400'000;

std::int64_t duration(const Entry& e)
{
    const auto ms = core::parseDurationMs(e.value);
    if (!ms)
    {
        invalid(e, "duration", "use 45s, 15m, 12h, 30d");
    }
    if (*ms > kMaxDurationMs)
    {
        fail(e.key, inQuotes(e.value) + " is longer than 36500d (100 years), the longest allowed");
    }
    return *ms;
}

std::int64_t positiveDuration(const Entry& e)
{
    const std::int64_t ms = duration(e);
    if (ms <= 0)
    {
        fail(e.key, "must be longer than 0s");
    }
    return ms;
}

int integer(const Entry& e, int min, int max)
{
    long long value = 0;
    const char* end = e.value.data() + e.value.size();
    const auto result = std::from_chars(e.value.data(), end, value);
    if (result.ptr != end || result.ec == std::errc::invalid_argument)
    {
        invalid(e, "integer", "");
    }
    if (result.ec == std::errc::result_out_of_range || value < min || value > max)
    {
        const std::string range =
            max == std::numeric_limits<int>::max()
                ? "at least " + std::to_string(min)
                : "between " + std::to_string(min) + " and " + std::to_string(max);
        fail(e.key, "must be " + range + ", not " + e.value);
    }
    return static_cast<int>(value);
}

bool boolean(const Entry& e)
{
    static const std::map<std::string, bool> kWords = {
        {"true", true},   {"yes", true}, {"on", true},   {"1", true},
        {"false", false}, {"no", false}, {"off", false}, {"0", false}};
    const auto it = kWords.find(detail::toLower(e.value));
    if (it == kWords.end())
    {
        invalid(e, "boolean", "use true or false");
    }
    return it->second;
}

double positiveNumber(const Entry& e)
{
    double value = 0;
    const char* end = e.value.data() + e.value.size();
    const auto result = std::from_chars(e.value.data(), end, value);
    if (result.ptr != end || result.ec != std::errc() || !std::isfinite(value))
    {
        invalid(e, "number", "e.g. 10 or 0.5");
    }
    if (value <= 0)
    {
        fail(e.key, "must be greater than 0, not " + e.value);
    }
    return value;
}

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

/// A comma list: trimmed items, none empty, no duplicates.
std::vector<std::string> list(const Entry& e, const std::string& what)
{
    std::vector<std::string> items;
    std::size_t start = 0;
    while (start <= e.value.size())
    {
        std::size_t comma = e.value.find(',', start);
        if (comma == std::string::npos)
        {
            comma = e.value.size();
        }
        std::string item = detail::trim(e.value.substr(start, comma - start));
        if (item.empty())
        {
            fail(e.key, "empty " + what + " in " + inQuotes(e.value) + " (a comma-separated list)");
        }
        if (std::find(items.begin(), items.end(), item) != items.end())
        {
            fail(e.key, what + " " + inQuotes(item) + " is listed twice");
        }
        items.push_back(std::move(item));
        start = comma + 1;
    }
    return items;
}

bool isValidName(const std::string& name)
{
    const auto allowed = [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '.' || c == '-';
    };
    return !name.empty() && std::isalnum(static_cast<unsigned char>(name[0])) != 0 &&
           std::all_of(name.begin(), name.end(), allowed);
}

// ---------------------------------------------------------------------------------------------
// Values with rules of their own

std::string astraUrl(const Entry& e)
{
    Poco::URI uri;
    try
    {
        uri = Poco::URI(e.value);
    }
    catch (const Poco::Exception& ex)
    {
        invalid(e, "URL", ex.message());
    }
    const std::string scheme = uri.getScheme();
    if (scheme != "https" && scheme != "http")
    {
        invalid(e, "URL", "expected https://HOST[:PORT]");
    }
    if (uri.getHost().empty())
    {
        invalid(e, "URL", "no host");
    }
    if (!uri.getUserInfo().empty())
    {
        fail(e.key, "the URL must not contain user information (put the admin token in "
                    "astra.tokenFile or ASTRA_TOKEN)");
    }
    if (!uri.getRawQuery().empty() || !uri.getFragment().empty() ||
        e.value.find_first_of("?#") != std::string::npos)
    {
        invalid(e, "URL", "no query or fragment allowed");
    }
    if (!uri.getPath().empty() && uri.getPath() != "/")
    {
        invalid(e, "URL", "no path allowed: the client adds /v2/...; use https://HOST[:PORT]");
    }
    if (scheme == "http" && !isLoopbackHost(uri.getHost()))
    {
        fail(e.key, "plain http is allowed only for loopback hosts (127.0.0.1, ::1, localhost); "
                    "use https: the admin token is sent with every request");
    }
    return scheme + "://" + uri.getAuthority();
}

unsigned fileMode(const Entry& e)
{
    const std::string& v = e.value;
    const bool shape = (v.size() == 3 || (v.size() == 4 && v[0] == '0')) &&
                       std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '7'; });
    if (!shape)
    {
        invalid(e, "mode", "an octal mode such as 0600 or 0640");
    }
    unsigned mode = 0;
    for (char c : v)
    {
        mode = mode * 8 + static_cast<unsigned>(c - '0');
    }
    if ((mode & 007U) != 0)
    {
        fail(e.key, "mode " + detail::octalMode(mode) +
                        " grants permissions to others; the file holds a secret (use 0600 or "
                        "0640)");
    }
    if ((mode & 0400U) == 0)
    {
        fail(e.key, "mode " + detail::octalMode(mode) +
                        " does not let the owner read the file (the sink reads it back)");
    }
    return mode;
}

/// Parses the command and warns about words a shell would have interpreted.
std::vector<std::string> command(const Entry& e, std::vector<std::string>& warnings)
{
    std::vector<std::string> argv = splitArgv(e.value, e.key);
    if (argv.empty())
    {
        fail(e.key, "empty command");
    }
    if (argv[0].empty() || argv[0][0] != '/')
    {
        fail(e.key, "the program " + inQuotes(argv[0]) +
                        " must be an absolute path (the command runs without a shell or PATH "
                        "lookup)");
    }
    static const std::set<std::string> kShellOperators = {"|", "||", "&&", "&",  ";",
                                                          ">", ">>", "<",  "2>", "2>&1"};
    for (const auto& word : argv)
    {
        if (kShellOperators.count(word) != 0)
        {
            warnings.push_back(e.key + ": " + inQuotes(word) +
                               " is passed to the program as an argument (there is no shell); "
                               "use /bin/sh -c '...' if you need one");
            break;
        }
    }
    return argv;
}

std::string absolutePath(const Entry& e)
{
    if (e.value[0] != '/')
    {
        fail(e.key, "must be an absolute path, not " + inQuotes(e.value));
    }
    if (e.value.back() == '/')
    {
        fail(e.key, "must name a file, not a directory: " + inQuotes(e.value));
    }
    return std::filesystem::path(e.value).lexically_normal().string();
}

// ---------------------------------------------------------------------------------------------
// The key tables

/// A key of the fixed sections (astra, state, scheduler, admin, log).
struct FixedKey
{
    const char* key;
    void (*apply)(Settings&, const Entry&);
};

const FixedKey kFixedKeys[] = {
    {"astra.url", [](Settings& s, const Entry& e) { s.astra.url = astraUrl(e); }},
    {"astra.tokenFile", [](Settings& s, const Entry& e) { s.astra.tokenFile = e.value; }},
    {"astra.caFile", [](Settings& s, const Entry& e) { s.astra.caFile = e.value; }},
    {"astra.timeout", [](Settings& s, const Entry& e) { s.astra.timeoutMs = positiveDuration(e); }},
    {"astra.requestDeadline",
     [](Settings& s, const Entry& e) { s.astra.requestDeadlineMs = positiveDuration(e); }},
    {"astra.maxAttempts",
     [](Settings& s, const Entry& e) { s.astra.maxAttempts = integer(e, 1, 20); }},
    {"astra.requestsPerSecond",
     [](Settings& s, const Entry& e) { s.astra.requestsPerSecond = positiveNumber(e); }},
    {"astra.describeTokens",
     [](Settings& s, const Entry& e) { s.astra.describeTokens = boolean(e); }},
    {"astra.propagationTimeout",
     [](Settings& s, const Entry& e) { s.astra.propagationTimeoutMs = duration(e); }},
    {"state.dir", [](Settings& s, const Entry& e) { s.state.dir = e.value; }},
    {"scheduler.syncInterval",
     [](Settings& s, const Entry& e) { s.scheduler.syncIntervalMs = positiveDuration(e); }},
    {"scheduler.concurrency",
     [](Settings& s, const Entry& e) { s.scheduler.concurrency = integer(e, 1, 64); }},
    {"scheduler.retryBackoff",
     [](Settings& s, const Entry& e) { s.scheduler.retryBackoffMs = positiveDuration(e); }},
    {"scheduler.maxFailures", [](Settings& s, const Entry& e)
     { s.scheduler.maxFailures = integer(e, 1, std::numeric_limits<int>::max()); }},
    {"admin.listen",
     [](Settings& s, const Entry& e)
     {
         const ListenAddress address = parseListenAddress(e.value, e.key);
         s.admin.listen = e.value;
         s.admin.host = address.host;
         s.admin.port = address.port;
     }},
    {"admin.tokenFile", [](Settings& s, const Entry& e) { s.admin.tokenFile = e.value; }},
    {"log.level",
     [](Settings& s, const Entry& e)
     {
         static const std::vector<std::string> kLevels = {
             "fatal", "critical", "error", "warning", "notice", "information", "debug", "trace"};
         const std::string level = detail::toLower(e.value);
         if (std::find(kLevels.begin(), kLevels.end(), level) == kLevels.end())
         {
             invalid(e, "log level", "use " + joined(kLevels));
         }
         s.log.level = level;
     }},
    {"log.file", [](Settings& s, const Entry& e) { s.log.file = e.value; }},
    {"log.format",
     [](Settings& s, const Entry& e) {
         s.log.format =
             choice<LogFormat>(e, {{"text", LogFormat::Text}, {"json", LogFormat::Json}});
     }},
};

/// A key of `credentials.<name>`.
struct CredentialKey
{
    const char* name;
    bool required;
    void (*apply)(CredentialSettings&, const Entry&);
};

const CredentialKey kCredentialKeys[] = {
    {"roles", true, [](CredentialSettings& c, const Entry& e) { c.roles = list(e, "role"); }},
    {"maxAge", true,
     [](CredentialSettings& c, const Entry& e) { c.maxAgeMs = positiveDuration(e); }},
    {"gracePeriod", true,
     [](CredentialSettings& c, const Entry& e) { c.gracePeriodMs = duration(e); }},
    {"sinks", true, [](CredentialSettings& c, const Entry& e) { c.sinks = list(e, "sink"); }},
    {"clientId", false,
     [](CredentialSettings& c, const Entry& e)
     {
         if (!core::isValidClientId(e.value))
         {
             invalid(e, "client ID", "24 letters and digits, as listed by the DevOps API");
         }
         c.clientId = e.value;
     }},
    {"window", false,
     [](CredentialSettings& c, const Entry& e) { c.window = parseWindow(e.value, e.key); }},
    {"jitter", false, [](CredentialSettings& c, const Entry& e) { c.jitterMs = duration(e); }},
    {"expiry", false,
     [](CredentialSettings& c, const Entry& e) { c.expiryMs = positiveDuration(e); }},
    {"verify", false, [](CredentialSettings& c, const Entry& e) { c.verify = boolean(e); }},
};

enum class SinkScope
{
    Any,
    File,
    Exec
};

/// A key of `sinks.<name>`; `scope` says which sink type accepts it.
struct SinkKey
{
    const char* name;
    SinkScope scope;
    void (*apply)(SinkSettings&, const Entry&, std::vector<std::string>& warnings);
};

const SinkKey kSinkKeys[] = {
    {"type", SinkScope::Any,
     [](SinkSettings& s, const Entry& e, std::vector<std::string>&) {
         s.type = choice<SinkType>(e, {{"file", SinkType::File}, {"exec", SinkType::Exec}});
     }},
    {"path", SinkScope::File,
     [](SinkSettings& s, const Entry& e, std::vector<std::string>&) { s.path = absolutePath(e); }},
    {"format", SinkScope::File,
     [](SinkSettings& s, const Entry& e, std::vector<std::string>&)
     {
         s.format = choice<SinkFormat>(
             e,
             {{"json", SinkFormat::Json}, {"env", SinkFormat::Env}, {"token", SinkFormat::Token}});
     }},
    {"mode", SinkScope::File,
     [](SinkSettings& s, const Entry& e, std::vector<std::string>&) { s.mode = fileMode(e); }},
    {"owner", SinkScope::File,
     [](SinkSettings& s, const Entry& e, std::vector<std::string>&) { s.owner = e.value; }},
    {"group", SinkScope::Any,
     [](SinkSettings& s, const Entry& e, std::vector<std::string>&) { s.group = e.value; }},
    {"command", SinkScope::Exec,
     [](SinkSettings& s, const Entry& e, std::vector<std::string>& warnings)
     { s.command = command(e, warnings); }},
    {"timeout", SinkScope::Exec,
     [](SinkSettings& s, const Entry& e, std::vector<std::string>&)
     { s.timeoutMs = positiveDuration(e); }},
    {"user", SinkScope::Exec,
     [](SinkSettings& s, const Entry& e, std::vector<std::string>&) { s.user = e.value; }},
    {"logOutput", SinkScope::Exec,
     [](SinkSettings& s, const Entry& e, std::vector<std::string>&)
     {
         s.logOutput = choice<HookOutputLog>(e, {{"debug", HookOutputLog::Debug},
                                                 {"information", HookOutputLog::Information},
                                                 {"none", HookOutputLog::None}});
     }},
};

template <typename Table> std::vector<std::string> namesOf(const Table& table)
{
    std::vector<std::string> names;
    for (const auto& row : table)
    {
        names.emplace_back(row.name);
    }
    return names;
}

// ---------------------------------------------------------------------------------------------
// Walking the configuration

/// A properties file whose keys are listed once. Poco's MapConfiguration lists one level by
/// scanning every key, so walking a file level by level is quadratic in its keys, and every
/// command loads the file.
class ListedProperties : public Poco::Util::PropertyFileConfiguration
{
public:
    explicit ListedProperties(std::istream& in) : PropertyFileConfiguration(in)
    {
        for (auto it = begin(); it != end(); ++it)
        {
            _keys.push_back(it->first); // std::map order: sorted
        }
    }

    /// The walk `collectLeaves` makes, in the same order: a level's children in the order
    /// their first key appears (as Poco lists them), each listed from the keys that start with
    /// `key.`, which are next to each other in sorted order, instead of from every key.
    void leavesUnder(const std::string& key, std::vector<Entry>& out) const
    {
        const std::string prefix = key + ".";
        std::vector<std::string> children;
        std::set<std::string> seen;
        for (auto it = std::lower_bound(_keys.begin(), _keys.end(), prefix);
             it != _keys.end() && it->compare(0, prefix.size(), prefix) == 0; ++it)
        {
            std::string child = it->substr(prefix.size());
            child.resize(std::min(child.size(), child.find('.')));
            if (seen.insert(child).second)
            {
                children.push_back(std::move(child));
            }
        }
        if (children.empty())
        {
            if (std::binary_search(_keys.begin(), _keys.end(), key))
            {
                out.push_back({key, detail::trim(getRawString(key))});
            }
            return;
        }
        for (const auto& child : children)
        {
            leavesUnder(prefix + child, out);
        }
    }

protected:
    ~ListedProperties() override = default;

private:
    std::vector<std::string> _keys;
};

/// Every leaf (a key without children) at or below `key`, in Poco's enumeration order.
void collectLeaves(const AbstractConfiguration& cfg, const std::string& key,
                   std::vector<Entry>& out)
{
    if (const auto* listed = dynamic_cast<const ListedProperties*>(&cfg))
    {
        listed->leavesUnder(key, out);
        return;
    }
    AbstractConfiguration::Keys children;
    cfg.keys(key, children);
    if (children.empty())
    {
        // Raw: values are taken literally, no ${...} expansion.
        if (cfg.hasProperty(key))
        {
            out.push_back({key, detail::trim(cfg.getRawString(key))});
        }
        return;
    }
    for (const auto& child : children)
    {
        collectLeaves(cfg, key + "." + child, out);
    }
}

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
                                         const std::string& example)
{
    std::map<std::string, Named> groups;
    for (const auto& entry : leaves)
    {
        const std::string rest =
            entry.key.size() > section.size() ? entry.key.substr(section.size() + 1) : "";
        const std::size_t dot = rest.rfind('.');
        if (dot == std::string::npos)
        {
            fail(entry.key,
                 "unknown key; expected " + section + ".<name>.<setting>, e.g. " + example);
        }
        const std::string name = rest.substr(0, dot);
        if (!isValidName(name))
        {
            fail(entry.key, "invalid " + kind + " name " + inQuotes(name) +
                                " (letters, digits, '_', '.', '-'; starting with a letter or "
                                "digit)");
        }
        Named& group = groups[name];
        group.name = name;
        group.entries[rest.substr(dot + 1)] = entry;
    }
    return groups;
}

/// Errors for top-level names that look like a typo of one of ours (or, in a file of our own,
/// for any foreign name).
void checkTopLevel(const AbstractConfiguration& cfg, bool ownFile)
{
    AbstractConfiguration::Keys top;
    cfg.keys(top);
    const std::vector<std::string> ours(kSections.begin(), kSections.end());
    for (const auto& name : top)
    {
        if (std::find(kSections.begin(), kSections.end(), name) != kSections.end())
        {
            continue;
        }
        const bool foreign = std::find(kForeignSections.begin(), kForeignSections.end(), name) !=
                             kForeignSections.end();
        const std::string guess = closest(name, ours);
        if (!ownFile && (foreign || guess.empty()))
        {
            continue;
        }
        std::vector<Entry> leaves;
        collectLeaves(cfg, name, leaves);
        const std::string key = leaves.empty() ? name : leaves.front().key;
        if (!guess.empty())
        {
            fail(key, "unknown section " + inQuotes(name) + "; did you mean " + guess + "?");
        }
        fail(key, "unknown section " + inQuotes(name) + " (sections: " + joined(ours) + ")");
    }
}

/// Suggests the closest key of the same section, or the same setting in another section
/// (`astra.syncInterval` -> `scheduler.syncInterval`), else lists the section's keys.
[[noreturn]] void unknownFixedKey(const std::string& key, const std::string& section,
                                  const std::vector<std::string>& known)
{
    const std::string setting = key.size() > section.size() ? key.substr(section.size() + 1) : key;
    std::vector<std::string> sectionKeys;
    std::string elsewhere;
    for (const auto& k : known)
    {
        const std::size_t dot = k.find('.');
        if (k.compare(0, dot, section) == 0)
        {
            sectionKeys.push_back(k.substr(dot + 1));
        }
        else if (detail::toLower(k.substr(dot + 1)) == detail::toLower(setting))
        {
            elsewhere = k;
        }
    }
    if (closest(setting, sectionKeys).empty() && !elsewhere.empty())
    {
        fail(key, "unknown key; did you mean " + elsewhere + "?");
    }
    unknownKey(key, section + ".", setting, sectionKeys);
}

void loadFixedSections(const AbstractConfiguration& cfg, Settings& settings)
{
    std::vector<std::string> known;
    for (const auto& row : kFixedKeys)
    {
        known.emplace_back(row.key);
    }
    for (const std::string section : {"astra", "state", "scheduler", "admin", "log"})
    {
        std::vector<Entry> leaves;
        collectLeaves(cfg, section, leaves);
        for (const auto& entry : leaves)
        {
            const auto row = std::find_if(std::begin(kFixedKeys), std::end(kFixedKeys),
                                          [&](const FixedKey& k) { return entry.key == k.key; });
            if (row == std::end(kFixedKeys))
            {
                unknownFixedKey(entry.key, section, known);
            }
            if (!entry.value.empty())
            {
                row->apply(settings, entry);
            }
        }
    }
    if (!settings.admin.listen.empty() && settings.admin.tokenFile.empty() &&
        !isLoopbackHost(settings.admin.host))
    {
        settings.warnings.push_back(
            "admin.listen: " + settings.admin.listen +
            " is reachable from other machines and admin.tokenFile is empty: anyone who can "
            "connect may read the inventory and history (POST endpoints stay disabled)");
    }
}

std::vector<SinkSettings> loadSinks(const AbstractConfiguration& cfg, Settings& settings)
{
    std::vector<Entry> leaves;
    collectLeaves(cfg, "sinks", leaves);
    const auto groups = groupByName(leaves, "sinks", "sink", "sinks.billing-file.type");
    const std::vector<std::string> known = namesOf(kSinkKeys);
    std::vector<SinkSettings> sinks;
    for (const auto& [name, group] : groups)
    {
        const std::string prefix = "sinks." + name + ".";
        for (const auto& [setting, entry] : group.entries)
        {
            if (std::find(known.begin(), known.end(), setting) == known.end())
            {
                unknownKey(entry.key, prefix, setting, known);
            }
        }
        SinkSettings sink;
        sink.name = name;
        const auto type = group.entries.find("type");
        if (type == group.entries.end() || type->second.value.empty())
        {
            fail(prefix + "type", "missing (file or exec)");
        }
        for (const auto& row : kSinkKeys)
        {
            const auto it = group.entries.find(row.name);
            if (it == group.entries.end() || it->second.value.empty())
            {
                continue;
            }
            if (row.scope == SinkScope::Any)
            {
                row.apply(sink, it->second, settings.warnings);
                continue;
            }
            const SinkScope own = sink.type == SinkType::File ? SinkScope::File : SinkScope::Exec;
            if (row.scope != own)
            {
                fail(it->second.key, std::string("only for ") +
                                         (row.scope == SinkScope::File ? "file" : "exec") +
                                         " sinks, and " + prefix + "type is " + type->second.value);
            }
            row.apply(sink, it->second, settings.warnings);
        }
        if (sink.type == SinkType::File && sink.path.empty())
        {
            fail(prefix + "path", "missing (a file sink needs an absolute path)");
        }
        if (sink.type == SinkType::Exec && sink.command.empty())
        {
            fail(prefix + "command", "missing (an exec sink needs a command)");
        }
        sinks.push_back(std::move(sink));
    }
    for (std::size_t i = 0; i < sinks.size(); ++i)
    {
        for (std::size_t j = 0; j < i; ++j)
        {
            if (sinks[i].type == SinkType::File && sinks[j].type == SinkType::File &&
                sinks[i].path == sinks[j].path)
            {
                fail("sinks." + sinks[i].name + ".path", "the file " + sinks[i].path +
                                                             " is already written by sink " +
                                                             inQuotes(sinks[j].name));
            }
        }
    }
    return sinks;
}

/// The longest a due rotation may have to wait for its window to open, in milliseconds.
std::int64_t longestWaitForWindow(const Window& window)
{
    constexpr int kDay = 24 * 60;
    constexpr int kWeek = 7 * kDay;
    const int length = window.endMinute > window.startMinute
                           ? window.endMinute - window.startMinute
                           : window.endMinute + kDay - window.startMinute;
    std::vector<int> starts;
    for (int day = 0; day < 7; ++day)
    {
        if ((window.days & (1U << day)) != 0)
        {
            starts.push_back(day * kDay + window.startMinute);
        }
    }
    int longest = 0;
    for (std::size_t i = 0; i < starts.size(); ++i)
    {
        const int next = i + 1 < starts.size() ? starts[i + 1] : starts[0] + kWeek;
        longest = std::max(longest, next - (starts[i] + length));
    }
    return static_cast<std::int64_t>(longest) * 60'000;
}

/// Rules that involve several keys of one credential.
void checkCredential(const CredentialSettings& c, std::vector<std::string>& warnings)
{
    const std::string prefix = "credentials." + c.name + ".";
    if (c.gracePeriodMs >= c.maxAgeMs)
    {
        warnings.push_back(prefix + "gracePeriod: " + written(c.gracePeriodMs) +
                           " is not shorter than maxAge " + written(c.maxAgeMs) +
                           ": two clients will be alive most of the time");
    }
    if (c.jitterMs >= c.maxAgeMs)
    {
        fail(prefix + "jitter",
             written(c.jitterMs) + " must be shorter than maxAge " + written(c.maxAgeMs));
    }
    if (c.expiryMs)
    {
        // Saturating: each duration may be up to INT64_MAX ms, and a wrapped sum would let any
        // expiry pass.
        std::int64_t needed = 0;
        if (__builtin_add_overflow(c.maxAgeMs, c.jitterMs, &needed) ||
            __builtin_add_overflow(needed, c.gracePeriodMs, &needed))
        {
            needed = std::numeric_limits<std::int64_t>::max();
        }
        if (*c.expiryMs <= needed)
        {
            fail(prefix + "expiry",
                 written(*c.expiryMs) +
                     " must be longer than maxAge + jitter + "
                     "gracePeriod (" +
                     written(needed) +
                     "), otherwise tokens would expire before being rotated and revoked");
        }
        if (c.window && *c.expiryMs - needed <= longestWaitForWindow(*c.window))
        {
            warnings.push_back(prefix + "expiry: the window " + inQuotes(c.window->text) +
                               " may delay a due rotation by up to " +
                               core::formatAge(longestWaitForWindow(*c.window) / 1000) +
                               ", longer than expiry leaves (" + written(*c.expiryMs - needed) +
                               "): tokens could expire before they are rotated");
        }
    }
}

std::vector<CredentialSettings> loadCredentials(const AbstractConfiguration& cfg,
                                                Settings& settings)
{
    std::vector<Entry> leaves;
    collectLeaves(cfg, "credentials", leaves);
    const auto groups =
        groupByName(leaves, "credentials", "credential", "credentials.billing.maxAge");
    const std::vector<std::string> known = namesOf(kCredentialKeys);
    std::vector<CredentialSettings> credentials;
    for (const auto& [name, group] : groups)
    {
        const std::string prefix = "credentials." + name + ".";
        for (const auto& [setting, entry] : group.entries)
        {
            if (std::find(known.begin(), known.end(), setting) == known.end())
            {
                unknownKey(entry.key, prefix, setting, known);
            }
        }
        CredentialSettings credential;
        credential.name = name;
        for (const auto& row : kCredentialKeys)
        {
            const auto it = group.entries.find(row.name);
            if (it != group.entries.end() && !it->second.value.empty())
            {
                row.apply(credential, it->second);
            }
            else if (row.required)
            {
                fail(prefix + row.name,
                     "missing (every credential needs roles, maxAge, gracePeriod and sinks)");
            }
        }
        checkCredential(credential, settings.warnings);
        credentials.push_back(std::move(credential));
    }
    return credentials;
}

/// Rules between credentials and sinks.
void checkReferences(Settings& settings)
{
    std::map<std::string, std::string> fileSinkOwner; // sink name -> credential
    std::map<std::string, std::string> adopted;       // clientId -> credential
    std::set<std::string> used;
    std::vector<std::string> sinkNames;
    for (const auto& sink : settings.sinks)
    {
        sinkNames.push_back(sink.name);
    }
    for (const auto& c : settings.credentials)
    {
        const std::string key = "credentials." + c.name + ".sinks";
        for (const auto& name : c.sinks)
        {
            const SinkSettings* sink = settings.findSink(name);
            if (sink == nullptr)
            {
                const std::string guess = closest(name, sinkNames);
                fail(key, "no sink named " + inQuotes(name) +
                              (guess.empty() ? " (define sinks." + name + ".type)"
                                             : "; did you mean " + guess + "?"));
            }
            used.insert(name);
            if (sink->type == SinkType::File)
            {
                const auto [it, inserted] = fileSinkOwner.emplace(name, c.name);
                if (!inserted)
                {
                    fail(key, "the file sink " + inQuotes(name) +
                                  " is already used by credential " + inQuotes(it->second) +
                                  "; two credentials cannot share one file");
                }
            }
        }
        if (!c.clientId.empty())
        {
            const auto [it, inserted] = adopted.emplace(c.clientId, c.name);
            if (!inserted)
            {
                fail("credentials." + c.name + ".clientId",
                     "client " + c.clientId + " is already adopted by credential " +
                         inQuotes(it->second));
            }
        }
    }
    for (const auto& sink : settings.sinks)
    {
        if (used.count(sink.name) == 0)
        {
            settings.warnings.push_back("sinks." + sink.name + ": not used by any credential");
        }
    }
    if (settings.credentials.empty())
    {
        settings.warnings.push_back(
            "credentials: none configured; the rotator only keeps the inventory");
    }
}

Settings load(const AbstractConfiguration& cfg, bool ownFile)
{
    checkTopLevel(cfg, ownFile);
    Settings settings;
    loadFixedSections(cfg, settings);
    settings.sinks = loadSinks(cfg, settings);             // std::map order: sorted by name
    settings.credentials = loadCredentials(cfg, settings); // likewise
    checkReferences(settings);
    return settings;
}

std::string readConfigurationFile(const std::string& path)
{
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
    {
        fail("", "cannot read configuration file " + path + ": " + std::strerror(errno));
    }
    std::string content;
    char buffer[8192];
    int error = 0;
    for (;;)
    {
        const ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR)
        {
            continue;
        }
        if (n <= 0)
        {
            error = n < 0 ? errno : 0;
            break;
        }
        content.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(fd);
    if (error != 0)
    {
        fail("", "cannot read configuration file " + path + ": " + std::strerror(error));
    }
    return content;
}

} // namespace

Settings loadSettings(const AbstractConfiguration& cfg)
{
    return load(cfg, false);
}

Settings loadSettingsFile(const std::string& path)
{
    const std::string extension = detail::toLower(std::filesystem::path(path).extension().string());
    if (extension != ".properties" && extension != ".ini" && extension != ".xml" &&
        extension != ".json")
    {
        fail("", "configuration file " + path +
                     ": unknown format (the name must end in .properties, .ini, .xml or .json)");
    }
    std::istringstream in(readConfigurationFile(path));
    Poco::AutoPtr<AbstractConfiguration> cfg;
    try
    {
        if (extension == ".properties")
        {
            cfg = new ListedProperties(in);
        }
        else if (extension == ".ini")
        {
            cfg = new Poco::Util::IniFileConfiguration(in);
        }
        else if (extension == ".xml")
        {
            cfg = new Poco::Util::XMLConfiguration(in);
        }
        else
        {
            cfg = new Poco::Util::JSONConfiguration(in);
        }
    }
    catch (const Poco::Exception& ex)
    {
        fail("", "configuration file " + path + ": " + ex.displayText());
    }
    catch (const std::exception& ex)
    {
        fail("", "configuration file " + path + ": " + ex.what());
    }
    return load(*cfg, true);
}

} // namespace rotator::config
