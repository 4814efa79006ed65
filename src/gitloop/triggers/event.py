"""One incoming webhook request: headers (case-insensitive, several values each), raw body, URL, time.

Header names are kept in the canonical form Go's ``net/http`` gives them (``X-Github-Event``), which is
the form Tekton's CEL ``header`` map and ``$(header)`` show; lookups accept any case. The ``repr`` of an
event never shows the body or the value of a credential header (``X-Gitlab-Token``, ``Authorization``,
``Cookie``), so logging an event cannot leak a token.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, TypeAlias

from gitloop.errors import GitloopError, InputLimitError
from gitloop.spec.yaml import InputLimits, load_json

CREDENTIAL_HEADERS = frozenset({"Authorization", "Proxy-Authorization", "Cookie", "X-Gitlab-Token"})
"""Headers whose values are secrets: hidden in ``repr`` and left out of ``$(header)``."""
DELIVERY_HEADERS = ("X-Github-Delivery", "X-Gitlab-Event-Uuid", "X-Gitea-Delivery", "X-Gogs-Delivery")
"""Where GitHub, GitLab, Gitea and Gogs put the id of one delivery (the same on a redelivery)."""

_TOKEN = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")

HeaderInput: TypeAlias = Mapping[str, str | Sequence[str]] | Iterable[tuple[str, str]]
"""Headers as a mapping (one value or several per name) or as (name, value) pairs."""


class PayloadError(GitloopError):
    """The request body is not a JSON object gitloop can read (answered with 400)."""


def canonical_header_key(name: str) -> str:
    """``name`` as Go's ``CanonicalMIMEHeaderKey`` writes it: ``x-github-event`` -> ``X-Github-Event``.

    A name with a byte that cannot be in a header name (a space, say) is returned unchanged, as in Go.
    """
    if not name or any(c not in _TOKEN for c in name):
        return name
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))


class Headers(Mapping[str, tuple[str, ...]]):
    """HTTP headers by canonical name, each with its values in the order received."""

    __slots__ = ("_values",)

    def __init__(self, headers: HeaderInput = ()) -> None:
        values: dict[str, list[str]] = {}
        pairs: Iterable[tuple[str, str | Sequence[str]]] = (
            headers.items() if isinstance(headers, Mapping) else headers
        )
        for name, value in pairs:
            items = [value] if isinstance(value, str) else list(value)
            values.setdefault(canonical_header_key(name), []).extend(items)
        self._values = {name: tuple(items) for name, items in values.items()}

    def __getitem__(self, name: str) -> tuple[str, ...]:
        return self._values[canonical_header_key(name)]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and canonical_header_key(name) in self._values

    def first(self, name: str) -> str:
        """The first value of ``name``, or ``""`` (Go's ``Header.Get``)."""
        values = self._values.get(canonical_header_key(name), ())
        return values[0] if values else ""

    def joined(self) -> dict[str, str]:
        """Each header's values joined with ``,`` (what ``$(header...)`` bindings read), credentials left out."""
        return {k: ",".join(v) for k, v in self._values.items() if k not in CREDENTIAL_HEADERS}

    def __repr__(self) -> str:
        shown = {k: ("<redacted>",) if k in CREDENTIAL_HEADERS else v for k, v in self._values.items()}
        return f"Headers({shown!r})"


@dataclass(frozen=True)
class IncomingEvent:
    """What the HTTP server received; ``delivery_id`` defaults to the provider's delivery header."""

    headers: Headers
    body: bytes = field(repr=False)
    url: str = ""
    """The request URL, ``requestURL`` in CEL."""
    received: datetime | None = None
    delivery_id: str | None = None

    @classmethod
    def of(
        cls,
        headers: HeaderInput,
        body: bytes,
        *,
        url: str = "",
        received: datetime | None = None,
        delivery_id: str | None = None,
    ) -> IncomingEvent:
        return cls(Headers(headers), body, url, received, delivery_id)

    @property
    def delivery(self) -> str | None:
        """The delivery id: ``delivery_id`` if given, else ``X-GitHub-Delivery``, ``X-Gitlab-Event-UUID``, ..."""
        if self.delivery_id:
            return self.delivery_id
        return next((v for v in (self.headers.first(h) for h in DELIVERY_HEADERS) if v), None)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_payload(body: bytes, max_depth: int) -> dict[str, Any]:
    """The body as a JSON object; ``PayloadError`` saying why it is not one.

    Webhook payloads are JSON objects. A form-encoded body (GitHub's ``application/x-www-form-urlencoded``
    content type), an empty body, ``NaN``, and nesting deeper than ``max_depth`` are refused.
    """
    if not body.strip():
        raise PayloadError("the request body is empty; a webhook payload is a JSON object")
    try:
        text = body.decode("utf-8")
        limits = replace(InputLimits.from_env(), max_depth=max_depth)
        payload = load_json(text, source="the request body", limits=limits, parse_constant=_reject_constant)
    except UnicodeDecodeError as exc:
        raise PayloadError(f"the request body is not UTF-8 (byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        hint = (
            " (send JSON: set the webhook's content type to application/json)"
            if body[:8] == b"payload="
            else ""
        )
        raise PayloadError(
            f"the request body is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}{hint}"
        ) from None
    except InputLimitError as exc:
        raise PayloadError(f"the request body {exc.problem}") from None
    except ValueError as exc:
        raise PayloadError(f"the request body is not JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise PayloadError(f"the request body is JSON but not an object (it is {type(payload).__name__})")
    return payload
