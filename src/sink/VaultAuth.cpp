#include "rotator/sink/VaultAuth.h"

#include "VaultJson.h"

#include <Poco/JSON/Array.h>
#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Logger.h>

#include "rotator/api/JsonMapping.h"
#include "rotator/core/Errors.h"
#include "rotator/core/JsonString.h"
#include "rotator/core/SecureWipe.h"

namespace rotator::sink
{

using core::FailureKind;

namespace
{

/// Renewing or logging in this long before the lease ends at the latest, so that a request
/// sent just before never carries a token that dies on the way.
constexpr std::int64_t kExpiryMarginMs = 10'000;

} // namespace

namespace detail
{

Poco::JSON::Object::Ptr parseVaultObject(std::string_view body)
{
    try
    {
        Poco::JSON::Parser parser;
        const Poco::Dynamic::Var root = parser.parse(std::string(body));
        if (root.type() == typeid(Poco::JSON::Object::Ptr))
        {
            return root.extract<Poco::JSON::Object::Ptr>();
        }
    }
    catch (const Poco::Exception&)
    {
    }
    return nullptr;
}

} // namespace detail

std::string vaultErrorText(std::string_view body)
{
    const auto root = detail::parseVaultObject(body);
    if (!root || !root->isArray("errors"))
    {
        return "";
    }
    std::string joined;
    for (const auto& item : *root->getArray("errors"))
    {
        if (!item.isString())
        {
            continue;
        }
        // Vault's multi-error form ("1 error occurred:\n\t* …\n\n") folded onto one line.
        std::string one;
        for (const char c : item.extract<std::string>())
        {
            const bool blank = static_cast<unsigned char>(c) <= 0x20 || c == 0x7f;
            if (!blank)
            {
                one += c;
            }
            else if (!one.empty() && one.back() != ' ')
            {
                one += ' ';
            }
        }
        while (!one.empty() && one.back() == ' ')
        {
            one.pop_back();
        }
        joined += (joined.empty() || one.empty() ? "" : "; ") + one;
    }
    return api::sanitizeForMessage(joined, 300);
}

std::vector<std::pair<std::string, std::string>> vaultHeaders(const core::Secret& token,
                                                              const std::string& vaultNamespace)
{
    std::vector<std::pair<std::string, std::string>> headers;
    if (!token.empty())
    {
        headers.emplace_back("X-Vault-Token", token.reveal());
    }
    if (!vaultNamespace.empty())
    {
        headers.emplace_back("X-Vault-Namespace", vaultNamespace);
    }
    return headers;
}

std::optional<VaultLease> parseVaultLease(std::string_view body)
{
    const auto root = detail::parseVaultObject(body);
    if (!root || !root->isObject("auth"))
    {
        return std::nullopt;
    }
    const auto auth = root->getObject("auth");
    const auto token = auth->get("client_token");
    const auto lease = auth->get("lease_duration");
    if (!token.isString() || !lease.isInteger())
    {
        return std::nullopt;
    }
    VaultLease out;
    out.clientToken = core::Secret(token.extract<std::string>());
    out.leaseSeconds = std::max<std::int64_t>(0, lease.convert<std::int64_t>());
    const auto renewable = auth->get("renewable");
    out.renewable = renewable.isBoolean() && renewable.extract<bool>();
    if (out.clientToken.empty())
    {
        return std::nullopt;
    }
    return out;
}

VaultAuth::VaultAuth(const config::SinkSettings& settings, api::HttpChannel& channel,
                     core::Clock& clock)
    : _settings(settings), _channel(channel), _clock(clock),
      _prefix("vault sink " + settings.name + ": ")
{
}

std::int64_t VaultAuth::logins() const
{
    std::lock_guard lock(_mutex);
    return _logins;
}

core::Outcome<core::Secret> VaultAuth::token()
{
    std::lock_guard lock(_mutex);
    return tokenLocked();
}

core::Outcome<std::shared_ptr<config::TokenSource>>
VaultAuth::sourceLocked(std::shared_ptr<config::TokenSource>& slot, const std::string& path,
                        const std::string& key)
{
    if (!slot)
    {
        std::vector<std::string> warnings;
        try
        {
            slot = config::TokenSource::follow(path, key, warnings);
        }
        catch (const core::ConfigError& e)
        {
            // Names the key and the file's problem, never its content.
            return core::fail(FailureKind::Permanent, _prefix + e.what());
        }
        for (const auto& w : warnings)
        {
            Poco::Logger::get("sink").warning(w);
        }
    }
    return slot;
}

core::Outcome<core::Secret> VaultAuth::tokenLocked()
{
    const auto& v = _settings.vault;
    if (v.auth == config::VaultAuth::Token)
    {
        auto source =
            sourceLocked(_tokenFile, _settings.tokenFile, "sinks." + _settings.name + ".tokenFile");
        if (!source)
        {
            return tl::unexpected(source.error());
        }
        return (*source)->current();
    }
    const std::int64_t now = _clock.nowMs();
    const bool expired = _token.empty() || (_expiresAtMs != 0 && now >= _expiresAtMs);
    if (!expired && _renewAtMs != 0 && now >= _renewAtMs)
    {
        // A failed renewal is not the end: a new login gives a fresh token.
        if (!_renewable || !renewLocked())
        {
            if (auto in = loginLocked(); !in)
            {
                return tl::unexpected(in.error());
            }
        }
    }
    else if (expired)
    {
        if (auto in = loginLocked(); !in)
        {
            return tl::unexpected(in.error());
        }
    }
    return _token;
}

void VaultAuth::takeLeaseLocked(VaultLease lease)
{
    const std::int64_t now = _clock.nowMs();
    const std::int64_t leaseMs = lease.leaseSeconds * 1000;
    _token = std::move(lease.clientToken);
    _renewable = lease.renewable;
    _expiresAtMs = leaseMs == 0 ? 0 : now + std::max<std::int64_t>(0, leaseMs - kExpiryMarginMs);
    _renewAtMs = leaseMs == 0 ? 0 : now + leaseMs * 2 / 3;
}

core::Failure VaultAuth::authFailure(const std::string& what, const api::HttpResult& result) const
{
    const std::string errors = vaultErrorText(result.body);
    core::Failure f;
    f.httpStatus = result.status;
    f.retryAfterMs = result.retryAfterMs;
    f.kind =
        result.status == 429 || result.status >= 500 ? FailureKind::Transient : FailureKind::Auth;
    f.message = _prefix + "Vault refused " + what + " (" + std::to_string(result.status) +
                (errors.empty() ? "" : ": " + errors) + ")";
    return f;
}

core::Outcome<void> VaultAuth::loginLocked()
{
    const auto& v = _settings.vault;
    const std::string key = "sinks." + _settings.name + ".";
    std::string body = "{";
    std::string what;
    if (v.auth == config::VaultAuth::Kubernetes)
    {
        auto jwt = sourceLocked(_jwtFile, v.jwtFile, key + "jwtFile");
        if (!jwt)
        {
            return tl::unexpected(jwt.error());
        }
        body += "\"role\":";
        core::appendJsonString(body, v.role);
        body += ",\"jwt\":";
        core::appendJsonString(body, (*jwt)->current().reveal());
        what = "the kubernetes login at auth/" + v.authMount + "/login (role " + v.role + ")";
    }
    else
    {
        auto roleId = sourceLocked(_roleIdFile, v.roleIdFile, key + "roleIdFile");
        auto secretId = sourceLocked(_secretIdFile, v.secretIdFile, key + "secretIdFile");
        if (!roleId || !secretId)
        {
            return tl::unexpected(!roleId ? roleId.error() : secretId.error());
        }
        body += "\"role_id\":";
        core::appendJsonString(body, (*roleId)->current().reveal());
        body += ",\"secret_id\":";
        core::appendJsonString(body, (*secretId)->current().reveal());
        what = "the approle login at auth/" + v.authMount + "/login";
    }
    body += "}";
    const core::Secret held(std::move(body)); // wiped when this returns
    api::HttpRequestSpec request;
    request.method = "POST";
    request.target = "/v1/auth/" + v.authMount + "/login";
    request.headers = vaultHeaders(core::Secret(), v.vaultNamespace);
    request.body = held.reveal();
    auto answer = _channel.send(request);
    if (!answer)
    {
        // A login creates nothing the rotation cares about: never ambiguous for the sink.
        core::Failure f = answer.error();
        f.ambiguous = false;
        f.message = _prefix + f.message;
        return tl::unexpected(std::move(f));
    }
    if (answer->status != 200)
    {
        return tl::unexpected(authFailure(what, *answer));
    }
    auto lease = parseVaultLease(answer->body);
    core::secureWipe(answer->body);
    if (!lease)
    {
        return core::fail(FailureKind::Transient,
                          _prefix + "the answer to " + what + " has no auth.client_token");
    }
    _firstLeaseMs = lease->leaseSeconds * 1000;
    takeLeaseLocked(std::move(*lease));
    ++_logins;
    Poco::Logger::get("sink").information(_prefix + "logged in to Vault (" + what + ")");
    return {};
}

core::Outcome<void> VaultAuth::renewLocked()
{
    api::HttpRequestSpec request;
    request.method = "POST";
    request.target = "/v1/auth/token/renew-self";
    request.headers = vaultHeaders(_token, _settings.vault.vaultNamespace);
    request.body = "{}";
    auto answer = _channel.send(request);
    if (!answer || answer->status != 200)
    {
        return core::fail(FailureKind::Transient, _prefix + "renew-self failed");
    }
    auto lease = parseVaultLease(answer->body);
    core::secureWipe(answer->body);
    // A renewal capped by the token's max TTL: the next due point logs in instead.
    if (!lease || lease->leaseSeconds * 1000 * 2 < _firstLeaseMs)
    {
        if (lease)
        {
            takeLeaseLocked(std::move(*lease));
            _renewable = false;
            return {};
        }
        return core::fail(FailureKind::Transient, _prefix + "renew-self answered no lease");
    }
    takeLeaseLocked(std::move(*lease));
    return {};
}

core::Outcome<VaultAuth::Denied> VaultAuth::afterDenied(const core::Secret& used)
{
    std::lock_guard lock(_mutex);
    const auto& v = _settings.vault;
    if (v.auth == config::VaultAuth::Token && _tokenFile)
    {
        // Replaced in the file since it was read: the new one may be allowed.
        if (auto replacement = _tokenFile->replacementFor(used))
        {
            return Denied::TokenReplaced;
        }
    }
    else if (!core::constantTimeEquals(used.reveal(), _token.reveal()))
    {
        return Denied::TokenReplaced; // another thread logged in since
    }
    api::HttpRequestSpec request;
    request.method = "GET";
    request.target = "/v1/auth/token/lookup-self";
    request.headers = vaultHeaders(used, v.vaultNamespace);
    auto answer = _channel.send(request);
    if (!answer)
    {
        core::Failure f = answer.error();
        f.ambiguous = false;
        f.message = _prefix + f.message;
        return tl::unexpected(std::move(f));
    }
    core::secureWipe(answer->body); // lookup-self shows the token's id
    if (answer->status == 200)
    {
        return Denied::MissingCapability;
    }
    if (answer->status != 403)
    {
        return tl::unexpected(authFailure("GET /v1/auth/token/lookup-self", *answer));
    }
    if (v.auth == config::VaultAuth::Token)
    {
        return core::fail(FailureKind::Auth,
                          _prefix + "Vault refused the token of sinks." + _settings.name +
                              ".tokenFile (403 permission denied, and lookup-self denied too: "
                              "it expired or was revoked); write a valid token to " +
                              _settings.tokenFile,
                          403);
    }
    Poco::Logger::get("sink").information(_prefix +
                                          "the Vault token expired or was revoked: logging in");
    _token = core::Secret();
    if (auto in = loginLocked(); !in)
    {
        return tl::unexpected(in.error());
    }
    return Denied::TokenReplaced;
}

} // namespace rotator::sink
