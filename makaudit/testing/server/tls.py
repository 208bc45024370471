"""Self-signed certificate authority and host certificate for the fleet's HTTPS listeners."""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import os
import ssl
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALIDITY = datetime.timedelta(days=2)


@dataclass(frozen=True)
class FleetCertificates:
    """Paths of the CA bundle, host certificate and key, and the host certificate's channel binding hash."""

    ca_bundle_path: str
    certificate_path: str
    key_path: str
    certificate_hash: bytes
    """Hash of the DER host certificate for tls-server-end-point channel binding (RFC 5929)."""

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        context.load_cert_chain(self.certificate_path, self.key_path)
        return context


def create_certificates(directory: str, addresses: list[str]) -> FleetCertificates:
    """Create a CA and one host certificate valid for ``addresses`` and localhost, written to ``directory``."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "makaudit test fleet CA")])
    ca_certificate = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    host_key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName("localhost")]
    unique = sorted({*addresses, "127.0.0.1", "::1"})
    names += [x509.IPAddress(ipaddress.ip_address(address)) for address in unique]
    host_certificate = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(host_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + VALIDITY)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    ca_path = os.path.join(directory, "fleet-ca.pem")
    certificate_path = os.path.join(directory, "fleet-host.pem")
    key_path = os.path.join(directory, "fleet-host-key.pem")
    _write(ca_path, ca_certificate.public_bytes(serialization.Encoding.PEM))
    _write(certificate_path, host_certificate.public_bytes(serialization.Encoding.PEM))
    _write(
        key_path,
        host_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
    )

    # The certificate is signed with SHA-256, which RFC 5929 also uses for the binding hash.
    der = host_certificate.public_bytes(serialization.Encoding.DER)
    return FleetCertificates(ca_path, certificate_path, key_path, hashlib.sha256(der).digest())


def _write(path: str, data: bytes) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)
