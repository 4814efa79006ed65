"""Webhook signatures: the one place gitloop checks that a request came from whoever holds the secret.

Three forms, each compared in constant time (``hmac.compare_digest``):

- ``<algorithm>=<hex>`` HMAC of the raw body (GitHub's and Gitea's ``X-Hub-Signature-256``, Bitbucket
  Server's ``X-Hub-Signature``); :func:`hmac_problem` says what is wrong with one, if anything;
- a bare hex HMAC-SHA256 of the body (Gitea's ``X-Gitea-Signature``, Gogs' ``X-Gogs-Signature``);
- the secret itself as a token (GitLab's ``X-Gitlab-Token``).

The Tekton interceptors (:mod:`gitloop.triggers.interceptors`) and Argo CD's ``/api/webhook``
(:mod:`gitloop.service.server.pushhooks`) both check with these.
"""

from __future__ import annotations

import hashlib
import hmac
from enum import StrEnum

__all__ = ["DIGESTS", "SignatureProblem", "hex_hmac_matches", "hmac_problem", "sign", "token_matches"]

DIGESTS = {"sha256": hashlib.sha256, "sha512": hashlib.sha512}


class SignatureProblem(StrEnum):
    """Why a signature header does not authenticate its request."""

    MISSING = "missing"
    """No header (or an empty one)."""
    FORM = "form"
    """Not ``<algorithm>=<hex>`` with one of the accepted algorithms."""
    NOT_HEX = "not-hex"
    """The digest is not hexadecimal."""
    MISMATCH = "mismatch"
    """Well formed, but not the HMAC of the body with the secret."""


def sign(body: bytes, secret: bytes, algorithm: str = "sha256") -> str:
    """The signature header value a sender computes: ``sha256=<hex>``."""
    return f"{algorithm}={hmac.new(secret, body, DIGESTS[algorithm]).hexdigest()}"


def hmac_problem(
    value: str, body: bytes, secret: bytes, algorithms: tuple[str, ...] = ("sha256",)
) -> SignatureProblem | None:
    """``None`` when ``value`` (``<algorithm>=<hex>``) is the HMAC of ``body`` with ``secret``, else
    what is wrong with it."""
    if not value:
        return SignatureProblem.MISSING
    algorithm, _, given_hex = value.partition("=")
    if algorithm not in algorithms:
        return SignatureProblem.FORM
    try:
        given = bytes.fromhex(given_hex)
    except ValueError:
        return SignatureProblem.NOT_HEX
    if not hmac.compare_digest(hmac.new(secret, body, DIGESTS[algorithm]).digest(), given):
        return SignatureProblem.MISMATCH
    return None


def hex_hmac_matches(value: str, body: bytes, secret: bytes) -> bool:
    """Whether ``value`` is the bare hex HMAC-SHA256 of ``body`` with ``secret``."""
    try:
        given = bytes.fromhex(value.strip())
    except ValueError:
        return False
    return bool(value) and hmac.compare_digest(hmac.new(secret, body, hashlib.sha256).digest(), given)


def token_matches(token: str, secret: bytes) -> bool:
    """Whether the shared-secret ``token`` is ``secret``."""
    return bool(token) and hmac.compare_digest(token.encode("utf-8", "surrogatepass"), secret)
