"""Sealing a v1 Secret into a ``bitnami.com/v1alpha1`` SealedSecret and unsealing it back, as kubeseal
and the sealed-secrets controller do.

The scope of a SealedSecret is written in its own ``metadata.annotations``
(``sealedsecrets.bitnami.com/namespace-wide`` or ``…/cluster-wide`` set to ``"true"``; neither is
strict); ``spec.template`` carries the Secret's metadata (labels, annotations) and type. Errors name
``Secret/<ns>/<name>`` or ``SealedSecret/<ns>/<name>`` and the field; no message ever holds plaintext.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Sequence
from typing import Any

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from gitloop.errors import SealingError
from gitloop.sealing import hybrid
from gitloop.sealing.hybrid import SCOPES
from gitloop.sealing.keys import SealingKey, certificate_of

API_VERSION = "bitnami.com/v1alpha1"
KIND = "SealedSecret"
NAMESPACE_WIDE = "sealedsecrets.bitnami.com/namespace-wide"
CLUSTER_WIDE = "sealedsecrets.bitnami.com/cluster-wide"
_LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"  # holds the plaintext: never copied
_DATA_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")


def scope_of(annotations: Mapping[str, Any] | None) -> str:
    """The scope the scope annotations say; strict when neither is ``"true"``."""
    annotations = annotations or {}
    if str(annotations.get(CLUSTER_WIDE, "")).lower() == "true":
        return "cluster-wide"
    if str(annotations.get(NAMESPACE_WIDE, "")).lower() == "true":
        return "namespace-wide"
    return "strict"


def _scope_annotations(annotations: Mapping[str, Any], scope: str) -> dict[str, Any]:
    kept = {k: v for k, v in annotations.items() if k not in (NAMESPACE_WIDE, CLUSTER_WIDE, _LAST_APPLIED)}
    if scope == "namespace-wide":
        kept[NAMESPACE_WIDE] = "true"
    elif scope == "cluster-wide":
        kept[CLUSTER_WIDE] = "true"
    return kept


def _mapping(value: Any, obj: str, field: str) -> Mapping[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise SealingError(f"must be a mapping, not {type(value).__name__}", obj=obj, field=field)
    return value


def _check_scope(scope: str, obj: str) -> None:
    if scope not in SCOPES:
        raise SealingError(
            f"unknown scope {scope!r} (expected one of {', '.join(SCOPES)})", obj=obj, field="scope"
        )


def _data_key(key: Any, obj: str, field: str) -> str:
    if not isinstance(key, str) or not _DATA_KEY.match(key):
        raise SealingError(
            "a key must consist of alphanumerics, '-', '_' or '.'", obj=obj, field=f"{field}.{key}"
        )
    return key


def _plaintexts(secret: Mapping[str, Any], obj: str) -> dict[str, bytes]:
    values: dict[str, bytes] = {}
    for key, value in _mapping(secret.get("data"), obj, "data").items():
        field = f"data.{_data_key(key, obj, 'data')}"
        if not isinstance(value, str):
            raise SealingError("must be a base64 string", obj=obj, field=field)
        try:
            values[key] = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise SealingError("not valid base64", obj=obj, field=field) from exc
    for key, value in _mapping(secret.get("stringData"), obj, "stringData").items():
        field = f"stringData.{_data_key(key, obj, 'stringData')}"
        if not isinstance(value, str):
            raise SealingError("must be a string", obj=obj, field=field)
        values[key] = value.encode()  # stringData wins over data, as the API server merges them
    return values


def seal(
    secret: Mapping[str, Any],
    certificate_pem: bytes,
    *,
    scope: str | None = None,
    default_namespace: str = "default",
) -> dict[str, Any]:
    """A v1 Secret sealed into a SealedSecret for the certificate's key. The scope comes from
    ``scope``, else from the Secret's scope annotations, else strict; a Secret without a namespace is
    sealed for ``default_namespace``, as kubeseal uses the current namespace."""
    if secret.get("apiVersion") != "v1" or secret.get("kind") != "Secret":
        found = f"{secret.get('apiVersion')}/{secret.get('kind')}"
        raise SealingError(f"expected a v1 Secret, found {found}", field="kind")
    metadata = _mapping(secret.get("metadata"), "Secret", "metadata")
    name, namespace = metadata.get("name"), metadata.get("namespace") or default_namespace
    if not isinstance(name, str) or not name:
        raise SealingError("a Secret to seal needs a name", obj="Secret", field="metadata.name")
    obj = f"Secret/{namespace}/{name}"
    if not isinstance(namespace, str):
        raise SealingError("must be a string", obj=obj, field="metadata.namespace")
    annotations = _mapping(metadata.get("annotations"), obj, "metadata.annotations")
    scope = scope or scope_of(annotations)
    _check_scope(scope, obj)
    public_key = certificate_of(certificate_pem)
    label = hybrid.scope_label(scope, namespace=namespace, name=name)
    encrypted = {
        key: base64.b64encode(hybrid.encrypt(public_key, value, label)).decode()
        for key, value in sorted(_plaintexts(secret, obj).items())
    }
    template_metadata: dict[str, Any] = {"name": name, "namespace": namespace}
    labels = _mapping(metadata.get("labels"), obj, "metadata.labels")
    if labels:
        template_metadata["labels"] = dict(labels)
    template_annotations = _scope_annotations(annotations, scope)
    if template_annotations:
        template_metadata["annotations"] = template_annotations
    template: dict[str, Any] = {"metadata": template_metadata}
    if secret.get("type"):
        template["type"] = secret["type"]
    if secret.get("immutable") is not None:
        template["immutable"] = secret["immutable"]
    sealed_metadata: dict[str, Any] = {"name": name, "namespace": namespace}
    if scope != "strict":
        sealed_metadata["annotations"] = _scope_annotations({}, scope)
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": sealed_metadata,
        "spec": {"encryptedData": encrypted, "template": template},
    }


def seal_value(value: bytes, certificate_pem: bytes, *, namespace: str, name: str, scope: str) -> str:
    """One value sealed for ``encryptedData`` (kubeseal ``--raw``); a strict value needs the name and
    namespace of its SealedSecret, a namespace-wide one its namespace."""
    _check_scope(scope, "value")
    if scope != "cluster-wide" and not namespace:
        raise SealingError(f"a {scope} value needs the namespace it is sealed for", field="namespace")
    if scope == "strict" and not name:
        raise SealingError("a strict value needs the name of its SealedSecret", field="name")
    label = hybrid.scope_label(scope, namespace=namespace, name=name)
    return base64.b64encode(hybrid.encrypt(certificate_of(certificate_pem), value, label)).decode()


def _decrypt(ciphertext: bytes, keys: Sequence[tuple[str, RSAPrivateKey]], label: bytes) -> bytes | None:
    for _name, private_key in keys:
        try:
            return hybrid.decrypt(private_key, ciphertext, label)
        except hybrid.HybridError:
            continue
    return None


def _refusal(
    ciphertext: bytes,
    keys: Sequence[tuple[str, RSAPrivateKey]],
    scope: str,
    declared: tuple[str, str],
    namespace: str,
    name: str,
) -> str:
    """Why no key decrypted: a truncated value, a value bound to another namespace or (strict) name —
    the ones the SealedSecret and its template declare —, or no matching key."""
    if len(ciphertext) < 2 or len(ciphertext) < 2 + int.from_bytes(ciphertext[:2], "big"):
        return "bad length: the value is shorter than its wrapped key"
    other_namespace, other_name = declared
    if scope != "cluster-wide" and other_namespace and other_namespace != namespace:
        label = hybrid.scope_label(scope, namespace=other_namespace, name=name)
        if _decrypt(ciphertext, keys, label) is not None:
            return f"sealed for namespace {other_namespace} ({scope} scope), applied in {namespace}"
    if scope == "strict" and other_name and other_name != name:
        label = hybrid.scope_label(scope, namespace=namespace, name=other_name)
        if _decrypt(ciphertext, keys, label) is not None:
            return f"sealed for the name {other_name} (strict scope), applied as {name}"
    return f"no key could decrypt it (tried {len(keys)} key{'s' if len(keys) != 1 else ''}, {scope} scope)"


def unseal(sealed: Mapping[str, Any], keys: Sequence[SealingKey], *, namespace: str) -> dict[str, Any]:
    """The v1 Secret a SealedSecret describes once applied in ``namespace``: named after the
    SealedSecret, with ``spec.template``'s labels, annotations and type, ``data`` in base64. Keys are
    tried newest first."""
    metadata = _mapping(sealed.get("metadata"), KIND, "metadata")
    name = metadata.get("name")
    obj = f"{KIND}/{namespace}/{name}"
    if sealed.get("apiVersion") != API_VERSION or sealed.get("kind") != KIND:
        found = f"{sealed.get('apiVersion')}/{sealed.get('kind')}"
        raise SealingError(f"expected {API_VERSION} {KIND}, found {found}", obj=obj, field="kind")
    if not isinstance(name, str) or not name:
        raise SealingError("a SealedSecret needs a name", obj=obj, field="metadata.name")
    spec = _mapping(sealed.get("spec"), obj, "spec")
    if spec.get("data"):
        raise SealingError(
            "the pre-v0.6 single-blob format is not supported; reseal it", obj=obj, field="spec.data"
        )
    template = _mapping(spec.get("template"), obj, "spec.template")
    template_metadata = _mapping(template.get("metadata"), obj, "spec.template.metadata")
    declared = (
        str(metadata.get("namespace") or template_metadata.get("namespace") or ""),
        str(template_metadata.get("name") or ""),
    )
    scope = scope_of(_mapping(metadata.get("annotations"), obj, "metadata.annotations"))
    label = hybrid.scope_label(scope, namespace=namespace, name=name)
    ring = [(key.name, key.private_key()) for key in sorted(keys, key=lambda k: k.created, reverse=True)]
    data: dict[str, str] = {}
    for key, value in sorted(_mapping(spec.get("encryptedData"), obj, "spec.encryptedData").items()):
        field = f"spec.encryptedData.{_data_key(key, obj, 'spec.encryptedData')}"
        if not isinstance(value, str):
            raise SealingError("must be a base64 string", obj=obj, field=field)
        try:
            ciphertext = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise SealingError("bad base64", obj=obj, field=field) from exc
        plaintext = _decrypt(ciphertext, ring, label)
        if plaintext is None:
            raise SealingError(
                _refusal(ciphertext, ring, scope, declared, namespace, name), obj=obj, field=field
            )
        data[key] = base64.b64encode(plaintext).decode()
    return _secret(spec, obj, name, namespace, data)


def _secret(
    spec: Mapping[str, Any], obj: str, name: str, namespace: str, data: dict[str, str]
) -> dict[str, Any]:
    template = _mapping(spec.get("template"), obj, "spec.template")
    template_metadata = _mapping(template.get("metadata"), obj, "spec.template.metadata")
    metadata: dict[str, Any] = {"name": name, "namespace": namespace}
    for part in ("labels", "annotations"):
        values = _mapping(template_metadata.get(part), obj, f"spec.template.metadata.{part}")
        if values:
            metadata[part] = {str(k): str(v) for k, v in values.items()}
    for key, value in _mapping(template.get("data"), obj, "spec.template.data").items():
        field = f"spec.template.data.{_data_key(key, obj, 'spec.template.data')}"
        if not isinstance(value, str):
            raise SealingError("must be a string", obj=obj, field=field)
        if "{{" in value:
            raise SealingError("Go templates in template data are not supported", obj=obj, field=field)
        data[key] = base64.b64encode(value.encode()).decode()
    secret: dict[str, Any] = {"apiVersion": "v1", "kind": "Secret", "metadata": metadata}
    secret["type"] = template.get("type") or "Opaque"
    if template.get("immutable") is not None:
        secret["immutable"] = bool(template["immutable"])
    secret["data"] = dict(sorted(data.items()))
    return secret
