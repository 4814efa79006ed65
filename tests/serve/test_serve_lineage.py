"""The lineage: hops recorded by the webhook, the launcher and the CD side chain into one trace, with
the lead time for the change."""

from __future__ import annotations

import itertools

import pytest
from fastapi.testclient import TestClient
from serve_fakes import SHA, FakeLauncher, github_headers, github_push

from gitloop.errors import UsageError
from gitloop.handoff import CommitContext, render_message
from gitloop.lineage import Lineage, RunSource, SourcePush, build_trace, image_of, parse_time
from gitloop.ports import Store
from gitloop.store import MemoryStore

SOURCE = "a" * 40
CONFIG = "c" * 40


def _handoff_message(source: str = SOURCE, run: str = "build-x1") -> str:
    context = CommitContext(
        image="registry.local/app:v2",
        image_name="app",
        file="overlays/dev/kustomization.yaml",
        branch="main",
        source_commit=source,
        pipelinerun=run,
    )
    return render_message(None, context)


@pytest.fixture
def lineage() -> Lineage:
    ticks = itertools.count(1000)
    return Lineage(MemoryStore(), clock=lambda: float(next(ticks)))


def _push(lineage: Lineage, runs: list[str] | None = None, source: str = SOURCE) -> None:
    lineage.record_push(
        SourcePush(source, "http://git/app-source.git", "refs/heads/main", committed_at=90.0),
        runs=runs if runs is not None else ["build-x1"],
        listener="app-source",
        event_id="event-1",
        received=100.0,
    )


def test_the_whole_chain_and_its_lead_time(lineage: Lineage) -> None:
    _push(lineage)
    lineage.record_run_started("build-x1", time_started=101.0)
    manifest = {
        "status": {
            "conditions": [{"type": "Succeeded", "status": "True", "reason": "Succeeded"}],
            "results": [
                {"name": "IMAGE_URL", "value": "registry.local/app"},
                {"name": "IMAGE_DIGEST", "value": "sha256:1"},
            ],
        }
    }
    lineage.record_run_finished("build-x1", manifest, finished=130.0)
    message = _handoff_message()
    assert (
        lineage.record_config_commit(
            CONFIG, message, repo="http://git/cfg.git", committed=129.0, via="webhook"
        )
        == SOURCE
    )
    operation = {"id": "op-1", "phase": "Succeeded", "startedAt": 131.0, "finishedAt": 133.0}
    assert (
        lineage.record_sync(
            "dev", CONFIG, message, repo="http://git/cfg.git", committed=129.0, operation=operation
        )
        == SOURCE
    )
    assert lineage.record_healthy("dev", CONFIG, healthy=140.0)
    assert not lineage.record_healthy("dev", CONFIG, healthy=150.0)  # only the first time counts

    trace = lineage.trace(SOURCE[:7])
    hops = [(h["hop"], h["time"]) for h in trace.hops]
    assert hops == [
        ("commit", 90.0),
        ("push", 100.0),
        ("pipelinerun", 100.0),
        ("pipelinerun-started", 101.0),
        ("config-commit", 129.0),
        ("pipelinerun-finished", 130.0),
        ("sync", 133.0),
        ("healthy", 140.0),
    ]
    finished = next(h for h in trace.hops if h["hop"] == "pipelinerun-finished")
    assert finished["image"] == "registry.local/app@sha256:1"
    config = next(h for h in trace.hops if h["hop"] == "config-commit")
    assert (config["image"], config["pipelineRun"], config["seenVia"]) == (
        "registry.local/app:v2",
        "build-x1",
        "webhook",
    )
    assert (trace.lead_time, trace.started_from, trace.per_app) == (50.0, "commit", {"dev": 50.0})
    assert trace.to_dict()["leadTime"] == 50.0


def test_a_config_commit_seen_twice_is_one_hop(lineage: Lineage) -> None:
    _push(lineage)
    message = _handoff_message()
    lineage.record_config_commit(CONFIG, message, repo="r", committed=129.0, via="webhook")
    lineage.record_config_commit(CONFIG, message, repo="r", committed=129.0, via="sync")
    # A second process (or a restart) records it again: the trace still shows it once.
    again = Lineage(lineage.store)
    again.record_config_commit(CONFIG, message, repo="r", committed=129.0, via="sync")
    trace = lineage.trace(SOURCE)
    assert [h["hop"] for h in trace.hops].count("config-commit") == 1


def test_several_applications_each_get_their_lead_time(lineage: Lineage) -> None:
    _push(lineage)
    message = _handoff_message()
    for app, healthy in (("dev", 140.0), ("staging", 160.0)):
        operation = {"id": f"op-{app}", "phase": "Succeeded", "finishedAt": healthy - 5}
        lineage.record_sync(app, CONFIG, message, repo="r", committed=129.0, operation=operation)
        lineage.record_healthy(app, CONFIG, healthy=healthy)
    trace = lineage.trace(SOURCE)
    assert trace.per_app == {"dev": 50.0, "staging": 70.0}
    assert trace.lead_time == 50.0


def test_a_failed_sync_is_a_hop_but_never_healthy(lineage: Lineage) -> None:
    _push(lineage)
    message = _handoff_message()
    lineage.record_sync(
        "dev", CONFIG, message, repo="r", committed=None, operation={"id": "1", "phase": "Failed"}
    )
    assert not lineage.record_healthy("dev", CONFIG, healthy=200.0)
    trace = lineage.trace(SOURCE)
    assert [h["hop"] for h in trace.hops][-1] == "sync"
    assert trace.lead_time is None


def test_commits_without_trailers_link_nothing(lineage: Lineage) -> None:
    assert lineage.record_config_commit(CONFIG, "a manual change", repo="r", committed=1.0, via="sync") == ""
    assert lineage.record_sync("dev", CONFIG, "manual", repo="r", committed=1.0, operation={"id": "1"}) == ""
    assert not lineage.record_healthy("dev", CONFIG, healthy=2.0)


def test_a_run_started_elsewhere_is_read_from_the_store(lineage: Lineage) -> None:
    store: Store = lineage.store
    store.put(
        "PipelineRun",
        "manual-run",
        {
            "manifest": {
                "status": {
                    "startTime": "1970-01-01T00:01:50Z",
                    "completionTime": "1970-01-01T00:02:00Z",
                    "conditions": [{"type": "Succeeded", "status": "True", "reason": "Completed"}],
                }
            }
        },
    )
    lineage.record_config_commit(
        CONFIG, _handoff_message(run="manual-run"), repo="r", committed=125.0, via="sync"
    )
    trace = lineage.trace(SOURCE)
    assert [(h["hop"], h["time"]) for h in trace.hops] == [
        ("pipelinerun-started", 110.0),
        ("pipelinerun-finished", 120.0),
        ("config-commit", 125.0),
    ]
    assert trace.started_from == "" and trace.lead_time is None


def test_lead_time_counts_from_the_push_without_a_commit_time() -> None:
    hops = [{"hop": "push", "time": 10.0}, {"hop": "healthy", "time": 25.0, "app": "dev"}]
    trace = build_trace(SOURCE, hops, {}, {})
    assert (trace.lead_time, trace.started_from) == (15.0, "push")


def test_unknown_and_ambiguous_commits(lineage: Lineage) -> None:
    one, two = "abcd" + "1" * 36, "abcd" + "2" * 36
    _push(lineage, source=one)
    _push(lineage, source=two)
    with pytest.raises(UsageError, match="ambiguous"):
        lineage.trace("abcd")
    assert lineage.trace("abcd1").source == one
    assert lineage.trace(two.upper()).source == two
    with pytest.raises(UsageError, match="not a commit SHA"):
        lineage.trace("abc")
    with pytest.raises(UsageError, match="not a commit SHA"):
        lineage.trace("xyz!")
    with pytest.raises(UsageError, match="no lineage"):
        lineage.trace("ffff")


def test_helpers() -> None:
    assert parse_time("2026-11-21T10:00:00Z") == parse_time("2026-11-21T11:00:00+01:00")
    assert (
        parse_time(5) == 5.0
        and parse_time(None) is None
        and parse_time("soon") is None
        and parse_time(True) is None
    )
    assert image_of({"IMAGE_URL": "r/a:1"}) == "r/a:1"
    assert image_of({"IMAGE_URL": "r/a", "IMAGE_DIGEST": "sha256:9"}) == "r/a@sha256:9"
    assert image_of({}) == ""


class _NoRunLookups(MemoryStore):
    """A store that fails the test when a run's source is looked up by name."""

    def get(self, kind: str, name: str):  # type: ignore[no-untyped-def]
        assert kind != "LineageRun", f"the source of {name} was looked up by name"
        return super().get(kind, name)


def test_a_run_carries_its_source_so_it_is_never_looked_up() -> None:
    lineage = Lineage(_NoRunLookups())
    link = lineage.record_push(
        SourcePush(SOURCE, "http://git/app.git", "refs/heads/main"),
        runs=["build-x1"],
        listener="app-source",
        event_id="event-1",
        received=100.0,
    )
    assert link == RunSource(SOURCE)
    lineage.record_run_started("build-x1", time_started=101.0, source=link)
    lineage.record_run_finished("build-x1", {}, finished=102.0, source=link)
    hops = [h["hop"] for h in lineage.trace(SOURCE).hops]
    assert hops == ["push", "pipelinerun", "pipelinerun-started", "pipelinerun-finished"]


def test_a_post_sync_run_carries_its_application() -> None:
    lineage = Lineage(_NoRunLookups())
    link = lineage.record_post_sync(
        SOURCE, app="dev", run="smoke-1", revision=CONFIG, operation="op", started=1.0
    )
    assert link == RunSource(SOURCE, "post-sync", "dev")
    lineage.record_run_started("smoke-1", time_started=2.0, source=link)
    assert [(h["hop"], h.get("app")) for h in lineage.trace(SOURCE).hops][-1] == ("post-sync-started", "dev")
    assert lineage.record_push(SourcePush(""), runs=[], listener="l", event_id="e", received=1.0) is None


def test_a_rerun_is_linked_to_the_source_commit_of_the_run_it_copies(lineage: Lineage) -> None:
    _push(lineage)
    link = lineage.record_rerun("build-x1", "build-x1-r-ab1cd", event_id="rerun:build-x1", started=200.0)
    assert link == RunSource(SOURCE)
    assert lineage.run_source("build-x1-r-ab1cd") == link
    lineage.record_run_started("build-x1-r-ab1cd", time_started=201.0, source=link)
    hops = [h for h in lineage.trace(SOURCE).hops if h.get("run") == "build-x1-r-ab1cd"]
    assert [(h["hop"], h.get("rerunOf")) for h in hops] == [
        ("pipelinerun", "build-x1"),
        ("pipelinerun-started", None),
    ]
    assert lineage.record_rerun("unknown", "unknown-r-ab1cd", event_id="e", started=1.0) is None


def test_a_webhook_hands_its_runs_the_source_commit_the_triggers_parsed(
    client: TestClient, launcher: FakeLauncher
) -> None:
    body = github_push()
    answer = client.post("/hooks/github", content=body, headers=github_headers(body))
    assert answer.status_code == 202, answer.text
    assert launcher.sources == [RunSource(SHA)]


def test_a_rerun_of_a_post_sync_run_is_one_of_the_same_application(lineage: Lineage) -> None:
    link = lineage.record_post_sync(
        SOURCE, app="dev", run="smoke-1", revision=CONFIG, operation="op", started=1.0
    )
    again = lineage.record_rerun("smoke-1", "smoke-1-r-ab1cd", event_id="rerun:smoke-1", started=3.0)
    assert again == link  # a rerun of a post-sync run is one of the same Application
    last = lineage.trace(SOURCE).hops[-1]
    assert (last["hop"], last["run"], last["app"], last["rerunOf"]) == (
        "post-sync",
        "smoke-1-r-ab1cd",
        "dev",
        "smoke-1",
    )
