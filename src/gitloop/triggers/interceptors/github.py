"""The ``github`` interceptor: ``X-Hub-Signature-256`` HMAC-SHA256 of the body, and an ``eventTypes`` filter.

The signature is ``sha256=<hex>`` of the raw body keyed with the Secret's value, compared in constant time.
As in Tekton, only ``X-Hub-Signature-256`` is read: the legacy SHA-1 ``X-Hub-Signature`` is not accepted.
Unlike Tekton, which filters the event type before it checks the signature, gitloop checks the signature
first, so a wrongly signed request is answered 401 whatever its event type (GitHub's ``ping`` on a hook
with a wrong secret then shows as failed instead of as delivered).
"""

from __future__ import annotations

from gitloop.spec.triggers import ProviderInterceptor
from gitloop.triggers.interceptors.base import CONTINUE, InterceptorInput, Verdict, secret_value
from gitloop.triggers.signatures import SignatureProblem, hmac_problem

SIGNATURE_HEADER = "X-Hub-Signature-256"
EVENT_HEADER = "X-GitHub-Event"


def check_signature(
    header: str, value: str, body: bytes, secret: bytes, algorithms: tuple[str, ...] = ("sha256",)
) -> Verdict:
    """Whether ``value`` (``<algorithm>=<hex>``) is the HMAC of ``body`` with ``secret``; the verdict
    names ``header`` and what is wrong (see :mod:`gitloop.triggers.signatures`)."""
    problem = hmac_problem(value, body, secret, algorithms)
    if problem is None:
        return CONTINUE
    if problem is SignatureProblem.MISSING:
        return Verdict("unauthenticated", f"no {header} header set")
    if problem is SignatureProblem.FORM:
        expected = " or ".join(f"{a}=<hex>" for a in algorithms)
        return Verdict("unauthenticated", f"{header} is not of the form {expected}")
    if problem is SignatureProblem.NOT_HEX:
        return Verdict("unauthenticated", f"{header} is not hexadecimal")
    return Verdict("unauthenticated", "payload signature check failed")


def event_type_verdict(allowed: tuple[str, ...] | None, actual: str, header: str) -> Verdict:
    """``filtered`` unless ``actual`` is one of ``allowed`` (``None`` allows every event)."""
    if allowed is None or actual in allowed:
        return CONTINUE
    return Verdict("filtered", f"event type {actual!r} ({header}) is not allowed")


def process(interceptor: ProviderInterceptor, data: InterceptorInput) -> Verdict:
    event = data.view.event
    if interceptor.secret_ref is not None:
        secret = secret_value(interceptor.secret_ref, data.secrets)
        if isinstance(secret, Verdict):
            return secret
        verdict = check_signature(SIGNATURE_HEADER, event.headers.first(SIGNATURE_HEADER), event.body, secret)
        if not verdict.proceeds:
            return verdict
    return event_type_verdict(interceptor.event_types, event.headers.first(EVENT_HEADER), EVENT_HEADER)
