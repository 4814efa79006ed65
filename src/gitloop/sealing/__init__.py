"""Sealed Secrets: the kubeseal format, sealing key pairs and the local key directory.

An adapter: engines never import it. ``seal`` turns a v1 Secret into a ``bitnami.com/v1alpha1``
SealedSecret for a certificate, ``unseal`` turns it back with a ring of private keys (newest first);
``KeyDirectory`` keeps the local mode's keys. See docs/security.md, "Sealed Secrets".
"""

from __future__ import annotations

from gitloop.errors import SealingError
from gitloop.sealing.hybrid import SCOPES
from gitloop.sealing.keys import (
    KEY_NAME_PREFIX,
    KeyDirectory,
    SealingKey,
    certificate_of,
    fingerprint,
    generate_key,
)
from gitloop.sealing.objects import (
    API_VERSION,
    CLUSTER_WIDE,
    KIND,
    NAMESPACE_WIDE,
    scope_of,
    seal,
    seal_value,
    unseal,
)

__all__ = [
    "API_VERSION",
    "CLUSTER_WIDE",
    "KEY_NAME_PREFIX",
    "KIND",
    "NAMESPACE_WIDE",
    "SCOPES",
    "KeyDirectory",
    "SealingError",
    "SealingKey",
    "certificate_of",
    "fingerprint",
    "generate_key",
    "scope_of",
    "seal",
    "seal_value",
    "unseal",
]
