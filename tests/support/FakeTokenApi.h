#pragma once

#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "rotator/api/TokenApi.h"
#include "rotator/core/Clock.h"

namespace rotator::test
{

/// An in-memory org behind the `TokenApi` interface, for engine and command tests.
///
/// Clients are minted with valid IDs, secrets and tokens. Failures are scripted per call kind
/// (`failNext`), and a create can be made to "commit then fail" (the lost-response case).
/// Every call is recorded. Thread-safe.
class FakeTokenApi final : public api::TokenApi
{
public:
    enum class Call
    {
        List,
        Create,
        Delete,
        CurrentOrg,
        CurrentOrgWith,
        Roles
    };

    explicit FakeTokenApi(core::Clock& clock);

    core::Outcome<std::vector<core::ClientInfo>> listClients() override;
    core::Outcome<core::CreatedClient> createClient(const core::CreateRequest& request) override;
    core::Outcome<void> deleteClient(const std::string& clientId) override;
    core::Outcome<std::string> currentOrg() override;
    core::Outcome<std::string> currentOrgWith(const core::Secret& token) override;
    core::Outcome<std::vector<core::Role>> listRoles() override;
    std::string adminClientId() const override { return adminClient; }

    /// Adds a client directly (as if made elsewhere); returns its ID.
    std::string seedClient(std::vector<std::string> roles, std::int64_t generatedOnMs,
                           std::optional<std::string> description = std::nullopt);
    /// The next `count` calls of `call` fail with `failure`.
    void failNext(Call call, core::Failure failure, int count = 1);
    /// The next create mints the client, then answers with `failure` (ambiguous).
    void commitThenFailNextCreate(core::Failure failure);
    /// The next create mints its client as usual, then `tamper` edits the answer (a server
    /// answering with another client's ID, a hostile secret).
    void tamperNextCreateAnswer(std::function<void(core::CreatedClient&)> tamper);
    /// Whether the list answer carries descriptions (servers without them exist).
    void setReturnsDescriptions(bool on);

    bool exists(const std::string& clientId) const;
    std::vector<std::string> clientIds() const;
    int calls(Call call) const;
    /// The token of a client minted by this fake (tests compare sinks against it).
    std::string tokenOf(const std::string& clientId) const;

    const std::string orgId = "0d4c1c2e-5a4f-4b0a-9a57-3f1c7d2b9e10";
    /// What `adminClientId()` answers (empty: unknown, as a fake without a token).
    std::string adminClient;
    const std::vector<core::Role> roles = {
        {"ad0566b5-2a67-49de-89e8-92258c2f2c98", "Organization Administrator"},
        {"b4ed0e9b-1f4b-4c8a-8a71-6a7c9e1d2f30", "Database Administrator"},
        {"9c2f3e4d-0000-4000-8000-00000000c0de", "R/W Svc Acct"},
    };

private:
    struct Stored
    {
        core::ClientInfo info;
        std::string token;
    };
    std::optional<core::Failure> takeFailure(Call call);
    std::string newClientId();

    core::Clock& _clock;
    mutable std::mutex _mutex;
    std::map<std::string, Stored> _clients;
    std::map<Call, std::deque<core::Failure>> _failures;
    std::optional<core::Failure> _commitThenFail;
    std::function<void(core::CreatedClient&)> _tamper;
    std::map<Call, int> _calls;
    bool _descriptions = true;
    std::uint64_t _counter = 0;
};

/// A failure value for scripting.
core::Failure makeTestFailure(core::FailureKind kind, const std::string& message,
                              int httpStatus = 0, bool ambiguous = false);

} // namespace rotator::test
