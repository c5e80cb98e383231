// rotator-seed: fills a state database at ops scale for `scripts/bench ops`.
//
//   rotator-seed --db=PATH [--clients=10000] [--credentials=1000] [--events=1000000]
//                [--days=730] [--batch=10000]
//
// Everything goes through the store API (SqliteStateStore), never hand-written SQL, so the
// database is exactly what the daemon would have written: syncInventory for the org's clients,
// ensureCredentials + saveCredential for the managed credentials (every credential has a current
// client, every tenth one a previous client in grace), appendEvent for the history, batched with
// runInTransaction. Deterministic (a fixed-seed generator); prints what it wrote as one JSON line.
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "rotator/core/Model.h"
#include "rotator/core/Time.h"
#include "rotator/store/SqliteStateStore.h"

namespace
{

using rotator::store::SqliteStateStore;

constexpr std::int64_t kDayMs = 86'400'000;

struct Options
{
    std::string db;
    std::int64_t clients = 10'000;
    std::int64_t credentials = 1'000;
    std::int64_t events = 1'000'000;
    std::int64_t days = 730;
    std::int64_t batch = 10'000;
};

[[noreturn]] void usage(const std::string& problem)
{
    std::cerr << "rotator-seed: " << problem << "\n"
              << "usage: rotator-seed --db=PATH [--clients=N] [--credentials=N] [--events=N]"
                 " [--days=N] [--batch=N]\n";
    std::exit(64);
}

std::int64_t number(const std::string& name, const std::string& text)
{
    try
    {
        std::size_t used = 0;
        const long long n = std::stoll(text, &used);
        if (used == text.size() && n >= 0)
        {
            return n;
        }
    }
    catch (const std::exception&)
    {
    }
    usage("--" + name + " needs a non-negative number, not \"" + text + "\"");
}

Options parse(int argc, char** argv)
{
    Options o;
    for (int i = 1; i < argc; ++i)
    {
        const std::string arg = argv[i];
        const auto eq = arg.find('=');
        if (arg.rfind("--", 0) != 0 || eq == std::string::npos)
        {
            usage("unexpected argument \"" + arg + "\"");
        }
        const std::string name = arg.substr(2, eq - 2);
        const std::string value = arg.substr(eq + 1);
        if (name == "db")
        {
            o.db = value;
        }
        else if (name == "clients")
        {
            o.clients = number(name, value);
        }
        else if (name == "credentials")
        {
            o.credentials = number(name, value);
        }
        else if (name == "events")
        {
            o.events = number(name, value);
        }
        else if (name == "days")
        {
            o.days = number(name, value);
        }
        else if (name == "batch")
        {
            o.batch = number(name, value);
        }
        else
        {
            usage("unknown option --" + name);
        }
    }
    if (o.db.empty())
    {
        usage("--db is required");
    }
    if (o.credentials * 2 > o.clients)
    {
        usage("--clients must be at least twice --credentials (current + previous clients)");
    }
    if (o.batch < 1 || o.days < 1)
    {
        usage("--batch and --days must be at least 1");
    }
    return o;
}

// 24 letters, like a real clientId; unique per index (base-52 digits, left-padded).
std::string clientIdOf(std::int64_t index)
{
    static const char kLetters[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    std::string id(24, 'A');
    auto n = static_cast<std::uint64_t>(index);
    for (std::size_t i = id.size(); i-- > 0 && n > 0; n /= 52)
    {
        id[i] = kLetters[n % 52];
    }
    id[0] = 'b'; // "bench"
    return id;
}

std::string credentialNameOf(std::int64_t index)
{
    return "svc-" + std::to_string(index);
}

} // namespace

int main(int argc, char** argv)
{
    const Options o = parse(argc, argv);
    const auto started = std::chrono::steady_clock::now();
    const std::int64_t nowMs = std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count();
    const std::int64_t spanMs = o.days * kDayMs;
    std::mt19937_64 random(20260101);
    std::uniform_int_distribution<std::int64_t> ageMs(0, spanMs);
    const std::vector<std::string> roleIds = {"21ef3576-0197-415a-b167-d510af12ecf0",
                                              "a7ef2f1a-8ff4-4c7e-9c0f-0f2b1e5a3d11",
                                              "3fb93abd-2e5f-4a55-8f0d-6d5c2e7b9a42"};
    try
    {
        SqliteStateStore store(o.db);

        // The org's clients, as one list answer (this also appends one `discovered` each).
        std::vector<rotator::core::ClientInfo> clients;
        clients.reserve(static_cast<std::size_t>(o.clients));
        for (std::int64_t i = 0; i < o.clients; ++i)
        {
            rotator::core::ClientInfo c;
            c.clientId = clientIdOf(i);
            c.roles = {roleIds[static_cast<std::size_t>(i) % roleIds.size()]};
            c.generatedOnMs = nowMs - ageMs(random);
            c.generatedOn = rotator::core::formatRfc3339Ms(c.generatedOnMs);
            if (i % 3 == 0)
            {
                c.description = "astra-rotator bench " + std::to_string(i);
            }
            clients.push_back(std::move(c));
        }
        store.syncInventory(clients, nowMs);

        // Managed credentials: credential k owns client 2k as current; every tenth also has
        // client 2k+1 as previous, in grace.
        std::vector<std::string> names;
        for (std::int64_t k = 0; k < o.credentials; ++k)
        {
            names.push_back(credentialNameOf(k));
        }
        store.ensureCredentials(names, nowMs);
        store.runInTransaction(
            [&]
            {
                for (std::int64_t k = 0; k < o.credentials; ++k)
                {
                    auto row = store.findCredential(credentialNameOf(k));
                    row->currentClientId = clientIdOf(2 * k);
                    if (k % 10 == 0)
                    {
                        row->previousClientId = clientIdOf(2 * k + 1);
                        row->revokeAfterMs = nowMs + 3'600'000;
                        row->state = rotator::core::CredentialState::Grace;
                    }
                    row->lastSuccessMs = nowMs - ageMs(random) / 30;
                    row->updatedMs = nowMs;
                    store.saveCredential(*row);
                }
            });

        // The history: events spread evenly over the span, oldest first, in batches.
        static const char* const kRotationEvents[] = {"created",  "verified",        "delivered",
                                                      "promoted", "revoked",         "revoke_confirmed"};
        static const char* const kOtherEvents[] = {"discovered", "disappeared", "failed",
                                                   "rolled_back", "unattributed"};
        std::uniform_int_distribution<std::int64_t> pickCredential(
            0, o.credentials > 0 ? o.credentials - 1 : 0);
        std::uniform_int_distribution<std::int64_t> pickClient(0, o.clients > 0 ? o.clients - 1 : 0);
        std::int64_t written = 0;
        while (written < o.events)
        {
            const std::int64_t end = std::min(o.events, written + o.batch);
            store.runInTransaction(
                [&]
                {
                    for (std::int64_t i = written; i < end; ++i)
                    {
                        rotator::store::EventRow e;
                        e.atMs = nowMs - spanMs + spanMs * i / std::max<std::int64_t>(1, o.events);
                        if (o.credentials > 0 && i % 8 != 7)
                        {
                            const std::int64_t k = pickCredential(random);
                            e.credential = credentialNameOf(k);
                            e.clientId = clientIdOf(2 * k);
                            e.event = kRotationEvents[i % 6];
                            e.detail = "bench rotation of " + e.credential;
                        }
                        else
                        {
                            e.clientId = clientIdOf(o.clients > 0 ? pickClient(random) : 0);
                            e.event = kOtherEvents[i % 5];
                            e.detail = "bench inventory event";
                        }
                        store.appendEvent(e);
                    }
                });
            written = end;
        }
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        std::cout << "{\"db\":\"" << o.db << "\",\"clients\":" << o.clients
                  << ",\"credentials\":" << o.credentials
                  << ",\"events\":" << (o.events + o.clients) << ",\"seconds\":" << seconds
                  << "}\n";
    }
    catch (const std::exception& e)
    {
        std::cerr << "rotator-seed: " << e.what() << "\n";
        return 1;
    }
    return 0;
}
