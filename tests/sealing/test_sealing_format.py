"""Sealing and unsealing, table-driven from testdata/: scopes, template metadata, key rings, damaged
values; and the wire format checked against an implementation written here from its description."""

from __future__ import annotations

import base64
import copy
import os
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gitloop.sealing import SealingError, SealingKey, certificate_of, seal, seal_value, unseal
from gitloop.spec.yaml import load_one, read_text

TESTDATA = Path(__file__).parent / "testdata"


def _rows(name: str) -> dict[str, dict[str, Any]]:
    rows = load_one(read_text(TESTDATA / name), source=name)
    return {row["case"]: row for row in rows}


SCOPE_CASES = _rows("scopes.yaml")
CORRUPTED = _rows("corrupted.yaml")


def _secret(body: dict[str, Any]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Secret", **copy.deepcopy(body)}


def _plaintexts(row: dict[str, Any]) -> list[str]:
    secret = row["secret"]
    values = [str(v) for v in (secret.get("stringData") or {}).values()]
    return values + [base64.b64decode(v).decode() for v in (secret.get("data") or {}).values()]


@pytest.mark.parametrize("case", sorted(SCOPE_CASES))
def test_scopes_and_templates(case: str, old_key: SealingKey, new_key: SealingKey) -> None:
    row = SCOPE_CASES[case]
    sealed = seal(_secret(row["secret"]), new_key.certificate_pem, scope=row.get("scope"))
    rendered = str(sealed)
    assert all(value not in rendered for value in _plaintexts(row)), "plaintext in the SealedSecret"
    assert "last-applied-configuration" not in rendered
    if row.get("rename"):
        sealed["metadata"]["name"] = row["rename"]
    if "error" in row:
        with pytest.raises(SealingError) as raised:
            unseal(sealed, [old_key, new_key], namespace=row["applyIn"])
        assert row["error"] in str(raised.value)
        assert all(value not in str(raised.value) for value in _plaintexts(row))
        return
    secret = unseal(sealed, [old_key, new_key], namespace=row["applyIn"])
    expect = row["expect"]
    assert secret["apiVersion"] == "v1" and secret["kind"] == "Secret"
    assert secret["metadata"]["name"] == expect["name"]
    assert secret["metadata"]["namespace"] == expect["namespace"]
    assert secret["metadata"].get("labels") == expect.get("labels")
    assert secret["metadata"].get("annotations") == expect.get("annotations")
    assert secret["type"] == expect["type"]
    assert secret.get("immutable") == expect.get("immutable")
    assert {k: base64.b64decode(v).decode() for k, v in secret["data"].items()} == expect["data"]


@pytest.mark.parametrize("case", sorted(CORRUPTED))
def test_damaged_values_are_refused_without_plaintext(case: str, new_key: SealingKey) -> None:
    row = CORRUPTED[case]
    plaintext = f"pw-{case}"
    secret = _secret({"metadata": {"name": "db", "namespace": "prod"}, "stringData": {"password": plaintext}})
    sealed = seal(secret, new_key.certificate_pem)
    damaged = base64.b64encode(bytes.fromhex(row["hex"])).decode() if "hex" in row else row["value"]
    sealed["spec"]["encryptedData"]["password"] = damaged
    with pytest.raises(SealingError) as raised:
        unseal(sealed, [new_key], namespace="prod")
    message = str(raised.value)
    assert message.startswith("SealedSecret/prod/db: spec.encryptedData.password: ")
    assert row["error"] in message
    assert plaintext not in message


def test_a_truncated_ciphertext_does_not_authenticate(new_key: SealingKey) -> None:
    value = seal_value(b"pw-truncated", new_key.certificate_pem, namespace="prod", name="db", scope="strict")
    raw = base64.b64decode(value)
    sealed = _sealed({"password": base64.b64encode(raw[:-1]).decode()})
    with pytest.raises(SealingError, match="no key could decrypt it") as raised:
        unseal(sealed, [new_key], namespace="prod")
    assert "pw-truncated" not in str(raised.value)


def _sealed(encrypted: dict[str, str], annotations: dict[str, str] | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": "db", "namespace": "prod"}
    if annotations:
        metadata["annotations"] = annotations
    return {
        "apiVersion": "bitnami.com/v1alpha1",
        "kind": "SealedSecret",
        "metadata": metadata,
        "spec": {"encryptedData": encrypted, "template": {"metadata": {"name": "db"}}},
    }


def test_key_ring_newest_first_and_old_keys_still_unseal(
    old_key: SealingKey, new_key: SealingKey, stranger_key: SealingKey
) -> None:
    secret = _secret({"metadata": {"name": "db", "namespace": "prod"}, "stringData": {"password": "pw-ring"}})
    by_old = seal(secret, old_key.certificate_pem)
    by_new = seal(secret, new_key.certificate_pem)
    for sealed in (by_old, by_new):
        for ring in ([old_key, new_key], [new_key, old_key]):
            assert (
                unseal(sealed, ring, namespace="prod")["data"]["password"]
                == base64.b64encode(b"pw-ring").decode()
            )
    with pytest.raises(SealingError, match=r"no key could decrypt it \(tried 1 key, strict scope\)"):
        unseal(by_old, [new_key], namespace="prod")
    with pytest.raises(SealingError, match=r"tried 2 keys"):
        unseal(by_new, [old_key, stranger_key], namespace="prod")


def _independent_encrypt(
    certificate_pem: bytes, plaintext: bytes, label: bytes, *, key_bytes: int = 32
) -> str:
    """The format as sealed-secrets' docs describe it, written here apart from gitloop.sealing: a fresh
    32-byte AES-256-GCM key seals the value under a zero 12-byte nonce; RSA-OAEP(SHA-256) with the
    scope's label wraps that key; the output is the wrapped key's length (uint16, big-endian), the
    wrapped key and the AES-GCM output, in standard base64."""
    public_key = certificate_of(certificate_pem)
    session = os.urandom(key_bytes)
    oaep = padding.OAEP(
        mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=label or None
    )
    wrapped = public_key.encrypt(session, oaep)
    body = AESGCM(session).encrypt(b"\x00" * 12, plaintext, None)
    blob = bytes([len(wrapped) >> 8, len(wrapped) & 0xFF]) + wrapped + body
    return base64.standard_b64encode(blob).decode("ascii")


def _independent_decrypt(key: SealingKey, value: str, label: bytes) -> bytes:
    blob = base64.standard_b64decode(value)
    size = blob[0] * 256 + blob[1]
    oaep = padding.OAEP(
        mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=label or None
    )
    session = key.private_key().decrypt(blob[2 : 2 + size], oaep)
    return AESGCM(session).decrypt(b"\x00" * 12, blob[2 + size :], None)


LABELS = [
    ("strict", {}, b"prod/db"),
    ("namespace-wide", {"sealedsecrets.bitnami.com/namespace-wide": "true"}, b"prod"),
    ("cluster-wide", {"sealedsecrets.bitnami.com/cluster-wide": "true"}, b""),
]


@pytest.mark.parametrize(("scope", "annotations", "label"), LABELS)
def test_unseals_values_from_an_independent_encryptor(
    scope: str, annotations: dict[str, str], label: bytes, new_key: SealingKey
) -> None:
    value = _independent_encrypt(new_key.certificate_pem, b"pw-independent \x00\xff", label)
    secret = unseal(_sealed({"token": value}, annotations), [new_key], namespace="prod")
    assert base64.b64decode(secret["data"]["token"]) == b"pw-independent \x00\xff"


@pytest.mark.parametrize(("scope", "annotations", "label"), LABELS)
def test_sealed_values_open_with_an_independent_decryptor(
    scope: str, annotations: dict[str, str], label: bytes, new_key: SealingKey
) -> None:
    value = seal_value(b"pw-raw", new_key.certificate_pem, namespace="prod", name="db", scope=scope)
    assert _independent_decrypt(new_key, value, label) == b"pw-raw"
    secret = unseal(_sealed({"token": value}, annotations), [new_key], namespace="prod")
    assert base64.b64decode(secret["data"]["token"]) == b"pw-raw"


def test_a_session_key_that_is_not_aes_256_is_refused(new_key: SealingKey) -> None:
    value = _independent_encrypt(new_key.certificate_pem, b"pw-aes128", b"prod/db", key_bytes=16)
    with pytest.raises(SealingError, match="no key could decrypt it") as raised:
        unseal(_sealed({"token": value}), [new_key], namespace="prod")
    assert "pw-aes128" not in str(raised.value)
