#include "rotator/admin/HostCheck.h"

#include "rotator/config/SettingsLoader.h"

#include <arpa/inet.h>

namespace rotator::admin
{

namespace
{

bool isIpLiteral(const std::string& host)
{
    unsigned char address[16];
    if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    {
        return ::inet_pton(AF_INET6, host.substr(1, host.size() - 2).c_str(), address) == 1;
    }
    return ::inet_pton(AF_INET, host.c_str(), address) == 1;
}

} // namespace

HostCheck::HostCheck(const std::string& listenHost, const std::vector<std::string>& allowedHosts)
    : _anyAddress(listenHost.empty() || listenHost == "0.0.0.0" || listenHost == "::")
{
    std::vector<std::string> names = {"localhost", "127.0.0.1", "[::1]"};
    // The settings hold an IPv6 listen host without its brackets.
    names.push_back(listenHost.find(':') != std::string::npos && listenHost.front() != '['
                        ? "[" + listenHost + "]"
                        : listenHost);
    names.insert(names.end(), allowedHosts.begin(), allowedHosts.end());
    for (const auto& name : names)
    {
        if (const auto host = config::hostOfHostValue(name))
        {
            _names.insert(*host);
        }
    }
}

bool HostCheck::allows(const std::optional<std::string>& value) const
{
    if (!value)
    {
        return false;
    }
    const auto host = config::hostOfHostValue(*value);
    return host && (_names.count(*host) != 0 || (_anyAddress && isIpLiteral(*host)));
}

} // namespace rotator::admin
