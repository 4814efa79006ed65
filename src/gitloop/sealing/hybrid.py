"""The kubeseal wire format of one sealed value: hybrid RSA-OAEP / AES-256-GCM encryption.

A value is sealed with a fresh 32-byte AES-256-GCM session key under an all-zero nonce (safe because
the key is used once); the session key is wrapped with RSA-OAEP (SHA-256) under the scope's label. The
sealed bytes are the wrapped key's length as two big-endian bytes, the wrapped key, then the AES-GCM
ciphertext with its tag. The label binds a value to where it may be unsealed: ``<namespace>/<name>``
(strict), ``<namespace>`` (namespace-wide) or nothing (cluster-wide).
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

SCOPES = ("strict", "namespace-wide", "cluster-wide")
"""The scopes a value may be sealed with, narrowest first."""

_SESSION_KEY_BYTES = 32
_NONCE = bytes(12)  # the format's zero nonce: every session key encrypts exactly one value


class HybridError(ValueError):
    """Sealed bytes that do not decrypt with a key; the message is a reason, never any plaintext."""


def scope_label(scope: str, *, namespace: str, name: str) -> bytes:
    """The OAEP label binding a value to its scope."""
    if scope == "strict":
        return f"{namespace}/{name}".encode()
    if scope == "namespace-wide":
        return namespace.encode()
    if scope == "cluster-wide":
        return b""
    raise ValueError(f"unknown scope {scope!r} (expected one of {', '.join(SCOPES)})")


def _oaep(label: bytes) -> padding.OAEP:
    # An empty label is no label, as Go's rsa.EncryptOAEP treats a nil one.
    return padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=label or None)


def encrypt(public_key: RSAPublicKey, plaintext: bytes, label: bytes) -> bytes:
    """``plaintext`` sealed for ``public_key`` under ``label``."""
    session_key = os.urandom(_SESSION_KEY_BYTES)
    wrapped = public_key.encrypt(session_key, _oaep(label))
    sealed = AESGCM(session_key).encrypt(_NONCE, plaintext, None)
    return len(wrapped).to_bytes(2, "big") + wrapped + sealed


def decrypt(private_key: RSAPrivateKey, sealed: bytes, label: bytes) -> bytes:
    """The plaintext of ``sealed``; ``HybridError`` when it is truncated or does not decrypt with this
    key and label (the two cannot be told apart: that is what OAEP is for)."""
    if len(sealed) < 2:
        raise HybridError("too short to hold the wrapped key's length")
    size = int.from_bytes(sealed[:2], "big")
    if len(sealed) < 2 + size:
        raise HybridError(f"too short: the wrapped key needs {size} bytes, {len(sealed) - 2} follow")
    wrapped, body = sealed[2 : 2 + size], sealed[2 + size :]
    try:
        session_key = private_key.decrypt(wrapped, _oaep(label))
    except ValueError as exc:
        raise HybridError("the session key does not decrypt with this key and scope") from exc
    if len(session_key) != _SESSION_KEY_BYTES:
        raise HybridError(f"the session key has {len(session_key)} bytes, not {_SESSION_KEY_BYTES}")
    try:
        return AESGCM(session_key).decrypt(_NONCE, body, None)
    except InvalidTag as exc:
        raise HybridError("the value's ciphertext does not authenticate") from exc
