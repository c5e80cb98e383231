#include <gtest/gtest.h>

#include <string>

#include <Poco/JSON/Parser.h>

#include "rotator/core/JsonString.h"

using rotator::core::appendJsonString;

namespace
{

std::string quoted(const std::string& value)
{
    std::string out = "prefix ";
    appendJsonString(out, value);
    return out.substr(7);
}

} // namespace

TEST(JsonString, EscapesQuotesBackslashesAndControlBytesAndKeepsUtf8)
{
    EXPECT_EQ(quoted("plain"), "\"plain\"");
    EXPECT_EQ(quoted("a\"b\\c"), "\"a\\\"b\\\\c\"");
    EXPECT_EQ(quoted("\b\f\n\r\t"), "\"\\b\\f\\n\\r\\t\"");
    EXPECT_EQ(quoted(std::string("\x01\x1f", 2)), "\"\\u0001\\u001f\"");
    EXPECT_EQ(quoted(std::string(1, '\0')), "\"\\u0000\"");
    EXPECT_EQ(quoted("Grüße /"), "\"Grüße /\"");
}

TEST(JsonString, EveryAsciiByteRoundTripsThroughAJsonParser)
{
    std::string all;
    for (int c = 1; c < 0x80; ++c)
    {
        all += static_cast<char>(c);
    }
    std::string document = "[";
    appendJsonString(document, all);
    document += "]";
    Poco::JSON::Parser parser;
    const auto array = parser.parse(document).extract<Poco::JSON::Array::Ptr>();
    ASSERT_EQ(array->size(), 1U);
    EXPECT_EQ(array->getElement<std::string>(0), all);
}
