#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "rotator/api/TokenApi.h"
#include "rotator/cli/Commands.h"
#include "rotator/config/Settings.h"
#include "rotator/core/Clock.h"
#include "rotator/rotation/RotationEngine.h"
#include "rotator/sim/Simulator.h"
#include "rotator/sink/Credential.h"
#include "rotator/store/SqliteStateStore.h"
#include "support/FakeClock.h"
#include "support/TempDir.h"

namespace rotator::test
{

/// The names in a directory, sorted; empty when it does not exist.
std::vector<std::string> listing(const std::string& directory);

/// `PRAGMA integrity_check` of a database opened read-only: "ok" when it is sound.
std::string integrityCheck(const std::string& databasePath);

/// The rotator as `run-once` assembles it (app::Runtime: the real SQLite store, AstraClient
/// over TLS, file and exec sinks, the engine) against an in-process simulator on 127.0.0.1:0,
/// with the state directory and the sinks' folder `out/` in a TempDir. Each pass builds a new
/// Runtime, as one process per run-once would.
///
/// The engine runs on `clock` (a FakeClock) so grace periods and backoffs pass on demand; the
/// HTTP client and the simulator keep real time unless `apiClock` / `simulatorOnFakeClock`
/// say otherwise. Meant to be a base of a gtest fixture; not thread-safe (the request counter
/// it gives the client is).
class RotationHarness
{
public:
    RotationHarness() = default;
    RotationHarness(const RotationHarness&) = delete;
    RotationHarness& operator=(const RotationHarness&) = delete;
    virtual ~RotationHarness();

    /// Starts the simulator over TLS with the shared test certificates, writes its admin token
    /// to `admin.token` and creates `out/`. `descriptions`: whether lists show descriptions.
    void startSimulator(bool descriptions = true);

    /// Loads the settings: the connection, state and scheduler keys every test shares, plus
    /// `extra` (credentials and sinks; a key given here replaces the shared one).
    void configure(const std::string& extra);
    /// The same configuration as a file for the executables (`rotator.properties` in `dir`);
    /// returns its path.
    std::string writeConfig(const std::string& extra) const;

    cli::Environment environment();
    /// One `run-once` pass on a fresh Runtime.
    rotation::PassReport pass();
    /// An engine command (`run-once`, `rotate NAME`, `plan`) on a fresh Runtime.
    int command(const std::vector<std::string>& args);

    std::unique_ptr<store::SqliteStateStore> openStore() const;
    std::string databasePath() const;
    store::CredentialRow credential(const std::string& name) const;
    store::RotationRow lastRotation(const std::string& name) const;
    /// The event names of a credential, oldest first.
    std::vector<std::string> events(const std::string& name) const;

    std::set<std::string> simClientIds() const;
    bool alive(const std::string& clientId) const;
    /// A client made at the simulator directly (not by the rotator), `ageMs` old.
    std::string seedClient(std::int64_t ageMs, const std::string& role = "Database Administrator");
    /// `GET /v2/currentOrg` with `token` at the simulator: the HTTP status (0: no answer).
    int tokenStatus(const std::string& token) const;
    /// The credential a json sink file holds; fails the test when it is not the json form.
    sink::Credential jsonSink(const std::string& path) const;
    /// Requests the simulator answered with this method, any path and status.
    std::int64_t requests(const std::string& method) const;

    /// Requests the rotator's API clients sent for a method and path template that got
    /// `status` (0: no answer, e.g. a timeout or a dropped connection), or any outcome.
    std::int64_t sent(const std::string& method, const std::string& pathTemplate,
                      std::optional<int> status = std::nullopt) const;
    /// Waits (without sleeping) until the simulator has handled every POST and DELETE the
    /// rotator sent, including those the client gave up on after its timeout, so that their
    /// effects (a late create, a late delete) are in place before the test looks. Fails the
    /// test when the simulator does not get there within 10 s.
    void awaitSimulatorWrites() const;

    // Set before startSimulator() / pass().
    bool simulatorOnFakeClock = false;  ///< the simulator's clock is `clock` (generatedOn,
                                        ///< propagation delays), not the system clock
    core::Clock* apiClock = &realClock; ///< the AstraClient's clock: retry backoff, rate limit
    core::Clock* engineClock = &clock;  ///< the engine's (and the commands') clock
    /// One AstraClient for every pass (built on the first, as `serve` keeps one), instead of
    /// one per pass (as one `run-once` process each would): saves loading the system CA store
    /// and a TLS handshake per pass.
    bool reuseApiClient = false;
    /// Wraps the API client of each Runtime (e.g. to act at the simulator before a call).
    std::function<std::unique_ptr<api::TokenApi>(std::unique_ptr<api::TokenApi>)> wrapApi;

    TempDir dir;
    core::SystemClock realClock;
    FakeClock clock{core::SystemClock().nowMs()};
    /// Declared after the clocks: it may read `clock` until it is stopped.
    std::unique_ptr<sim::Simulator> simulator;
    std::string adminClientId;
    std::ostringstream out;
    std::ostringstream err;
    config::Settings settings;

private:
    std::string configText(const std::string& extra) const;

    std::unique_ptr<api::TokenApi> _sharedApi; ///< with reuseApiClient
    mutable std::mutex _sentMutex;
    std::map<std::tuple<std::string, std::string, int>, std::int64_t> _sent;
};

} // namespace rotator::test
