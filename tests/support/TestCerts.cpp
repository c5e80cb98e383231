#include "support/TestCerts.h"

#include <cstdlib>
#include <memory>
#include <stdexcept>

#include "support/TempDir.h"

namespace rotator::test
{

namespace
{

void run(const std::string& command)
{
    // The commands are built from fixed strings and temp paths only.
    const std::string full = command + " >/dev/null 2>&1";
    if (std::system(full.c_str()) != 0)
    {
        throw std::runtime_error("openssl failed: " + command);
    }
}

/// Makes `pair` (key of the given `openssl req -newkey` kind) for localhost, 127.0.0.1 and ::1,
/// signed by the CA of `ca`; `scratch` prefixes the request and extension files.
void signServerCertificate(const TestCerts& ca, const std::string& keyKind,
                           const CertificatePair& pair, const std::string& scratch)
{
    const std::string csr = scratch + ".csr";
    const std::string ext = scratch + ".ext";
    run("openssl req -new -newkey " + keyKind + " -nodes -subj /CN=localhost -keyout " + pair.key +
        " -out " + csr);
    writeFile(ext, "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n"
                   "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n"
                   "extendedKeyUsage=serverAuth\n");
    run("openssl x509 -req -in " + csr + " -CA " + ca.caFile + " -CAkey " + ca.caKey +
        " -CAcreateserial -days 2 -extfile " + ext + " -out " + pair.cert);
}

} // namespace

TestCerts TestCerts::generate(const std::string& dir)
{
    TestCerts c;
    c.caFile = dir + "/ca.pem";
    c.caKey = dir + "/ca.key";
    c.serverCert = dir + "/server.pem";
    c.serverKey = dir + "/server.key";
    c.otherCaFile = dir + "/other-ca.pem";
    const std::string otherKey = dir + "/other-ca.key";

    run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
        "-subj /CN=astra-rotator-test-ca -keyout " +
        c.caKey + " -out " + c.caFile);
    run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
        "-subj /CN=unrelated-test-ca -keyout " + otherKey + " -out " + c.otherCaFile);
    signServerCertificate(c, "ec -pkeyopt ec_paramgen_curve:prime256v1",
                          {c.serverCert, c.serverKey}, dir + "/server");
    return c;
}

const TestCerts& sharedTestCerts()
{
    static std::unique_ptr<TempDir> dir = std::make_unique<TempDir>();
    static const TestCerts certs = TestCerts::generate(dir->path());
    return certs;
}

const CertificatePair& rsaServerCertificate()
{
    static std::unique_ptr<TempDir> dir = std::make_unique<TempDir>();
    static const CertificatePair pair = []
    {
        CertificatePair p{dir->file("rsa-server.pem"), dir->file("rsa-server.key")};
        signServerCertificate(sharedTestCerts(), "rsa:2048", p, dir->file("rsa-server"));
        return p;
    }();
    return pair;
}

sim::SimulatorOptions tlsSimulatorOptions()
{
    sim::SimulatorOptions options;
    options.tlsCertFile = sharedTestCerts().serverCert;
    options.tlsKeyFile = sharedTestCerts().serverKey;
    return options;
}

} // namespace rotator::test
