#include "rotator/sim/Org.h"

#include <algorithm>
#include <cerrno>
#include <system_error>

#include <sys/random.h>

#include "Json.h"
#include "rotator/core/Time.h"
#include "rotator/core/Token.h"

namespace rotator::sim
{

namespace
{

constexpr int kStateVersion = 1;
constexpr std::string_view kLetters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
constexpr std::string_view kSecretAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789.,+_-";

std::string randomString(std::string_view alphabet, std::size_t length)
{
    // Client ids and secrets must not be guessable, even in a simulator whose tokens grant
    // nothing: bytes from the kernel CSPRNG (getrandom), a few calls per string. Not
    // std::random_device: libstdc++ draws it from RDSEED, one instruction per character, which
    // a VM may make slow enough (about 0.1 ms each) to serialise concurrent creates.
    // Rejection sampling keeps every character equally likely.
    const std::size_t usable = 256 - 256 % alphabet.size();
    std::string out;
    out.reserve(length);
    unsigned char bytes[256];
    while (out.size() < length)
    {
        const ssize_t n = ::getrandom(bytes, sizeof bytes, 0);
        if (n < 0)
        {
            if (errno == EINTR)
            {
                continue;
            }
            throw std::system_error(errno, std::generic_category(), "getrandom");
        }
        for (ssize_t i = 0; i < n && out.size() < length; ++i)
        {
            if (bytes[i] < usable)
            {
                out += alphabet[bytes[i] % alphabet.size()];
            }
        }
    }
    return out;
}

SimRole role(std::uint64_t seed, std::string name, std::string type, int rank, bool tokenRead,
             bool tokenWrite, bool orgRead)
{
    SimRole r;
    r.id = deterministicUuid(seed, "role/" + name);
    r.name = std::move(name);
    r.type = std::move(type);
    r.rank = rank;
    r.tokenRead = tokenRead;
    r.tokenWrite = tokenWrite;
    r.orgRead = orgRead;
    return r;
}

std::int64_t parseInstantMs(const std::string& text, const std::string& key)
{
    const auto instant = core::parseRfc3339(text);
    if (!instant)
    {
        throw json::Invalid("'" + key + "' is not an RFC 3339 date-time");
    }
    return instant->unixMs();
}

Poco::JSON::Object::Ptr roleToJson(const SimRole& r)
{
    auto o = json::newObject();
    o->set("id", r.id);
    o->set("name", r.name);
    o->set("type", r.type);
    o->set("rank", r.rank);
    o->set("tokenRead", r.tokenRead);
    o->set("tokenWrite", r.tokenWrite);
    o->set("orgRead", r.orgRead);
    return o;
}

SimRole roleFromJson(const Poco::JSON::Object& o)
{
    SimRole r;
    r.id = json::requireString(o, "id");
    r.name = json::requireString(o, "name");
    r.type = json::optString(o, "type").value_or("default");
    r.rank = static_cast<int>(json::optInteger(o, "rank").value_or(0));
    r.tokenRead = json::optBool(o, "tokenRead").value_or(false);
    r.tokenWrite = json::optBool(o, "tokenWrite").value_or(false);
    r.orgRead = json::optBool(o, "orgRead").value_or(false);
    return r;
}

Poco::JSON::Object::Ptr clientToJson(const SimClient& c)
{
    auto o = json::newObject();
    o->set("clientId", c.clientId);
    o->set("tokenSha256", c.tokenSha256);
    o->set("roles", json::toArray(c.roles));
    o->set("generatedOn", core::formatRfc3339Nanos(c.generatedOnNanos));
    if (c.description)
    {
        o->set("description", *c.description);
    }
    if (c.tokenExpiryMs)
    {
        o->set("tokenExpiry", core::formatRfc3339Ms(*c.tokenExpiryMs));
    }
    return o;
}

SimClient clientFromJson(const Poco::JSON::Object& o)
{
    SimClient c;
    c.clientId = json::requireString(o, "clientId");
    c.tokenSha256 = json::requireString(o, "tokenSha256");
    c.roles = json::requireStringArray(o, "roles");
    const auto generatedOn = core::parseRfc3339(json::requireString(o, "generatedOn"));
    if (!generatedOn)
    {
        throw json::Invalid("'generatedOn' is not an RFC 3339 date-time");
    }
    c.generatedOnNanos = generatedOn->unixNanos;
    c.description = json::optString(o, "description");
    if (const auto expiry = json::optString(o, "tokenExpiry"))
    {
        c.tokenExpiryMs = parseInstantMs(*expiry, "tokenExpiry");
    }
    if (!core::isValidClientId(c.clientId) || c.tokenSha256.size() != 64)
    {
        throw json::Invalid("a client has a malformed clientId or tokenSha256");
    }
    return c;
}

} // namespace

std::vector<std::string> SimRole::actions() const
{
    std::vector<std::string> out;
    if (orgRead)
    {
        out.insert(out.end(), {"org-read", "org-role-read"});
    }
    if (tokenRead)
    {
        out.emplace_back("org-token-read");
    }
    if (tokenWrite)
    {
        out.emplace_back("org-token-write");
    }
    if (type == "custom")
    {
        out.insert(out.end(), {"db-keyspace-describe", "db-table-select"});
    }
    return out;
}

std::string deterministicUuid(std::uint64_t seed, std::string_view label)
{
    std::string hex =
        core::sha256Hex("astra-devops-sim/" + std::to_string(seed) + "/" + std::string(label));
    hex[12] = '4';
    // The variant nibble is one of 8, 9, a, b.
    hex[16] = "89ab"[std::string_view("0123456789abcdef").find(hex[16]) % 4];
    return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
           hex.substr(16, 4) + "-" + hex.substr(20, 12);
}

Org Org::withDefaultRoles(std::uint64_t seed)
{
    Org org;
    org._orgId = deterministicUuid(seed, "org");
    //                         name                          type      rank  read  write org
    org._roles = {role(seed, "Organization Administrator", "default", 100, true, true, true),
                  role(seed, "Database Administrator", "default", 80, true, true, true),
                  role(seed, "Billing Admin", "default", 30, false, false, true),
                  role(seed, "R/W Svc Acct", "default", 40, false, false, true),
                  role(seed, "RO Svc Acct", "default", 20, false, false, true),
                  role(seed, "UI View Only", "default", 10, false, false, true),
                  role(seed, "DB Reader (custom)", "custom", 5, false, false, false)};
    return org;
}

std::string Org::toJson() const
{
    auto doc = json::newObject();
    doc->set("version", kStateVersion);
    doc->set("orgId", _orgId);
    Poco::JSON::Array::Ptr roles = new Poco::JSON::Array();
    for (const auto& r : _roles)
    {
        roles->add(roleToJson(r));
    }
    doc->set("roles", roles);
    Poco::JSON::Array::Ptr clients = new Poco::JSON::Array();
    for (const auto& c : _clients)
    {
        clients->add(clientToJson(c));
    }
    doc->set("clients", clients);
    return json::stringify(doc);
}

Org Org::fromJson(const std::string& text)
{
    const auto doc = json::parseObject(text);
    if (json::optInteger(*doc, "version") != kStateVersion)
    {
        throw json::Invalid("unsupported state version");
    }
    Org org;
    org._orgId = json::requireString(*doc, "orgId");
    const auto roles = doc->getArray("roles");
    const auto clients = doc->getArray("clients");
    if (roles.isNull() || clients.isNull())
    {
        throw json::Invalid("'roles' and 'clients' must be arrays");
    }
    for (std::size_t i = 0; i < roles->size(); ++i)
    {
        const auto o = roles->getObject(static_cast<unsigned>(i));
        if (o.isNull())
        {
            throw json::Invalid("a role is not an object");
        }
        org._roles.push_back(roleFromJson(*o));
    }
    for (std::size_t i = 0; i < clients->size(); ++i)
    {
        const auto o = clients->getObject(static_cast<unsigned>(i));
        if (o.isNull())
        {
            throw json::Invalid("a client is not an object");
        }
        org._clients.push_back(clientFromJson(*o));
    }
    return org;
}

const SimRole* Org::findRole(std::string_view id) const
{
    const auto it =
        std::find_if(_roles.begin(), _roles.end(), [&](const SimRole& r) { return r.id == id; });
    return it == _roles.end() ? nullptr : &*it;
}

const SimRole* Org::findRoleByName(std::string_view name) const
{
    const auto it = std::find_if(_roles.begin(), _roles.end(),
                                 [&](const SimRole& r) { return r.name == name; });
    return it == _roles.end() ? nullptr : &*it;
}

const SimClient* Org::findClient(std::string_view clientId) const
{
    const auto it = std::find_if(_clients.begin(), _clients.end(),
                                 [&](const SimClient& c) { return c.clientId == clientId; });
    return it == _clients.end() ? nullptr : &*it;
}

const SimClient* Org::findByTokenHash(std::string_view tokenSha256) const
{
    const auto it = std::find_if(_clients.begin(), _clients.end(),
                                 [&](const SimClient& c)
                                 { return core::constantTimeEquals(c.tokenSha256, tokenSha256); });
    return it == _clients.end() ? nullptr : &*it;
}

int Org::bestRank(const std::vector<std::string>& roleIds) const
{
    int best = 0;
    for (const auto& id : roleIds)
    {
        if (const SimRole* r = findRole(id))
        {
            best = std::max(best, r->rank);
        }
    }
    return best;
}

bool Org::grants(const std::vector<std::string>& roleIds, bool SimRole::*flag) const
{
    return std::any_of(roleIds.begin(), roleIds.end(),
                       [&](const std::string& id)
                       {
                           const SimRole* r = findRole(id);
                           return r != nullptr && r->*flag;
                       });
}

MintedClient Org::mint(SimClient templ)
{
    std::string clientId;
    do
    {
        clientId = randomString(kLetters, 24);
    } while (findClient(clientId) != nullptr);

    MintedClient minted;
    minted.secret = core::Secret(randomString(kSecretAlphabet, 128));
    minted.token = core::makeToken(clientId, minted.secret);
    templ.clientId = clientId;
    templ.tokenSha256 = core::sha256Hex(minted.token.reveal());
    minted.client = templ;
    _clients.push_back(std::move(templ));
    return minted;
}

bool Org::remove(std::string_view clientId)
{
    const auto it = std::find_if(_clients.begin(), _clients.end(),
                                 [&](const SimClient& c) { return c.clientId == clientId; });
    if (it == _clients.end())
    {
        return false;
    }
    _clients.erase(it);
    return true;
}

} // namespace rotator::sim
