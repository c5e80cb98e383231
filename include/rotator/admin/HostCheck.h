#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace rotator::admin
{

/// Which `Host` header values the admin API answers, against DNS rebinding: a page of
/// `evil.example` whose name the attacker re-points at 127.0.0.1 runs in the browser as the
/// same origin as the rotator, but its requests still say `Host: evil.example`.
///
/// Allowed: the listen host, `localhost`, `127.0.0.1`, `[::1]` and the `admin.allowedHosts`,
/// each with or without a port (names compared case-insensitively, one trailing dot ignored).
/// On a wildcard listen address (`0.0.0.0`, `::`) any IP literal is allowed too: the wildcard
/// stands for every address of the machine (a Kubernetes probe or scrape says `Host:
/// <pod IP>:<port>`), and a rebinding page always sends a name, never an address. Immutable;
/// thread-safe.
class HostCheck
{
public:
    HostCheck(const std::string& listenHost, const std::vector<std::string>& allowedHosts);

    /// Whether a request with this `Host` value (nullopt: no Host header) is answered.
    bool allows(const std::optional<std::string>& host) const;

private:
    std::set<std::string> _names;
    bool _anyAddress = false;
};

} // namespace rotator::admin
