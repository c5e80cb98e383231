// Slow, greedy and misdirected clients of the admin API (issue 13, items 8 to 10), over real
// sockets on 127.0.0.1:0.

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <Poco/AutoPtr.h>
#include <Poco/Channel.h>
#include <Poco/Exception.h>
#include <Poco/Logger.h>
#include <Poco/Message.h>
#include <Poco/Net/SocketAddress.h>
#include <Poco/Net/StreamSocket.h>

#include "rotator/core/Errors.h"
#include "support/AdminHarness.h"
#include "support/LogCapture.h"

namespace rotator::admin
{
namespace
{

using test::Answer;
using test::Call;
using test::get;
using test::kBearer;
using test::request;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

using AdminHardeningTest = test::AdminServerFixture;

/// A connection that sends exactly the bytes a test gives it, when the test gives them.
class RawClient
{
public:
    explicit RawClient(std::uint16_t port)
    {
        _socket.connect(Poco::Net::SocketAddress("127.0.0.1", port));
        _socket.setReceiveTimeout(Poco::Timespan(10, 0));
    }
    void send(const std::string& bytes)
    {
        _socket.sendBytes(bytes.data(), static_cast<int>(bytes.size()));
    }
    /// Whether an answer (or the end of the connection) arrives within `ms`.
    bool answersWithin(int ms)
    {
        return _socket.poll(Poco::Timespan(ms * 1000), Poco::Net::Socket::SELECT_READ);
    }
    /// Everything until the server closes the connection (or 10 s pass without a byte);
    /// `closedByServer()` then tells which.
    std::string readToEnd()
    {
        std::string out;
        char buffer[4096];
        _closedByServer = false;
        try
        {
            for (int n = 0; (n = _socket.receiveBytes(buffer, sizeof buffer)) > 0;)
            {
                out.append(buffer, static_cast<std::size_t>(n));
            }
            _closedByServer = true;
        }
        catch (const Poco::Exception&)
        {
            // a reset or the timeout: what arrived is the answer
        }
        return out;
    }
    /// Whether the last readToEnd() ended with an orderly close by the server, not a reset or
    /// the client's own timeout.
    bool closedByServer() const { return _closedByServer; }

private:
    Poco::Net::StreamSocket _socket;
    bool _closedByServer = false;
};

/// The status of a raw HTTP/1.1 answer; 0 when there is none.
int statusOf(const std::string& answer)
{
    return answer.rfind("HTTP/1.1 ", 0) == 0 && answer.size() >= 12 ? std::stoi(answer.substr(9, 3))
                                                                    : 0;
}

/// Sends `call` and fails the test unless the answer comes within one second.
Answer answeredWithinOneSecond(std::uint16_t port, Call call)
{
    call.timeoutSeconds = 5;
    const auto deadline = Clock::now() + std::chrono::seconds(1);
    const auto answer = request(port, call);
    EXPECT_LT(Clock::now(), deadline) << call.target << " took more than 1 s";
    return answer;
}

/// While it lives, every line written to the "admin" logger (debug lines too) is given to
/// `onLine` instead, on the thread that writes it: a test can hold that thread (the event loop
/// writes the access line of each /healthz it answers) or make the write fail.
class AdminLogHook
{
public:
    explicit AdminLogHook(std::function<void(const std::string&)> onLine)
        : _logger(Poco::Logger::get("admin")), _saved(_logger.getChannel(), true),
          _level(_logger.getLevel())
    {
        _logger.setChannel(new Hook(std::move(onLine)));
        _logger.setLevel(Poco::Message::PRIO_DEBUG);
    }
    ~AdminLogHook()
    {
        _logger.setChannel(_saved);
        _logger.setLevel(_level);
    }
    AdminLogHook(const AdminLogHook&) = delete;
    AdminLogHook& operator=(const AdminLogHook&) = delete;

private:
    class Hook final : public Poco::Channel
    {
    public:
        explicit Hook(std::function<void(const std::string&)> onLine) : _onLine(std::move(onLine))
        {
        }
        void log(const Poco::Message& message) override { _onLine(message.getText()); }

    private:
        const std::function<void(const std::string&)> _onLine;
    };

    Poco::Logger& _logger;
    Poco::AutoPtr<Poco::Channel> _saved;
    const int _level;
};

bool contains(const std::string& text, const std::string& needle)
{
    return text.find(needle) != std::string::npos;
}

TEST_F(AdminHardeningTest, SixtyFourTricklingConnectionsDoNotDelayHealthz)
{
    settings.admin.requestDeadlineMs = 60'000; // every trickler is still open for the probe
    test::LogCapture log;
    const auto port = start();
    std::vector<std::unique_ptr<RawClient>> slow;
    for (int i = 0; i < 64; ++i)
    {
        slow.push_back(std::make_unique<RawClient>(port));
        slow.back()->send("G"); // and the next byte would come in 3 s
    }

    Call probe;
    probe.target = "/healthz";
    EXPECT_EQ(answeredWithinOneSecond(port, probe).status, 200);
    // An operator on the same machine gets through too.
    probe.target = "/v1/credentials";
    EXPECT_EQ(answeredWithinOneSecond(port, probe).status, 200);

    // The 56 connections over the per-address cap were refused, but a flood does not fill
    // the log: at most ten refusal lines a window.
    const auto lines = log.lines();
    const auto refusals = std::count_if(lines.begin(), lines.end(), [](const std::string& line)
                                        { return line.find("too_many_connections") != std::string::npos; });
    EXPECT_GE(refusals, 1) << log.text();
    EXPECT_LE(refusals, 10) << log.text();
}

TEST_F(AdminHardeningTest, SlowV1AnswersOnEveryWorkerDoNotDelayTheProbes)
{
    enableToken();
    const auto port = start();
    control.rotations.close();
    std::vector<int> statuses(6, 0);
    std::vector<std::thread> clients;
    const auto release = [&]
    {
        control.rotations.open();
        for (auto& t : clients)
        {
            t.join();
        }
    };
    for (std::size_t i = 0; i < statuses.size(); ++i)
    {
        clients.emplace_back(
            [&, i]
            {
                try
                {
                    statuses[i] =
                        test::post(port, "/v1/credentials/billing/rotate", kBearer).status;
                }
                catch (const Poco::Exception&)
                {
                    // statuses[i] stays 0 and fails below
                }
            });
    }
    // Every /v1 worker is held; two more requests wait in the queue.
    control.rotations.awaitWaiting(4);

    // Percent-encoded probe paths are probes too: the lane, like the Host check, goes by the
    // decoded path.
    for (const std::string target :
         {"/healthz", "/readyz", "/metrics", "/%68ealthz", "/r%65adyz?x=1", "/%6detrics"})
    {
        Call probe;
        probe.target = target;
        try
        {
            EXPECT_NE(answeredWithinOneSecond(port, probe).status, 0) << target;
        }
        catch (const Poco::Exception& e)
        {
            ADD_FAILURE() << target << ": " << e.displayText();
        }
    }
    release();
    EXPECT_EQ(std::count(statuses.begin(), statuses.end(), 202), 1);
    EXPECT_EQ(std::count(statuses.begin(), statuses.end(), 409), 5);
}

TEST_F(AdminHardeningTest, HealthzIsAnsweredWhileTheProbesWorkerIsHeld)
{
    const auto port = start();
    control.passes.close();
    std::thread scrape(
        [&]
        {
            try
            {
                EXPECT_EQ(get(port, "/metrics").status, 200);
            }
            catch (const Poco::Exception& e)
            {
                ADD_FAILURE() << "/metrics: " << e.displayText();
            }
        });
    control.passes.awaitWaiting(1); // the probes' one worker is held inside /metrics

    Call probe;
    probe.target = "/healthz";
    try
    {
        EXPECT_EQ(answeredWithinOneSecond(port, probe).status, 200);
    }
    catch (const Poco::Exception& e)
    {
        ADD_FAILURE() << "/healthz: " << e.displayText();
    }
    control.passes.open();
    scrape.join();
}

TEST_F(AdminHardeningTest, TheAccessLogCountsTheTimeARequestWaitedForAWorker)
{
    test::LogCapture log;
    const auto port = start();
    control.passes.close();
    std::thread scrape([&] { get(port, "/metrics"); });
    control.passes.awaitWaiting(1); // the probes' one worker is held inside /metrics

    RawClient ready(port);
    ready.send("GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    // The time it waits in the queue, which its access line must show.
    std::this_thread::sleep_for(milliseconds(300));
    control.passes.open();
    EXPECT_EQ(statusOf(ready.readToEnd()), 503); // no pass has finished
    scrape.join();
    server->stop(); // every access line is written

    const auto lines = log.lines();
    const auto line = std::find_if(lines.begin(), lines.end(),
                                   [](const std::string& l)
                                   { return contains(l, "127.0.0.1 GET /readyz 503 "); });
    ASSERT_NE(line, lines.end()) << log.text();
    const auto ms = std::stoll(line->substr(line->find(" 503 ") + 5));
    EXPECT_GE(ms, 200) << *line; // less up to the time the loop took to read it
}

TEST_F(AdminHardeningTest, AClientStillSendingAnOversizedBodyReadsThe413NotAReset)
{
    const auto port = start();
    Call big;
    big.method = "POST";
    big.target = "/v1/credentials/billing/rotate";
    // Far more than the server reads before its 413 and the sockets' buffers together. Poco's
    // client, like most, writes the whole body before it reads the answer.
    big.body = std::string(12 * 1024 * 1024, 'x');
    try
    {
        const auto answer = request(port, big);
        EXPECT_EQ(answer.status, 413);
        EXPECT_EQ(answer.errorCode(), "payload_too_large");
    }
    catch (const Poco::Exception& e)
    {
        ADD_FAILURE() << "the client lost the answer: " << e.displayText();
    }
}

TEST_F(AdminHardeningTest, TheCountOfRefusalsNotLoggedIsLoggedWhenTheirWindowEnds)
{
    test::Gate summary;
    std::string said;
    AdminLogHook hook(
        [&](const std::string& line)
        {
            if (contains(line, "more refused connections"))
            {
                said = line;
                summary.pass();
            }
        });
    const auto port = start();
    summary.close();
    for (int i = 0; i < 12; ++i) // ten are logged
    {
        RawClient bad(port);
        bad.send("NOT HTTP\r\n\r\n");
        EXPECT_EQ(statusOf(bad.readToEnd()), 400);
    }
    // No refusal follows: the line must come when the 10 s window ends all the same.
    EXPECT_TRUE(summary.awaitWaitingFor(1, std::chrono::seconds(15)));
    summary.open();
    EXPECT_EQ(said, "admin API: 2 more refused connections in 10 s were not logged");
    server->stop(); // before the log channel is restored
}

TEST_F(AdminHardeningTest, ARequestStillTricklingAtItsDeadlineGets408AndIsClosed)
{
    settings.admin.requestDeadlineMs = 300;
    const auto port = start();
    const auto started = Clock::now();
    RawClient slow(port);
    slow.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ");
    // A byte every 50 ms: no pause is long enough for a per-read timeout to end it.
    for (int sent = 0; sent < 200 && !slow.answersWithin(50); ++sent)
    {
        slow.send("a");
    }
    const auto answeredAfter = Clock::now() - started;
    const std::string answer = slow.readToEnd();
    EXPECT_EQ(statusOf(answer), 408) << answer;
    EXPECT_NE(answer.find("\"request_timeout\""), std::string::npos) << answer;
    EXPECT_NE(answer.find("Connection: Close"), std::string::npos) << answer;
    EXPECT_TRUE(slow.closedByServer()) << "the connection was not closed after the 408";
    EXPECT_GE(answeredAfter, milliseconds(300));
    EXPECT_LT(answeredAfter, milliseconds(5'000));
}

TEST_F(AdminHardeningTest, AnIdleKeepAliveConnectionIsClosedAtTheDeadlineWithoutAnAnswer)
{
    settings.admin.requestDeadlineMs = 200;
    const auto port = start();
    RawClient idle(port);
    const auto started = Clock::now();
    idle.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    std::string answer = idle.readToEnd();
    EXPECT_TRUE(idle.closedByServer()) << "the idle connection was left open";
    EXPECT_GE(Clock::now() - started, milliseconds(200));
    EXPECT_EQ(statusOf(answer), 200) << answer;
    EXPECT_EQ(answer.find("408"), std::string::npos) << answer;
}

TEST_F(AdminHardeningTest, PipelinedRequestsAreAnsweredInOrderAndAHeadAnswerHasNoBody)
{
    const auto port = start();
    RawClient raw(port);
    raw.send("HEAD /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
             "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    const std::string answers = raw.readToEnd();
    EXPECT_EQ(statusOf(answers), 405) << answers; // /healthz is GET only
    const auto second = answers.find("\r\n\r\nHTTP/1.1 200 OK\r\n");
    ASSERT_NE(second, std::string::npos) << answers;
    EXPECT_EQ(answers.substr(answers.size() - 15), "{\"status\":\"ok\"}");
}

TEST_F(AdminHardeningTest, AnAddressOverItsCapLosesItsOldestUnfinishedConnection)
{
    settings.admin.maxConnectionsPerAddress = 2;
    const auto port = start();
    RawClient first(port);
    first.send("GET /v1/cred");
    RawClient second(port);
    second.send("GET /v1/credentials HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");

    EXPECT_EQ(get(port, "/v1/credentials").status, 200);
    const std::string evicted = first.readToEnd();
    EXPECT_EQ(statusOf(evicted), 503) << evicted;
    EXPECT_NE(evicted.find("admin.maxConnectionsPerAddress = 2"), std::string::npos) << evicted;

    // The younger one was left alone.
    second.send("\r\n");
    EXPECT_EQ(statusOf(second.readToEnd()), 200);
}

TEST_F(AdminHardeningTest, AProbeAcceptedTogetherWithAFloodFromItsAddressIsAnswered)
{
    settings.admin.maxConnectionsPerAddress = 2;
    test::Gate loop;
    AdminLogHook hook(
        [&](const std::string& line)
        {
            if (contains(line, "GET /healthz 200"))
            {
                loop.pass();
            }
        });
    const auto port = start();
    loop.close();
    RawClient first(port);
    first.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    loop.awaitWaiting(1); // the loop is held inside that answer's access line

    // Queued up behind the held loop, so that one accept batch takes them all: the probe, whose
    // whole request is there, first, then trickling connections from the same address.
    RawClient probe(port);
    probe.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    std::vector<std::unique_ptr<RawClient>> flood;
    for (int i = 0; i < 4; ++i)
    {
        flood.push_back(std::make_unique<RawClient>(port));
        flood.back()->send("G");
    }
    loop.open();

    const std::string answer = probe.readToEnd();
    EXPECT_EQ(statusOf(answer), 200) << answer;
    EXPECT_EQ(statusOf(first.readToEnd()), 200);
    server->stop(); // before the log channel is restored
}

/// CPU time of the whole process (every thread) so far.
std::chrono::microseconds cpuTime()
{
    rusage usage{};
    ::getrusage(RUSAGE_SELF, &usage);
    const auto total = [](const timeval& t)
    { return std::chrono::seconds(t.tv_sec) + std::chrono::microseconds(t.tv_usec); };
    return total(usage.ru_utime) + total(usage.ru_stime);
}

TEST_F(AdminHardeningTest, OutOfDescriptorsTheLoopBacksOffLogsOnceAndAcceptsOnceThereAreSome)
{
    test::Gate warned;
    std::atomic<int> warnings{0};
    AdminLogHook hook(
        [&](const std::string& line)
        {
            if (contains(line, "out of file descriptors"))
            {
                ++warnings;
                warned.pass();
            }
        });
    const auto port = start();
    // The client's socket exists before the descriptors run out; only the server's accept fails.
    Poco::Net::StreamSocket client(Poco::Net::SocketAddress::IPv4);
    client.setReceiveTimeout(Poco::Timespan(10, 0));
    // While no descriptor is left the test calls no virtual member: UBSan's vptr check needs a
    // pipe to read memory, and without one reports a false "invalid vptr". So the connect is a
    // plain connect(2) on the socket's descriptor, to an address made beforehand.
    const int clientFd = client.impl()->sockfd();
    const Poco::Net::SocketAddress listener("127.0.0.1", port);
    sockaddr_storage serverAddress{};
    std::memcpy(&serverAddress, listener.addr(), listener.length());
    const socklen_t serverLength = listener.length();

    rlimit saved{};
    ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &saved), 0);
    rlimit lowered = saved;
    lowered.rlim_cur = std::min<rlim_t>(saved.rlim_cur, 4096);
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &lowered), 0);
    std::vector<int> taken;
    for (int fd = 0; (fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0;)
    {
        taken.push_back(fd);
    }
    const auto giveBack = [&]
    {
        for (const int fd : taken)
        {
            ::close(fd);
        }
        taken.clear();
        ::setrlimit(RLIMIT_NOFILE, &saved);
    };

    warned.close();
    const int connected =
        ::connect(clientFd, reinterpret_cast<const sockaddr*>(&serverAddress), serverLength);
    const int connectError = errno;
    if (connected != 0)
    {
        giveBack();
        FAIL() << "connect: " << std::strerror(connectError);
    }
    warned.awaitWaiting(1); // the loop failed to accept it
    const auto before = cpuTime();
    warned.open();
    // Nothing to wait for: the loop must stay quiet over a while of descriptors still missing.
    std::this_thread::sleep_for(milliseconds(300));
    const auto spent = cpuTime() - before;
    const int lines = warnings.load();
    giveBack();
    EXPECT_LT(spent, milliseconds(100)) << "the loop spins while accept fails";
    EXPECT_EQ(lines, 1);

    const std::string probe =
        "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    client.sendBytes(probe.data(), static_cast<int>(probe.size()));
    char buffer[512] = {};
    const int n = client.receiveBytes(buffer, sizeof buffer);
    EXPECT_EQ(statusOf(std::string(buffer, static_cast<std::size_t>(std::max(n, 0)))), 200);
}

/// The "admin" log as on a full disk (Poco's FileChannel throws) for the lines that contain one
/// of `failing`; every line is kept, from any thread.
class FailingAdminLog
{
public:
    explicit FailingAdminLog(std::vector<std::string> failing)
        : _failing(std::move(failing)), _hook([this](const std::string& line) { write(line); })
    {
    }

    /// Whether the front end logged that it dropped a connection for the failed write.
    bool droppedAConnection()
    {
        return contains(text(), "dropped the connection of 127.0.0.1 after an error: Cannot "
                                "write file: no space left on the log's disk");
    }
    std::string text()
    {
        std::lock_guard<std::mutex> lock(_mutex);
        return _text;
    }

private:
    void write(const std::string& line)
    {
        {
            std::lock_guard<std::mutex> lock(_mutex);
            _text += line + "\n";
        }
        for (const auto& needle : _failing)
        {
            if (contains(line, needle))
            {
                throw Poco::WriteFileException("no space left on the log's disk");
            }
        }
    }

    const std::vector<std::string> _failing;
    std::mutex _mutex;
    std::string _text;
    AdminLogHook _hook;
};

TEST_F(AdminHardeningTest, AnErrorOnTheLoopDropsThatConnectionAndTheOthersAreStillServed)
{
    FailingAdminLog log({"bad_request"});
    const auto port = start();
    RawClient bad(port);
    bad.send("NOT HTTP\r\n\r\n"); // refused on the loop thread, which logs the refusal
    bad.readToEnd();
    EXPECT_EQ(get(port, "/healthz").status, 200);
    EXPECT_TRUE(log.droppedAConnection()) << log.text();
    server->stop(); // before the log channel is restored
}

TEST_F(AdminHardeningTest, AnErrorOnAWorkerDropsThatConnectionAndTheWorkerServesOn)
{
    // The access line and the handler's own failure line both fail to be written.
    FailingAdminLog log({"GET /v1/credentials", "handler failed"});
    const auto port = start();
    // More requests than workers: each worker must survive its failure.
    for (int i = 0; i < 6; ++i)
    {
        RawClient raw(port);
        raw.send("GET /v1/credentials HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
        EXPECT_EQ(raw.readToEnd(), ""); // closed without an answer
    }
    EXPECT_EQ(get(port, "/v1/clients").status, 200);
    EXPECT_TRUE(log.droppedAConnection()) << log.text();
    server->stop(); // before the log channel is restored
}

TEST_F(AdminHardeningTest, AnotherHostIs421ExceptOnTheProbes)
{
    settings.admin.allowedHosts = {"rotator.example"};
    const auto port = start();
    const std::string p = ":" + std::to_string(port);
    for (const std::string& host :
         std::vector<std::string>{"evil.example", "evil.example" + p, "localhost.evil.example",
                                  "127.0.0.1.evil.example", "10.1.2.3", "[::2]" + p})
    {
        for (const std::string target : {"/v1/credentials", "/metrics", "/nope"})
        {
            Call c;
            c.target = target;
            c.host = host;
            const auto a = request(port, c);
            EXPECT_EQ(a.status, 421) << host << target;
            EXPECT_EQ(a.errorCode(), "misdirected_request") << host << target;
            EXPECT_NE(a.body.find("Host \\\"" + host + "\\\""), std::string::npos) << a.body;
        }
        // A kubelet probes with Host = the pod's IP.
        Call probe;
        probe.host = host;
        probe.target = "/healthz";
        EXPECT_EQ(request(port, probe).status, 200) << host;
        probe.target = "/readyz";
        EXPECT_EQ(request(port, probe).status, 503) << host; // not ready, but answered
    }
    for (const std::string& host :
         std::vector<std::string>{"localhost", "localhost" + p, "127.0.0.1" + p, "[::1]" + p,
                                  "ROTATOR.example", "rotator.example.:8710"})
    {
        Call c;
        c.target = "/v1/credentials";
        c.host = host;
        EXPECT_EQ(request(port, c).status, 200) << host;
    }

    RawClient noHost(port);
    noHost.send("GET /v1/credentials HTTP/1.0\r\n\r\n");
    const auto answer = noHost.readToEnd();
    EXPECT_EQ(statusOf(answer), 421) << answer;
}

TEST_F(AdminHardeningTest, MetricsAuthPutsMetricsBehindTheBearer)
{
    enableToken();
    settings.admin.metricsAuth = true;
    const auto port = start();
    EXPECT_EQ(get(port, "/metrics").status, 401);
    EXPECT_EQ(get(port, "/metrics", kBearer).status, 200);
    EXPECT_EQ(get(port, "/healthz").status, 200);
}

TEST_F(AdminHardeningTest, MetricsAuthWithoutATokenFileFailsTheStart)
{
    settings.admin.metricsAuth = true;
    AdminServer s(settings, dir.file("rotator.db"), control, metrics, clock);
    EXPECT_THROW(s.start(), core::ConfigError);
}

TEST_F(AdminHardeningTest, TheAccessLogEscapesControlBytesOfMethodAndPath)
{
    test::LogCapture log;
    const auto port = start();
    RawClient raw(port);
    raw.send(
        "G\x1bT /v1/a\x1b[31mb\x01\\c HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    EXPECT_NE(statusOf(raw.readToEnd()), 0);
    server->stop(); // every access line is written

    EXPECT_TRUE(log.contains("admin: 127.0.0.1 G\\u001bT /v1/a\\u001b[31mb\\u0001\\\\c 4"))
        << log.text();
    const auto text = log.text();
    EXPECT_EQ(text.find('\x1b'), std::string::npos);
    EXPECT_EQ(text.find('\x01'), std::string::npos);
}

} // namespace
} // namespace rotator::admin
