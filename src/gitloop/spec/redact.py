"""Secret material out of what gitloop keeps and shows: Secret manifests redacted, secret values masked.

``redact_object`` turns a parsed ``Secret`` into what may be stored: its key names stay, every
value of ``data`` and ``stringData`` becomes ``REDACTED``, the ``last-applied-configuration``
annotation (a full copy) goes, and the annotation ``REDACTED_HASH`` holds a sha256 over the Secret's
content, so two runs can tell whether they used the same Secret without keeping it. A redacted Secret is
not valid input again (``<redacted>`` is not base64): running again needs the real Secret. In every
object, a password inside a URL (``https://user:PASSWORD@host/...``, as a ``resolver: git`` URL may
carry one) becomes ``***`` (``redact_url_passwords``, ``redact_strings``). ``redacted_yaml`` renders a
file's objects that way.

``SecretMask`` blanks known secret values out of text (step output): each value as given, URL-encoded
and base64-encoded, and each long enough line of a multi-line value (an SSH key printed line by line),
and any password inside a URL.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, quote_plus

import yaml

from gitloop.errors import UsageError

REDACTED = "<redacted>"
"""What stands for every value of a Secret's ``data`` and ``stringData`` in a stored copy."""
REDACTED_HASH = "gitloop.dev/redacted-sha256"
"""Annotation of a redacted Secret: sha256 (hex) over its keys and values, for identity only."""
MASK = "***"
"""What stands for a secret value in step output."""
MIN_MASKED = 4
"""Values (and lines of multi-line values) shorter than this are not masked: masking ``a`` or ``1``
everywhere would destroy every log and protect nothing."""

_SECRET_FIELDS = ("data", "stringData")
_URL_PASSWORD = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*://[^/?#@\s:]*:)[^/?#@\s]+@")
_LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def is_secret(body: Mapping[str, Any]) -> bool:
    """Whether ``body`` is a Secret, of any ``apiVersion`` (a List's items are separate objects)."""
    return body.get("kind") == "Secret"


def content_hash(body: Mapping[str, Any]) -> str:
    """sha256 (hex) over a Secret's ``type`` and its ``data``/``stringData`` keys and values."""
    digest = hashlib.sha256()
    digest.update(str(body.get("type", "")).encode())
    for section in _SECRET_FIELDS:
        values = body.get(section)
        if not isinstance(values, Mapping):
            continue
        for key in sorted(values, key=str):
            digest.update(f"\0{section}\0{key}\0{values[key]}".encode())
    return digest.hexdigest()


def redact_object(body: Mapping[str, Any]) -> dict[str, Any]:
    """``body`` as plain data, a Secret's values replaced by ``REDACTED`` (see the module)."""
    out: dict[str, Any] = dict(redact_strings(_plain(body)))
    if not is_secret(body):
        return out
    for section in _SECRET_FIELDS:
        values = out.get(section)
        if isinstance(values, dict):
            out[section] = {str(key): REDACTED for key in values}
    metadata = out.get("metadata")
    if not isinstance(metadata, dict):
        metadata = out["metadata"] = {}
    annotations = metadata.get("annotations")
    kept = (
        {k: v for k, v in annotations.items() if k != _LAST_APPLIED} if isinstance(annotations, dict) else {}
    )
    kept[REDACTED_HASH] = content_hash(body)
    metadata["annotations"] = kept
    return out


def redacted_yaml(bodies: Iterable[Mapping[str, Any]]) -> str:
    """The objects of one file as a YAML stream, every Secret redacted."""
    return yaml.safe_dump_all(
        (redact_object(body) for body in bodies),
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
    )


def redact_url_passwords(text: str) -> str:
    """``text`` with the password of every ``scheme://user:password@`` replaced by ``MASK``."""
    return _URL_PASSWORD.sub(lambda m: f"{m.group('head')}{MASK}@", text) if "@" in text else text


def redact_strings(value: Any) -> Any:
    """Plain data (``dict``/``list``/scalars) with ``redact_url_passwords`` applied to every string;
    ``value`` itself when no string of it can hold one (every run record is written through here, so the
    common case costs one C-speed JSON encoding instead of a walk in Python)."""
    if not isinstance(value, str) and not _may_hold_url_password(value):
        return value
    return _redact_strings(value)


def refuse_url_passwords(what: str, doc: Any) -> None:
    """``UsageError`` for ``what`` (``"Application web"``) when ``doc`` holds a password in a URL: it is
    about to be kept in the store, which never holds one."""
    if redact_strings(doc) != doc:
        raise UsageError(
            f"{what}: a repository URL holds a password, and objects created through the API are kept in "
            "the store, which never holds one: give the repository's credentials in the serve config's "
            "repositories: (passwordFile) instead"
        )


def keep_masked(given: Any, stored: Any) -> Any:
    """``given`` with every string that is the masked form (``redact_url_passwords``) of the ``stored``
    string at the same place replaced by the stored one: a document shown masked and sent back (a GET,
    changed, then PUT) keeps its real passwords. Any other string is kept as given."""
    if isinstance(given, str):
        if isinstance(stored, str) and MASK in given and given == redact_url_passwords(stored):
            return stored
        return given
    if isinstance(given, dict):
        known = stored if isinstance(stored, Mapping) else {}
        return {k: keep_masked(v, known.get(k)) for k, v in given.items()}
    if isinstance(given, list):
        known_items = stored if isinstance(stored, list) else []
        return [keep_masked(v, known_items[i] if i < len(known_items) else None) for i, v in enumerate(given)]
    return given


def has_masked_password(value: Any) -> bool:
    """Whether a string of ``value`` holds a URL whose password is the mask itself."""
    return f":{MASK}@" in json.dumps(value, ensure_ascii=False, default=str)


def _may_hold_url_password(value: Any) -> bool:
    """False only when no string in ``value`` contains both ``://`` and ``@`` (JSON escapes neither)."""
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return True
    return "://" in text and "@" in text


def _redact_strings(value: Any) -> Any:
    if isinstance(value, str):
        return redact_url_passwords(value)
    if isinstance(value, dict):
        return {k: _redact_strings(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_strings(v) for v in value]
    return value


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def secret_forms(secret: str) -> set[str]:
    """The ways ``secret`` shows up in text: as given, URL-encoded (path, component and form) and
    base64-encoded (standard and URL-safe)."""
    if not secret:
        return set()
    raw = secret.encode("utf-8")
    return {
        secret,
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret),
        base64.b64encode(raw).decode(),
        base64.urlsafe_b64encode(raw).decode(),
    }


class SecretMask:
    """Replaces known secret values in text with ``MASK`` (see the module)."""

    def __init__(self, values: Iterable[str | bytes] = ()) -> None:
        forms: set[str] = set()
        for value in values:
            text = value.decode("utf-8", errors="replace") if isinstance(value, bytes) else value
            pieces = [text.strip(), *(line.strip() for line in text.splitlines())]
            for piece in pieces:
                if len(piece) >= MIN_MASKED:
                    forms.update(secret_forms(piece))
        # Longest first, so a value containing another is masked whole.
        self._forms = sorted((f for f in forms if len(f) >= MIN_MASKED), key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for form in self._forms:
            if form in text:
                text = text.replace(form, MASK)
        return redact_url_passwords(text)
