#include "LoaderParts.h"

#include <Poco/Util/PropertyFileConfiguration.h>

#include <algorithm>
#include <array>
#include <set>

// Walking a Poco configuration: its leaves, the named sections, and typos of section names.

namespace rotator::config::detail
{

using Poco::Util::AbstractConfiguration;

namespace
{

const std::array<std::string, 8> kSections = {"astra", "state",       "scheduler", "admin",
                                              "log",   "credentials", "sinks",     "notify"};

// Top-level names a Poco Application puts next to ours; never mistaken for a typo of ours.
const std::array<std::string, 3> kForeignSections = {"application", "system", "logging"};

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

} // namespace

Poco::AutoPtr<AbstractConfiguration> loadProperties(std::istream& in)
{
    return new ListedProperties(in);
}

// ---------------------------------------------------------------------------------------------
// Walking the configuration

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

} // namespace rotator::config::detail
