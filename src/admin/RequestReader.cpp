#include "rotator/admin/RequestReader.h"

#include <algorithm>
#include <charconv>
#include <sstream>

#include <Poco/Exception.h>

namespace rotator::admin
{

namespace
{

/// A line of chunk framing (a size with extensions, a trailer field) longer than this is not
/// one a client needs.
constexpr std::size_t kMaxLine = 4096;

std::string_view trimmed(std::string_view text)
{
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
    {
        text.remove_prefix(1);
    }
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
    {
        text.remove_suffix(1);
    }
    return text;
}

} // namespace

RequestReader::RequestReader(std::size_t maxBody, std::size_t maxDiscard, std::size_t maxHead)
    : _maxBody(maxBody), _maxDiscard(maxDiscard), _maxHead(maxHead)
{
}

std::size_t RequestReader::feed(std::string_view data)
{
    std::size_t used = 0;
    if (_state == State::Head)
    {
        used += feedHead(data);
    }
    if (_state == State::Body)
    {
        used += feedBody(data.substr(used));
    }
    return used;
}

std::size_t RequestReader::feedHead(std::string_view data)
{
    std::size_t used = 0;
    if (_head.empty())
    {
        // Empty lines before a request line are ignored (RFC 9112 §2.2).
        while (used < data.size() && (data[used] == '\r' || data[used] == '\n'))
        {
            ++used;
        }
    }
    _started = _started || !data.empty();
    const std::size_t before = _head.size();
    _head.append(data.substr(used));
    // The head ends at an empty line; its first '\n' may have come with the previous bytes.
    for (auto at = _head.find('\n', before >= 2 ? before - 2 : 0); at != std::string::npos;
         at = _head.find('\n', at + 1))
    {
        std::size_t end = 0;
        if (at + 1 < _head.size() && _head[at + 1] == '\n')
        {
            end = at + 2;
        }
        else if (at + 2 < _head.size() && _head[at + 1] == '\r' && _head[at + 2] == '\n')
        {
            end = at + 3;
        }
        if (end != 0)
        {
            if (end > _maxHead)
            {
                break;
            }
            _head.resize(end);
            parseHead();
            return used + (end - before);
        }
    }
    if (_head.size() > _maxHead)
    {
        fail(431, "the request head is longer than " + std::to_string(_maxHead / 1024) + " KiB");
    }
    return data.size();
}

void RequestReader::parseHead()
{
    try
    {
        std::istringstream in(_head);
        _request.read(in);
    }
    catch (const Poco::Exception&)
    {
        fail(400, "the request head cannot be parsed");
        return;
    }
    const auto& version = _request.getVersion();
    if (version != Poco::Net::HTTPMessage::HTTP_1_1 && version != Poco::Net::HTTPMessage::HTTP_1_0)
    {
        fail(400, "the request is not HTTP/1.0 or HTTP/1.1");
        return;
    }
    _state = State::Body;
    if (_request.has(Poco::Net::HTTPMessage::TRANSFER_ENCODING))
    {
        if (!_request.getChunkedTransferEncoding())
        {
            fail(400, "the only Transfer-Encoding accepted is chunked");
            return;
        }
        // Chunked wins over a Content-Length (RFC 9112 §6.3).
        _body = Body::ChunkSize;
        return;
    }
    if (_request.hasContentLength())
    {
        const std::string& text = _request.get(Poco::Net::HTTPMessage::CONTENT_LENGTH);
        std::uint64_t length = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), length);
        if (text.empty() || ec != std::errc() || end != text.data() + text.size())
        {
            fail(400, "the Content-Length is not a number");
            return;
        }
        if (length > _maxBody)
        {
            // Refused unread: the answer closes the connection.
            _tooLarge = true;
            _state = State::Done;
            return;
        }
        _remaining = length;
        _body = Body::Length;
        _state = length > 0 ? State::Body : State::Done;
        return;
    }
    // Without Content-Length or chunked coding a request has no body (RFC 9112 §6.3).
    _state = State::Done;
}

std::size_t RequestReader::feedBody(std::string_view data)
{
    std::size_t used = 0;
    while (used < data.size() && _state == State::Body)
    {
        switch (_body)
        {
        case Body::Length:
        case Body::ChunkData:
        {
            const auto n =
                static_cast<std::size_t>(std::min<std::uint64_t>(_remaining, data.size() - used));
            used += n;
            _remaining -= n;
            countBody(n);
            if (_remaining == 0 && _state == State::Body)
            {
                if (_body == Body::Length)
                {
                    _state = State::Done;
                }
                else
                {
                    _body = Body::ChunkEnd;
                }
            }
            break;
        }
        case Body::ChunkSize:
            if (takeLine(data, used))
            {
                const auto size = trimmed(std::string_view(_line).substr(0, _line.find(';')));
                const auto [end, ec] =
                    std::from_chars(size.data(), size.data() + size.size(), _remaining, 16);
                if (size.empty() || ec != std::errc() || end != size.data() + size.size())
                {
                    fail(400, "the chunked body has a malformed chunk size");
                    break;
                }
                _body = _remaining == 0 ? Body::Trailer : Body::ChunkData;
                _line.clear();
            }
            break;
        case Body::ChunkEnd:
            if (takeLine(data, used))
            {
                if (!_line.empty())
                {
                    fail(400, "a chunk of the body is longer than its size");
                    break;
                }
                _body = Body::ChunkSize;
            }
            break;
        case Body::Trailer:
            if (takeLine(data, used))
            {
                if (_line.empty())
                {
                    _state = State::Done;
                }
                _line.clear();
            }
            break;
        case Body::None:
            _state = State::Done;
            break;
        }
    }
    return used;
}

bool RequestReader::takeLine(std::string_view data, std::size_t& used)
{
    const auto newline = data.find('\n', used);
    const auto end = newline == std::string_view::npos ? data.size() : newline;
    _line.append(data.substr(used, end - used));
    used = newline == std::string_view::npos ? data.size() : newline + 1;
    if (_line.size() > kMaxLine)
    {
        fail(400, "a line of the chunked body is too long");
        return false;
    }
    if (newline == std::string_view::npos)
    {
        return false;
    }
    if (!_line.empty() && _line.back() == '\r')
    {
        _line.pop_back();
    }
    return true;
}

void RequestReader::countBody(std::size_t n)
{
    _bodyBytes += n;
    _tooLarge = _tooLarge || _bodyBytes > _maxBody;
    if (_bodyBytes > _maxDiscard)
    {
        _state = State::Done; // enough discarded: the answer closes the connection
    }
}

void RequestReader::fail(int status, std::string message)
{
    _state = State::Failed;
    _failureStatus = status;
    _failureMessage = std::move(message);
}

} // namespace rotator::admin
