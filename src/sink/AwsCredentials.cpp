#include "rotator/sink/AwsCredentials.h"

#include <cstdlib>
#include <sstream>

#include <sys/stat.h>

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Logger.h>
#include <Poco/URI.h>

#include "rotator/api/HttpChannel.h"
#include "rotator/config/SettingsLoader.h"
#include "rotator/config/TokenSource.h"
#include "rotator/core/Errors.h"
#include "rotator/core/SecureWipe.h"
#include "rotator/core/Time.h"
#include "rotator/os/Errno.h"
#include "rotator/os/ReadFile.h"
#include "rotator/os/TrustedPath.h"

namespace rotator::sink
{

using core::FailureKind;
using sigv4::AwsCredentials;

namespace
{

constexpr std::size_t kMaxCredentialsFileBytes = 64 * 1024;

Poco::Logger& logger()
{
    return Poco::Logger::get("sink");
}

std::string trim(const std::string& text)
{
    const std::size_t first = text.find_first_not_of(" \t\r");
    if (first == std::string::npos)
    {
        return {};
    }
    return text.substr(first, text.find_last_not_of(" \t\r") - first + 1);
}

tl::unexpected<core::Failure> permanent(const std::string& message)
{
    return core::fail(FailureKind::Permanent, "AWS credentials: " + message);
}

/// `<Expiration>`/`"Expiration"` as Unix milliseconds; nullopt when absent or malformed.
std::optional<std::int64_t> expirationMs(const std::string& text)
{
    const auto instant = core::parseRfc3339(text);
    return instant ? std::optional<std::int64_t>(instant->unixMs()) : std::nullopt;
}

/// https anywhere, http only to loopback (or, for `allowLinkLocal`, the link-local addresses
/// of the ECS and EKS credential agents).
bool acceptableUrl(const Poco::URI& uri, bool allowLinkLocal)
{
    if (uri.getScheme() == "https")
    {
        return !uri.getHost().empty();
    }
    const std::string& host = uri.getHost();
    return uri.getScheme() == "http" &&
           (config::isLoopbackHost(host) ||
            (allowLinkLocal &&
             (host == "169.254.170.2" || host == "169.254.170.23" || host == "fd00:ec2::23")));
}

std::string origin(const Poco::URI& uri)
{
    return uri.getScheme() + "://" + uri.getAuthority();
}

std::string pathAndQuery(const Poco::URI& uri)
{
    const std::string path = uri.getPathEtc();
    return path.empty() ? "/" : path;
}

/// The credential JSON the container endpoint and IMDS answer with.
core::Outcome<AwsCredentials> credentialsFromJson(const std::string& body, const std::string& what)
{
    try
    {
        const auto json = Poco::JSON::Parser().parse(body).extract<Poco::JSON::Object::Ptr>();
        const auto text = [&](const char* key) -> std::string
        {
            const auto value = json->get(key);
            return value.isString() ? value.extract<std::string>() : std::string();
        };
        AwsCredentials c;
        c.accessKeyId = text("AccessKeyId");
        c.secretAccessKey = core::Secret(text("SecretAccessKey"));
        c.sessionToken = core::Secret(text("Token"));
        c.expiresAtMs = expirationMs(text("Expiration"));
        if (c.accessKeyId.empty() || c.secretAccessKey.empty())
        {
            return permanent(what + " answered without AccessKeyId and SecretAccessKey");
        }
        return c;
    }
    catch (const Poco::Exception&)
    {
        return permanent(what + " answered something that is not JSON");
    }
}

/// A failure of a credential endpoint: its status, never its body.
tl::unexpected<core::Failure> endpointRefused(const std::string& what, const api::HttpResult& r)
{
    const FailureKind kind = r.status == 401 || r.status == 403   ? FailureKind::Auth
                             : r.status >= 500 || r.status == 429 ? FailureKind::Transient
                                                                  : FailureKind::Permanent;
    return core::fail(kind, "AWS credentials: " + what + " answered " + std::to_string(r.status),
                      r.status);
}

std::string decodeXmlEntities(std::string text)
{
    static const std::pair<const char*, const char*> kEntities[] = {
        {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""}, {"&apos;", "'"}, {"&amp;", "&"}};
    for (const auto& [entity, plain] : kEntities)
    {
        for (std::size_t at = text.find(entity); at != std::string::npos;
             at = text.find(entity, at + 1))
        {
            text.replace(at, std::string(entity).size(), plain);
        }
    }
    return text;
}

} // namespace

EnvLookup processEnvironment()
{
    return [](const std::string& name) -> std::optional<std::string>
    {
        const char* value = std::getenv(name.c_str());
        return value != nullptr ? std::optional<std::string>(value) : std::nullopt;
    };
}

std::optional<std::string> xmlElement(const std::string& xml, const std::string& tag)
{
    const std::string open = "<" + tag + ">";
    const std::size_t start = xml.find(open);
    if (start == std::string::npos)
    {
        return std::nullopt;
    }
    const std::size_t end = xml.find("</" + tag + ">", start + open.size());
    if (end == std::string::npos)
    {
        return std::nullopt;
    }
    return decodeXmlEntities(xml.substr(start + open.size(), end - start - open.size()));
}

std::optional<core::Outcome<AwsCredentials>> parseSharedCredentials(const std::string& text,
                                                                    const std::string& profile)
{
    std::istringstream lines(text);
    std::string line;
    bool inProfile = false;
    bool found = false;
    AwsCredentials c;
    while (std::getline(lines, line))
    {
        line = trim(line);
        if (line.empty() || line[0] == '#' || line[0] == ';')
        {
            continue;
        }
        if (line.front() == '[' && line.back() == ']')
        {
            inProfile = trim(line.substr(1, line.size() - 2)) == profile;
            found = found || inProfile;
            continue;
        }
        const std::size_t eq = line.find('=');
        if (!inProfile || eq == std::string::npos)
        {
            continue;
        }
        const std::string key = trim(line.substr(0, eq));
        std::string value = trim(line.substr(eq + 1));
        if (key == "aws_access_key_id")
        {
            c.accessKeyId = value;
        }
        else if (key == "aws_secret_access_key")
        {
            c.secretAccessKey = core::Secret(value);
        }
        else if (key == "aws_session_token")
        {
            c.sessionToken = core::Secret(value);
        }
        core::secureWipe(value);
    }
    core::secureWipe(line);
    if (!found)
    {
        return std::nullopt;
    }
    if (c.accessKeyId.empty() || c.secretAccessKey.empty())
    {
        return permanent("profile [" + profile + "] of the shared credentials file lacks " +
                         (c.accessKeyId.empty() ? "aws_access_key_id" : "aws_secret_access_key"));
    }
    return c;
}

AwsCredentialChain::AwsCredentialChain(AwsCredentialOptions options, core::Clock& clock)
    : _options(std::move(options)), _clock(clock)
{
    if (!_options.env)
    {
        _options.env = processEnvironment();
    }
}

AwsCredentialChain::~AwsCredentialChain() = default;

std::optional<std::string> AwsCredentialChain::env(const std::string& name) const
{
    auto value = _options.env(name);
    if (value && value->empty())
    {
        return std::nullopt; // an empty variable counts as unset, as in the SDKs
    }
    return value;
}

core::Outcome<AwsCredentials> AwsCredentialChain::current()
{
    std::lock_guard lock(_mutex);
    if (_cached && _cached->expiresAtMs &&
        _clock.nowMs() < *_cached->expiresAtMs - _options.refreshBeforeMs)
    {
        return *_cached;
    }
    auto resolved = resolve();
    if (!resolved && _cached && _cached->expiresAtMs && _clock.nowMs() < *_cached->expiresAtMs)
    {
        // The refresh failed but the credentials in hand are still valid for a while.
        logger().warning("AWS credentials: refreshing %s failed (%s); using the current ones "
                         "until they expire",
                         _source, resolved.error().message);
        return *_cached;
    }
    if (!resolved)
    {
        _cached.reset();
        return resolved;
    }
    if (resolved->source != _source)
    {
        logger().information("AWS credentials from %s (access key %s)", resolved->source,
                             resolved->accessKeyId);
    }
    _source = resolved->source;
    if (resolved->expiresAtMs)
    {
        _cached = *resolved;
    }
    else
    {
        _cached.reset();
    }
    return resolved;
}

void AwsCredentialChain::invalidate()
{
    std::lock_guard lock(_mutex);
    _cached.reset();
}

std::string AwsCredentialChain::source() const
{
    std::lock_guard lock(_mutex);
    return _source;
}

core::Outcome<AwsCredentials> AwsCredentialChain::resolve()
{
    for (const auto step :
         {&AwsCredentialChain::fromEnvironment, &AwsCredentialChain::fromWebIdentity,
          &AwsCredentialChain::fromSharedFile, &AwsCredentialChain::fromContainer,
          &AwsCredentialChain::fromInstanceMetadata})
    {
        if (auto found = (this->*step)())
        {
            return std::move(*found);
        }
    }
    return core::fail(FailureKind::Auth,
                      "AWS credentials: none found (tried AWS_ACCESS_KEY_ID, web identity, the "
                      "shared credentials file, the container endpoint and instance metadata)");
}

AwsCredentialChain::Found AwsCredentialChain::fromEnvironment()
{
    const auto id = env("AWS_ACCESS_KEY_ID");
    auto secret = env("AWS_SECRET_ACCESS_KEY");
    if (!id && !secret)
    {
        return std::nullopt;
    }
    if (!id || !secret)
    {
        return permanent(std::string(id ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID") +
                         " is not set but " + (id ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY") +
                         " is");
    }
    AwsCredentials c;
    c.accessKeyId = *id;
    c.secretAccessKey = core::Secret(*secret);
    core::secureWipe(*secret);
    if (auto token = env("AWS_SESSION_TOKEN"))
    {
        c.sessionToken = core::Secret(*token);
        core::secureWipe(*token);
    }
    c.source = "environment (AWS_ACCESS_KEY_ID)";
    return c;
}

AwsCredentialChain::Found AwsCredentialChain::fromWebIdentity()
{
    const auto tokenFile = env("AWS_WEB_IDENTITY_TOKEN_FILE");
    const auto roleArn = env("AWS_ROLE_ARN");
    if (!tokenFile && !roleArn)
    {
        return std::nullopt;
    }
    if (!tokenFile || !roleArn)
    {
        return permanent(std::string(tokenFile ? "AWS_ROLE_ARN" : "AWS_WEB_IDENTITY_TOKEN_FILE") +
                         " is not set but " +
                         (tokenFile ? "AWS_WEB_IDENTITY_TOKEN_FILE" : "AWS_ROLE_ARN") + " is");
    }
    core::Secret jwt;
    try
    {
        if (!_webIdentityToken || _webIdentityPath != *tokenFile)
        {
            std::vector<std::string> warnings;
            _webIdentityToken =
                config::TokenSource::follow(*tokenFile, "AWS_WEB_IDENTITY_TOKEN_FILE", warnings);
            _webIdentityPath = *tokenFile;
            for (const auto& w : warnings)
            {
                logger().warning("%s", w);
            }
        }
        jwt = _webIdentityToken->current();
    }
    catch (const core::ConfigError& e)
    {
        return permanent(e.what());
    }
    const Poco::URI endpoint(
        env("AWS_ENDPOINT_URL_STS").value_or("https://sts." + _options.region + ".amazonaws.com"));
    if (!acceptableUrl(endpoint, false))
    {
        return permanent("AWS_ENDPOINT_URL_STS must be https (http only to a loopback host)");
    }
    const std::string session =
        env("AWS_ROLE_SESSION_NAME").value_or("astra-rotator-" + std::to_string(_clock.nowMs()));
    // The token goes in the body, not the URL, so that no proxy or access log records it.
    std::string body = "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=" +
                       sigv4::uriEncode(*roleArn, false) +
                       "&RoleSessionName=" + sigv4::uriEncode(session, false) +
                       "&WebIdentityToken=" + sigv4::uriEncode(jwt.reveal(), false);
    api::HttpChannel channel({origin(endpoint), _options.caFile, _options.timeoutMs,
                              _options.timeoutMs * 2, 1024 * 1024, _options.caKey,
                              "AWS_ENDPOINT_URL_STS"},
                             _clock);
    const auto answer = channel.send({"POST",
                                      pathAndQuery(endpoint),
                                      {{"Accept", "application/xml"}},
                                      body,
                                      "application/x-www-form-urlencoded; charset=utf-8"});
    core::secureWipe(body);
    if (!answer)
    {
        core::Failure f = answer.error();
        f.message = "AWS credentials: STS AssumeRoleWithWebIdentity: " + f.message;
        f.ambiguous = false; // asking for credentials changes nothing
        return tl::unexpected(f);
    }
    if (answer->status != 200)
    {
        // STS errors: <ErrorResponse><Error><Code>…</Code><Message>…</Message></Error>.
        const std::string code = xmlElement(answer->body, "Code").value_or("");
        const std::string message = xmlElement(answer->body, "Message").value_or("");
        const FailureKind kind = answer->status >= 500 || code == "Throttling"
                                     ? FailureKind::Transient
                                     : FailureKind::Auth;
        return core::fail(kind,
                          "AWS credentials: STS AssumeRoleWithWebIdentity for " + *roleArn +
                              " answered " + std::to_string(answer->status) +
                              (code.empty() ? "" : " " + code) +
                              (message.empty() ? "" : ": " + message.substr(0, 300)),
                          answer->status);
    }
    AwsCredentials c;
    c.accessKeyId = xmlElement(answer->body, "AccessKeyId").value_or("");
    c.secretAccessKey = core::Secret(xmlElement(answer->body, "SecretAccessKey").value_or(""));
    c.sessionToken = core::Secret(xmlElement(answer->body, "SessionToken").value_or(""));
    c.expiresAtMs = expirationMs(xmlElement(answer->body, "Expiration").value_or(""));
    if (c.accessKeyId.empty() || c.secretAccessKey.empty() || c.sessionToken.empty() ||
        !c.expiresAtMs)
    {
        return permanent("STS AssumeRoleWithWebIdentity answered without complete credentials");
    }
    c.source = "web identity (STS AssumeRoleWithWebIdentity, " + *roleArn + ")";
    return c;
}

AwsCredentialChain::Found AwsCredentialChain::fromSharedFile()
{
    const auto explicitPath = env("AWS_SHARED_CREDENTIALS_FILE");
    const auto home = env("HOME");
    if (!explicitPath && !home)
    {
        return std::nullopt;
    }
    const std::string path = explicitPath ? *explicitPath : *home + "/.aws/credentials";
    const auto explicitProfile = env("AWS_PROFILE");
    const std::string profile = explicitProfile.value_or("default");
    struct stat probe
    {
    };
    if (!explicitPath && ::stat(path.c_str(), &probe) != 0)
    {
        return std::nullopt; // no ~/.aws/credentials: this source is simply not in use
    }
    os::TrustRules rules;
    rules.followLinks = true;
    rules.stickyLastDirectory = true;
    auto file = os::openTrustedFile(path, rules, true);
    if (!file)
    {
        return permanent("cannot read the shared credentials file " + path + ": " +
                         file.error().message);
    }
    const unsigned mode = static_cast<unsigned>(file->st.st_mode) & 07777U;
    if (!S_ISREG(file->st.st_mode))
    {
        return permanent("the shared credentials file " + path + " is not a regular file");
    }
    if ((mode & 077U) != 0)
    {
        std::ostringstream octal;
        octal << std::oct << mode;
        return permanent("the shared credentials file " + path +
                         " may be read by its group or others (mode 0" + octal.str() +
                         "): run \"chmod 600 " + path + "\"");
    }
    if (auto problem = os::inputFileProblem(path, file->st))
    {
        return permanent(*problem);
    }
    std::string text;
    if (const int error = os::readUpTo(file->fd.get(), kMaxCredentialsFileBytes + 1, text);
        error != 0 || text.size() > kMaxCredentialsFileBytes)
    {
        core::secureWipe(text);
        return permanent("cannot read the shared credentials file " + path + ": " +
                         (error != 0 ? os::errnoText(error) : std::string("larger than 64 KiB")));
    }
    auto parsed = parseSharedCredentials(text, profile);
    core::secureWipe(text);
    if (!parsed)
    {
        if (explicitProfile)
        {
            return permanent("AWS_PROFILE names profile [" + profile + "], which " + path +
                             " does not have");
        }
        return std::nullopt;
    }
    if (*parsed)
    {
        (*parsed)->source = "shared credentials file " + path + " [" + profile + "]";
    }
    return parsed;
}

AwsCredentialChain::Found AwsCredentialChain::fromContainer()
{
    auto full = env("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    if (const auto relative = env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"); relative && !full)
    {
        full = "http://169.254.170.2" + *relative; // the ECS agent
    }
    if (!full)
    {
        return std::nullopt;
    }
    Poco::URI uri;
    try
    {
        uri = Poco::URI(*full);
    }
    catch (const Poco::Exception&)
    {
        return permanent("AWS_CONTAINER_CREDENTIALS_FULL_URI is not a URL");
    }
    if (!acceptableUrl(uri, true))
    {
        return permanent("AWS_CONTAINER_CREDENTIALS_FULL_URI must be https, or http to a loopback "
                         "host or the ECS/EKS agent address");
    }
    std::vector<std::pair<std::string, std::string>> headers;
    core::Secret authorization;
    try
    {
        if (const auto file = env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"))
        {
            std::vector<std::string> warnings;
            authorization =
                config::readTokenFile(*file, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", warnings);
        }
        else if (auto token = env("AWS_CONTAINER_AUTHORIZATION_TOKEN"))
        {
            authorization = core::Secret(*token);
            core::secureWipe(*token);
        }
    }
    catch (const core::ConfigError& e)
    {
        return permanent(e.what());
    }
    if (!authorization.empty())
    {
        headers.emplace_back("Authorization", authorization.reveal());
    }
    api::HttpChannel channel({origin(uri), _options.caFile, _options.timeoutMs,
                              _options.timeoutMs * 2, 1024 * 1024, _options.caKey,
                              "AWS_CONTAINER_CREDENTIALS_FULL_URI"},
                             _clock);
    const auto answer = channel.send({"GET", pathAndQuery(uri), headers, {}, {}});
    for (auto& [name, value] : headers)
    {
        core::secureWipe(value);
    }
    const std::string what = "the container credentials endpoint " + channel.peer();
    if (!answer)
    {
        core::Failure f = answer.error();
        f.message = "AWS credentials: " + f.message;
        f.ambiguous = false;
        return tl::unexpected(f);
    }
    if (answer->status != 200)
    {
        return endpointRefused(what, *answer);
    }
    auto c = credentialsFromJson(answer->body, what);
    if (c)
    {
        c->source = "container credentials endpoint";
    }
    return c;
}

AwsCredentialChain::Found AwsCredentialChain::fromInstanceMetadata()
{
    if (const auto disabled = env("AWS_EC2_METADATA_DISABLED");
        disabled && (*disabled == "true" || *disabled == "TRUE" || *disabled == "True"))
    {
        return std::nullopt;
    }
    const std::string endpoint =
        env("AWS_EC2_METADATA_SERVICE_ENDPOINT").value_or("http://169.254.169.254");
    const std::string what = "instance metadata (IMDSv2) at " + endpoint;
    std::unique_ptr<api::HttpChannel> channel;
    try
    {
        channel = std::make_unique<api::HttpChannel>(
            api::ChannelOptions{origin(Poco::URI(endpoint)), _options.caFile,
                                _options.imdsTimeoutMs, _options.imdsTimeoutMs * 3, 64 * 1024,
                                _options.caKey, "AWS_EC2_METADATA_SERVICE_ENDPOINT"},
            _clock);
    }
    catch (const Poco::Exception&)
    {
        return permanent("AWS_EC2_METADATA_SERVICE_ENDPOINT is not a URL");
    }
    const auto token = channel->send(
        {"PUT", "/latest/api/token", {{"X-aws-ec2-metadata-token-ttl-seconds", "21600"}}, {}, {}});
    if (!token)
    {
        // Nothing listens there: not on EC2, so this source is not in use.
        logger().debug("AWS credentials: no %s (%s)", what, token.error().message);
        return std::nullopt;
    }
    if (token->status != 200)
    {
        return endpointRefused(what + " (token)", *token);
    }
    core::Secret session(trim(token->body));
    const std::vector<std::pair<std::string, std::string>> headers = {
        {"X-aws-ec2-metadata-token", session.reveal()}};
    const std::string base = "/latest/meta-data/iam/security-credentials/";
    const auto roles = channel->send({"GET", base, headers, {}, {}});
    if (!roles || roles->status != 200)
    {
        return roles ? endpointRefused(what + " (role)", *roles)
                     : permanent(what + ": " + roles.error().message);
    }
    const std::string role = trim(roles->body.substr(0, roles->body.find('\n')));
    if (role.empty() || role.find_first_of("/?#%") != std::string::npos)
    {
        return permanent(what + " lists no instance role");
    }
    const auto answer = channel->send({"GET", base + role, headers, {}, {}});
    if (!answer || answer->status != 200)
    {
        return answer ? endpointRefused(what + " (credentials)", *answer)
                      : permanent(what + ": " + answer.error().message);
    }
    auto c = credentialsFromJson(answer->body, what);
    if (c)
    {
        c->source = "instance metadata (IMDSv2, role " + role + ")";
    }
    return c;
}

} // namespace rotator::sink
