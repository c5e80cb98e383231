#include <gtest/gtest.h>

#include "rotator/admin/Reply.h"

namespace rotator::admin
{
namespace
{

TEST(Reply, EscapeForLogEscapesControlBytesAsJsonDoes)
{
    EXPECT_EQ(escapeForLog("/a\r\nforged: line", 100), "/a\\r\\nforged: line");
    EXPECT_EQ(escapeForLog("G\x1b[31mET\t\x01\x7f", 100), "G\\u001b[31mET\\t\\u0001\\u007f");
    EXPECT_EQ(escapeForLog("a\\u001b", 100), "a\\\\u001b"); // not mistaken for an escape
    EXPECT_EQ(escapeForLog("/caf\xc3\xa9", 100), "/caf\xc3\xa9");
    EXPECT_EQ(escapeForLog("/abcdef", 3), "/ab...");
    EXPECT_EQ(escapeForLog("/a\"b\b", 100), "/a\\\"b\\b"); // as in the JSON log format
}

TEST(Reply, SerializesWithLengthAndConnection)
{
    Reply r = error(503, "busy", "try again");
    const auto kept = serializeReply(r);
    EXPECT_EQ(kept.rfind("HTTP/1.1 503 Service Unavailable\r\n", 0), 0u) << kept;
    EXPECT_NE(kept.find("Content-Length: " + std::to_string(r.body.size())), std::string::npos);
    EXPECT_NE(kept.find("Connection: Keep-Alive"), std::string::npos) << kept;
    EXPECT_EQ(kept.substr(kept.size() - r.body.size()), r.body);
    r.close = true;
    EXPECT_NE(serializeReply(r).find("Connection: Close"), std::string::npos);
}

} // namespace
} // namespace rotator::admin
