"""A client of a ``gitloop serve``'s ``/api/v1``: Argo CD-shaped Applications for ``gitloop app --server``,
PipelineRuns (cancel, rerun) for ``gitloop pipeline cancel|rerun``, registered clusters for ``gitloop
cluster add|list|get|rm``.

Every answer is the server's JSON as it came: Argo CD ``argoproj.io/v1alpha1`` Applications
(``gitloop.gitops.shapes``), ``managed-resources`` items, manifests. Errors become ``GitloopError``s
carrying the server's message: 400 a ``UsageError`` (exit 2), 404 names the Application, 409 is an
``OperationInProgress`` for an Application (another operation runs), an unreachable server says ``cannot reach SERVER``. The API token is sent as
``Authorization: Bearer`` and never appears in a message.

Applications are created (``POST``, ``upsert``), replaced (``PUT``) and deleted (``DELETE``, which the
server finishes in the background: ``deleted`` waits for the 404). A sync or rollback answers with the
operation started; ``wait_operation`` polls the Application until
that operation (``status.operationState.gitloop.id``, new since the request) has ended.

HTTPS (``ClientTLS``, the one place the CLI's ``--server-ca``/``--insecure-skip-tls-verify`` land):
the server's certificate is verified against the system's CAs by default, or against ``ca_file`` (a CA,
or the server's self-signed certificate); an untrusted certificate is a ``GitloopError`` (exit 1)
saying so and naming both flags.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from gitloop.errors import AuthError, GitloopError, OperationInProgress, UsageError
from gitloop.spec.yaml import load_json

ENDED = ("Succeeded", "Failed", "Error")
"""Phases of an operation that has ended."""


def _message(response: httpx.Response) -> str:
    """The server's error message: ``message`` (or ``error``, ``detail``) of its JSON, else its text."""
    try:
        body = load_json(response.content, source="the server's error")
    except (ValueError, GitloopError):
        body = None
    if isinstance(body, Mapping):
        for key in ("message", "error", "detail"):
            if body.get(key):
                return str(body[key])
    return response.text.strip()[:500] or response.reason_phrase


@dataclass(frozen=True)
class ClientTLS:
    """How the server's certificate is checked: the system's CAs, ``ca_file``, or not at all."""

    ca_file: Path | None = None
    insecure_skip_verify: bool = False

    def verify(self) -> ssl.SSLContext | bool:
        """What ``httpx`` verifies with; an unreadable ``ca_file`` is a ``UsageError`` naming the flag."""
        if self.insecure_skip_verify:
            return False
        try:
            return ssl.create_default_context(cafile=self.ca_file)
        except (OSError, ssl.SSLError) as exc:
            reason = getattr(exc, "strerror", None) or getattr(exc, "reason", None) or "not a PEM certificate"
            raise UsageError(f"--server-ca {self.ca_file}: cannot use it: {reason}") from None


def _unreachable(server: str, exc: httpx.TransportError) -> GitloopError:
    """``cannot reach SERVER``, or, for a certificate that failed verification, what to do about it."""
    cause: BaseException | None = exc
    while cause is not None and not isinstance(cause, ssl.SSLCertVerificationError):
        cause = cause.__cause__ or cause.__context__
    if isinstance(cause, ssl.SSLCertVerificationError):
        return GitloopError(
            f"{server}: the server's TLS certificate is not trusted ({cause.verify_message}): give its CA "
            "or certificate with --server-ca FILE ($GITLOOP_SERVER_CA), or --insecure-skip-tls-verify"
        )
    return GitloopError(f"cannot reach {server}: {exc}")


class ApiClient:
    """The ``/api/v1`` Applications API of the server at ``server``."""

    def __init__(
        self,
        server: str,
        token: str | None = None,
        *,
        timeout: float = 60.0,
        poll: float = 0.25,
        sleep: Callable[[float], None] = time.sleep,
        tls: ClientTLS | None = None,
    ) -> None:
        self.server = server.rstrip("/")
        if "://" not in self.server:
            raise UsageError(f"--server {server}: expected a URL such as http://127.0.0.1:8080")
        if token is None:  # the session ``gitloop login`` saved for this server, if any
            from gitloop.service.logins import saved_token

            token = saved_token(self.server)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        verify = (tls or ClientTLS()).verify()
        self._http = httpx.Client(base_url=self.server, headers=headers, timeout=timeout, verify=verify)
        self._poll = poll
        self._sleep = sleep

    def close(self) -> None:
        self._http.close()

    def login(self, username: str, password: str) -> str:
        """A session token of ``username`` (``POST /api/v1/session``); ``AuthError`` when refused."""
        try:
            response = self._http.post("/api/v1/session", json={"username": username, "password": password})
        except httpx.TransportError as exc:
            raise _unreachable(self.server, exc) from exc
        if response.status_code in (401, 429):
            raise AuthError(f"{self.server}: {_message(response)}")
        if not response.is_success:
            raise GitloopError(f"{self.server}: login failed: {_message(response)}")
        answer = load_json(response.content, source=f"{self.server}/api/v1/session")
        token = answer.get("token") if isinstance(answer, dict) else None
        if not isinstance(token, str) or not token:
            raise GitloopError(f"{self.server}: the login answer has no token")
        return token

    def logout(self) -> None:
        """End the session this client's token belongs to (``DELETE /api/v1/session``)."""
        self._call("DELETE", "/api/v1/session")

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _call(self, method: str, path: str, *, app: str = "", **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise _unreachable(self.server, exc) from exc
        if response.is_success:
            try:
                return load_json(response.content, source=f"{self.server}{path}")
            except ValueError as exc:
                raise GitloopError(f"{self.server}{path}: the answer is not JSON") from exc
        message = _message(response)
        if response.status_code == 400:
            raise UsageError(message)
        if response.status_code == 404:
            where = f"Application {app!r} not found" if app else "not found"
            raise GitloopError(message if app and app in message else f"{where}: {message}")
        if response.status_code == 409:
            raise OperationInProgress(message) if app else GitloopError(message)
        if response.status_code == 401:
            raise AuthError(
                f"{self.server}: {message} (gitloop login --server {self.server}, or --auth-token / "
                "$GITLOOP_AUTH_TOKEN)"
            )
        if response.status_code == 403:
            raise AuthError(f"{self.server}: {message}")
        raise GitloopError(f"{self.server}: HTTP {response.status_code}: {message}")

    @staticmethod
    def _app_path(name: str, tail: str = "") -> str:
        return f"/api/v1/applications/{quote(name, safe='')}{tail}"

    # -- reading ------------------------------------------------------------------------------------

    def applications(self, *, name: str | None = None, page: int = 500) -> list[dict[str, Any]]:
        """Every Application (sorted by name, as the server pages them), following ``continue``."""
        return list(self._pages(name=name, page=page))

    def _pages(self, *, name: str | None, page: int) -> Iterator[dict[str, Any]]:
        token = ""
        while True:
            params: dict[str, Any] = {"limit": page}
            if name:
                params["name"] = name
            if token:
                params["continue"] = token
            body = self._call("GET", "/api/v1/applications", params=params)
            yield from body.get("items") or []
            token = str((body.get("metadata") or {}).get("continue") or "")
            if not token:
                return

    def application(self, name: str, *, refresh: str | None = None) -> dict[str, Any]:
        """The Application ``name``; ``refresh`` ``normal`` or ``hard`` refreshes it first."""
        params = {"refresh": refresh} if refresh else {}
        found: dict[str, Any] = self._call("GET", self._app_path(name), app=name, params=params)
        return found

    def managed_resources(self, name: str) -> list[dict[str, Any]]:
        """Argo CD's ``ResourceDiff`` items of a fresh comparison."""
        body = self._call("GET", self._app_path(name, "/managed-resources"), app=name)
        return list(body.get("items") or [])

    def manifests(self, name: str) -> list[str]:
        """The desired manifests as gitloop applies them, one JSON string each."""
        body = self._call("GET", self._app_path(name, "/manifests"), app=name)
        return [str(m) for m in body.get("manifests") or []]

    # -- changing -----------------------------------------------------------------------------------

    def sync(
        self,
        name: str,
        *,
        revision: str | None = None,
        prune: bool = False,
        dry_run: bool = False,
        force: bool = False,
        resources: Sequence[Mapping[str, str]] = (),
    ) -> dict[str, Any]:
        """Start a sync (Argo CD's ``SyncRequest``); the Application with the operation started."""
        body: dict[str, Any] = {"prune": prune, "dryRun": dry_run}
        if revision:
            body["revision"] = revision
        if force:
            body["strategy"] = {"apply": {"force": True}}
        if resources:
            body["resources"] = [dict(r) for r in resources]
        found: dict[str, Any] = self._call("POST", self._app_path(name, "/sync"), app=name, json=body)
        return found

    def rollback(self, name: str, history_id: int, *, prune: bool = False) -> dict[str, Any]:
        """Start a sync back to history entry ``history_id``; the Application with the operation started."""
        body = {"id": history_id, "prune": prune}
        found: dict[str, Any] = self._call("PUT", self._app_path(name, "/rollback"), app=name, json=body)
        return found

    def revert(self, name: str) -> dict[str, Any]:
        """Revert the config commit that brought ``name``'s current state (gitloop's ``"revert": true``);
        the Application with ``revert``, what was pushed."""
        found: dict[str, Any] = self._call(
            "PUT", self._app_path(name, "/rollback"), app=name, json={"revert": True}
        )
        return found

    def create(self, document: Mapping[str, Any], *, upsert: bool = False) -> dict[str, Any]:
        """Create an Application from its Argo CD document (``upsert``: replace one of the same name);
        the Application. One that exists with another spec, without ``upsert``: ``GitloopError``."""
        params = {"upsert": "true"} if upsert else {}
        found: dict[str, Any] = self._call("POST", "/api/v1/applications", json=dict(document), params=params)
        return found

    def update(self, name: str, document: Mapping[str, Any]) -> dict[str, Any]:
        """Replace the spec of ``name`` by ``document``'s; the Application."""
        found: dict[str, Any] = self._call("PUT", self._app_path(name), app=name, json=dict(document))
        return found

    def delete(self, name: str, *, cascade: bool | None = None, propagation: str | None = None) -> None:
        """Start deleting ``name`` (the server deletes in the background; ``application`` then 404s)."""
        params: dict[str, str] = {}
        if cascade is not None:
            params["cascade"] = "true" if cascade else "false"
        if propagation:
            params["propagationPolicy"] = propagation
        self._call("DELETE", self._app_path(name), app=name, params=params)

    def deleted(self, name: str, *, timeout: float = 300.0) -> None:
        """Wait until the server no longer has ``name``; ``GitloopError`` after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                response = self._http.get(self._app_path(name))
            except httpx.TransportError as exc:
                raise _unreachable(self.server, exc) from exc
            if response.status_code == 404:
                return
            if time.monotonic() > deadline:
                raise GitloopError(f"{name}: still not deleted after {timeout:.0f}s")
            self._sleep(self._poll)

    def terminate(self, name: str) -> None:
        """Terminate the running operation of ``name``."""
        self._call("DELETE", self._app_path(name, "/operation"), app=name)

    def wait_operation(
        self, name: str, started: Mapping[str, Any], *, before: str = "", appear: float = 30.0
    ) -> dict[str, Any]:
        """Poll ``name`` until the operation a sync or rollback started has ended; the Application then.

        ``started`` is the Application the request answered; ``before`` the id of the operation it
        showed before the request (``operation_id``), so that an answer still showing that one is
        waited on until the new operation appears (for ``appear`` seconds)."""
        current: dict[str, Any] = dict(started)
        deadline = time.monotonic() + appear
        op_id = ""
        while True:
            state = (current.get("status") or {}).get("operationState") or {}
            found = str((state.get("gitloop") or {}).get("id") or "")
            if not op_id and found and found != before:
                op_id = found
            if op_id and found != op_id:
                raise GitloopError(f"{name}: operation {op_id} was replaced by operation {found}")
            if op_id and state.get("phase") in ENDED:
                return current
            if not op_id and time.monotonic() > deadline:
                raise GitloopError(f"{self.server}: no new operation of {name} started in {appear:.0f}s")
            self._sleep(self._poll)
            current = self.application(name)

    @staticmethod
    def operation_id(app: Mapping[str, Any]) -> str:
        """The id of the operation an Application shows (``status.operationState.gitloop.id``), or ``""``."""
        state = (app.get("status") or {}).get("operationState") or {}
        return str((state.get("gitloop") or {}).get("id") or "")

    # -- PipelineRuns (``/api/v1/pipelineruns``, ``gitloop.api.v1_pipelines``) -----------------------

    @staticmethod
    def _run_path(name: str, tail: str = "") -> str:
        return f"/api/v1/pipelineruns/{quote(name, safe='')}{tail}"

    def cancel_pipeline_run(self, name: str, status: str | None = None) -> dict[str, Any]:
        """Cancel the run ``name`` with Tekton's ``spec.status`` (the server's default ``Cancelled``
        without ``status``); the server's answer (``status``: what was set). A run that finished is a
        409 (a ``GitloopError`` with the server's message: exit 1)."""
        body = {"status": status} if status else None
        found: dict[str, Any] = self._call("POST", self._run_path(name, "/cancel"), json=body)
        return found

    def rerun_pipeline_run(self, name: str) -> str:
        """Run ``name`` again under a new name; the new run's name."""
        found = self._call("POST", self._run_path(name, "/rerun"))
        return str(found["name"])

    # -- clusters ----------------------------------------------------------------------------------

    @staticmethod
    def _cluster_path(name_or_server: str) -> str:
        return f"/api/v1/clusters/{quote(name_or_server, safe='')}"

    def clusters(self) -> list[dict[str, Any]]:
        """Every registered cluster (``ClusterList.items``), each probed by the server now."""
        return list(self._call("GET", "/api/v1/clusters").get("items") or [])

    def cluster(self, name_or_server: str) -> dict[str, Any]:
        """One registered cluster, by name or server URL."""
        found: dict[str, Any] = self._call("GET", self._cluster_path(name_or_server))
        return found

    def add_cluster(self, body: Mapping[str, Any], *, upsert: bool = False) -> dict[str, Any]:
        """Register a kubeconfig context (``body``: ``name``, ``config.kubeconfig``/``context``,
        labels...); 409 (name or server taken) is a ``GitloopError``."""
        params = {"upsert": "true"} if upsert else None
        found: dict[str, Any] = self._call("POST", "/api/v1/clusters", json=dict(body), params=params)
        return found

    def remove_cluster(self, name_or_server: str) -> None:
        self._call("DELETE", self._cluster_path(name_or_server))

    def dora(self, params: Mapping[str, str]) -> dict[str, Any]:
        """DORA's figures (``GET /api/v1/metrics/dora``; ``params``: ``app``, ``env``, ``since``...)."""
        found: dict[str, Any] = self._call("GET", "/api/v1/metrics/dora", params=dict(params))
        return found

    # -- sealed secrets ---------------------------------------------------------------------------

    def sealing_certificate(self) -> bytes:
        """The PEM certificate the server unseals for (``GET /v1/cert.pem``, as the sealed-secrets
        controller serves it), for ``gitloop seal --fetch-cert`` and ``gitloop seal --server``."""
        try:
            response = self._http.get("/v1/cert.pem")
        except httpx.TransportError as exc:
            raise GitloopError(f"cannot reach {self.server}: {exc}") from exc
        if not response.is_success:
            raise GitloopError(
                f"{self.server}/v1/cert.pem: HTTP {response.status_code}: {_message(response)}"
            )
        return response.content
