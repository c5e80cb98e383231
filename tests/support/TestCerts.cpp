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

} // namespace

TestCerts TestCerts::generate(const std::string& dir)
{
    TestCerts c;
    c.caFile = dir + "/ca.pem";
    const std::string caKey = dir + "/ca.key";
    c.serverCert = dir + "/server.pem";
    c.serverKey = dir + "/server.key";
    c.otherCaFile = dir + "/other-ca.pem";
    const std::string otherKey = dir + "/other-ca.key";
    const std::string csr = dir + "/server.csr";
    const std::string ext = dir + "/server.ext";

    run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
        "-subj /CN=astra-rotator-test-ca -keyout " + caKey + " -out " + c.caFile);
    run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
        "-subj /CN=unrelated-test-ca -keyout " + otherKey + " -out " + c.otherCaFile);
    run("openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
        "-subj /CN=localhost -keyout " + c.serverKey + " -out " + csr);
    writeFile(ext, "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n"
                   "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n"
                   "extendedKeyUsage=serverAuth\n");
    run("openssl x509 -req -in " + csr + " -CA " + c.caFile + " -CAkey " + caKey +
        " -CAcreateserial -days 2 -extfile " + ext + " -out " + c.serverCert);
    return c;
}

const TestCerts& sharedTestCerts()
{
    static std::unique_ptr<TempDir> dir = std::make_unique<TempDir>();
    static const TestCerts certs = TestCerts::generate(dir->path());
    return certs;
}

sim::SimulatorOptions tlsSimulatorOptions()
{
    sim::SimulatorOptions options;
    options.tlsCertFile = sharedTestCerts().serverCert;
    options.tlsKeyFile = sharedTestCerts().serverKey;
    return options;
}

} // namespace rotator::test
