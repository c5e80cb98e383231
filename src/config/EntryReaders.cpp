#include "LoaderParts.h"

#include "rotator/config/SettingsLoader.h"
#include "rotator/core/Duration.h"
#include "rotator/core/Suggest.h"

#include <Poco/Exception.h>
#include <Poco/URI.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <limits>
#include <set>

// The entry readers of the settings loader: each reads a key's value in exactly the documented
// notation and names the key and the expected form otherwise.

namespace rotator::config::detail
{

// ---------------------------------------------------------------------------------------------
// Suggestions

/// The candidate closest to `word` (case-insensitive), if it is close enough to be a typo.
std::string closest(const std::string& word, const std::vector<std::string>& candidates)
{
    return core::closestMatch(word, candidates);
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
    return serviceUrl(e, "the admin token", "astra.tokenFile or ASTRA_TOKEN");
}

namespace
{

/// The checks `serviceUrl` and `webhookUrl` share; a path and query only when `withPath`.
Poco::URI checkedUrl(const Entry& e, const std::string& secret, const std::string& secretHome,
                     bool withPath)
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
        invalid(e, "URL",
                withPath ? "expected https://HOST[:PORT]/PATH" : "expected https://HOST[:PORT]");
    }
    if (uri.getHost().empty())
    {
        invalid(e, "URL", "no host");
    }
    if (!uri.getUserInfo().empty())
    {
        fail(e.key, "the URL must not contain user information (put " + secret + " in " +
                        secretHome + ")");
    }
    if (!uri.getFragment().empty() || e.value.find('#') != std::string::npos)
    {
        invalid(e, "URL", "no fragment allowed");
    }
    if (!withPath && (!uri.getRawQuery().empty() || e.value.find('?') != std::string::npos))
    {
        invalid(e, "URL", "no query or fragment allowed");
    }
    if (!withPath && !uri.getPath().empty() && uri.getPath() != "/")
    {
        invalid(e, "URL", "no path allowed; use https://HOST[:PORT]");
    }
    if (scheme == "http" && !isLoopbackHost(uri.getHost()))
    {
        fail(e.key, "plain http is allowed only for loopback hosts (127.0.0.1, ::1, localhost); "
                    "use https: " +
                        secret + " is sent with every request");
    }
    return uri;
}

} // namespace

std::string serviceUrl(const Entry& e, const std::string& secret, const std::string& secretHome)
{
    const Poco::URI uri = checkedUrl(e, secret, secretHome, false);
    return uri.getScheme() + "://" + uri.getAuthority();
}

std::string webhookUrl(const Entry& e)
{
    // A webhook URL is often a secret itself (Slack's carry one in the path): it is kept whole
    // and never logged (messages name the notifier, never the URL).
    const Poco::URI uri = checkedUrl(e, "the webhook's token",
                                     e.key.substr(0, e.key.rfind('.')) + ".tokenFile", true);
    std::string target = uri.getPathEtc();
    return uri.getScheme() + "://" + uri.getAuthority() + (target.empty() ? "/" : target);
}

std::vector<std::string> storeFields(const Entry& e)
{
    // The names sink::knownCredentialFields() lists (config cannot include sink).
    static const std::vector<std::string> known = {"credential", "clientId", "secret",     "token",
                                                   "orgId",      "roles",    "generatedOn"};
    std::vector<std::string> fields = list(e, "field");
    for (const auto& field : fields)
    {
        if (std::find(known.begin(), known.end(), field) == known.end())
        {
            const std::string guess = closest(field, known);
            fail(e.key, "unknown field " + inQuotes(field) +
                            (guess.empty() ? "" : " (did you mean " + inQuotes(guess) + "?)") +
                            "; use " + joined(known));
        }
    }
    return fields;
}

std::string awsRegion(const Entry& e)
{
    // Lower-case words joined by `-`, the last one a number: us-east-1, us-gov-west-1, cn-north-1.
    const std::string& v = e.value;
    const std::size_t last = v.rfind('-');
    const auto lowerOrDash = [](char c) { return (c >= 'a' && c <= 'z') || c == '-'; };
    const auto digit = [](char c) { return c >= '0' && c <= '9'; };
    const bool shape = v.size() <= 32 && last != std::string::npos && last >= 2 &&
                       last + 1 < v.size() && v.find("--") == std::string::npos && v.find('-') >= 2;
    const std::string_view words = shape ? std::string_view(v).substr(0, last) : "";
    const std::string_view number = shape ? std::string_view(v).substr(last + 1) : "";
    if (!shape || !std::all_of(words.begin(), words.end(), lowerOrDash) ||
        !std::all_of(number.begin(), number.end(), digit))
    {
        invalid(e, "AWS region", "a region name such as eu-west-1 or us-east-2");
    }
    return v;
}

std::string awsSecretId(const Entry& e)
{
    const std::string& v = e.value;
    if (v.starts_with("arn:"))
    {
        // arn:PARTITION:secretsmanager:REGION:ACCOUNT:secret:NAME
        std::vector<std::string> parts;
        std::size_t start = 0;
        for (int i = 0; i < 6; ++i)
        {
            const std::size_t colon = v.find(':', start);
            if (colon == std::string::npos)
            {
                break;
            }
            parts.push_back(v.substr(start, colon - start));
            start = colon + 1;
        }
        if (parts.size() != 6 || parts[2] != "secretsmanager" || parts[5] != "secret" ||
            start >= v.size())
        {
            invalid(e, "secret ARN", "arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME");
        }
        return v;
    }
    const bool shape = !v.empty() && v.size() <= 512 &&
                       v.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                           "0123456789/_+=.@-") == std::string::npos;
    if (!shape)
    {
        invalid(e, "secret name",
                "1 to 512 letters, digits and /_+=.@- characters, or the secret's ARN");
    }
    return v;
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

} // namespace rotator::config::detail
