"""The webhook handler the server calls: one request in, one ``Outcome`` (status, body, runs to create) out.

Pure: it reads the request, the resolved listener and the Secrets, claims the delivery id in the
``DeliveryLog`` when it accepts, and returns the rendered resources; the server creates them. It never
raises for anything a request contains, and creates nothing unless the answer is 202.

Status codes, decided in this order (Tekton answers 202 to everything, even a bad signature,
tektoncd/triggers#961; gitloop tells the sender what happened):

- **413** the body is larger than ``Limits.max_body_bytes`` (default 5 MiB: GitHub's largest push
  payloads stay well below it, a 10 MB body does not). The server should also refuse a larger
  ``Content-Length`` before reading the body.
- **400** the body is not a JSON object: empty, not UTF-8, not JSON (a form-encoded GitHub hook), a JSON
  array or scalar, or nested deeper than ``Limits.max_json_depth``.
- Then every trigger runs: its interceptors, then its bindings and template. A trigger *fires* when all
  of them succeed. Trigger groups run their interceptors first, then the triggers they select.
- **202** at least one trigger fired: the body has the event id and the kind and name of each resource
  to create. A resource with only ``generateName`` is given a name here (``generateName`` plus five
  random characters, as the API server does) so the answer can name it. Other triggers of the same event
  may have been filtered or failed; that is in ``Outcome.results``, for the log.
- **200 "duplicate delivery"** a trigger would fire, but the delivery id (``X-GitHub-Delivery``,
  ``X-Gitlab-Event-UUID``, ``X-Gitea-Delivery``) was claimed before: nothing is created. 200, not 409,
  because a sender retrying a delivery it thinks failed should stop retrying. Only deliveries that would
  start runs are claimed, so a forged or filtered request never uses up an id; a request without a
  delivery id is never a duplicate.
- **500** no trigger fired and one could not be checked as configured (a Secret gitloop lacks or that
  is empty). The body says only that; the details are in the results.
- **401** no trigger fired and one stopped on a missing or wrong signature or token. Providers' checks
  run before their ``eventTypes`` filter, so a wrongly signed request of any event type is a 401 when
  it reaches a trigger that verifies.
- **422** no trigger fired and one that matched failed to make its resources (a binding expression
  finding nothing with no default to fall back to, a CEL overlay failing).
- **200 "no trigger matched"** otherwise: every trigger was filtered (``eventTypes``, a CEL filter
  false or failing on a field the event lacks), or the listener has no triggers.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from secrets import choice
from typing import Any, Literal

from gitloop.spec.triggers import ResolvedListener, ResolvedTrigger, SecretValues
from gitloop.triggers.bindings import BindingError, event_document, resolve_params
from gitloop.triggers.deliveries import DeliveryLog
from gitloop.triggers.event import IncomingEvent, PayloadError, parse_payload
from gitloop.triggers.interceptors import EventView, run_chain
from gitloop.triggers.templates import add_labels, render

DEFAULT_MAX_BODY_BYTES = 5 * 1024 * 1024
DEFAULT_MAX_JSON_DEPTH = 64
_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
"""The characters the Kubernetes API server uses for ``generateName`` suffixes."""
_MAX_GENERATE_NAME = 58

TriggerStatus = Literal["fired", "filtered", "unauthenticated", "failed", "misconfigured"]


@dataclass(frozen=True)
class Limits:
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    max_json_depth: int = DEFAULT_MAX_JSON_DEPTH


def _name_suffix() -> str:
    return "".join(choice(_SUFFIX_ALPHABET) for _ in range(5))


def _uuid() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True)
class Ids:
    """Where random values come from: event ids and ``$(uid)`` (``uuid``), and name suffixes."""

    uuid: Callable[[], str] = _uuid
    suffix: Callable[[], str] = _name_suffix


@dataclass(frozen=True)
class TriggerResult:
    """What one trigger (or a trigger group whose interceptors stopped it) did with the event."""

    trigger: str
    group: str
    status: TriggerStatus
    message: str = ""
    created: tuple[str, ...] = ()
    """``Kind/name`` of each resource it made."""

    def __str__(self) -> str:
        who = f"group {self.group}: " if self.group else ""
        who += f"trigger {self.trigger or '(unnamed)'}" if self.trigger or not self.group else "interceptors"
        what = f"created {', '.join(self.created)}" if self.created else self.message
        return f"{who}: {self.status}" + (f": {what}" if what else "")


@dataclass(frozen=True)
class Outcome:
    """The answer to one request and the resources the server must create (only for 202)."""

    status_code: int
    body: Mapping[str, Any]
    created_resources: tuple[dict[str, Any], ...] = ()
    event_id: str = ""
    delivery_id: str | None = None
    results: tuple[TriggerResult, ...] = ()
    payload: Mapping[str, Any] | None = field(default=None, repr=False)
    """The request body as parsed once here (the JSON object), for the server to read what it
    announces (the lineage's source commit) without parsing it again; ``None`` when it is not one
    (400) or too large (413)."""

    def body_bytes(self) -> bytes:
        return json.dumps(self.body, separators=(",", ":")).encode("utf-8")


def _finish(resource: dict[str, Any], namespace: str, ids: Ids) -> str:
    """Give ``resource`` a name (from ``generateName``) and the listener's namespace; its ``Kind/name``."""
    metadata = resource.setdefault("metadata", {})
    if not metadata.get("name"):
        metadata["name"] = str(metadata.get("generateName", ""))[:_MAX_GENERATE_NAME] + ids.suffix()
    if namespace and not metadata.get("namespace"):
        metadata["namespace"] = namespace
    return f"{resource.get('kind')}/{metadata['name']}"


def _fire(
    trigger: ResolvedTrigger,
    group: str,
    view: EventView,
    listener: ResolvedListener,
    secrets: SecretValues,
    extensions: Mapping[str, Any],
    ids: Ids,
) -> tuple[TriggerResult, list[dict[str, Any]]]:
    verdict = run_chain(trigger.interceptors, view, secrets, extensions)
    if verdict.status != "continue":
        return TriggerResult(trigger.name, group, verdict.status, verdict.message), []
    document = event_document(view.body, view.event.headers, verdict.extensions, view.event_id)
    try:
        params = resolve_params(trigger.params, trigger.template.params, document)
    except BindingError as exc:
        return TriggerResult(trigger.name, group, "failed", str(exc)), []
    resources = render(trigger.template, params, ids.uuid())
    names = []
    for resource in resources:
        add_labels(resource, listener.name, trigger.name, view.event_id)
        names.append(_finish(resource, listener.namespace, ids))
    return TriggerResult(trigger.name, group, "fired", created=tuple(names)), resources


def _run(
    view: EventView, listener: ResolvedListener, secrets: SecretValues, ids: Ids
) -> tuple[list[TriggerResult], list[dict[str, Any]], list[str]]:
    results: list[TriggerResult] = []
    resources: list[dict[str, Any]] = []
    triggers_of: list[str] = []

    def fire(trigger: ResolvedTrigger, group: str, extensions: Mapping[str, Any]) -> None:
        result, made = _fire(trigger, group, view, listener, secrets, extensions, ids)
        results.append(result)
        resources.extend(made)
        triggers_of.extend([trigger.name] * len(made))

    for trigger in listener.triggers:
        fire(trigger, "", {})
    for group in listener.groups:
        verdict = run_chain(group.interceptors, view, secrets, {})
        if verdict.status != "continue":
            results.append(TriggerResult("", group.name, verdict.status, verdict.message))
            continue
        for trigger in group.triggers:
            fire(trigger, group.name, verdict.extensions)
    return results, resources, triggers_of


def handle(
    event: IncomingEvent,
    listener: ResolvedListener,
    *,
    secrets: SecretValues,
    deliveries: DeliveryLog,
    limits: Limits | None = None,
    ids: Ids | None = None,
) -> Outcome:
    """Decide what one webhook request does; see the module documentation for the status codes."""
    limits = limits or Limits()
    ids = ids or Ids()
    event_id = ids.uuid()
    delivery = event.delivery
    head: dict[str, Any] = {"eventListener": listener.name, "eventID": event_id}

    def answer(code: int, message: str, **extra: Any) -> Outcome:
        answered = {**head, "message": message, **extra}
        return Outcome(code, answered, (), event_id, delivery, tuple(results), parsed)

    results: list[TriggerResult] = []
    parsed: Mapping[str, Any] | None = None
    if len(event.body) > limits.max_body_bytes:
        return answer(
            413, f"payload too large: {len(event.body)} bytes, the limit is {limits.max_body_bytes}"
        )
    try:
        body = parse_payload(event.body, limits.max_json_depth)
    except PayloadError as exc:
        return answer(400, f"malformed body: {exc}")
    parsed = body
    results, resources, triggers_of = _run(EventView(event, body, event_id), listener, secrets, ids)
    statuses = {r.status for r in results}
    if "fired" in statuses:
        if delivery is not None and not deliveries.claim(listener.name, delivery):
            return answer(200, "duplicate delivery", deliveryID=delivery)
        created = [
            {
                "apiVersion": r.get("apiVersion"),
                "kind": r.get("kind"),
                "name": r["metadata"]["name"],
                **({"namespace": r["metadata"]["namespace"]} if r["metadata"].get("namespace") else {}),
                "trigger": trigger,
            }
            for r, trigger in zip(resources, triggers_of, strict=True)
        ]
        body_out = {
            "eventListener": listener.name,
            "namespace": listener.namespace,
            "eventListenerUID": listener.uid,
            "eventID": event_id,
            "created": created,
        }
        return Outcome(202, body_out, tuple(resources), event_id, delivery, tuple(results), body)
    if "misconfigured" in statuses:
        return answer(500, "a trigger could not check this event as configured; see the server log")
    if "unauthenticated" in statuses:
        reasons = sorted({r.message for r in results if r.status == "unauthenticated"})
        return answer(401, "signature or token check failed", reasons=reasons)
    if "failed" in statuses:
        errors = [{"trigger": r.trigger, "error": r.message} for r in results if r.status == "failed"]
        return answer(422, "a matching trigger could not process this event", errors=errors)
    return answer(200, "no trigger matched")
