#include "rotator/admin/HostCheck.h"

#include <algorithm>
#include <cctype>

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
        if (const auto host = hostPart(name))
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
    const auto host = hostPart(*value);
    return host && (_names.count(*host) != 0 || (_anyAddress && isIpLiteral(*host)));
}

std::optional<std::string> HostCheck::hostPart(std::string_view value)
{
    std::string_view host = value;
    std::string_view port;
    if (value.substr(0, 1) == "[")
    {
        const auto close = value.find(']');
        if (close == std::string_view::npos)
        {
            return std::nullopt;
        }
        host = value.substr(0, close + 1);
        port = value.substr(close + 1);
        if (!port.empty() && port.front() != ':')
        {
            return std::nullopt;
        }
    }
    else if (const auto colon = value.find(':'); colon != std::string_view::npos)
    {
        host = value.substr(0, colon);
        port = value.substr(colon);
    }
    if (!port.empty())
    {
        port.remove_prefix(1);
        if (port.empty() || port.size() > 5 ||
            !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }))
        {
            return std::nullopt;
        }
    }
    if (!host.empty() && host.back() == '.')
    {
        host.remove_suffix(1);
    }
    if (host.empty())
    {
        return std::nullopt;
    }
    std::string out(host);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

} // namespace rotator::admin
