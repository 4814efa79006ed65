"""Waiting for sidecars to be ready before the steps start, as Tekton's entrypoint waits for the pod's
sidecars: each ``readinessProbe`` is tried until it passes, all of them within one limit.

``tcpSocket`` connects to 127.0.0.1, ``httpGet`` sends one HTTP/1.0 ``GET`` there (HTTPS without
certificate checks, as the kubelet probes) and is ready on a status from 200 to 399, ``exec`` runs the
command in the TaskRun's sandbox through the executor and is ready on exit code 0. Locally a probe is
retried every ``RETRY`` seconds at most (Kubernetes' ``periodSeconds`` default of 10 s would only
delay the steps), after its ``initialDelaySeconds``; each try is bounded by ``timeoutSeconds``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence

from gitloop.errors import GitloopError
from gitloop.pipeline.actions import SidecarProbe
from gitloop.ports import ContainerRequest, StepExecutor
from gitloop.spec.tekton.probes import Probe

RETRY = 0.1
"""Seconds between two tries of one probe."""


async def _http(probe: Probe) -> str:
    import ssl  # only HTTPS probes need it

    context: ssl.SSLContext | None = None
    if probe.scheme == "HTTPS":
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    reader, writer = await asyncio.open_connection("127.0.0.1", probe.port, ssl=context)
    try:
        headers = "".join(f"{name}: {value}\r\n" for name, value in probe.headers)
        request = f"GET {probe.path} HTTP/1.0\r\nHost: 127.0.0.1:{probe.port}\r\n{headers}\r\n"
        writer.write(request.encode("latin-1"))
        await writer.drain()
        status = (await reader.readline()).decode("latin-1").split()
    finally:
        writer.close()
        with contextlib.suppress(OSError):  # ssl.SSLError is an OSError
            await writer.wait_closed()
    code = int(status[1]) if len(status) > 1 and status[1].isdigit() else 0
    return "" if 200 <= code < 400 else f"HTTP status {code or 'unreadable'}"


async def _tcp(probe: Probe) -> str:
    _reader, writer = await asyncio.open_connection("127.0.0.1", probe.port)
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return ""


async def _exec(executor: StepExecutor, sandbox: str, request: ContainerRequest) -> str:
    outcome = await executor.run_step(sandbox, request, lambda _container, _line: None)
    return "" if outcome.exit_code == 0 else f"exit code {outcome.exit_code}"


async def try_probe(executor: StepExecutor, sandbox: str, probe: SidecarProbe) -> str:
    """``""`` when the probe passes, else why not."""
    try:
        if probe.probe.kind == "exec":
            assert probe.request is not None
            check = _exec(executor, sandbox, probe.request)
        else:
            check = _http(probe.probe) if probe.probe.kind == "httpGet" else _tcp(probe.probe)
        return await asyncio.wait_for(check, probe.probe.timeout)
    except TimeoutError:
        return f"no answer within {probe.probe.timeout:g}s"
    except (OSError, GitloopError) as exc:  # ssl.SSLError is an OSError
        return str(exc) or type(exc).__name__


async def wait_ready(
    executor: StepExecutor,
    sandbox: str,
    probes: Sequence[SidecarProbe],
    limit: float,
    clock: Callable[[], float] = time.monotonic,
) -> str:
    """``""`` once every probe has passed, else (after ``limit`` seconds) which sidecar is not ready."""
    start = clock()
    waiting = list(probes)
    last: dict[str, str] = {}
    while waiting:
        elapsed = clock() - start
        for probe in list(waiting):
            if elapsed < probe.probe.initial_delay:
                continue
            problem = await try_probe(executor, sandbox, probe)
            if not problem:
                waiting.remove(probe)
            last[probe.sidecar] = problem
        if not waiting:
            return ""
        if clock() - start >= limit:
            probe = waiting[0]
            return (
                f'sidecar "{probe.sidecar}" did not become ready within {limit:g}s: readinessProbe '
                f"{probe.probe.describe()}: {last.get(probe.sidecar) or 'not tried yet'}"
            )
        await asyncio.sleep(RETRY)
    return ""
