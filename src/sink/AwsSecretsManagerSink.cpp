#include "rotator/sink/AwsSecretsManagerSink.h"

#include <Poco/JSON/Object.h>
#include <Poco/JSON/Parser.h>
#include <Poco/Logger.h>
#include <Poco/URI.h>

#include "rotator/core/JsonString.h"
#include "rotator/core/SecureWipe.h"

namespace rotator::sink
{

using core::FailureKind;

namespace
{

constexpr const char* kService = "secretsmanager";
constexpr const char* kContentType = "application/x-amz-json-1.1";
/// A delivery is a handful of small calls; an answer this large is not Secrets Manager's.
constexpr std::size_t kMaxAnswerBytes = 1024 * 1024;

Poco::Logger& logger()
{
    return Poco::Logger::get("sink");
}

std::string defaultEndpoint(const std::string& region)
{
    return "https://secretsmanager." + region + ".amazonaws.com";
}

/// `{"a":"…","b":true}` from pairs whose values are already JSON.
std::string object(std::initializer_list<std::pair<const char*, std::string>> members)
{
    std::string out = "{";
    for (const auto& [name, json] : members)
    {
        if (json.empty())
        {
            continue;
        }
        if (out.size() > 1)
        {
            out += ',';
        }
        core::appendJsonString(out, name);
        out += ':' + json;
    }
    return out + "}";
}

std::string quoted(std::string_view text)
{
    std::string out;
    core::appendJsonString(out, text);
    return out;
}

/// A field of a JSON answer as text (empty when absent or not a string).
std::string field(const Poco::JSON::Object::Ptr& json, const char* key)
{
    if (!json || !json->has(key))
    {
        return {};
    }
    const auto value = json->get(key);
    return value.isString() ? value.extract<std::string>() : std::string();
}

bool isTransientType(const std::string& type)
{
    return type == "ThrottlingException" || type == "Throttling" ||
           type == "RequestLimitExceeded" || type == "InternalServiceError" ||
           type == "InternalFailure" || type == "ServiceUnavailable" || type == "RequestTimeout" ||
           type == "RequestTimeoutException";
}

bool isAuthType(const std::string& type)
{
    return type == "AccessDeniedException" || type == "UnrecognizedClientException" ||
           type == "InvalidSignatureException" || type == "SignatureDoesNotMatch" ||
           type == "IncompleteSignature" || type == "MissingAuthenticationToken" ||
           type == "InvalidClientTokenId" || type == "ExpiredTokenException" ||
           type == "ExpiredToken";
}

} // namespace

/// One answer of Secrets Manager: its status, its JSON (null when not JSON) and, for errors,
/// the `__type` without its namespace and the `Message`.
struct AwsSecretsManagerSink::Answer
{
    int status = 0;
    Poco::JSON::Object::Ptr json;
    std::string type;
    std::string message;
    bool ok() const { return status >= 200 && status < 300 && json; }
};

std::string clientRequestToken(const config::SinkSettings& settings, const Credential& credential,
                               const std::string& currentVersionId)
{
    std::string name = "astra-rotator\n" + settings.name + "\n" + settings.aws.secretId + "\n";
    for (const auto& f : settings.fields)
    {
        name += f + ",";
    }
    name += "\n" + credential.credential + "\n" + credential.clientId + "\n" + currentVersionId;
    std::string hex = sigv4::sha256Hex(name).substr(0, 32);
    // RFC 4122 layout: version nibble 5 (name-based), variant bits 10xx.
    hex[12] = '5';
    hex[16] = "89ab"[std::stoi(hex.substr(16, 1), nullptr, 16) & 3];
    return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
           hex.substr(16, 4) + "-" + hex.substr(20, 12);
}

AwsSecretsManagerSink::AwsSecretsManagerSink(const config::SinkSettings& settings,
                                             core::Clock& clock, EnvLookup env)
    : _settings(settings), _clock(clock)
{
    const std::string url = _settings.aws.endpoint.empty() ? defaultEndpoint(_settings.aws.region)
                                                           : _settings.aws.endpoint;
    const Poco::URI uri(url);
    const bool defaultPort = (uri.getScheme() == "https" && uri.getPort() == 443) ||
                             (uri.getScheme() == "http" && uri.getPort() == 80);
    _host = uri.getHost() + (defaultPort ? "" : ":" + std::to_string(uri.getPort()));
    const std::string caKey = "sinks." + _settings.name + ".caFile";
    AwsCredentialOptions options;
    options.region = _settings.aws.region;
    options.caFile = _settings.caFile;
    options.caKey = caKey;
    options.env = std::move(env);
    _chain = std::make_unique<AwsCredentialChain>(std::move(options), clock);
    _channel = std::make_unique<api::HttpChannel>(
        api::ChannelOptions{url, _settings.caFile, 20'000, 60'000, kMaxAnswerBytes, caKey,
                            "sinks." + _settings.name + ".endpoint"},
        clock);
}

std::string AwsSecretsManagerSink::describe() const
{
    return "aws-secretsmanager " + _settings.aws.secretId + " in " + _settings.aws.region +
           (_settings.aws.endpoint.empty() ? "" : " via " + _settings.aws.endpoint) +
           (_settings.aws.create ? " (created when absent)" : "");
}

std::string AwsSecretsManagerSink::prefix() const
{
    return "aws-secretsmanager sink " + _settings.name + ": ";
}

core::Outcome<AwsSecretsManagerSink::Answer>
AwsSecretsManagerSink::call(const std::string& action, const std::string& body) const
{
    for (int attempt = 0;; ++attempt)
    {
        auto credentials = _chain->current();
        if (!credentials)
        {
            core::Failure f = credentials.error();
            f.message = prefix() + f.message;
            return tl::unexpected(f);
        }
        sigv4::Request request{"POST",
                               "/",
                               "",
                               {{"Host", _host},
                                {"Content-Type", kContentType},
                                {"X-Amz-Target", std::string("secretsmanager.") + action}},
                               body};
        const auto signedRequest =
            sigv4::sign(request, *credentials, _settings.aws.region, kService, _clock.nowMs());
        auto headers = request.headers;
        headers.insert(headers.end(), signedRequest.headers.begin(), signedRequest.headers.end());
        const auto result = _channel->send({"POST", "/", headers, body, kContentType});
        for (auto& [name, value] : headers)
        {
            core::secureWipe(value);
        }
        if (!result)
        {
            core::Failure f = result.error();
            f.message = prefix() + action + " on " + _settings.aws.secretId + ": " + f.message;
            return tl::unexpected(f);
        }
        Answer answer;
        answer.status = result->status;
        try
        {
            answer.json =
                Poco::JSON::Parser().parse(result->body).extract<Poco::JSON::Object::Ptr>();
        }
        catch (const Poco::Exception&)
        {
            answer.json = nullptr;
        }
        catch (const std::exception&)
        {
            answer.json = nullptr;
        }
        if (!answer.ok())
        {
            const std::string type = field(answer.json, "__type");
            answer.type = type.substr(type.find('#') == std::string::npos ? 0 : type.find('#') + 1);
            answer.message = field(answer.json, "Message");
            if (answer.message.empty())
            {
                answer.message = field(answer.json, "message");
            }
        }
        if ((answer.type == "ExpiredTokenException" || answer.type == "ExpiredToken") &&
            attempt == 0)
        {
            // Refused before anything was done: fetch fresh credentials and ask again.
            logger().information("%sAWS says the credentials from %s expired; fetching new ones",
                                 prefix(), _chain->source());
            _chain->invalidate();
            continue;
        }
        return answer;
    }
}

core::Failure AwsSecretsManagerSink::failure(const std::string& action, const Answer& answer) const
{
    core::Failure f;
    f.httpStatus = answer.status;
    std::string what = prefix() + action + " on " + _settings.aws.secretId + " answered " +
                       std::to_string(answer.status);
    if (!answer.type.empty())
    {
        what += " " + answer.type;
    }
    if (!answer.message.empty())
    {
        what += ": " + answer.message.substr(0, 400);
    }
    else if (answer.status >= 200 && answer.status < 300)
    {
        what += " with an answer that is not JSON";
    }
    if (answer.type == "AccessDeniedException")
    {
        what += " (the identity from " + _chain->source() + " needs secretsmanager:" + action +
                " on this secret)";
    }
    if (answer.type == "ResourceNotFoundException")
    {
        f.kind = FailureKind::NotFound;
    }
    else if (isAuthType(answer.type) || answer.status == 401 || answer.status == 403)
    {
        f.kind = FailureKind::Auth;
    }
    else if (isTransientType(answer.type) || answer.status == 429 || answer.status >= 500)
    {
        f.kind = FailureKind::Transient;
    }
    else
    {
        f.kind = FailureKind::Permanent;
    }
    f.message = std::move(what);
    return f;
}

core::Outcome<void> AwsSecretsManagerSink::deliver(const Credential& credential)
{
    const std::string secretId = quoted(_settings.aws.secretId);
    std::string value = renderFieldsJson(credential, _settings.fields);
    struct Wipe
    {
        std::string& text;
        ~Wipe() { core::secureWipe(text); }
    } wipeValue{value};
    // A message from AWS is quoted in failures: never when it echoes the credential.
    const auto scrubbed = [&](core::Failure f)
    {
        for (const core::Secret* secret : {&credential.secret, &credential.token})
        {
            if (!secret->empty() && f.message.find(secret->reveal()) != std::string::npos)
            {
                f.message = prefix() +
                            "the store's error message was withheld: it quoted the "
                            "credential (status " +
                            std::to_string(f.httpStatus) + ")";
            }
        }
        return tl::unexpected(f);
    };
    const auto holds = [&](const Answer& a)
    { return core::constantTimeEquals(field(a.json, "SecretString"), value); };

    const auto current = call("GetSecretValue", object({{"SecretId", secretId}}));
    if (!current)
    {
        return scrubbed(current.error());
    }
    const std::string token = clientRequestToken(
        _settings, credential, current->ok() ? field(current->json, "VersionId") : std::string());
    std::string written;
    std::string request;
    struct WipeRequest
    {
        std::string& text;
        ~WipeRequest() { core::secureWipe(text); }
    } wipeRequest{request};
    if (current->ok() && holds(*current))
    {
        logger().information("%ssecret %s already holds client %s; nothing written", prefix(),
                             _settings.aws.secretId, credential.clientId);
        return {};
    }
    if (!current->ok() && current->type != "ResourceNotFoundException")
    {
        return scrubbed(failure("GetSecretValue", *current));
    }
    bool exists = current->ok();
    if (!exists)
    {
        // GetSecretValue says ResourceNotFound both for a missing secret and for one that has
        // no value yet (created empty): DescribeSecret tells them apart.
        const auto described = call("DescribeSecret", object({{"SecretId", secretId}}));
        if (!described)
        {
            return scrubbed(described.error());
        }
        if (!described->ok() && described->type != "ResourceNotFoundException")
        {
            return scrubbed(failure("DescribeSecret", *described));
        }
        exists = described->ok();
    }
    if (!exists)
    {
        if (!_settings.aws.create)
        {
            core::Failure f = failure("GetSecretValue", *current);
            f.kind = FailureKind::Permanent;
            f.message += "; create the secret, or set sinks." + _settings.name +
                         ".create = true to let the rotator create it";
            return scrubbed(f);
        }
        if (_settings.aws.secretId.starts_with("arn:"))
        {
            return core::fail(FailureKind::Permanent,
                              prefix() + "secret " + _settings.aws.secretId +
                                  " does not exist and cannot be created from an ARN: set "
                                  "sinks." +
                                  _settings.name + ".secretId to its name");
        }
        request =
            object({{"Name", secretId},
                    {"ClientRequestToken", quoted(token)},
                    {"Description", quoted("Astra DB application token of credential " +
                                           credential.credential + " (astra-rotator)")},
                    {"KmsKeyId", _settings.aws.kmsKeyId.empty() ? std::string()
                                                                : quoted(_settings.aws.kmsKeyId)},
                    {"SecretString", quoted(value)}});
        written = "CreateSecret";
    }
    else
    {
        request = object({{"SecretId", secretId},
                          {"ClientRequestToken", quoted(token)},
                          {"SecretString", quoted(value)}});
        written = "PutSecretValue";
    }
    const auto put = call(written, request);
    if (!put)
    {
        return scrubbed(put.error()); // the channel judged whether it may have been applied
    }
    if (!put->ok())
    {
        core::Failure f = failure(written, *put);
        // A 5xx may come after the write was applied; a 4xx is a refusal before it.
        f.ambiguous = put->status >= 500;
        return scrubbed(f);
    }
    const std::string version = field(put->json, "VersionId");
    const auto readBack = call("GetSecretValue", object({{"SecretId", secretId}}));
    if (!readBack || !readBack->ok())
    {
        core::Failure f = readBack ? failure("GetSecretValue", *readBack) : readBack.error();
        f.message += " (reading back after " + written + ")";
        f.ambiguous = true;
        if (f.kind == FailureKind::NotFound || f.kind == FailureKind::Permanent)
        {
            f.kind = FailureKind::Transient;
        }
        return scrubbed(f);
    }
    if (!holds(*readBack))
    {
        return core::failAmbiguous(FailureKind::Transient,
                                   prefix() + "secret " + _settings.aws.secretId +
                                       " read back after " + written + " (version " + version +
                                       ") does not hold client " + credential.clientId +
                                       ": another writer changed it");
    }
    logger().information("%swrote client %s of %s to secret %s (%s, version %s)", prefix(),
                         credential.clientId, credential.credential, _settings.aws.secretId,
                         written, version);
    return {};
}

core::Outcome<void> AwsSecretsManagerSink::check() const
{
    const std::string secretId = quoted(_settings.aws.secretId);
    const auto described = call("DescribeSecret", object({{"SecretId", secretId}}));
    if (!described)
    {
        return tl::unexpected(described.error());
    }
    if (!described->ok())
    {
        if (described->type == "ResourceNotFoundException" && _settings.aws.create)
        {
            return {}; // the first delivery creates it
        }
        core::Failure f = failure("DescribeSecret", *described);
        if (f.kind == FailureKind::NotFound)
        {
            f.kind = FailureKind::Permanent;
            f.message += "; create it or set sinks." + _settings.name + ".create = true";
        }
        return tl::unexpected(f);
    }
    const auto value = call("GetSecretValue", object({{"SecretId", secretId}}));
    if (!value)
    {
        return tl::unexpected(value.error());
    }
    // A secret without any value yet answers ResourceNotFound here: the first put creates one.
    if (!value->ok() && value->type != "ResourceNotFoundException")
    {
        return tl::unexpected(failure("GetSecretValue", *value));
    }
    return {};
}

} // namespace rotator::sink
