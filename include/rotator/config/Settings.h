#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace rotator::config
{

/// A UTC rotation window, e.g. `Mon-Fri 02:00-04:00`. `endMinute` may be smaller than
/// `startMinute` for a window that crosses midnight (it then ends on the next day).
struct Window
{
    std::string text;         ///< as written, for messages
    std::uint8_t days = 0x7f; ///< bit 0 = Monday ... bit 6 = Sunday
    int startMinute = 0;      ///< minutes after 00:00 UTC
    int endMinute = 24 * 60;  ///< exclusive
};

/// The name of the credential that is the admin token itself (`astra.selfRotation.*`). A
/// configured name cannot take it: names start with a letter or digit.
inline constexpr const char* kAdminCredential = "(admin)";
/// The name of the sink that is `astra.tokenFile`, the admin credential's first sink.
inline constexpr const char* kTokenFileSink = "(astra.tokenFile)";

/// Rotation of the admin token itself (`astra.selfRotation.*`); off while `maxAgeMs` is 0.
/// The loader turns it into the credential `kAdminCredential`.
struct SelfRotationSettings
{
    std::int64_t maxAgeMs = 0;
    std::int64_t gracePeriodMs = 10 * 60'000;
    std::optional<Window> window;
    std::int64_t jitterMs = 0;
    std::vector<std::string> sinks; ///< sinks that receive the new token after the token file
};

/// The DevOps API connection (`astra.*`).
struct AstraSettings
{
    std::string url = "https://api.astra.datastax.com"; ///< scheme://host[:port], no path
    std::string tokenFile;                               ///< empty: env ASTRA_TOKEN
    std::string caFile;                                  ///< empty: the system CA store
    std::int64_t timeoutMs = 20'000;
    std::int64_t requestDeadlineMs = 120'000; ///< one HTTP attempt, however its bytes arrive
    int maxAttempts = 5;
    double requestsPerSecond = 10.0;
    bool describeTokens = true;
    std::int64_t propagationTimeoutMs = 30'000;
    SelfRotationSettings selfRotation;
};

/// Local state (`state.*`).
struct StateSettings
{
    std::string dir = "/var/lib/astra-rotator";
};

/// Scheduling (`scheduler.*`).
struct SchedulerSettings
{
    std::int64_t syncIntervalMs = 5 * 60'000;
    int concurrency = 4;
    std::int64_t retryBackoffMs = 60'000;
    int maxFailures = 5;
};

/// Admin HTTP API (`admin.*`). Disabled when `listen` is empty.
struct AdminSettings
{
    std::string listen;    ///< as written, e.g. `127.0.0.1:8710`
    std::string host;      ///< parsed from listen
    std::uint16_t port = 0; ///< parsed from listen (0 allowed: any free port)
    std::string tokenFile; ///< bearer token for /v1; empty: POST endpoints disabled
    /// Host header values answered besides the listen address and loopback names.
    std::vector<std::string> allowedHosts;
    bool metricsAuth = false; ///< /metrics needs the bearer too (requires tokenFile)
    /// Time a client has to send a whole request (headers and body).
    std::int64_t requestDeadlineMs = 5'000;
    int maxConnectionsPerAddress = 8; ///< open connections one client address may hold
};

enum class LogFormat
{
    Text,
    Json
};

/// Logging (`log.*`).
struct LogSettings
{
    std::string level = "information"; ///< a Poco priority name
    std::string file;                  ///< empty: stderr
    LogFormat format = LogFormat::Text;
};

/// A managed credential (`credentials.<name>.*`, or `kAdminCredential`).
struct CredentialSettings
{
    std::string name;
    std::vector<std::string> roles; ///< role names or role IDs, as written
    std::int64_t maxAgeMs = 0;
    std::int64_t gracePeriodMs = 0;
    std::vector<std::string> sinks; ///< names of `sinks.<name>` entries
    std::string clientId;           ///< a client to adopt as current; empty: none
    std::optional<Window> window;
    std::int64_t jitterMs = 0;
    std::optional<std::int64_t> expiryMs; ///< tokenExpiry = mint time + this
    bool verify = true;
    /// The admin token itself (`kAdminCredential`): its roles are its current client's, it is
    /// verified by the calls the rotator makes, and it runs alone.
    bool adminToken = false;
};

enum class SinkType
{
    File,
    Exec,
    Kubernetes,        ///< a Kubernetes Secret
    Vault,             ///< HashiCorp Vault KV version 2
    AwsSecretsManager, ///< AWS Secrets Manager
};

/// A workload a kubernetes sink restarts after a delivery (`sinks.S.restart`).
struct KubernetesRestartTarget
{
    std::string kind; ///< `deployment`, `statefulset` or `daemonset`
    std::string name;
};

/// `sinks.S.type = kubernetes`. The loader fills the defaults in (server, keys; tokenFile and
/// caFile live in SinkSettings).
struct KubernetesSinkSettings
{
    static constexpr const char* kInClusterServer = "https://kubernetes.default.svc";
    static constexpr const char* kServiceAccountToken =
        "/var/run/secrets/kubernetes.io/serviceaccount/token";
    static constexpr const char* kServiceAccountCa =
        "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt";

    std::string server = kInClusterServer;
    std::string namespaceName; ///< `namespace` (a DNS-1123 label)
    std::string secret;        ///< the Secret's name (a DNS-1123 subdomain)
    /// Secret data key -> credential field, in order (`keys`; default ASTRA_CLIENT_ID=clientId,
    /// ASTRA_CLIENT_SECRET=secret, ASTRA_DB_APPLICATION_TOKEN=token).
    std::vector<std::pair<std::string, std::string>> keys;
    std::vector<KubernetesRestartTarget> restart;
    std::int64_t timeoutMs = 20'000;         ///< each wait of one request (no key: tests set it)
    std::int64_t requestDeadlineMs = 60'000; ///< one whole request
};

/// How a vault sink logs in (`sinks.S.auth`).
enum class VaultAuth
{
    Token,      ///< a token read from `sinks.S.tokenFile`
    Kubernetes, ///< `auth/<authMount>/login` with the pod's service account JWT
    AppRole,    ///< `auth/<authMount>/login` with a role ID and a secret ID read from files
};

/// `sinks.S.type = vault` (HashiCorp Vault KV version 2). The token file is the shared
/// `SinkSettings::tokenFile`.
struct VaultSinkSettings
{
    std::string address;          ///< `https://vault.example:8200` (http to loopback only)
    std::string mount = "secret"; ///< where the KV v2 engine is mounted, without slashes
    std::string path;             ///< the secret's path under the mount, without a leading `/`
    std::string vaultNamespace;   ///< Enterprise `X-Vault-Namespace`; empty: none
    VaultAuth auth = VaultAuth::Token;
    std::string role; ///< kubernetes: the Vault role to log in as
    std::string jwtFile = "/var/run/secrets/kubernetes.io/serviceaccount/token";
    std::string authMount;    ///< empty: `kubernetes` or `approle` after `auth`
    std::string roleIdFile;   ///< approle
    std::string secretIdFile; ///< approle
};

/// `sinks.S.type = aws-secretsmanager`.
struct AwsSinkSettings
{
    std::string region;   ///< e.g. `eu-west-1` (required)
    std::string secretId; ///< the secret's name or ARN (required)
    /// `https://HOST[:PORT]` (http only to loopback); empty:
    /// `https://secretsmanager.<region>.amazonaws.com`
    std::string endpoint;
    std::string kmsKeyId; ///< used only when the sink creates the secret
    bool create = false;  ///< create the secret when it does not exist
};

enum class SinkFormat
{
    Json,
    Env,
    Token
};

/// Where an exec sink's output goes (`sinks.<name>.logOutput`).
enum class HookOutputLog
{
    Debug,       ///< stdout and stderr at debug (the default: a hook may print what it got)
    Information, ///< stdout at information, stderr at warning
    None         ///< not logged, not quoted in failure messages
};

/// A delivery destination (`sinks.<name>.*`).
struct SinkSettings
{
    std::string name;
    SinkType type = SinkType::File;
    // file
    std::string path;
    SinkFormat format = SinkFormat::Json;
    unsigned mode = 0600;
    std::string owner; ///< optional user name or uid
    std::string group; ///< optional group name or gid (file: of the file; exec: to run as)
    std::string trustDirOwner; ///< optional user (name or uid) trusted to own its directories
    // exec
    std::vector<std::string> command; ///< argv, split without a shell
    std::int64_t timeoutMs = 30'000;
    HookOutputLog logOutput = HookOutputLog::Debug;
    std::string user; ///< optional user name or uid to run the command as (needs root)
    // secret stores (kubernetes, vault, aws-secretsmanager)
    std::string caFile;    ///< extra CA bundle (PEM) trusted besides the system store
    std::string tokenFile; ///< kubernetes, vault (auth = token): the store's bearer token
    /// vault, aws-secretsmanager: the credential's fields the stored JSON object holds, in order
    /// (empty: sink::defaultStoreFields()).
    std::vector<std::string> fields;
    KubernetesSinkSettings kubernetes;
    VaultSinkSettings vault;
    AwsSinkSettings aws;
};

/// What a webhook notifier sends (`notify.<name>.format`).
enum class NotifyFormat
{
    Json, ///< the event as a JSON object (event, credential, reason, fix, at, ...)
    Slack ///< `{"text": "..."}`, for Slack, Mattermost and Teams incoming webhooks
};

/// The events a notifier tells of when `notify.<name>.events` is not set.
inline const std::vector<std::string> kDefaultNotifyEvents = {
    "failed", "quarantined", "rolled_back", "unattributed", "foreign", "admin_token_invalid"};

/// A webhook that failures are sent to (`notify.<name>.*`).
struct NotifierSettings
{
    std::string name;
    std::string url;                 ///< https (http to loopback only), with path and query
    std::vector<std::string> events; ///< event kinds (PRODUCT.md §6 history), at least one
    NotifyFormat format = NotifyFormat::Json;
    std::string tokenFile;           ///< optional: its token is sent as `Authorization: Bearer`
    std::string caFile;              ///< extra CA bundle (PEM) trusted besides the system store
    std::int64_t timeoutMs = 10'000; ///< each wait of one delivery attempt
};

/// Every setting, typed and validated. Built only by `loadSettings`.
struct Settings
{
    AstraSettings astra;
    StateSettings state;
    SchedulerSettings scheduler;
    AdminSettings admin;
    LogSettings log;
    std::vector<CredentialSettings> credentials; ///< sorted by name
    std::vector<SinkSettings> sinks;             ///< sorted by name
    std::vector<NotifierSettings> notifiers;     ///< sorted by name
    std::vector<std::string> warnings;           ///< non-fatal findings (e.g. group-readable)

    const CredentialSettings* findCredential(const std::string& name) const;
    const SinkSettings* findSink(const std::string& name) const;
};

} // namespace rotator::config
