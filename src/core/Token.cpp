#include "rotator/core/Token.h"

#include <Poco/DigestEngine.h>
#include <Poco/SHA2Engine.h>

namespace rotator::core
{

std::string sha256Hex(std::string_view data)
{
    Poco::SHA2Engine engine(Poco::SHA2Engine::SHA_256);
    engine.update(data.data(), static_cast<unsigned>(data.size()));
    return Poco::DigestEngine::digestToHex(engine.digest());
}

bool isValidClientId(std::string_view clientId)
{
    if (clientId.size() != 24)
    {
        return false;
    }
    for (char c : clientId)
    {
        const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!ok)
        {
            return false;
        }
    }
    return true;
}

Secret makeToken(std::string_view clientId, const Secret& secret)
{
    std::string token = "AstraCS:";
    token.append(clientId);
    token += ':';
    token += sha256Hex(secret.reveal());
    return Secret(std::move(token));
}

bool tokenMatches(std::string_view clientId, const Secret& secret, const Secret& token)
{
    if (!isValidClientId(clientId) || secret.empty())
    {
        return false;
    }
    const Secret expected = makeToken(clientId, secret);
    return constantTimeEquals(expected.reveal(), token.reveal());
}

std::string clientIdOfToken(const Secret& token)
{
    const std::string_view text = token.reveal();
    constexpr std::string_view kPrefix = "AstraCS:";
    if (text.substr(0, kPrefix.size()) != kPrefix || text.size() < kPrefix.size() + 25 ||
        text[kPrefix.size() + 24] != ':')
    {
        return {};
    }
    const std::string_view id = text.substr(kPrefix.size(), 24);
    return isValidClientId(id) ? std::string(id) : std::string();
}

} // namespace rotator::core
