"""Sealing keys: generation, certificates (bad, expired, not RSA), the local key directory (private
modes, newest first, rotation keeping old keys), and the Secrets ``seal`` refuses (testdata table)."""

from __future__ import annotations

import datetime
import stat
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from gitloop.sealing import (
    KeyDirectory,
    SealingError,
    SealingKey,
    certificate_of,
    fingerprint,
    generate_key,
    seal,
    unseal,
)
from gitloop.spec.yaml import load_one, read_text

BAD_SECRETS = {
    row["case"]: row
    for row in load_one(
        read_text(Path(__file__).parent / "testdata" / "bad-secrets.yaml"), source="bad-secrets"
    )
}


@pytest.mark.parametrize("case", sorted(BAD_SECRETS))
def test_seal_refuses_bad_secrets(case: str, new_key: SealingKey) -> None:
    row = BAD_SECRETS[case]
    with pytest.raises(SealingError) as raised:
        seal(row["secret"], new_key.certificate_pem, scope=row.get("scope"))
    assert str(raised.value) == row["error"]
    assert raised.value.exit_code == 2
    assert "pw-" not in str(raised.value)


def test_generated_key_is_private_in_repr_and_certified(new_key: SealingKey) -> None:
    assert b"PRIVATE KEY" in new_key.private_key_pem
    assert "PRIVATE" not in repr(new_key)
    public = certificate_of(new_key.certificate_pem)
    assert public.key_size == 2048
    assert public.public_numbers() == new_key.private_key().public_key().public_numbers()
    assert new_key.name == "sealed-secrets-key-new"
    assert generate_key(bits=2048).name.startswith("sealed-secrets-key")
    assert len(fingerprint(new_key.certificate_pem).split(":")) == 32


@pytest.mark.parametrize(("bits", "days", "field"), [(1024, 10, "bits"), (2048, 0, "days")])
def test_generate_key_refuses_weak_parameters(bits: int, days: int, field: str) -> None:
    with pytest.raises(SealingError) as raised:
        generate_key(bits=bits, days=days)
    assert raised.value.field == field


def _certificate(key: Any, *, days: int) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test")])
    now = datetime.datetime.now(tz=datetime.UTC)
    start, end = (now - datetime.timedelta(days=10), now + datetime.timedelta(days=days))
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(start)
        .not_valid_after(end)
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM)


def test_certificate_of_refuses_bad_expired_and_non_rsa(new_key: SealingKey) -> None:
    with pytest.raises(SealingError, match=r"^cert\.pem: not a PEM certificate$"):
        certificate_of(b"-----BEGIN CERTIFICATE-----\nnot base64\n", source="cert.pem")
    expired = _certificate(new_key.private_key(), days=-1)
    with pytest.raises(SealingError, match=r"^old\.pem: the certificate expired at "):
        certificate_of(expired, source="old.pem")
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "a"}, "stringData": {"a": "pw-x"}}
    with pytest.raises(SealingError, match="expired"):
        seal(secret, expired)
    elliptic = _certificate(ec.generate_private_key(ec.SECP256R1()), days=10)
    with pytest.raises(SealingError, match="not an RSA key"):
        certificate_of(elliptic)


def test_key_directory_is_private_and_rotates_keeping_old_keys(tmp_path: Path) -> None:
    directory = KeyDirectory(tmp_path / "state" / "sealing-keys")
    assert directory.keys() == []
    first = directory.ensure(bits=2048)
    assert directory.ensure(bits=2048) == first
    assert stat.S_IMODE(directory.path.stat().st_mode) == 0o700
    key_files = list(directory.path.glob("*.key"))
    assert len(key_files) == 1 and stat.S_IMODE(key_files[0].stat().st_mode) == 0o600
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "namespace": "prod"}}
    sealed = seal({**secret, "stringData": {"password": "pw-before-rotation"}}, first.certificate_pem)
    second = directory.rotate(bits=2048)
    ring = directory.keys()
    assert [key.name for key in ring] == [second.name, first.name]
    assert directory.ensure(bits=2048).name == second.name
    assert all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in directory.path.glob("*.key"))
    reread = KeyDirectory(directory.path).keys()
    assert [(k.name, k.private_key_pem, k.certificate_pem) for k in reread] == [
        (k.name, k.private_key_pem, k.certificate_pem) for k in (second, first)
    ]
    assert unseal(sealed, reread, namespace="prod")["data"]["password"] == "cHctYmVmb3JlLXJvdGF0aW9u"


def test_a_key_is_never_overwritten(tmp_path: Path, new_key: SealingKey) -> None:
    directory = KeyDirectory(tmp_path)
    directory.add(new_key)
    with pytest.raises(
        SealingError, match=r"sealed-secrets-key-new\.key: cannot store the key pair: File exists"
    ):
        directory.add(new_key)


def test_key_directory_names_a_stray_file(tmp_path: Path) -> None:
    (tmp_path / "notes.key").write_text("x")
    with pytest.raises(SealingError, match=r"notes\.key: not named <created-ns>-<name>\.key"):
        KeyDirectory(tmp_path).keys()


def test_a_broken_private_key_is_named(tmp_path: Path, new_key: SealingKey) -> None:
    broken = SealingKey("sealed-secrets-key-broken", b"garbage", new_key.certificate_pem, 1.0)
    sealed = seal(
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "a"}, "stringData": {"a": "pw-y"}},
        new_key.certificate_pem,
    )
    with pytest.raises(SealingError, match="key/sealed-secrets-key-broken: not a readable"):
        unseal(sealed, [broken], namespace="default")
