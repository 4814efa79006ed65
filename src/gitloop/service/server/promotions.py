"""Promotions in ``gitloop serve``: the promotion engine (``gitloop.promote``) fed from the CD engine and
the lineage, its commits made through the handoff (``promotion_commit``).

What a stage shows is read, never guessed: its Application's sync status, health and revision from the
CD engine; the source commit that revision carries and when it turned Healthy there from the lineage's
deployment record (``LineageDeploy <app>@<revision>``, written when the sync ended and when it turned
Healthy, so a soak survives a restart); the verification run from the lineage's post-sync hops.

Each pass (every few seconds and on every status change): for every chain and every stage after the
first, when the upstream stage is Synced and Healthy at a source commit the stage does not run and that
was never promoted there, a promotion starts (``Pending`` for an automatic stage, ``WaitingApproval``
for a manual one); ``Pending`` ones are judged; ``Promoting`` ones land their commit (claimed in the
store, so one server lands it, once). ``create``, ``approve`` and ``reject`` are the API's.

A stage of an ``applicationSet`` is the Applications registered under that ApplicationSet now (the CD
engine's owner ``appset:<name>``, gitloop's ownerReference) whose labels its ``selector`` matches; it
shows the least of their states (``gitloop.promote.rules.combine``: Synced and Healthy at a commit only
when all are), and its promotion writes every one of them in one commit. While it has none, a
``Pending`` promotion into it waits saying so; an approved one finding none fails.

The author of a change is the source commit's author, read from its repository: the one its push
webhook named (the lineage's ``LineageSource``), else the chain's config repositories (a monorepo).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gitloop.errors import GitloopError, SpecError, UsageError
from gitloop.git import RepoCredentials
from gitloop.gitops.postsync import PIPELINE_ANNOTATION
from gitloop.lineage import Lineage
from gitloop.lineage.records import DEPLOY_KIND, POST_SYNC, SOURCE_KIND
from gitloop.promote import PROMOTING, Promotion, PromotionRecords, UpstreamStatus, machine
from gitloop.promote.rules import FAILED, SUCCEEDED, combine
from gitloop.service.server.promotion_commit import land_promotion, stage_files
from gitloop.spec.gitloop_promotion import ApprovalGate, PromotionChain, Stage

if TYPE_CHECKING:
    from gitloop.gitops.engine import Engine
    from gitloop.ports import Store

log = logging.getLogger(__name__)

PASS_INTERVAL = 2.0


class PromotionNotFound(UsageError):
    """No promotion (or chain) of that name."""


@dataclass(frozen=True)
class Deployed:
    """A stage's Application now: its status and the source commit its revision carries."""

    source_commit: str
    upstream: UpstreamStatus


class ServedPromotions:
    """The server's promotions: ``start``/``stop`` the pass loop; ``create``, ``approve``, ``reject``."""

    def __init__(
        self,
        store: Store,
        engine: Engine,
        lineage: Lineage,
        chains: Callable[[], Mapping[str, PromotionChain]],
        *,
        roles_of: Callable[[str], tuple[str, ...]],
        credentials: RepoCredentials,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.records = PromotionRecords(store)
        self._store = store
        self._engine = engine
        self._lineage = lineage
        self._chains = chains
        self._roles_of = roles_of
        self._credentials = credentials
        self._clock = clock
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._authors: dict[str, str] = {}
        self._moves = threading.Lock()
        """Held while a waiting promotion is read, moved and saved (an approval, a rejection, the pass
        judging or superseding it), so two of them never act on the same old state."""
        self.changed: list[Callable[[dict[str, object]], None]] = []
        """Told (in the pass's thread) each promotion whose state changed, as the API shows it."""

    # -- lifecycle --------------------------------------------------------------------------------

    async def start(self) -> None:
        self._engine.listeners.append(lambda status: self._wake.set())
        self._task = asyncio.create_task(self._loop(), name="promotions")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while True:
            try:
                await asyncio.to_thread(self.run_pass)
            except Exception:
                log.exception("promotion pass failed")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=PASS_INTERVAL)

    # -- the pass ---------------------------------------------------------------------------------

    def run_pass(self) -> None:
        """Start the promotions the stages call for, judge the pending ones, land the approved ones."""
        chains = self._chains()
        for chain in chains.values():
            for upstream, target in zip(chain.stages, chain.stages[1:], strict=False):
                self._maybe_start(chain, upstream, target)
        moving = [*self.records.list(state=machine.PENDING), *self.records.list(state=PROMOTING)]
        for promotion in moving:  # a waiting one moves on an approval; a final one never
            of = chains.get(promotion.chain)
            if of is None:
                continue
            try:
                if promotion.state == machine.PENDING and (
                    empty := self._empty(of.stage(promotion.to_stage))
                ):
                    self._save(machine.held(promotion, empty, self._clock()))
                    continue
                if promotion.state == machine.PENDING:
                    there = self._deployed(of.stage(promotion.from_stage), of)
                    with self._moves:
                        promotion = self.records.get(promotion.id) or promotion
                        if promotion.state == machine.PENDING:
                            changed, _ = machine.observe(of, promotion, there.upstream, self._clock())
                            if changed != promotion:
                                self._save(changed)
                                promotion = changed
                if promotion.state == PROMOTING:
                    self._land(of, promotion)
            except GitloopError as exc:
                log.warning("promotion %s: %s", promotion.id, exc)

    def _maybe_start(self, chain: PromotionChain, upstream: Stage, target: Stage) -> None:
        try:
            there = self._deployed(upstream, chain)
            source = there.source_commit
            if not source or there.upstream.synced_healthy_since is None:
                return
            if self._deployed(target, chain).source_commit == source:
                return
            if self.records.list(chain=chain.name, stage=target.name, commit=source):
                return  # promoted (or tried, rejected) before: only ``create`` starts it again
            newer = self._start(chain, target.name, source, requested_by="")
            with self._moves:
                waiting = [
                    *self.records.list(chain=chain.name, stage=target.name, state=machine.PENDING),
                    *self.records.list(chain=chain.name, stage=target.name, state=machine.WAITING_APPROVAL),
                ]
                for older in machine.superseded(waiting, newer, self._clock()):
                    self._save(older)
                    log.info("promotion %s: %s", older.id, older.message)
        except GitloopError as exc:
            log.warning("promotion of %s to %s not started: %s", chain.name, target.name, exc)

    def _start(self, chain: PromotionChain, to_stage: str, source: str, *, requested_by: str) -> Promotion:
        upstream = chain.upstream(to_stage)
        promotion = machine.start(
            chain,
            to_stage,
            promotion_id=self.records.next_id(chain.name, to_stage, source),
            source_commit=source,
            images=self._images(chain, upstream, source),
            author=self._author(chain, source),
            now=self._clock(),
            requested_by=requested_by,
        )
        self._save(promotion)
        log.info("promotion %s: %s of %s to %s", promotion.id, promotion.state, source[:12], to_stage)
        self._wake.set()
        return promotion

    def _land(self, chain: PromotionChain, promotion: Promotion) -> None:
        if not self.records.claim_landing(promotion.id):
            return
        target = chain.stage(promotion.to_stage)
        names = self._applications(target)
        if not names:
            self._save(machine.failed(promotion, self._empty(target), self._clock()))
            return
        apps = [self._engine.app(name) for name in names]
        try:
            where = {(a.source.repo_url, a.source.target_revision) for a in apps}
            if len(where) > 1:
                shown = ", ".join(f"{repo}@{revision}" for repo, revision in sorted(where))
                raise SpecError(
                    f"the Applications of {target.target} are in several config branches ({shown}); "
                    "one promotion is one commit to one branch"
                )
            repo, branch = where.pop()
            commit = land_promotion(
                promotion,
                chain.stage(promotion.from_stage),
                target,
                files=stage_files(target, [a.source.path for a in apps]),
                repo=repo,
                branch=branch,
                credentials=self._credentials.lookup(repo),
            )
        except GitloopError as exc:
            self._save(machine.failed(promotion, f"the config commit did not land: {exc}", self._clock()))
            raise
        done = machine.landed(promotion, commit or "", self._clock())
        self._save(done)
        log.info("promotion %s: %s", promotion.id, done.message)
        self._engine.trigger(names)  # fetch the config repo now, not at the next poll

    def _save(self, promotion: Promotion) -> None:
        earlier = self.records.get(promotion.id)
        self.records.save(promotion)
        if earlier is None or earlier.state != promotion.state:
            for listener in self.changed:
                listener(shown(promotion))

    # -- what a stage shows -----------------------------------------------------------------------

    def _applications(self, stage: Stage) -> list[str]:
        """The Applications ``stage`` is now: its Application, or those its ApplicationSet generates
        (registered under ``appset:<name>``) that its selector matches, sorted."""
        if stage.application:
            return [stage.application]
        apps = self._engine.apps.apps
        return [
            name
            for name in self._engine.apps.owned(f"appset:{stage.application_set}")
            if name in apps and stage.selects(apps[name].labels)
        ]

    def _empty(self, stage: Stage) -> str:
        """Why ``stage`` cannot be promoted into (``""``: it has Applications)."""
        if self._applications(stage):
            return ""
        narrowed = " matching the stage's selector" if stage.selector is not None else ""
        return f"{stage.target} generates no Applications{narrowed}: nothing to promote into"

    def _deployed(self, stage: Stage, chain: PromotionChain) -> Deployed:
        """What ``stage`` shows: for several Applications, the least of them (``combine``)."""
        found = combine([self._deployed_app(name, stage, chain) for name in self._applications(stage)])
        return Deployed(found.source_commit, found)

    def _deployed_app(self, application: str, stage: Stage, chain: PromotionChain) -> UpstreamStatus:
        status = self._engine.status(application)
        revision = status.revision
        record = self._store.get(DEPLOY_KIND, f"{application}@{revision}") if revision else None
        doc = dict(record.doc) if record is not None else {}
        source = str(doc.get("source", ""))
        sync, health = status.sync_status.value, status.health.status.value
        healthy_at = doc.get("healthyAt")
        since = float(healthy_at) if isinstance(healthy_at, int | float) and sync == "Synced" else None
        if health != "Healthy":
            since = None
        verification = self._verification(application, stage, chain, source) if source else ""
        return UpstreamStatus(source, sync, health, since, verification)

    def _verification(self, application: str, stage: Stage, chain: PromotionChain, source: str) -> str:
        """The state of the verification run of ``application`` (of ``stage``) for ``source`` (for the
        gate of the stage after it): ``Succeeded``, ``Failed``, ``Running`` or ``""``."""
        following = chain.next_after(stage.name)
        gate = following.gate if following is not None else None
        wanted = getattr(gate, "verification", None)
        if not wanted:
            return ""
        app = self._engine.apps.apps.get(application)
        named = app.annotations.get(PIPELINE_ANNOTATION, "").strip() if app is not None else ""
        if named != wanted:
            return ""
        hops = self._lineage.trace(source).hops
        runs = {str(h.get("run")) for h in hops if h.get("hop") == POST_SYNC and h.get("app") == application}
        state = ""
        for hop in hops:
            if hop.get("run") in runs and hop.get("hop") == f"{POST_SYNC}-finished":
                state = SUCCEEDED if hop.get("status") == "True" else FAILED
            elif hop.get("run") in runs and hop.get("hop") == f"{POST_SYNC}-started" and not state:
                state = "Running"
        return state

    def _images(self, chain: PromotionChain, upstream: Stage, source: str) -> tuple[str, ...]:
        """Every image of ``source`` in ``upstream``: those its promotion there moved, or (the first
        stage) those the pipeline's handoffs set for it."""
        for earlier in self.records.list(chain=chain.name, stage=upstream.name, commit=source):
            if earlier.state == machine.SUCCEEDED:
                return earlier.images
        hops = self._lineage.trace(source).hops
        found = [str(h["image"]) for h in hops if h.get("hop") == "config-commit" and h.get("image")]
        return tuple(dict.fromkeys(found))

    def _author(self, chain: PromotionChain, source: str) -> str:
        """``Name <email>`` of ``source``'s author (``""``: its repository is not known)."""
        if source in self._authors:
            return self._authors[source]
        index = self._store.get(SOURCE_KIND, source)
        repos = [str(index.doc.get("repo", ""))] if index is not None else []
        for stage in chain.stages:
            for name in self._applications(stage):
                app = self._engine.apps.apps.get(name)
                repos.extend(s.repo_url for s in app.sources) if app is not None else None
        for repo in dict.fromkeys(r for r in repos if r):
            try:
                info = self._engine.sources.commit_info(repo, source)
            except GitloopError:
                continue
            self._authors[source] = f"{info.author} <{info.email}>"
            return self._authors[source]
        return ""

    # -- the API's ----------------------------------------------------------------------------------

    def chain_of(self, target: str) -> PromotionChain:
        """The chain named ``target``, else the one holding the Application (or ApplicationSet)
        ``target``, else the one with a stage whose ApplicationSet generates the Application ``target``."""
        chains = self._chains()
        if target in chains:
            return chains[target]
        for chain in chains.values():
            if chain.stage_of_application(target) is not None:
                return chain
        for chain in chains.values():
            if any(s.application_set and target in self._applications(s) for s in chain.stages):
                return chain
        raise PromotionNotFound(f"no PromotionChain named {target!r} or holding an Application {target!r}")

    def create(self, target: str, to_stage: str, commit: str, *, requested_by: str) -> Promotion:
        """Start promoting ``commit`` (default: the one the upstream stage runs) into ``to_stage``."""
        chain = self.chain_of(target)
        upstream = chain.upstream(to_stage)
        source = self._lineage.resolve(commit) if commit else self._deployed(upstream, chain).source_commit
        if not source:
            raise UsageError(f"stage {upstream.name!r} runs no known source commit yet; give --commit")
        open_one = self.records.open_for(chain.name, to_stage, source)
        if open_one is not None:
            return open_one
        return self._start(chain, to_stage, source, requested_by=requested_by)

    def get(self, promotion_id: str) -> Promotion:
        found = self.records.get(promotion_id)
        if found is None:
            raise PromotionNotFound(f"no promotion {promotion_id!r}")
        return found

    def list(self) -> list[Promotion]:
        return self.records.list()

    def approve(self, promotion_id: str, user: str) -> Promotion:
        """``user``'s approval (``ApprovalRefused`` says why not); lands at once when it is enough."""
        roles = self._roles_of(user)
        with self._moves:
            chain, promotion = self._of(promotion_id)
            self._check_author_known(chain, promotion)
            done = machine.approve(chain, promotion, user, user_roles=roles, now=self._clock())
            self._save(done)
        self._wake.set()
        return done

    def reject(self, promotion_id: str, user: str) -> Promotion:
        roles = self._roles_of(user)
        with self._moves:
            chain, promotion = self._of(promotion_id)
            done = machine.reject(chain, promotion, user, user_roles=roles, now=self._clock())
            self._save(done)
        return done

    def _of(self, promotion_id: str) -> tuple[PromotionChain, Promotion]:
        promotion = self.get(promotion_id)
        chain = self._chains().get(promotion.chain)
        if chain is None:
            raise SpecError(f"promotion {promotion_id}: PromotionChain {promotion.chain!r} is gone")
        return chain, promotion

    def _check_author_known(self, chain: PromotionChain, promotion: Promotion) -> None:
        gate = chain.stage(promotion.to_stage).gate
        if isinstance(gate, ApprovalGate) and gate.exclude_author and not promotion.author:
            raise machine.ApprovalRefused(
                f"the author of {promotion.source_commit[:12]} is not known (its repository is not), so "
                "excludeAuthor cannot be checked; the chain may set excludeAuthor: false"
            )


def shown(promotion: Promotion) -> dict[str, object]:
    """A promotion as the API answers it."""
    return {
        "id": promotion.id,
        "chain": promotion.chain,
        "from": promotion.from_stage,
        "to": promotion.to_stage,
        "application": promotion.application,
        "sourceCommit": promotion.source_commit,
        "images": list(promotion.images),
        "author": promotion.author,
        "state": promotion.state,
        "message": promotion.message,
        "approvals": [{"user": a.user, "time": a.time} for a in promotion.approvals],
        "requestedBy": promotion.requested_by,
        "rejectedBy": promotion.rejected_by,
        "configCommit": promotion.config_commit,
        "created": promotion.created,
        "updated": promotion.updated,
        "finished": promotion.finished,
    }


def matching(promotions: Iterable[Promotion], allowed: Callable[[str], bool]) -> list[Promotion]:
    """The promotions whose ``<chain>/<stage>`` the caller may ``get``."""
    return [p for p in promotions if allowed(p.rule_object)]
