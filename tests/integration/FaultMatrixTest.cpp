// The fault matrix (issue #5): every fault the simulator can inject, applied at every stage of a
// rotation that talks to the DevOps API, with run-once passes until the rotation converges and
// every invariant of PRODUCT.md §3 checked after each pass and at the end.
//
// One cell is one test: the real Runtime (SQLite store, AstraClient over TLS, two file sinks,
// engine) against the in-process simulator. The fault is put in place at the simulator right
// before the first request of its stage (a wrapper around the real client says which stage a
// call belongs to), stays for the rest of that pass, so every retry of that call meets it too,
// and is removed after the pass. The engine, the HTTP client's backoff and the simulator share
// one FakeClock, so grace, retry backoff, Retry-After and propagation delays pass without
// sleeping; only the latency fault waits in real time, against a 250 ms client timeout.
//
// Each cell asserts its outcome class and the number of passes to converge; the same
// expectations render the "Fault matrix" table of README.md, which FaultMatrixTable checks.
//
// One more row is a process of its own: the API down while `serve` runs (ServeWhileTheApiFails,
// at the end), the built daemon on the real clock, counting the lists it sends.
//
// Run: build/bin/integration_tests --gtest_filter='FaultMatrix*:ServeWhileTheApiFails*'
//   or   ctest -R 'FaultMatrix|ServeWhileTheApiFails' -j2

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Net/HTTPClientSession.h>
#include <Poco/Net/HTTPRequest.h>
#include <Poco/Net/HTTPResponse.h>
#include <Poco/Net/ServerSocket.h>
#include <Poco/StreamCopier.h>

#include "rotator/api/TokenApi.h"
#include "rotator/sim/FaultRule.h"
#include "rotator/sim/Simulator.h"
#include "rotator/sink/Credential.h"
#include "rotator/store/SqliteStateStore.h"
#include "support/ProcessRunner.h"
#include "support/RotationHarness.h"
#include "support/SinkProbe.h"
#include "support/TempDir.h"

namespace
{

using namespace rotator;

constexpr std::int64_t kMinute = 60'000;
constexpr std::int64_t kDay = 24 * 60 * kMinute;
/// Fake time between two passes: past the grace period (5m), the first retry backoff (1m)
/// and the window in which a lost create may still be committed (3 x 250 ms + 5m).
constexpr std::int64_t kBetweenPasses = 10 * kMinute;
constexpr int kMaxPasses = 6;
constexpr int kMaxAttempts = 3;                ///< astra.maxAttempts
constexpr int kRetryAfterSeconds = 7;          ///< Retry-After of the 429 rows
constexpr std::int64_t kClientTimeoutMs = 250; ///< astra.timeout
constexpr std::int64_t kLatencyMs = 1000;      ///< well beyond it
constexpr std::int64_t kPropagationTimeoutMs = 3000;

/// The stages of a rotation that talk to the API, in the order a rotation meets them.
enum class Stage
{
    Sync,              ///< GET /v2/clientIdSecrets: the inventory list that starts every pass
    Roles,             ///< GET /v2/organizations/roles: role names resolved before the create
    Create,            ///< POST /v2/clientIdSecrets
    CreateUndescribed, ///< the same, at a server whose list shows no descriptions (a lost
                       ///< create is attributed by roles and generatedOn, not by its marker)
    OrphanRevoke,      ///< DELETE of the client of a create whose answer was lost (the POST is
                       ///< dropped after it took effect, to get there)
    Verify,            ///< GET /v2/currentOrg with the new token
    RollBack,          ///< DELETE of the new client after verify rejected it (the new token
                       ///< answers 401 beyond astra.propagationTimeout, to get there)
    Revoke,            ///< DELETE of the previous client after grace
    Confirm,           ///< GET /v2/clientIdSecrets right after that DELETE
};

constexpr Stage kStages[] = {
    Stage::Sync,         Stage::Roles,  Stage::Create,   Stage::CreateUndescribed,
    Stage::OrphanRevoke, Stage::Verify, Stage::RollBack, Stage::Revoke,
    Stage::Confirm};

/// The stage whose calls the fault of a cell at `s` meets.
Stage calledStage(Stage s)
{
    return s == Stage::CreateUndescribed ? Stage::Create : s;
}

enum class Fault
{
    None,                  ///< the baseline
    Latency,               ///< the answer comes after the client timeout (and is then sent)
    Status500,             ///< 500 with an `Errors` JSON body, no side effect
    RateLimitRetryAfter,   ///< 429 with `Retry-After: 7`
    RateLimitNoRetryAfter, ///< 429 without `Retry-After`
    DropAfterCommit,       ///< the request takes effect, the connection closes without answer
    TlsEofAfterCommit,     ///< the same, cut under TLS without close_notify (unexpected EOF)
    InvalidJson,           ///< the request takes effect, 200 with a truncated JSON body
    TextError502,          ///< 502 with a text/plain body, no side effect
    Status403,             ///< 403 (the admin token lost a permission), no side effect
    Status404,             ///< 404, no side effect (at a DELETE: "already gone" while it is not)
    PropagationLong,       ///< the new token answers 401 for longer than propagationTimeout
    PropagationShort,      ///< the new token answers 401 for less than propagationTimeout
};

constexpr Fault kFaults[] = {Fault::Latency,
                             Fault::Status500,
                             Fault::RateLimitRetryAfter,
                             Fault::RateLimitNoRetryAfter,
                             Fault::DropAfterCommit,
                             Fault::TlsEofAfterCommit,
                             Fault::InvalidJson,
                             Fault::TextError502,
                             Fault::Status403,
                             Fault::Status404,
                             Fault::PropagationLong,
                             Fault::PropagationShort};

bool isPropagation(Fault f)
{
    return f == Fault::PropagationLong || f == Fault::PropagationShort;
}

/// What a cell's rotation went through, read from the journal and the pass reports.
enum class Outcome
{
    NoFailure,       ///< no failure anywhere: converged like the baseline
    PassSkipped,     ///< the inventory list failed: the pass changed nothing
    NotStarted,      ///< role lookup failed: no rotation started, failure counted, retried
    CreateFailed,    ///< the create was refused (nothing minted): failure counted, retried
    CreateUnknown,   ///< create outcome unknown and no client of it found: kept open for a
                     ///< late commit, closed by the next pass
    OrphanRevoked,   ///< a client the rotator minted but cannot use (its create's answer lost
                     ///< or unreadable, or rolled back and still listed) found and revoked
    RolledBack,      ///< verify failed: the new client revoked, the old one kept, retried
    Resumed,         ///< the roll-back DELETE failed: the rotation resumed from its pending
                     ///< file on the next pass and completed
    RevokeRetried,   ///< the DELETE failed: the old client stays in grace, retried next pass
    ConfirmDeferred, ///< revoked, but confirmed by a later pass's list
    Unexplained,     ///< a failure none of the above describes (a test failure)
};

struct Cell
{
    Fault fault;
    Stage stage;
    Outcome outcome;
    int passes; ///< passes until the rotation is done and every live client accounted for
};

// Every cell: the fault, where it is applied, what must happen, and in how many passes. This
// list is the README table (see FaultMatrixTable below).
//
// Excluded, as they cannot happen: the propagation rows at every stage but verify (only the
// verify call uses the new token, and the delay is given to a token when it is minted). Every
// other fault applies at every stage: "dropped after the request took effect" at a GET drops
// the connection of a request without side effects; at a DELETE the client is gone and every
// retry of that DELETE is dropped too.
const std::vector<Cell> kCells = {
    {Fault::None, Stage::Sync, Outcome::NoFailure, 2},

    {Fault::Latency, Stage::Sync, Outcome::PassSkipped, 3},
    {Fault::Latency, Stage::Roles, Outcome::NotStarted, 3},
    {Fault::Latency, Stage::Create, Outcome::OrphanRevoked, 3},
    {Fault::Latency, Stage::CreateUndescribed, Outcome::OrphanRevoked, 3},
    {Fault::Latency, Stage::OrphanRevoke, Outcome::CreateUnknown, 3},
    {Fault::Latency, Stage::Verify, Outcome::RolledBack, 3},
    {Fault::Latency, Stage::RollBack, Outcome::RolledBack, 4},
    {Fault::Latency, Stage::Revoke, Outcome::RevokeRetried, 3},
    {Fault::Latency, Stage::Confirm, Outcome::ConfirmDeferred, 3},

    {Fault::Status500, Stage::Sync, Outcome::PassSkipped, 3},
    {Fault::Status500, Stage::Roles, Outcome::NotStarted, 3},
    {Fault::Status500, Stage::Create, Outcome::CreateUnknown, 3},
    {Fault::Status500, Stage::CreateUndescribed, Outcome::CreateUnknown, 3},
    {Fault::Status500, Stage::OrphanRevoke, Outcome::OrphanRevoked, 3},
    {Fault::Status500, Stage::Verify, Outcome::RolledBack, 3},
    {Fault::Status500, Stage::RollBack, Outcome::Resumed, 3},
    {Fault::Status500, Stage::Revoke, Outcome::RevokeRetried, 3},
    {Fault::Status500, Stage::Confirm, Outcome::ConfirmDeferred, 3},

    {Fault::RateLimitRetryAfter, Stage::Sync, Outcome::PassSkipped, 3},
    {Fault::RateLimitRetryAfter, Stage::Roles, Outcome::NotStarted, 3},
    {Fault::RateLimitRetryAfter, Stage::Create, Outcome::CreateFailed, 3},
    {Fault::RateLimitRetryAfter, Stage::CreateUndescribed, Outcome::CreateFailed, 3},
    {Fault::RateLimitRetryAfter, Stage::OrphanRevoke, Outcome::OrphanRevoked, 3},
    {Fault::RateLimitRetryAfter, Stage::Verify, Outcome::RolledBack, 3},
    {Fault::RateLimitRetryAfter, Stage::RollBack, Outcome::Resumed, 3},
    {Fault::RateLimitRetryAfter, Stage::Revoke, Outcome::RevokeRetried, 3},
    {Fault::RateLimitRetryAfter, Stage::Confirm, Outcome::ConfirmDeferred, 3},

    {Fault::RateLimitNoRetryAfter, Stage::Sync, Outcome::PassSkipped, 3},
    {Fault::RateLimitNoRetryAfter, Stage::Roles, Outcome::NotStarted, 3},
    {Fault::RateLimitNoRetryAfter, Stage::Create, Outcome::CreateFailed, 3},
    {Fault::RateLimitNoRetryAfter, Stage::CreateUndescribed, Outcome::CreateFailed, 3},
    {Fault::RateLimitNoRetryAfter, Stage::OrphanRevoke, Outcome::OrphanRevoked, 3},
    {Fault::RateLimitNoRetryAfter, Stage::Verify, Outcome::RolledBack, 3},
    {Fault::RateLimitNoRetryAfter, Stage::RollBack, Outcome::Resumed, 3},
    {Fault::RateLimitNoRetryAfter, Stage::Revoke, Outcome::RevokeRetried, 3},
    {Fault::RateLimitNoRetryAfter, Stage::Confirm, Outcome::ConfirmDeferred, 3},

    {Fault::DropAfterCommit, Stage::Sync, Outcome::PassSkipped, 3},
    {Fault::DropAfterCommit, Stage::Roles, Outcome::NotStarted, 3},
    {Fault::DropAfterCommit, Stage::Create, Outcome::OrphanRevoked, 3},
    {Fault::DropAfterCommit, Stage::CreateUndescribed, Outcome::OrphanRevoked, 3},
    {Fault::DropAfterCommit, Stage::OrphanRevoke, Outcome::CreateUnknown, 3},
    {Fault::DropAfterCommit, Stage::Verify, Outcome::RolledBack, 3},
    {Fault::DropAfterCommit, Stage::RollBack, Outcome::RolledBack, 4},
    {Fault::DropAfterCommit, Stage::Revoke, Outcome::RevokeRetried, 3},
    {Fault::DropAfterCommit, Stage::Confirm, Outcome::ConfirmDeferred, 3},

    // Issue 12, item 2: a create cut this way was a permanent TLS failure, the rotation failed
    // at planned and its client stayed alive, unseen where the list shows no descriptions.
    {Fault::TlsEofAfterCommit, Stage::Sync, Outcome::PassSkipped, 3},
    {Fault::TlsEofAfterCommit, Stage::Roles, Outcome::NotStarted, 3},
    {Fault::TlsEofAfterCommit, Stage::Create, Outcome::OrphanRevoked, 3},
    {Fault::TlsEofAfterCommit, Stage::CreateUndescribed, Outcome::OrphanRevoked, 3},
    {Fault::TlsEofAfterCommit, Stage::OrphanRevoke, Outcome::CreateUnknown, 3},
    {Fault::TlsEofAfterCommit, Stage::Verify, Outcome::RolledBack, 3},
    {Fault::TlsEofAfterCommit, Stage::RollBack, Outcome::RolledBack, 4},
    {Fault::TlsEofAfterCommit, Stage::Revoke, Outcome::RevokeRetried, 3},
    {Fault::TlsEofAfterCommit, Stage::Confirm, Outcome::ConfirmDeferred, 3},

    {Fault::InvalidJson, Stage::Sync, Outcome::PassSkipped, 3},
    {Fault::InvalidJson, Stage::Roles, Outcome::NotStarted, 3},
    {Fault::InvalidJson, Stage::Create, Outcome::OrphanRevoked, 3},
    {Fault::InvalidJson, Stage::CreateUndescribed, Outcome::OrphanRevoked, 3},
    {Fault::InvalidJson, Stage::OrphanRevoke, Outcome::OrphanRevoked, 3},
    {Fault::InvalidJson, Stage::Verify, Outcome::RolledBack, 3},
    {Fault::InvalidJson, Stage::RollBack, Outcome::RolledBack, 3},
    {Fault::InvalidJson, Stage::Revoke, Outcome::NoFailure, 2},
    {Fault::InvalidJson, Stage::Confirm, Outcome::ConfirmDeferred, 3},

    {Fault::TextError502, Stage::Sync, Outcome::PassSkipped, 3},
    {Fault::TextError502, Stage::Roles, Outcome::NotStarted, 3},
    {Fault::TextError502, Stage::Create, Outcome::CreateUnknown, 3},
    {Fault::TextError502, Stage::CreateUndescribed, Outcome::CreateUnknown, 3},
    {Fault::TextError502, Stage::OrphanRevoke, Outcome::OrphanRevoked, 3},
    {Fault::TextError502, Stage::Verify, Outcome::RolledBack, 3},
    {Fault::TextError502, Stage::RollBack, Outcome::Resumed, 3},
    {Fault::TextError502, Stage::Revoke, Outcome::RevokeRetried, 3},
    {Fault::TextError502, Stage::Confirm, Outcome::ConfirmDeferred, 3},

    {Fault::Status403, Stage::Sync, Outcome::PassSkipped, 3},
    {Fault::Status403, Stage::Roles, Outcome::NotStarted, 3},
    {Fault::Status403, Stage::Create, Outcome::CreateFailed, 3},
    {Fault::Status403, Stage::CreateUndescribed, Outcome::CreateFailed, 3},
    {Fault::Status403, Stage::OrphanRevoke, Outcome::OrphanRevoked, 3},
    {Fault::Status403, Stage::Verify, Outcome::NoFailure, 2},
    {Fault::Status403, Stage::RollBack, Outcome::Resumed, 3},
    {Fault::Status403, Stage::Revoke, Outcome::RevokeRetried, 3},
    {Fault::Status403, Stage::Confirm, Outcome::ConfirmDeferred, 3},

    {Fault::Status404, Stage::Sync, Outcome::PassSkipped, 3},
    {Fault::Status404, Stage::Roles, Outcome::NotStarted, 3},
    {Fault::Status404, Stage::Create, Outcome::CreateFailed, 3},
    {Fault::Status404, Stage::CreateUndescribed, Outcome::CreateFailed, 3},
    {Fault::Status404, Stage::OrphanRevoke, Outcome::OrphanRevoked, 3},
    {Fault::Status404, Stage::Verify, Outcome::RolledBack, 3},
    // Regression: the rolled-back client stayed alive for ever after its DELETE was answered
    // 404 (fixed in LostCreates::revokeStillListed: revoked again when listed).
    {Fault::Status404, Stage::RollBack, Outcome::OrphanRevoked, 3},
    {Fault::Status404, Stage::Revoke, Outcome::ConfirmDeferred, 4},
    {Fault::Status404, Stage::Confirm, Outcome::ConfirmDeferred, 3},

    {Fault::PropagationLong, Stage::Verify, Outcome::RolledBack, 3},
    {Fault::PropagationShort, Stage::Verify, Outcome::NoFailure, 2},
};

const char* faultName(Fault f)
{
    switch (f)
    {
    case Fault::None:
        return "NoFault";
    case Fault::Latency:
        return "Latency";
    case Fault::Status500:
        return "Status500";
    case Fault::RateLimitRetryAfter:
        return "RateLimitRetryAfter";
    case Fault::RateLimitNoRetryAfter:
        return "RateLimitNoRetryAfter";
    case Fault::DropAfterCommit:
        return "DropAfterCommit";
    case Fault::TlsEofAfterCommit:
        return "TlsEofAfterCommit";
    case Fault::InvalidJson:
        return "InvalidJson";
    case Fault::TextError502:
        return "TextError502";
    case Fault::Status403:
        return "Status403";
    case Fault::Status404:
        return "Status404";
    case Fault::PropagationLong:
        return "PropagationLongerThanTimeout";
    case Fault::PropagationShort:
        return "PropagationShorterThanTimeout";
    }
    return "?";
}

const char* stageName(Stage s)
{
    switch (s)
    {
    case Stage::Sync:
        return "Sync";
    case Stage::Roles:
        return "Roles";
    case Stage::Create:
        return "Create";
    case Stage::CreateUndescribed:
        return "CreateWithoutDescriptions";
    case Stage::OrphanRevoke:
        return "OrphanRevoke";
    case Stage::RollBack:
        return "RollBack";
    case Stage::Verify:
        return "Verify";
    case Stage::Revoke:
        return "Revoke";
    case Stage::Confirm:
        return "Confirm";
    }
    return "?";
}

const char* outcomeName(Outcome o)
{
    switch (o)
    {
    case Outcome::NoFailure:
        return "no failure";
    case Outcome::PassSkipped:
        return "pass skipped";
    case Outcome::NotStarted:
        return "not started";
    case Outcome::CreateFailed:
        return "create failed";
    case Outcome::CreateUnknown:
        return "create unknown";
    case Outcome::OrphanRevoked:
        return "orphan revoked";
    case Outcome::RolledBack:
        return "rolled back";
    case Outcome::Resumed:
        return "resumed";
    case Outcome::RevokeRetried:
        return "revoke retried";
    case Outcome::ConfirmDeferred:
        return "confirmed later";
    case Outcome::Unexplained:
        return "UNEXPLAINED";
    }
    return "?";
}

std::ostream& operator<<(std::ostream& os, Outcome o)
{
    return os << outcomeName(o);
}

std::string cellName(const Cell& c)
{
    return c.fault == Fault::None ? std::string("NoFault_Baseline")
                                  : std::string(faultName(c.fault)) + "_At" + stageName(c.stage);
}

void PrintTo(const Cell& c, std::ostream* os)
{
    *os << cellName(c);
}

// ---------------------------------------------------------------------------------------------
// The README table, rendered from kCells

const char* faultLabel(Fault f)
{
    switch (f)
    {
    case Fault::None:
        return "none (baseline)";
    case Fault::Latency:
        return "latency 1 s, over `astra.timeout` 250 ms";
    case Fault::Status500:
        return "500, JSON error body";
    case Fault::RateLimitRetryAfter:
        return "429 with `Retry-After: 7`";
    case Fault::RateLimitNoRetryAfter:
        return "429 without `Retry-After`";
    case Fault::DropAfterCommit:
        return "connection dropped after the request took effect";
    case Fault::TlsEofAfterCommit:
        return "connection cut without TLS close_notify after the request took effect";
    case Fault::InvalidJson:
        return "200 with truncated JSON, after the request took effect";
    case Fault::TextError502:
        return "502, `text/plain` body";
    case Fault::Status403:
        return "403";
    case Fault::Status404:
        return "404";
    case Fault::PropagationLong:
        return "new token 401 for longer than `astra.propagationTimeout`";
    case Fault::PropagationShort:
        return "new token 401 for less than `astra.propagationTimeout`";
    }
    return "?";
}

const char* stageLabel(Stage s)
{
    switch (s)
    {
    case Stage::Sync:
        return "sync (list)";
    case Stage::Roles:
        return "roles";
    case Stage::Create:
        return "create (POST)";
    case Stage::CreateUndescribed:
        return "create, list without descriptions";
    case Stage::OrphanRevoke:
        return "orphan revoke (DELETE)";
    case Stage::RollBack:
        return "roll-back (DELETE)";
    case Stage::Verify:
        return "verify (new token)";
    case Stage::Revoke:
        return "revoke (DELETE)";
    case Stage::Confirm:
        return "confirm (list)";
    }
    return "?";
}

std::string renderTable()
{
    std::string text = "| fault \\ stage |";
    std::string rule = "|---|";
    for (const Stage s : kStages)
    {
        text += std::string(" ") + stageLabel(s) + " |";
        rule += "---|";
    }
    text += "\n" + rule + "\n";
    // The baseline meets every stage but the three only a fault leads to.
    const auto baselineMeets = [](Stage s)
    { return s != Stage::CreateUndescribed && s != Stage::OrphanRevoke && s != Stage::RollBack; };
    std::vector<Fault> rows = {Fault::None};
    rows.insert(rows.end(), std::begin(kFaults), std::end(kFaults));
    for (const Fault f : rows)
    {
        text += std::string("| ") + faultLabel(f) + " |";
        for (const Stage s : kStages)
        {
            const auto cell = std::find_if(
                kCells.begin(), kCells.end(),
                [&](const Cell& c) { return c.fault == f && (f == Fault::None || c.stage == s); });
            if (f == Fault::None && !baselineMeets(s))
            {
                text += " — |";
                continue;
            }
            text += cell == kCells.end() ? std::string(" n/a |")
                                         : std::string(" ") + outcomeName(cell->outcome) + ", " +
                                               std::to_string(cell->passes) + " |";
        }
        text += "\n";
    }
    return text;
}

// ---------------------------------------------------------------------------------------------
// The fixture

/// The real API client, telling the test which rotation stage a call belongs to right before
/// it is made (so the cell's fault is put in place exactly there) and how long the client's
/// backoff slept in it, and keeping every minted secret and token for the database search.
class StageAwareApi final : public api::TokenApi
{
public:
    using Before = std::function<void(Stage, const std::string& clientId)>;
    using After = std::function<void(Stage, std::int64_t sleptMs)>;

    StageAwareApi(std::unique_ptr<api::TokenApi> real, std::string oldClientId,
                  const test::FakeClock& clock, Before before, After after,
                  std::vector<std::string>& secrets, std::set<std::string>& minted)
        : _real(std::move(real)), _old(std::move(oldClientId)), _clock(clock),
          _before(std::move(before)), _after(std::move(after)), _secrets(secrets), _minted(minted)
    {
    }

    core::Outcome<std::vector<core::ClientInfo>> listClients() override
    {
        // One wrapper per pass: its first list is the inventory sync; the list right after the
        // DELETE of the previous client confirms it; a list after a create whose outcome is
        // unknown reconciles (its faults are the create's).
        const auto stage = _lists++ == 0 ? std::optional<Stage>(Stage::Sync)
                           : _oldDeleted ? std::optional<Stage>(Stage::Confirm)
                                         : std::nullopt;
        _oldDeleted = false;
        return call(stage, "", [&] { return _real->listClients(); });
    }

    core::Outcome<core::CreatedClient> createClient(const core::CreateRequest& request) override
    {
        auto created = call(Stage::Create, "", [&] { return _real->createClient(request); });
        if (created)
        {
            _secrets.push_back(created->secret.reveal());
            _secrets.push_back(created->token.reveal());
            _minted.insert(created->clientId);
        }
        return created;
    }

    core::Outcome<void> deleteClient(const std::string& clientId) override
    {
        // The previous client's revocation; the roll-back of a client we minted; otherwise an
        // orphan, the client of a create whose answer was lost.
        const Stage stage = clientId == _old          ? Stage::Revoke
                            : _minted.count(clientId) ? Stage::RollBack
                                                      : Stage::OrphanRevoke;
        auto deleted = call(stage, clientId, [&] { return _real->deleteClient(clientId); });
        _oldDeleted = _oldDeleted || stage == Stage::Revoke;
        return deleted;
    }

    core::Outcome<std::string> currentOrg() override { return _real->currentOrg(); }

    core::Outcome<std::string> currentOrgWith(const core::Secret& token) override
    {
        return call(Stage::Verify, "", [&] { return _real->currentOrgWith(token); });
    }

    core::Outcome<std::vector<core::Role>> listRoles() override
    {
        return call(Stage::Roles, "", [&] { return _real->listRoles(); });
    }

private:
    template <typename Call>
    std::invoke_result_t<Call> call(std::optional<Stage> stage, const std::string& clientId,
                                    Call&& work)
    {
        if (!stage)
        {
            return work();
        }
        _before(*stage, clientId);
        const auto slept = _clock.sleptMs();
        auto result = work();
        _after(*stage, _clock.sleptMs() - slept);
        return result;
    }

    std::unique_ptr<api::TokenApi> _real;
    std::string _old;
    const test::FakeClock& _clock;
    Before _before;
    After _after;
    std::vector<std::string>& _secrets;
    std::set<std::string>& _minted;
    int _lists = 0;
    bool _oldDeleted = false;
};

/// The method, path prefix (for the fault rule) and path template (for the counters) of the
/// requests of a stage.
struct StageRequest
{
    std::string method;
    std::string pathPrefix;
    std::string pathTemplate;
};

StageRequest requestOf(Stage s, const std::string& clientId)
{
    switch (s)
    {
    case Stage::Sync:
    case Stage::Confirm:
        return {"GET", "/v2/clientIdSecrets", "/v2/clientIdSecrets"};
    case Stage::Roles:
        return {"GET", "/v2/organizations/roles", "/v2/organizations/roles"};
    case Stage::Create:
    case Stage::CreateUndescribed:
        return {"POST", "/v2/clientIdSecrets", "/v2/clientIdSecrets"};
    case Stage::Verify:
        return {"GET", "/v2/currentOrg", "/v2/currentOrg"};
    case Stage::OrphanRevoke:
    case Stage::RollBack:
    case Stage::Revoke:
        return {"DELETE", "/v2/clientIdSecrets/" + clientId, "/v2/clientIdSecrets/{clientId}"};
    }
    return {};
}

std::string tokenFileClientId(const std::string& path)
{
    std::string text = test::readFile(path);
    if (!text.empty() && text.back() == '\n')
    {
        text.pop_back();
    }
    return test::clientIdOfToken(text);
}

class FaultMatrixTest : public ::testing::TestWithParam<Cell>, protected test::RotationHarness
{
protected:
    void SetUp() override
    {
        // One clock for the engine, the client's backoff and the simulator (generatedOn,
        // propagation): every wait but the latency fault's passes without sleeping.
        simulatorOnFakeClock = true;
        apiClock = &clock;
        reuseApiClient = true;
        startSimulator(GetParam().stage != Stage::CreateUndescribed);
        unmanaged = seedClient(400 * kDay);

        // The credential's current client, adopted, older than maxAge, and already in both
        // sinks as a previous rotation would have left it.
        sim::ClientSeed seed;
        seed.roles = {"Database Administrator"};
        seed.generatedOnMs = clock.nowMs() - 31 * kDay;
        const auto old = simulator->createClient(seed);
        oldId = old.clientId;
        const auto credential = sink::makeCredential("app", old);
        test::writeFile(jsonPath(), sink::renderJson(credential), 0600);
        test::writeFile(tokenPath(), sink::renderToken(credential), 0600);
        secrets = {simulator->adminToken().reveal(), old.secret.reveal(), old.token.reveal()};

        configure("astra.timeout = " + std::to_string(kClientTimeoutMs) +
                  "ms\n"
                  "astra.maxAttempts = " +
                  std::to_string(kMaxAttempts) +
                  "\n"
                  "astra.requestsPerSecond = 1000\n"
                  "astra.propagationTimeout = " +
                  std::to_string(kPropagationTimeoutMs) +
                  "ms\n"
                  "scheduler.retryBackoff = 1m\n"
                  "scheduler.maxFailures = 5\n"
                  "credentials.app.roles = Database Administrator\n"
                  "credentials.app.maxAge = 30d\n"
                  "credentials.app.gracePeriod = 5m\n"
                  "credentials.app.clientId = " +
                  oldId +
                  "\n"
                  "credentials.app.sinks = app-json, app-token\n"
                  "sinks.app-json.type = file\n"
                  "sinks.app-json.path = " +
                  jsonPath() +
                  "\n"
                  "sinks.app-token.type = file\n"
                  "sinks.app-token.format = token\n"
                  "sinks.app-token.path = " +
                  tokenPath() + "\n");
        wrapApi = [this](std::unique_ptr<api::TokenApi> real) -> std::unique_ptr<api::TokenApi>
        {
            return std::make_unique<StageAwareApi>(
                std::move(real), oldId, clock,
                [this](Stage s, const std::string& clientId) { beforeStage(s, clientId); },
                [this](Stage s, std::int64_t sleptMs) { afterStage(s, sleptMs); }, secrets, minted);
        };
    }

    std::string jsonPath() const { return dir.file("out/app.json"); }
    std::string tokenPath() const { return dir.file("out/app.token"); }

    /// Puts the cell's fault in place right before the first request of its stage, and what
    /// it takes to get there before the first create.
    void beforeStage(Stage stage, const std::string& clientId)
    {
        const Cell& cell = GetParam();
        if (cell.fault == Fault::None)
        {
            return;
        }
        if (stage == Stage::Create && !preconditionSet)
        {
            preconditionSet = true;
            if (cell.stage == Stage::RollBack || cell.fault == Fault::PropagationLong)
            {
                // The new token is rejected for longer than astra.propagationTimeout (the delay
                // is given to a token when it is minted).
                simulator->setPropagationDelayMs(10 * kMinute);
            }
            if (cell.fault == Fault::PropagationShort)
            {
                simulator->setPropagationDelayMs(kPropagationTimeoutMs / 3);
            }
            if (cell.stage == Stage::OrphanRevoke)
            {
                // The create takes effect and its answer is lost: the client is an orphan.
                sim::FaultRule lost;
                lost.kind = sim::FaultKind::DropAfterCommit;
                lost.method = "POST";
                lost.pathPrefix = "/v2/clientIdSecrets";
                lost.count = 1;
                simulator->addFault(lost);
            }
            if (isPropagation(cell.fault))
            {
                appliedInPass = passNumber;
                return;
            }
        }
        if (appliedInPass != 0 || stage != calledStage(cell.stage))
        {
            return;
        }
        appliedInPass = passNumber;
        faultedClientId = clientId;
        const auto request = requestOf(cell.stage, clientId);
        sim::FaultRule rule;
        rule.method = request.method;
        rule.pathPrefix = request.pathPrefix;
        switch (cell.fault)
        {
        case Fault::Latency:
            rule.kind = sim::FaultKind::Latency;
            rule.delayMs = kLatencyMs;
            break;
        case Fault::Status500:
            rule.kind = sim::FaultKind::Status;
            rule.status = 500;
            break;
        case Fault::RateLimitRetryAfter:
            rule.kind = sim::FaultKind::RateLimit;
            rule.retryAfterSeconds = kRetryAfterSeconds;
            break;
        case Fault::RateLimitNoRetryAfter:
            rule.kind = sim::FaultKind::RateLimit;
            break;
        case Fault::DropAfterCommit:
            rule.kind = sim::FaultKind::DropAfterCommit;
            break;
        case Fault::TlsEofAfterCommit:
            rule.kind = sim::FaultKind::TlsEofAfterCommit;
            break;
        case Fault::InvalidJson:
            rule.kind = sim::FaultKind::InvalidJson;
            break;
        case Fault::TextError502:
            rule.kind = sim::FaultKind::TextError;
            rule.status = 502;
            break;
        case Fault::Status403:
            rule.kind = sim::FaultKind::Status;
            rule.status = 403;
            break;
        case Fault::Status404:
            rule.kind = sim::FaultKind::Status;
            rule.status = 404;
            break;
        case Fault::None:
        case Fault::PropagationLong:
        case Fault::PropagationShort:
            return;
        }
        simulator->addFault(rule);
    }

    /// Notes how long the client's backoff slept in the first call that met the fault.
    void afterStage(Stage stage, std::int64_t sleptMs)
    {
        if (appliedInPass == passNumber && stage == calledStage(GetParam().stage) &&
            !faultedCallSleptMs)
        {
            faultedCallSleptMs = sleptMs;
        }
    }

    /// One pass on a fresh Runtime; the fault is removed afterwards, and the simulator has
    /// handled every write the rotator sent (a late create or delete) before anything is
    /// checked.
    rotation::PassReport runPass()
    {
        ++passNumber;
        if (passNumber > 1)
        {
            clock.advanceMs(kBetweenPasses);
        }
        auto report = pass();
        simulator->clearFaults();
        simulator->setPropagationDelayMs(0);
        awaitSimulatorWrites();
        for (const auto& e : report.errors)
        {
            errors.push_back(e);
        }
        listFailed = listFailed || report.listFailed;
        return report;
    }

    std::vector<store::EventRow> history() const
    {
        store::HistoryQuery q;
        q.limit = 10'000;
        auto rows = openStore()->history(q);
        std::reverse(rows.begin(), rows.end());
        return rows;
    }

    /// Every invariant of PRODUCT.md §3 that must hold between any two passes.
    void checkInvariants()
    {
        const auto db = openStore();
        // Before the first sync that got through, the credential has no row yet: its client is
        // the configured (adopted) one.
        store::CredentialRow row;
        row.currentClientId = oldId;
        row = db->findCredential("app").value_or(row);

        // Every sink holds a credential the API accepts: the credential's current client.
        const auto json = jsonSink(jsonPath());
        secrets.push_back(json.secret.reveal());
        secrets.push_back(json.token.reveal());
        EXPECT_EQ(tokenStatus(json.token.reveal()), 200) << "the json sink holds a dead token";
        EXPECT_EQ(json.clientId, row.currentClientId);
        const std::string tokenText = test::readFile(tokenPath());
        EXPECT_EQ(tokenText, json.token.reveal() + "\n") << "the sinks disagree";
        EXPECT_EQ(tokenStatus(tokenText.substr(0, tokenText.size() - 1)), 200)
            << "the token sink holds a dead token";
        EXPECT_EQ(test::listing(dir.file("out")),
                  (std::vector<std::string>{"app.json", "app.token"}))
            << "something was left beside the sinks";

        // Nothing the rotator did not create was revoked.
        EXPECT_TRUE(alive(unmanaged)) << "the unmanaged client was revoked";
        EXPECT_TRUE(alive(adminClientId)) << "the admin client was revoked";
        for (const auto& e : history())
        {
            if (e.clientId == unmanaged || e.clientId == adminClientId)
            {
                EXPECT_NE(e.event, "revoked");
                EXPECT_NE(e.event, "orphan_revoked");
            }
        }

        // Every live client is accounted for: the admin, the unmanaged one, the current one,
        // the previous one while in grace, the new client of a rotation in flight (known by its
        // ID, or by the marker of a create whose answer was lost), and a client the journal
        // says was revoked while the server still has it (its DELETE was answered 404): that
        // it goes for good on a later pass is what convergence checks.
        std::set<std::string> accounted = {adminClientId, unmanaged, row.currentClientId};
        if (!row.previousClientId.empty())
        {
            accounted.insert(row.previousClientId);
        }
        for (const auto& e : history())
        {
            if (e.event == "revoked" || e.event == "orphan_revoked" || e.event == "rolled_back")
            {
                accounted.insert(e.clientId);
            }
        }
        std::set<std::string> markers;
        std::set<std::int64_t> unfinished;
        for (const auto& r : db->unfinishedRotations())
        {
            unfinished.insert(r.id);
            markers.insert(r.marker);
            if (!r.newClientId.empty())
            {
                accounted.insert(r.newClientId);
            }
        }
        const auto live = simulator->clients();
        for (const auto& c : live)
        {
            EXPECT_TRUE(accounted.count(c.clientId) ||
                        (c.description && markers.count(*c.description)))
                << "orphan " << c.clientId << " (" << c.description.value_or("no description")
                << ")";
        }
        EXPECT_LE(live.size(), 5u) << "admin, unmanaged, current, previous, one in flight";

        // A pending file only for a rotation in flight.
        for (const auto& name : test::listing(dir.file("state/pending")))
        {
            const auto id = std::stoll(name.substr(0, name.find('.')));
            EXPECT_TRUE(unfinished.count(id)) << "pending/" << name << " of a finished rotation";
        }

        // No secret in the database, its WAL or anything else beside it.
        for (const auto& e : std::filesystem::directory_iterator(dir.file("state")))
        {
            if (!e.is_regular_file())
            {
                continue;
            }
            const std::string bytes = test::readFile(e.path().string());
            for (const auto& secret : secrets)
            {
                EXPECT_EQ(bytes.find(secret), std::string::npos)
                    << "a secret or token in state/" << e.path().filename().string();
            }
        }
        EXPECT_EQ(test::integrityCheck(databasePath()), "ok");
    }

    /// The rotation is done: a new current client in every sink, the old one revoked and
    /// confirmed, nothing in flight, nothing but the three expected clients alive.
    bool converged() const
    {
        const auto db = openStore();
        const auto row = db->findCredential("app").value_or(store::CredentialRow{});
        const auto last = db->lastRotation("app");
        return row.currentClientId != oldId && row.previousClientId.empty() &&
               row.state == core::CredentialState::Idle && last &&
               last->stage == core::Stage::Done && db->unfinishedRotations().empty() &&
               test::listing(dir.file("state/pending")).empty() &&
               simClientIds() ==
                   std::set<std::string>{adminClientId, unmanaged, row.currentClientId};
    }

    /// What the rotation went through, from the journal and the pass reports.
    Outcome observedOutcome() const
    {
        const auto events = history();
        const auto has = [&](const std::string& name, const std::string& fragment = "")
        {
            return std::any_of(events.begin(), events.end(),
                               [&](const store::EventRow& e) {
                                   return e.event == name &&
                                          e.detail.find(fragment) != std::string::npos;
                               });
        };
        const auto reported = [&](const std::string& fragment)
        {
            return std::any_of(errors.begin(), errors.end(),
                               [&](const std::string& e)
                               { return e.find(fragment) != std::string::npos; });
        };
        const auto passOf = [&](const std::string& name)
        {
            const auto it = eventPass.find(name);
            return it == eventPass.end() ? 0 : it->second;
        };
        if (listFailed)
        {
            return Outcome::PassSkipped;
        }
        if (has("orphan_revoked"))
        {
            return Outcome::OrphanRevoked;
        }
        for (const auto& e : events)
        {
            if (e.event == "rolled_back")
            {
                return e.clientId.empty() ? Outcome::CreateUnknown : Outcome::RolledBack;
            }
        }
        if (reported("revoking the new client failed"))
        {
            return Outcome::Resumed;
        }
        if (has("failed", "cannot list the org's roles"))
        {
            return Outcome::NotStarted;
        }
        if (has("failed", "create failed"))
        {
            return Outcome::CreateFailed;
        }
        if (reported("revoking the previous client failed"))
        {
            return Outcome::RevokeRetried;
        }
        const bool onlyConfirmErrors =
            std::all_of(errors.begin(), errors.end(),
                        [](const std::string& e)
                        { return e.find("confirming revocations") != std::string::npos; });
        if (has("failed") || has("quarantined") || has("unattributed") || !onlyConfirmErrors)
        {
            return Outcome::Unexplained;
        }
        if (passOf("revoke_confirmed") > passOf("revoked"))
        {
            return Outcome::ConfirmDeferred;
        }
        return errors.empty() ? Outcome::NoFailure : Outcome::Unexplained;
    }

    /// Notes the pass in which each event name first appeared.
    void recordEventPasses()
    {
        for (const auto& e : history())
        {
            eventPass.emplace(e.event, passNumber);
        }
    }

    std::string unmanaged;
    std::string oldId;
    std::vector<std::string> secrets; ///< every secret and token seen: none may reach state/
    int passNumber = 0;
    std::set<std::string> minted; ///< clients the rotator's creates returned
    bool preconditionSet = false;
    int appliedInPass = 0;       ///< the pass in which the fault was put in place (0: never)
    std::string faultedClientId; ///< the client of the faulted DELETE
    std::optional<std::int64_t> faultedCallSleptMs;
    bool listFailed = false;
    std::vector<std::string> errors;
    std::map<std::string, int> eventPass;
};

} // namespace

TEST_P(FaultMatrixTest, ConvergesWithEveryInvariantHeld)
{
    const Cell& cell = GetParam();
    int passes = 0;
    while (passes == 0 && passNumber < kMaxPasses)
    {
        const auto report = runPass();
        recordEventPasses();
        SCOPED_TRACE("after pass " + std::to_string(passNumber) + ": " +
                     ::testing::PrintToString(report.errors));
        checkInvariants();
        if (converged())
        {
            passes = passNumber;
        }
    }

    // The fault really met its stage.
    if (cell.fault != Fault::None)
    {
        ASSERT_NE(appliedInPass, 0) << "the stage was never reached";
        const auto request = requestOf(cell.stage, faultedClientId);
        switch (cell.fault)
        {
        case Fault::Latency:
            EXPECT_GE(sent(request.method, request.pathTemplate, 0), 1) << "no timeout";
            break;
        case Fault::DropAfterCommit:
        case Fault::TlsEofAfterCommit:
            EXPECT_GE(simulator->requestCount(request.method, request.pathTemplate, 0), 1);
            break;
        case Fault::Status500:
        case Fault::Status403:
        case Fault::Status404:
        case Fault::TextError502:
        case Fault::RateLimitRetryAfter:
        case Fault::RateLimitNoRetryAfter:
            EXPECT_GE(simulator->requestCount(request.method, request.pathTemplate,
                                              cell.fault == Fault::Status500      ? 500
                                              : cell.fault == Fault::Status403    ? 403
                                              : cell.fault == Fault::Status404    ? 404
                                              : cell.fault == Fault::TextError502 ? 502
                                                                                  : 429),
                      1);
            break;
        case Fault::PropagationLong:
        case Fault::PropagationShort:
            EXPECT_GE(simulator->requestCount("GET", "/v2/currentOrg", 401), 1);
            break;
        case Fault::InvalidJson:
        case Fault::None:
            break;
        }
    }
    if (cell.fault == Fault::RateLimitRetryAfter)
    {
        // Retry-After honoured between the attempts of a GET or DELETE; a POST is not retried.
        EXPECT_EQ(faultedCallSleptMs.value_or(-1),
                  calledStage(cell.stage) == Stage::Create
                      ? 0
                      : (kMaxAttempts - 1) * kRetryAfterSeconds * 1000);
    }

    EXPECT_EQ(observedOutcome(), cell.outcome) << ::testing::PrintToString(errors);
    EXPECT_EQ(passes, cell.passes) << "passes until converged (0: not within " << kMaxPasses << ")";
    ASSERT_NE(passes, 0);

    // Converged: the old client revoked and confirmed after both sinks held the new one.
    const auto row = credential("app");
    EXPECT_NE(row.currentClientId, oldId);
    EXPECT_EQ(row.consecutiveFailures, 0);
    EXPECT_FALSE(alive(oldId));
    const auto oldRow = openStore()->findClient(oldId);
    ASSERT_TRUE(oldRow.has_value());
    EXPECT_EQ(oldRow->status, "revoked");
    EXPECT_EQ(tokenFileClientId(tokenPath()), row.currentClientId);
    EXPECT_EQ(simClientIds(),
              (std::set<std::string>{adminClientId, unmanaged, row.currentClientId}));
    EXPECT_EQ(test::listing(dir.file("state/pending")), std::vector<std::string>{});
}

INSTANTIATE_TEST_SUITE_P(FaultMatrix, FaultMatrixTest, ::testing::ValuesIn(kCells),
                         [](const auto& param) { return cellName(param.param); });

// README.md shows the table the cells above assert, between two markers.
TEST(FaultMatrixTable, ReadmeShowsWhatTheCellsAssert)
{
    const std::string readme = test::readFile(std::string(ROTATOR_SOURCE_DIR) + "/README.md");
    const std::string begin = "<!-- fault-matrix:begin -->\n";
    const std::string end = "<!-- fault-matrix:end -->";
    const auto from = readme.find(begin);
    const auto to = readme.find(end, from == std::string::npos ? 0 : from);
    const std::string shown = from == std::string::npos || to == std::string::npos
                                  ? std::string("(no " + begin + "... " + end + " in README.md)")
                                  : readme.substr(from + begin.size(), to - from - begin.size());
    EXPECT_EQ(shown, renderTable())
        << "README.md's fault matrix differs from the cells of "
           "tests/integration/FaultMatrixTest.cpp; the table they assert:\n"
        << renderTable();
}

// ---------------------------------------------------------------------------------------------
// The exec hook rows (issue 12, item 3): the fault is in the credential's only sink, an exec
// hook that installs what it read from stdin and then hangs past its timeout or kills itself.
// It may hold the new client, so the rotation must only roll forward: nothing revoked, the old
// client alive, the hook retried (a clean non-zero exit then does not undo "may hold"), and
// the rotation promoted once the hook exits 0.

namespace
{

/// The hook: notes each run and what it was given (argv, environment) beside itself, then does
/// what the file `$1` says: refuse (read stdin, exit 1: "not installed"), or install stdin at
/// `$2` and then hang, die by SIGKILL, or exit 0.
constexpr const char* kHook = R"(#!/bin/sh
d=$(dirname "$0")
echo run >> "$d/hook-runs"
{ printf '%s\n' "$0" "$@"; tr '\0' '\n' < /proc/$$/environ; } >> "$d/hook-seen"
mode=$(cat "$1")
if [ "$mode" = refuse ]; then cat > /dev/null; exit 1; fi
umask 077
cat > "$2.tmp" && mv "$2.tmp" "$2" || exit 1
case "$mode" in
hang) exec sleep 60 ;;
signal) kill -KILL $$ ;;
esac
)";

enum class HookFault
{
    TimeoutAfterStdin, ///< installs, then hangs past `sinks.X.timeout` (1 s)
    SignalAfterStdin,  ///< installs, then kills itself with SIGKILL
};

class FaultMatrixHook : public ::testing::TestWithParam<HookFault>, protected test::RotationHarness
{
protected:
    void SetUp() override
    {
        startSimulator();
        oldId = seedClient(31 * kDay);
        setMode(GetParam() == HookFault::TimeoutAfterStdin ? "hang" : "signal");
        const std::string hook = dir.file("hook.sh");
        test::writeFile(hook, kHook, 0700);
        configure("credentials.app.roles = Database Administrator\n"
                  "credentials.app.maxAge = 30d\n"
                  "credentials.app.gracePeriod = 5m\n"
                  "credentials.app.clientId = " +
                  oldId +
                  "\n"
                  "credentials.app.sinks = app-hook\n"
                  "sinks.app-hook.type = exec\n"
                  "sinks.app-hook.command = " +
                  hook + " " + dir.file("hook-mode") + " " + installedPath() +
                  "\n"
                  "sinks.app-hook.timeout = 1s\n");
    }

    std::string installedPath() const { return dir.file("out/app.json"); }
    void setMode(const std::string& mode) { test::writeFile(dir.file("hook-mode"), mode + "\n"); }

    std::string oldId;
};

std::string hookFaultName(HookFault f)
{
    return f == HookFault::TimeoutAfterStdin ? "HookTimeoutAfterStdin" : "HookSignalAfterStdin";
}

void PrintTo(HookFault f, std::ostream* os)
{
    *os << hookFaultName(f);
}

} // namespace

TEST_P(FaultMatrixHook, RollsForwardWhileTheHookMayHoldTheNewClient)
{
    // Pass 1: the hook installs the new client, then hangs or dies.
    auto report = pass();
    EXPECT_EQ(report.rotated, 0);
    const auto rotation = lastRotation("app");
    ASSERT_EQ(rotation.stage, core::Stage::Delivering) << rotation.error.value_or("");
    EXPECT_NE(rotation.error.value_or("").find("the hook may have installed the credential"),
              std::string::npos)
        << rotation.error.value_or("");
    const auto installed = jsonSink(installedPath());
    ASSERT_EQ(installed.clientId, rotation.newClientId);

    const auto rollingForward = [&](const std::string& when, int hookRuns)
    {
        SCOPED_TRACE(when);
        EXPECT_EQ(lastRotation("app").stage, core::Stage::Delivering);
        EXPECT_EQ(tokenStatus(installed.token.reveal()), 200)
            << "the token the hook installed was revoked";
        EXPECT_TRUE(alive(oldId));
        EXPECT_EQ(requests("DELETE"), 0) << "nothing may be revoked while rolling forward";
        EXPECT_EQ(credential("app").currentClientId, oldId);
        const auto sinks = openStore()->sinkStates(rotation.id);
        ASSERT_EQ(sinks.size(), 1u);
        EXPECT_EQ(sinks[0].state, core::SinkDelivery::Pending) << "not journaled as \"may hold\"";
        EXPECT_EQ(sinks[0].attempts, hookRuns);
        std::string runs;
        for (int i = 0; i < hookRuns; ++i)
        {
            runs += "run\n";
        }
        EXPECT_EQ(test::readFile(dir.file("hook-runs")), runs);
    };
    rollingForward("after the hook's fault", 1);

    // Pass 2, after the backoff: the hook says "not installed" (exit 1), but the first attempt
    // may still have installed the client.
    setMode("refuse");
    clock.advanceMs(61'000);
    report = pass();
    rollingForward("after a clean failure of the retry", 2);

    // Pass 3: the hook succeeds and the new client is promoted; pass 4, after grace, revokes
    // the old one.
    setMode("install");
    clock.advanceMs(121'000);
    report = pass();
    EXPECT_EQ(report.rotated, 1) << ::testing::PrintToString(report.errors);
    EXPECT_EQ(credential("app").currentClientId, rotation.newClientId);
    EXPECT_EQ(credential("app").previousClientId, oldId);
    EXPECT_EQ(jsonSink(installedPath()).clientId, rotation.newClientId);
    EXPECT_TRUE(alive(oldId)) << "grace starts only now";

    clock.advanceMs(6 * kMinute);
    report = pass();
    EXPECT_TRUE(report.errors.empty()) << ::testing::PrintToString(report.errors);
    EXPECT_EQ(lastRotation("app").stage, core::Stage::Done);
    EXPECT_TRUE(credential("app").previousClientId.empty());
    EXPECT_EQ(simClientIds(), (std::set<std::string>{adminClientId, rotation.newClientId}));
    const auto ev = events("app");
    EXPECT_EQ(std::count(ev.begin(), ev.end(), "rolled_back"), 0);

    // The hook never had a secret in its argv or environment.
    const std::string seen = test::readFile(dir.file("hook-seen"));
    EXPECT_NE(seen.find("ASTRA_CLIENT_ID=" + rotation.newClientId), std::string::npos) << seen;
    for (const auto& secret : {installed.secret, installed.token, simulator->adminToken()})
    {
        EXPECT_EQ(seen.find(secret.reveal()), std::string::npos) << "a secret reached the hook";
    }
}

INSTANTIATE_TEST_SUITE_P(FaultMatrix, FaultMatrixHook,
                         ::testing::Values(HookFault::TimeoutAfterStdin,
                                           HookFault::SignalAfterStdin),
                         [](const auto& param) { return hookFaultName(param.param); });

// ---------------------------------------------------------------------------------------------
// The API down while `serve` runs

namespace
{

using namespace std::chrono_literals;

const std::string kClientsPath = "/v2/clientIdSecrets";
/// How long the lists are counted, from the first one. With `scheduler.retryBackoff = 1s` and
/// `scheduler.syncInterval = 8s` the failed passes wait 1, 2, 4, 8, 8 ... s less up to a quarter
/// of jitter, so the lists come at 0, >= 0.75, >= 2.25, >= 5.25, then >= 11.25 s: at most 4 in
/// these 8 s, and a slower machine only makes it fewer. A daemon that retries every second, as
/// serve did, lists 8 or 9 times.
constexpr auto kObservation = 8s;
constexpr std::int64_t kMaxLists = 4;

/// The built `astra-rotator serve` with the admin API, against the in-process simulator whose
/// inventory list answers `status` from the start. One request per pass (astra.maxAttempts = 1),
/// so the lists the simulator counts are the daemon's passes.
class ServeWhileTheApiFails : public ::testing::Test, protected test::RotationHarness
{
protected:
    void start(int status)
    {
        startSimulator();
        sim::FaultRule rule;
        rule.kind = sim::FaultKind::Status;
        rule.method = "GET";
        rule.pathPrefix = kClientsPath;
        rule.status = status;
        simulator->addFault(rule);
        {
            // A free port for the admin API (the configuration needs a number).
            Poco::Net::ServerSocket probe;
            probe.bind(Poco::Net::SocketAddress("127.0.0.1", 0), true, false);
            adminPort = probe.address().port();
        }
        const std::string config = writeConfig(
            "astra.maxAttempts = 1\n"
            "scheduler.retryBackoff = 1s\n"
            "scheduler.syncInterval = 8s\n"
            "admin.listen = 127.0.0.1:" +
            std::to_string(adminPort) + "\nlog.file = " + dir.file("rotator.log") +
            "\ncredentials.app.roles = Database Administrator\ncredentials.app.maxAge = 30d\n"
            "credentials.app.gracePeriod = 1h\ncredentials.app.sinks = app-json\n"
            "sinks.app-json.type = file\n"
            "sinks.app-json.path = " +
            dir.file("out/app.json") + "\n");
        serve = std::make_unique<test::ChildProcess>(
            std::vector<std::string>{std::string(ROTATOR_BIN_DIR) + "/astra-rotator",
                                     "--config=" + config, "serve"},
            test::minimalEnvironment());
        ASSERT_TRUE(simulator->awaitRequestCount("GET", kClientsPath, 1, 20s))
            << serve->stderrText();
    }

    /// From the first list on, lets the daemon run for kObservation, then checks that it backed
    /// off: the lists the simulator got, and one error line for each (the log is read first:
    /// every line in it is of a list counted).
    void expectBackedOff()
    {
        std::this_thread::sleep_for(kObservation); // the period measured: nothing to await
        std::istringstream log(test::readFile(dir.file("rotator.log")));
        int errors = 0;
        for (std::string line; std::getline(log, line);)
        {
            errors += line.find(" Error ") != std::string::npos;
        }
        const std::int64_t lists = simulator->requestCount("GET", kClientsPath);
        EXPECT_GE(lists, 2) << "serve gave up listing";
        EXPECT_LE(lists, kMaxLists) << "no back-off: " << lists << " lists in 8 s";
        EXPECT_GE(errors, 1);
        EXPECT_LE(errors, lists) << "more than one error line per failed pass";
    }

    /// GET on the admin API: status and body.
    std::pair<int, std::string> admin(const std::string& path) const
    {
        Poco::Net::HTTPClientSession session("127.0.0.1", adminPort);
        session.setTimeout(Poco::Timespan(5, 0));
        Poco::Net::HTTPRequest request("GET", path, Poco::Net::HTTPMessage::HTTP_1_1);
        session.sendRequest(request);
        Poco::Net::HTTPResponse response;
        std::string body;
        Poco::StreamCopier::copyToString(session.receiveResponse(response), body);
        return {static_cast<int>(response.getStatus()), body};
    }

    std::string readyzReason() const
    {
        const auto [status, body] = admin("/readyz");
        EXPECT_EQ(status, 503) << body;
        return Poco::JSON::Parser()
            .parse(body)
            .extract<Poco::JSON::Object::Ptr>()
            ->getValue<std::string>("reason");
    }

    void stop()
    {
        serve->signal(SIGTERM);
        const auto exited = serve->waitFor(5s);
        ASSERT_TRUE(exited.has_value()) << "serve ignored SIGTERM for 5 s";
        EXPECT_TRUE(exited->ok()) << exited->describe() << "\n" << serve->stderrText();
    }

    std::uint16_t adminPort = 0;
    std::unique_ptr<test::ChildProcess> serve;
};

} // namespace

TEST_F(ServeWhileTheApiFails, AListAnswering503BacksOffAndReadyzSaysTheApiIsUnreachable)
{
    ASSERT_NO_FATAL_FAILURE(start(503));
    expectBackedOff();

    EXPECT_EQ(readyzReason(), "the last pass could not reach the DevOps API");
    // A 503 tells nothing about the admin token.
    EXPECT_EQ(admin("/metrics").second.find("\nastra_rotator_admin_token_valid "),
              std::string::npos);
    stop();
}

TEST_F(ServeWhileTheApiFails, ARevokedAdminTokenBacksOffIsReportedAsSuchAndRecovers)
{
    ASSERT_NO_FATAL_FAILURE(start(401));
    expectBackedOff();
    EXPECT_NE(test::readFile(dir.file("rotator.log")).find("the admin token was refused (401)"),
              std::string::npos);

    EXPECT_EQ(readyzReason().rfind("the admin token was refused (401): listing clients failed: "
                                   "GET /v2/clientIdSecrets: HTTP 401",
                                   0),
              0u);
    EXPECT_NE(admin("/metrics").second.find("\nastra_rotator_admin_token_valid 0\n"),
              std::string::npos);

    // The token works again: the next back-off step lists, bootstraps the credential and the
    // daemon is ready (that step is at most syncInterval away).
    simulator->clearFaults();
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (admin("/readyz").first != 200 && std::chrono::steady_clock::now() < deadline)
    {
        std::this_thread::sleep_for(50ms);
    }
    EXPECT_EQ(admin("/readyz").first, 200) << serve->stderrText();
    EXPECT_NE(admin("/metrics").second.find("\nastra_rotator_admin_token_valid 1\n"),
              std::string::npos);
    EXPECT_TRUE(test::readJsonSink(dir.file("out/app.json")).has_value());
    stop();
}
