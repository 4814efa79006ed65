"""The ``gitlab`` interceptor: the ``X-Gitlab-Token`` shared secret, and an ``eventTypes`` filter.

GitLab sends the secret token itself, so it is compared with the Secret's value in constant time
(:func:`gitloop.triggers.signatures.token_matches`). The event type is ``X-Gitlab-Event`` (``Push Hook``, ``Merge Request Hook``,
...). As with ``github``, the token is checked before the event type.
"""

from __future__ import annotations

from gitloop.spec.triggers import ProviderInterceptor
from gitloop.triggers.interceptors.base import InterceptorInput, Verdict, secret_value
from gitloop.triggers.interceptors.github import event_type_verdict
from gitloop.triggers.signatures import token_matches

TOKEN_HEADER = "X-Gitlab-Token"  # noqa: S105 - a header name, not a secret
EVENT_HEADER = "X-Gitlab-Event"


def process(interceptor: ProviderInterceptor, data: InterceptorInput) -> Verdict:
    headers = data.view.event.headers
    if interceptor.secret_ref is not None:
        secret = secret_value(interceptor.secret_ref, data.secrets)
        if isinstance(secret, Verdict):
            return secret
        token = headers.first(TOKEN_HEADER)
        if not token:
            return Verdict("unauthenticated", f"no {TOKEN_HEADER} header set")
        if not token_matches(token, secret):
            return Verdict("unauthenticated", f"invalid {TOKEN_HEADER}")
    return event_type_verdict(interceptor.event_types, headers.first(EVENT_HEADER), EVENT_HEADER)
