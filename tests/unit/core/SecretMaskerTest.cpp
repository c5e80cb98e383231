#include <gtest/gtest.h>

#include <string>

#include "rotator/core/SecretMasker.h"

using rotator::core::base64Encode;
using rotator::core::percentEncode;
using rotator::core::SecretMasker;

namespace
{

// The alphabet of real secrets: letters, digits and . , + _ -
const std::string kSecret = "Zq9WkXsecret,ValueWith.Punct-And+Plus_Under/and\"quote";
const std::string kClientId = "AbCdEfGhIjKlMnOpQrStUvWx";
const std::string kHash = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const std::string kTokenPrefix = "AstraCS:" + kClientId + ":";

std::string masked(const std::string& text)
{
    SecretMasker masker;
    masker.addSecret(kSecret);
    masker.addSecretWithPublicPrefix(kTokenPrefix, kHash);
    return masker.clean(text, text.size());
}

} // namespace

TEST(SecretMasker, MasksTheValueItself)
{
    EXPECT_EQ(masked("got " + kSecret + " ok"), "got *** ok");
}

TEST(SecretMasker, MasksTheJsonEscapedForm)
{
    EXPECT_EQ(masked("{\"s\":\"Zq9WkXsecret,ValueWith.Punct-And+Plus_Under/and\\\"quote\"}"),
              "{\"s\":\"***\"}");
}

TEST(SecretMasker, MasksStandardBase64PaddedOrNot)
{
    EXPECT_EQ(masked("b64 " + base64Encode(kSecret, false, true) + " end"), "b64 *** end");
    EXPECT_EQ(masked("b64 " + base64Encode(kSecret, false, false) + " end"), "b64 *** end");
}

TEST(SecretMasker, MasksUrlSafeBase64)
{
    EXPECT_EQ(masked("b64url " + base64Encode(kSecret, true, false)), "b64url ***");
}

TEST(SecretMasker, MasksBase64OfALongerTextThatHoldsTheSecretAtAnyAlignment)
{
    for (const std::string before : {"", "x", "xy", "{\"secret\":\""})
    {
        const std::string encoded = base64Encode(before + kSecret + "\"} and more", false, true);
        const std::string out = masked(encoded);
        EXPECT_NE(out.find("***"), std::string::npos) << before;
        // What is left in clear is the encoding of the neighbours and at most a group on each
        // side: never a piece of the secret's encoding long enough to decode much of it.
        EXPECT_LT(out.size() - 3, 4 * (before.size() + 14) / 3 + 8) << before << " -> " << out;
    }
}

TEST(SecretMasker, MasksThePercentEncodedFormInEitherCase)
{
    EXPECT_EQ(percentEncode(",+/\" a_.-~", false), "%2C%2B%2F%22%20a_.-~");
    EXPECT_EQ(masked("q=" + percentEncode(kSecret, false) + "&x=1"), "q=***&x=1");
    EXPECT_EQ(masked("q=" + percentEncode(kSecret, true) + "&x=1"), "q=***&x=1");
}

TEST(SecretMasker, MasksAnyPieceOfSixteenCharactersOrMore)
{
    EXPECT_EQ(masked("head " + kSecret.substr(0, 16) + "|"), "head ***|");
    EXPECT_EQ(masked("mid " + kSecret.substr(10, 20) + "|"), "mid ***|");
    EXPECT_EQ(masked("tail " + kSecret.substr(kSecret.size() - 17) + "|"), "tail ***|");
    EXPECT_EQ(masked("b64 piece " + base64Encode(kSecret, false, true).substr(8, 16) + "|"),
              "b64 piece ***|");
    EXPECT_EQ(masked("url piece " + percentEncode(kSecret, false).substr(5, 18) + "|"),
              "url piece ***|");
}

TEST(SecretMasker, LeavesPiecesShorterThanSixteenCharacters)
{
    const std::string piece = kSecret.substr(3, 15);
    EXPECT_EQ(masked("short " + piece), "short " + piece);
}

TEST(SecretMasker, MasksTheTokenAndPiecesOfItsHashButNotTheClientIdAlone)
{
    const std::string token = kTokenPrefix + kHash;
    EXPECT_EQ(masked("token " + token), "token ***");
    EXPECT_EQ(masked("token " + base64Encode(token, false, true)), "token ***");
    EXPECT_EQ(masked("token " + percentEncode(token, true)), "token ***");
    EXPECT_EQ(masked("hash " + kHash.substr(20, 16)), "hash ***");
    EXPECT_EQ(masked("clientId " + kClientId), "clientId " + kClientId);
}

TEST(SecretMasker, MasksASecretStraddlingTheCutAndReplacesControlCharacters)
{
    const std::string line = std::string(10, '0') + kSecret;
    SecretMasker masker;
    masker.addSecret(kSecret);
    EXPECT_EQ(masker.clean(line, 14), std::string(10, '0') + "***");
    EXPECT_EQ(masker.clean("a\x01" "b", 3), "a?b");
}
