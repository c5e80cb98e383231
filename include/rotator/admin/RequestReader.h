#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <Poco/Net/HTTPRequest.h>

namespace rotator::admin
{

/// Frames one HTTP/1.x request from bytes as they arrive, without a thread or a blocking read:
/// the head (request line and header fields, parsed by Poco), then a body by `Content-Length`
/// or chunked transfer coding, which is read and dropped since no endpoint takes one. Bytes
/// after the request (a pipelined next request) are left to the caller.
///
/// A body over `maxBody` is not an error here: the request completes with `bodyTooLarge()`
/// (unread when its declared length is over, otherwise after discarding at most `maxDiscard`
/// bytes, so that closing the connection does not reset the answer away). A head over
/// `maxHead` fails with 431, a head or chunk framing Poco or this reader cannot parse with 400.
/// Not thread-safe; one object per request.
class RequestReader
{
public:
    enum class State
    {
        Head,
        Body,
        Done,
        Failed
    };

    static constexpr std::size_t kMaxHead = 32 * 1024;

    RequestReader(std::size_t maxBody, std::size_t maxDiscard, std::size_t maxHead = kMaxHead);

    /// Takes bytes of this request from the front of `data`; returns how many it took (all of
    /// them unless the request completed or failed within `data`).
    std::size_t feed(std::string_view data);

    State state() const { return _state; }
    /// Whether any byte of this request arrived (an idle connection has sent none).
    bool started() const { return _started; }
    /// The parsed head; complete once the state is Body or Done.
    const Poco::Net::HTTPRequest& request() const { return _request; }
    bool bodyTooLarge() const { return _tooLarge; }
    /// 400 or 431 when Failed, with a message for the client.
    int failureStatus() const { return _failureStatus; }
    const std::string& failureMessage() const { return _failureMessage; }

private:
    enum class Body
    {
        None,
        Length,
        ChunkSize,
        ChunkData,
        ChunkEnd,
        Trailer
    };

    std::size_t feedHead(std::string_view data);
    std::size_t feedBody(std::string_view data);
    void parseHead();
    void fail(int status, std::string message);
    /// Takes one line of chunk framing into `_line`; true once it is complete.
    bool takeLine(std::string_view data, std::size_t& used);
    void countBody(std::size_t n);

    const std::size_t _maxBody;
    const std::size_t _maxDiscard;
    const std::size_t _maxHead;
    State _state = State::Head;
    Body _body = Body::None;
    bool _started = false;
    bool _tooLarge = false;
    std::string _head;
    std::string _line;
    std::uint64_t _remaining = 0; ///< of the Content-Length body or of the current chunk
    std::uint64_t _bodyBytes = 0;
    Poco::Net::HTTPRequest _request;
    int _failureStatus = 0;
    std::string _failureMessage;
};

} // namespace rotator::admin
