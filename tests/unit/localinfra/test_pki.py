"""The generated PKI: the serving certificate chains to the CA and names 127.0.0.1; keys are private."""

from __future__ import annotations

import ipaddress
import stat
from pathlib import Path

from cryptography import x509

from gitloop.localinfra import pki


def test_generate_pki(tmp_path: Path) -> None:
    files = pki.generate(tmp_path / "pki", "t")
    assert files.complete()
    ca = x509.load_pem_x509_certificate(files.ca_cert.read_bytes())
    serving = x509.load_pem_x509_certificate(files.serving_cert.read_bytes())
    serving.verify_directly_issued_by(ca)
    sans = serving.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert ipaddress.ip_address("127.0.0.1") in sans.get_values_for_type(x509.IPAddress)
    assert "kubernetes.default.svc" in sans.get_values_for_type(x509.DNSName)
    for key in (files.ca_key, files.serving_key, files.sa_key):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert b"PUBLIC KEY" in files.sa_pub.read_bytes()
