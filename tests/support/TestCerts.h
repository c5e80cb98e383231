#pragma once

#include <string>

#include "rotator/sim/Simulator.h"

namespace rotator::test
{

/// A throw-away CA and a server certificate for 127.0.0.1 / localhost / ::1, generated with
/// the `openssl` command into `dir` at test time (nothing is committed). A second, unrelated
/// CA is made too, for "untrusted certificate" tests.
struct TestCerts
{
    std::string caFile;        ///< PEM of the CA that signed the server certificate
    std::string caKey;         ///< its key, to sign more certificates (rsaServerCertificate)
    std::string serverCert;    ///< PEM
    std::string serverKey;     ///< PEM, mode 0600
    std::string otherCaFile;   ///< a CA that did not sign anything we serve

    /// Generates once per directory; throws with openssl's stderr on failure.
    static TestCerts generate(const std::string& dir);
};

/// Shared certificates for the whole test binary (generated on first use).
const TestCerts& sharedTestCerts();

/// A certificate and key pair in PEM files.
struct CertificatePair
{
    std::string cert;
    std::string key;
};

/// A server certificate like sharedTestCerts()'s, signed by the same CA, but with an RSA-2048
/// key: DHE-RSA suites need one (no DHE suite authenticates with ECDSA). Generated on first use
/// only, as an RSA key takes a while.
const CertificatePair& rsaServerCertificate();

/// Simulator options serving TLS with the shared certificates (everything else default).
sim::SimulatorOptions tlsSimulatorOptions();

} // namespace rotator::test
