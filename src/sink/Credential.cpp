#include "rotator/sink/Credential.h"

#include <cstdint>

#include "rotator/core/JsonString.h"
#include "rotator/core/SecureWipe.h"

namespace rotator::sink
{

namespace
{

bool isBareEnvChar(char c)
{
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
    {
        return true;
    }
    switch (c)
    {
    case '_':
    case '.':
    case ',':
    case '+':
    case ':':
    case '/':
    case '@':
    case '-':
        return true;
    default:
        return false;
    }
}

/// A reader for exactly the grammar renderJson writes. Any deviation makes it fail; escapes
/// other than the ones renderJson emits are refused too (the caller re-renders and compares
/// anyway, so a non-canonical file would be refused there).
class StrictReader
{
public:
    explicit StrictReader(std::string_view text) : _text(text) {}

    bool literal(std::string_view expected)
    {
        if (_text.substr(_pos, expected.size()) != expected)
        {
            return false;
        }
        _pos += expected.size();
        return true;
    }

    bool string(std::string& out)
    {
        out.clear();
        if (!literal("\""))
        {
            return false;
        }
        while (_pos < _text.size())
        {
            const char c = _text[_pos++];
            if (c == '"')
            {
                return true;
            }
            if (static_cast<unsigned char>(c) < 0x20)
            {
                return false;
            }
            if (c != '\\')
            {
                out += c;
                continue;
            }
            if (_pos >= _text.size())
            {
                return false;
            }
            const char e = _text[_pos++];
            switch (e)
            {
            case '"':
            case '\\':
                out += e;
                break;
            case 'b':
                out += '\b';
                break;
            case 'f':
                out += '\f';
                break;
            case 'n':
                out += '\n';
                break;
            case 'r':
                out += '\r';
                break;
            case 't':
                out += '\t';
                break;
            case 'u':
            {
                if (!literal("00") || _pos + 2 > _text.size())
                {
                    return false;
                }
                const int high = hexValue(_text[_pos]);
                const int low = hexValue(_text[_pos + 1]);
                if (high < 0 || low < 0)
                {
                    return false;
                }
                _pos += 2;
                out += static_cast<char>(high * 16 + low);
                break;
            }
            default:
                return false;
            }
        }
        return false;
    }

    bool atEnd() const { return _pos == _text.size(); }

private:
    static int hexValue(char c)
    {
        if (c >= '0' && c <= '9')
        {
            return c - '0';
        }
        if (c >= 'a' && c <= 'f')
        {
            return c - 'a' + 10;
        }
        return -1;
    }

    std::string_view _text;
    std::size_t _pos = 0;
};

} // namespace

Credential makeCredential(std::string credentialName, const core::CreatedClient& created)
{
    Credential c;
    c.credential = std::move(credentialName);
    c.clientId = created.clientId;
    c.secret = created.secret;
    c.token = created.token;
    c.orgId = created.orgId;
    c.roles = created.roles;
    c.generatedOn = created.generatedOn;
    return c;
}

const std::vector<std::string>& knownCredentialFields()
{
    static const std::vector<std::string> fields = {"credential", "clientId", "secret",     "token",
                                                    "orgId",      "roles",    "generatedOn"};
    return fields;
}

const std::vector<std::string>& defaultStoreFields()
{
    static const std::vector<std::string> fields = {"clientId", "secret", "token", "orgId",
                                                    "generatedOn"};
    return fields;
}

std::string credentialField(const Credential& credential, std::string_view field)
{
    if (field == "credential")
    {
        return credential.credential;
    }
    if (field == "clientId")
    {
        return credential.clientId;
    }
    if (field == "secret")
    {
        return std::string(credential.secret.reveal());
    }
    if (field == "token")
    {
        return std::string(credential.token.reveal());
    }
    if (field == "orgId")
    {
        return credential.orgId;
    }
    if (field == "generatedOn")
    {
        return credential.generatedOn;
    }
    std::string roles;
    if (field == "roles")
    {
        for (const auto& role : credential.roles)
        {
            roles += (roles.empty() ? "" : ",") + role;
        }
    }
    return roles;
}

std::string renderFieldsJson(const Credential& credential, const std::vector<std::string>& fields)
{
    const auto& names = fields.empty() ? defaultStoreFields() : fields;
    std::string out = "{";
    for (const auto& name : names)
    {
        if (out.size() > 1)
        {
            out += ",";
        }
        core::appendJsonString(out, name);
        out += ":";
        std::string value = credentialField(credential, name);
        core::appendJsonString(out, value);
        core::secureWipe(value);
    }
    out += "}";
    return out;
}

std::string renderJson(const Credential& credential)
{
    std::string out;
    out.reserve(160 + credential.secret.size() + credential.token.size());
    out += "{\"clientId\":";
    core::appendJsonString(out, credential.clientId);
    out += ",\"secret\":";
    core::appendJsonString(out, credential.secret.reveal());
    out += ",\"token\":";
    core::appendJsonString(out, credential.token.reveal());
    out += ",\"orgId\":";
    core::appendJsonString(out, credential.orgId);
    out += ",\"roles\":[";
    for (std::size_t i = 0; i < credential.roles.size(); ++i)
    {
        if (i > 0)
        {
            out += ',';
        }
        core::appendJsonString(out, credential.roles[i]);
    }
    out += "],\"generatedOn\":";
    core::appendJsonString(out, credential.generatedOn);
    out += "}\n";
    return out;
}

std::string quoteEnvValue(std::string_view value)
{
    bool bare = true;
    for (const char c : value)
    {
        bare = bare && isBareEnvChar(c);
    }
    if (bare)
    {
        return std::string(value);
    }
    std::string out = "'";
    for (const char c : value)
    {
        if (c == '\'')
        {
            out += "'\"'\"'";
        }
        else
        {
            out += c;
        }
    }
    out += '\'';
    return out;
}

std::string renderEnv(const Credential& credential)
{
    std::string secret = quoteEnvValue(credential.secret.reveal());
    std::string token = quoteEnvValue(credential.token.reveal());
    std::string out = "ASTRA_CLIENT_ID=" + quoteEnvValue(credential.clientId) + "\n" +
                      "ASTRA_CLIENT_SECRET=" + secret + "\n" +
                      "ASTRA_DB_APPLICATION_TOKEN=" + token + "\n";
    core::secureWipe(secret);
    core::secureWipe(token);
    return out;
}

std::string renderToken(const Credential& credential)
{
    return credential.token.reveal() + "\n";
}

std::optional<Credential> parseCredentialJson(std::string_view json, std::string credentialName)
{
    StrictReader reader(json);
    Credential c;
    c.credential = std::move(credentialName);
    std::string secret;
    std::string token;
    bool ok = reader.literal("{\"clientId\":") && reader.string(c.clientId) &&
              reader.literal(",\"secret\":") && reader.string(secret) &&
              reader.literal(",\"token\":") && reader.string(token) &&
              reader.literal(",\"orgId\":") && reader.string(c.orgId) &&
              reader.literal(",\"roles\":[");
    if (ok && !reader.literal("]"))
    {
        do
        {
            std::string role;
            ok = reader.string(role);
            c.roles.push_back(std::move(role));
        } while (ok && reader.literal(","));
        ok = ok && reader.literal("]");
    }
    ok = ok && reader.literal(",\"generatedOn\":") && reader.string(c.generatedOn) &&
         reader.literal("}\n") && reader.atEnd();
    c.secret = core::Secret(std::move(secret));
    c.token = core::Secret(std::move(token));
    core::secureWipe(secret);
    core::secureWipe(token);
    if (!ok || c.clientId.empty() || c.secret.empty() || c.token.empty())
    {
        return std::nullopt;
    }
    // Only the canonical form is ours: anything renderJson would write differently (another
    // escaping, a hand edit) is a mismatch.
    std::string again = renderJson(c);
    const bool canonical = again == json;
    core::secureWipe(again);
    if (!canonical)
    {
        return std::nullopt;
    }
    return c;
}

} // namespace rotator::sink
