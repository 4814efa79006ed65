"""The demo itself: infrastructure up, ``gitloop serve`` started, the first deployments, then one change
of the app followed live from the push to Healthy (and on through the promotions), and its timeline.

``Demo.up`` brings everything up (see ``infra``) and waits for the first deployments (the three
Applications sync themselves). ``Demo.loop`` commits a change to app-source and prints every hop as
gitloop records it (and every change of the Applications' sync and health) until web-dev is Healthy at
the new image — then, with ``promote``, until the PromotionChain ``web`` has promoted it to web-staging,
web-staging is Healthy at it, and its promotion to prod waits for an approval (``gitloop approve``).
``Demo.report`` prints the timeline and the critical path.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from gitloop.errors import InfraError
from gitloop.localinfra.cluster import LocalCluster
from gitloop.service.demo import infra, timeline
from gitloop.service.demo.serving import ServeProcess, app_state, free_port

Say = Callable[[str], None]
DEV, STAGING, PROD = (infra.app_name(e) for e in infra.ENVIRONMENTS)
CHAIN = "web"
_FAILED = ("pipelinerun-finished", "post-sync-finished")


@dataclass(frozen=True)
class DemoOptions:
    cluster: str = "demo"
    nodes: int = 1
    timeout: float = 180.0
    """Seconds each stage may take."""
    port: int = 0
    """The API's port (0: a free one)."""
    promote: bool = True
    """Follow the change on to staging and to prod's approval, not only to dev."""


@dataclass
class LoopResult:
    """One change, followed through."""

    source_commit: str
    message: str
    pushed_at: float
    trace: dict[str, Any]
    times: timeline.LoopTimes | None
    seen: list[tuple[float, str]] = field(default_factory=list)
    """What the demo saw of the Applications (OutOfSync, Synced, Healthy) and of the promotions of the
    source commit, with times."""
    promotions: dict[str, dict[str, Any]] = field(default_factory=dict)
    """The promotions of the source commit, by target stage, as the API last showed them."""

    def hops(self, kind: str, **fields: str) -> list[dict[str, Any]]:
        return [
            h
            for h in self.trace.get("hops", [])
            if h.get("hop") == kind and all(str(h.get(k, "")) == v for k, v in fields.items())
        ]


class Demo:
    """The demo's pieces, brought up and down in order."""

    def __init__(self, options: DemoOptions, say: Say, dirs: infra.DemoDirs | None = None) -> None:
        self.options = options
        self.say = say
        self.dirs = dirs or infra.DemoDirs.default()
        self.cluster: LocalCluster | None = None
        self.repos: infra.Repos | None = None
        self.serve: ServeProcess | None = None
        self.git_url = ""

    # -- up -----------------------------------------------------------------------------------------

    def up(self) -> None:
        o = self.options
        self.dirs.root.mkdir(parents=True, exist_ok=True)
        self.say(f"local cluster {o.cluster!r}: etcd, kube-apiserver, controllers, {o.nodes} hollow node(s)")
        started = time.monotonic()
        self.cluster, fresh = infra.start_cluster(o.cluster, o.nodes, o.timeout)
        self.say(f"  up, nodes Ready ({time.monotonic() - started:.1f}s)" if fresh else "  already running")
        port = o.port or free_port()
        url = f"http://127.0.0.1:{port}"
        daemon, info = infra.start_git_server(self.dirs, url)
        self.git_url = info.url
        self.repos, created = infra.seed_repos(daemon, url)
        self.say(
            f"git server {info.url}: {infra.SOURCE_REPO} and {infra.CONFIG_REPO}"
            + (" (new)" if created else "")
        )
        self.say(f"  {self.repos.source}   pushes -> EventListener {url}/hooks/{infra.LISTENER}")
        self.say(f"  {self.repos.config}   pushes -> refresh webhook {url}/api/webhook")
        config = infra.write_serve_files(self.dirs, self.repos, self.cluster, port)
        token = infra.provision_access(self.dirs)
        self.serve = ServeProcess(config, self.dirs.serve_log, port, token)
        self.serve.start()
        self.say(f"gitloop serve {url} (config {config}, log {self.dirs.serve_log})")
        self.say(f"  log in:  {self._login()}  (the password is in that file)")
        self.say(f"  web UI:  {url}/ui/  (the same account)")
        self._first_deployments()

    def _login(self) -> str:
        url = self._api().url
        return f"gitloop login --server {url} --username {infra.ADMIN} --password-file {self.dirs.admin_password}"

    def _api(self) -> ServeProcess:
        if self.serve is None:
            raise InfraError("gitloop serve is not running")
        return self.serve

    def _wait(self, what: str, check: Callable[[], bool], timeout: float | None = None) -> None:
        deadline = time.monotonic() + (timeout or self.options.timeout)
        while not check():
            if time.monotonic() > deadline:
                raise InfraError(f"timed out waiting for {what}; gitloop serve's log:\n{self._api().tail()}")
            time.sleep(0.1)

    def _deployed(self, app: str) -> bool:
        sync, health, _ = app_state(self._api().application(app))
        return sync == "Synced" and health == "Healthy"

    def _deployed_check(self, app: str) -> Callable[[], bool]:
        return lambda: self._deployed(app)

    def _first_deployments(self) -> None:
        api = self._api()
        for app in (DEV, STAGING, PROD):
            self._wait(f"{app} to be Synced and Healthy", self._deployed_check(app))
            _, _, revision = app_state(api.application(app))
            self.say(f"  {app}: Synced, Healthy at {revision[:7]} (automated sync)")
        waiting = [p for p in api.promotions() if p.get("state") == "WaitingApproval"]
        for promotion in waiting:
            self.say(
                f"  promotion {promotion.get('id')} of {str(promotion.get('sourceCommit', ''))[:7]} to "
                f"{promotion.get('to')} waits for an approval"
            )
        self._wait("the first post-sync pipelines", lambda: api.runs_in_flight() == 0)

    # -- one change ----------------------------------------------------------------------------------

    def loop(self) -> LoopResult:
        """Push a change to app-source and follow it (see the module documentation)."""
        assert self.repos is not None
        sha, message, pushed_at = infra.push_change(self.repos.source)
        self.say(f"\npushed {sha[:7]} to {infra.SOURCE_REPO}: {message}")
        result = LoopResult(sha, message, pushed_at, {}, None)
        self._follow(result, self._dev_done, f"{DEV} to be Healthy with the new image")
        if self.options.promote:
            self._follow(result, self._promoted, f"the promotion to {STAGING} and the one to {PROD} waiting")
            prod = result.promotions["prod"]
            app = self._api().application(PROD)
            images = ", ".join(((app.get("status") or {}).get("summary") or {}).get("images") or ["?"])
            self.say(
                f"  {PROD} stays {app_state(app)[1]} with {images}: production waits for an approval of "
                f"promotion {prod.get('id')}\n    {self._approve(str(prod.get('id', '')))}  (once logged in)"
            )
        result.times = timeline.loop_times(
            result.trace, app=DEV, own=self._own_time(result), pushed_at=pushed_at
        )
        return result

    def _dev_done(self, result: LoopResult) -> bool:
        return bool(result.hops("healthy", app=DEV))

    def _promoted(self, result: LoopResult) -> bool:
        staging = result.promotions.get("staging") or {}
        prod = result.promotions.get("prod") or {}
        healthy = [
            h for h in result.hops("healthy", app=STAGING) if h.get("revision") == staging.get("configCommit")
        ]
        return bool(
            staging.get("state") == "Succeeded" and healthy and prod.get("state") == "WaitingApproval"
        )

    def _approve(self, promotion: str) -> str:
        return f"gitloop approve {promotion} --server {self._api().url}"

    def _follow(self, result: LoopResult, done: Callable[[LoopResult], bool], what: str) -> None:
        api = self._api()
        printed: set[tuple[str, ...]] = {timeline.hop_key(h) for h in result.trace.get("hops", [])}
        states: dict[str, tuple[str, str, str]] = {}
        deadline = time.monotonic() + self.options.timeout
        while True:
            result.trace = api.trace(result.source_commit) or {"hops": []}
            for hop in timeline.ordered(result.trace["hops"]):
                key = timeline.hop_key(hop)
                if key in printed or hop.get("hop") == "commit":
                    continue
                printed.add(key)
                self.say(
                    f"  {timeline.offset(timeline.hop_time(hop), result.pushed_at)}  {timeline.describe(hop)}"
                )
                self._check(hop)
            for app in (DEV, STAGING, PROD):
                state = app_state(api.application(app))
                if states.get(app, state)[:2] != state[:2]:
                    now = time.time()
                    text = f"{app}: {state[0]}, {state[1]} at {state[2][:7]}"
                    result.seen.append((now, text))
                    self.say(f"  {timeline.offset(now, result.pushed_at)}  {text}")
                states[app] = state
            self._watch_promotions(result)
            if done(result):
                return
            if time.monotonic() > deadline:
                raise InfraError(f"timed out waiting for {what}; gitloop serve's log:\n{api.tail()}")
            time.sleep(0.1)

    def _watch_promotions(self, result: LoopResult) -> None:
        """Record (and say) every new state of the promotions of the change; a failed or rejected one
        ends the demo with its message."""
        if not self.options.promote:
            return
        for promotion in reversed(self._api().promotions()):
            if promotion.get("sourceCommit") != result.source_commit or promotion.get("chain") != CHAIN:
                continue
            stage = str(promotion.get("to", ""))
            state = str(promotion.get("state", ""))
            if (result.promotions.get(stage) or {}).get("state") != state:
                now = time.time()
                text = f"promotion {promotion.get('id')} to {stage}: {state}"
                result.seen.append((now, text))
                self.say(f"  {timeline.offset(now, result.pushed_at)}  {text}")
            result.promotions[stage] = promotion
            if state in ("Failed", "Rejected"):
                raise InfraError(
                    f"promotion {promotion.get('id')} to {stage} {state}: {promotion.get('message', '')}; "
                    f"gitloop serve's log:\n{self._api().tail()}"
                )

    def _check(self, hop: Mapping[str, Any]) -> None:
        if hop.get("hop") in _FAILED and hop.get("reason") not in ("Succeeded", "Completed"):
            run = hop.get("run", "")
            raise InfraError(
                f"PipelineRun {run} ended {hop.get('reason') or hop.get('status')}: see its logs with "
                f"'gitloop pipeline logs {run}' (and {self.dirs.serve_log})"
            )

    def _own_time(self, result: LoopResult) -> float:
        """The app's own test and build time, from the CI run's TaskRuns in the store."""
        from gitloop.store import open_store

        runs = [str(h.get("pipelineRun")) for h in result.hops("config-commit") if h.get("pipelineRun")]
        if not runs or not self.dirs.database.exists():
            return 0.0
        store = open_store(str(self.dirs.database))
        try:
            states = [
                record.doc.get("state")
                for record in store.query("TaskRun", labels={"tekton.dev/pipelineRun": runs[0]})
            ]
        finally:
            store.close()
        return timeline.own_time(s for s in states if isinstance(s, dict))

    # -- the report ------------------------------------------------------------------------------------

    def report(self, result: LoopResult) -> None:
        origin = result.pushed_at
        entries: list[tuple[float, str]] = [
            (origin, f"git push of {result.source_commit[:7]} to {infra.SOURCE_REPO}")
        ]
        entries += [
            (timeline.hop_time(h), timeline.describe(h))
            for h in result.trace.get("hops", [])
            if h.get("hop") != "commit"
        ]
        entries += [(at, f"seen: {text}") for at, text in result.seen]
        self.say(f"\nTimeline of {result.source_commit[:7]} (every hop as gitloop recorded it):")
        for at, text in sorted(entries):
            self.say(f"  {timeline.clock(at)}  {timeline.offset(at, origin)}  {text}")
        if result.times is not None:
            self.say(f"\nCritical path to {DEV} Healthy:")
            for line in result.times.lines():
                self.say(line)
            self.say(f"\ncommit pushed → {DEV} Healthy: {result.times.total:.3f}s")
        self.say(f"The same chain, from the store: gitloop trace {result.source_commit[:10]}")

    # -- serving and down ----------------------------------------------------------------------------

    def serve_until_interrupted(self) -> None:
        api = self._api()
        assert self.repos is not None
        self.say(
            f"\ngitloop serve keeps serving at {api.url}  (web UI {api.url}/ui/, API {api.url}/api; Ctrl-C stops it)\n"
            f"  push a change:   git clone {self.repos.source} && edit app.py && git push\n"
            f"  log in:          {self._login()}\n"
            f"  follow it:       gitloop trace <sha>    runs: gitloop pipeline list\n"
            f"  approve prod:    gitloop promotion list --server {api.url}, then gitloop approve ID\n"
            f"  cluster:         KUBECONFIG={self.cluster.kubeconfig if self.cluster else ''}"
        )
        try:
            api.wait()
            self.say("gitloop serve stopped")
        except KeyboardInterrupt:
            self.say("\nstopping gitloop serve")

    def close(self, *, teardown: bool) -> None:
        """Stop gitloop serve; with ``teardown`` also the git server and the cluster."""
        if self.serve is not None:
            self.serve.stop()
            self.serve = None
        if teardown:
            infra.stop_infra(self.dirs, self.options.cluster)
        elif self.cluster is not None:
            self.say(
                f"\nStill running: cluster {self.options.cluster!r} (KUBECONFIG={self.cluster.kubeconfig}) and "
                f"the git server {self.git_url}.\nStop them with: gitloop demo --down --cluster {self.options.cluster}"
            )


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def run(options: DemoOptions, say: Say, *, once: bool, teardown: bool) -> LoopResult:
    """The whole demo; ``once`` returns after one change, otherwise it serves until Ctrl-C (or SIGTERM):
    either way ``gitloop serve`` is stopped before it returns."""
    demo = Demo(options, say)
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        demo.up()
        result = demo.loop()
        demo.report(result)
        if not once:
            demo.serve_until_interrupted()
        return result
    finally:
        signal.signal(signal.SIGTERM, previous)
        demo.close(teardown=teardown)


def down(cluster: str, say: Say) -> None:
    """Stop what earlier demos left running: the demo's git server and the cluster."""
    infra.stop_infra(infra.DemoDirs.default(), cluster)
    say(f"stopped the demo's git server and cluster {cluster!r}")
