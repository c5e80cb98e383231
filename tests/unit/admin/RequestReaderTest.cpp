#include <string>

#include <gtest/gtest.h>

#include "rotator/admin/RequestReader.h"

namespace rotator::admin
{
namespace
{

using State = RequestReader::State;

constexpr std::size_t kBody = 64;
constexpr std::size_t kDiscard = 256;

/// Feeds `bytes` one at a time, as the slowest client would send them; returns the bytes the
/// reader left (those after the request).
std::string feedBytewise(RequestReader& reader, const std::string& bytes)
{
    std::size_t i = 0;
    while (i < bytes.size() && (reader.state() == State::Head || reader.state() == State::Body))
    {
        i += reader.feed(std::string_view(bytes).substr(i, 1));
    }
    return bytes.substr(i);
}

TEST(RequestReader, FramesAHeadSentOneByteAtATimeAndLeavesThePipelinedRest)
{
    RequestReader reader(kBody, kDiscard);
    EXPECT_FALSE(reader.started());
    const std::string next = "GET /readyz HTTP/1.1\r\n\r\n";
    const auto rest =
        feedBytewise(reader, "\r\nGET /healthz?x=1 HTTP/1.1\r\nHost: a\r\nX-A:  b \r\n\r\n" + next);
    ASSERT_EQ(reader.state(), State::Done);
    EXPECT_TRUE(reader.started());
    EXPECT_EQ(reader.request().getMethod(), "GET");
    EXPECT_EQ(reader.request().getURI(), "/healthz?x=1");
    EXPECT_EQ(reader.request().get("Host"), "a");
    EXPECT_FALSE(reader.bodyTooLarge());
    EXPECT_EQ(rest, next);

    RequestReader second(kBody, kDiscard);
    EXPECT_EQ(second.feed(next), next.size());
    EXPECT_EQ(second.state(), State::Done);
}

TEST(RequestReader, ReadsAndDropsALengthOrChunkedBody)
{
    RequestReader length(kBody, kDiscard);
    EXPECT_EQ(feedBytewise(length, "POST /x HTTP/1.1\r\nContent-Length: 5\r\n\r\nhelloNEXT"),
              "NEXT");
    EXPECT_EQ(length.state(), State::Done);
    EXPECT_FALSE(length.bodyTooLarge());

    RequestReader chunked(kBody, kDiscard);
    EXPECT_EQ(feedBytewise(chunked,
                           "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                           "5;ext=1\r\nhello\r\nA\r\n0123456789\r\n0\r\nX-T: 1\r\n\r\nNEXT"),
              "NEXT");
    EXPECT_EQ(chunked.state(), State::Done);
    EXPECT_FALSE(chunked.bodyTooLarge());
}

TEST(RequestReader, ABodyOverTheLimitCompletesTooLarge)
{
    RequestReader declared(kBody, kDiscard);
    declared.feed("POST /x HTTP/1.1\r\nContent-Length: 65\r\n\r\n");
    EXPECT_EQ(declared.state(), State::Done); // refused unread
    EXPECT_TRUE(declared.bodyTooLarge());

    RequestReader chunked(kBody, kDiscard);
    chunked.feed("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
    chunked.feed("41\r\n" + std::string(65, 'x') + "\r\n0\r\n\r\n");
    EXPECT_EQ(chunked.state(), State::Done);
    EXPECT_TRUE(chunked.bodyTooLarge());

    // An endless body is discarded up to a bound only.
    RequestReader endless(kBody, kDiscard);
    endless.feed("POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1000\r\n");
    const std::string data(4096, 'x');
    endless.feed(data);
    EXPECT_EQ(endless.state(), State::Done);
    EXPECT_EQ(endless.feed(data), 0u);
    EXPECT_TRUE(endless.bodyTooLarge());
}

TEST(RequestReader, RefusesALongHeadWith431AndGarbageWith400)
{
    RequestReader longHead(kBody, kDiscard, 100);
    longHead.feed("GET / HTTP/1.1\r\nX: " + std::string(100, 'a'));
    EXPECT_EQ(longHead.state(), State::Failed);
    EXPECT_EQ(longHead.failureStatus(), 431);

    for (const std::string bad :
         {"GET / SPDY/3\r\n\r\n", "POST / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n",
          "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
          "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
          "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
          "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n"})
    {
        RequestReader reader(kBody, kDiscard);
        reader.feed(bad);
        EXPECT_EQ(reader.state(), State::Failed) << bad;
        EXPECT_EQ(reader.failureStatus(), 400) << bad;
        EXPECT_FALSE(reader.failureMessage().empty());
    }
}

} // namespace
} // namespace rotator::admin
