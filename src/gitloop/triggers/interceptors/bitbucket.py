"""The ``bitbucket`` interceptor: Bitbucket Server's ``X-Hub-Signature`` HMAC, and an ``eventTypes`` filter.

Bitbucket Server signs the body as ``sha256=<hex>`` in ``X-Hub-Signature``; ``sha512=`` is accepted too,
SHA-1 is not. Bitbucket Cloud does not sign, so a Cloud listener uses ``eventTypes`` alone. The event
type is ``X-Event-Key`` (``repo:refs_changed``, ``repo:push``, ...).
"""

from __future__ import annotations

from gitloop.spec.triggers import ProviderInterceptor
from gitloop.triggers.interceptors.base import InterceptorInput, Verdict, secret_value
from gitloop.triggers.interceptors.github import check_signature, event_type_verdict

SIGNATURE_HEADER = "X-Hub-Signature"
EVENT_HEADER = "X-Event-Key"


def process(interceptor: ProviderInterceptor, data: InterceptorInput) -> Verdict:
    event = data.view.event
    if interceptor.secret_ref is not None:
        secret = secret_value(interceptor.secret_ref, data.secrets)
        if isinstance(secret, Verdict):
            return secret
        value = event.headers.first(SIGNATURE_HEADER)
        verdict = check_signature(SIGNATURE_HEADER, value, event.body, secret, ("sha256", "sha512"))
        if not verdict.proceeds:
            return verdict
    return event_type_verdict(interceptor.event_types, event.headers.first(EVENT_HEADER), EVENT_HEADER)
